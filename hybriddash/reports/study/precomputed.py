"""The Findings page's slow results, shipped precomputed beside the reference bundle.

The standard claims' verdicts (hierarchical bootstrap, B = 10,000) and the per-language
gains take seconds per store; on a fresh install every first Findings view paid them.
They are deterministic (fixed random streams), so ``reproduce --profile standard
--report`` also writes them to ``reference/derived/`` and the page reads them when they
answer exactly the question asked.

**When a shipped result is used.** Each file carries a key (parquet schema metadata):
the sha256 of the entry's name and arguments, of the source files whose code decides the
numbers (:data:`SOURCES`), and of the store's inputs: the study's runs (ids, models,
roles, seeds, labels, headline numbers) and each run's count of per-query rows. The page
computes the same key on its store (a tenth of a second) and reads the file only when
the keys are equal; any other store, a changed rule, or one more run computes afresh.
A test checks that the shipped files answer the shipped bundle with today's code.

Parquet, not pickle: a bundle from elsewhere cannot run code when it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybriddash.config import REPO_ROOT

#: The folder inside a reference bundle that holds the precomputed results.
FOLDER = "derived"
#: Files whose code decides the shipped numbers: editing any of them makes the shipped
#: results unused until ``reproduce --profile standard --report`` writes them again.
SOURCES = (
    "hybriddash/reports/study/comparisons.py",
    "hybriddash/reports/study/curves.py",
    "hybriddash/reports/study/hierarchical_bootstrap.py",
    "hybriddash/reports/study/roles.py",
    "hybriddash/reports/study/rule.py",
    "hybriddash/store/reads.py",
)
#: The study_runs columns a result depends on (not load times or machine-local paths).
RUN_COLUMNS = (
    "run_id", "model_id", "model_fp", "corpus_fp", "dataset_id", "encode_mode",
    "metrics_version", "correction", "correction_of", "strategy", "alpha", "seed",
    "train_dataset", "base_model_id", "budget", "label", "study", "contaminated",
    "monolingual", "crosslingual", "multilingual", "rank_distance",
)  # fmt: skip
_KEY = b"hybriddash_key"


#: The same for the research questions' verdicts (``reproduce --profile questions --report``).
QUESTION_SOURCES = (
    "hybriddash/reports/questions.py",
    "hybriddash/reports/study/hierarchical_bootstrap.py",
    "hybriddash/reports/study/question_engine.py",
    "hybriddash/reports/study/question_runs.py",
    "hybriddash/reports/study/question_verdicts.py",
    "hybriddash/reports/study/roles.py",
    "hybriddash/store/reads.py",
)
#: The question runs' columns a questions result depends on: the study's, plus the role
#: and suite each run plays and the languages of its corpus.
QUESTION_RUN_COLUMNS = (*RUN_COLUMNS, "role", "suite", "corpus_name", "languages")


def code_digest(root: Path = REPO_ROOT, sources: Sequence[str] = SOURCES) -> str:
    """sha256 of the ``sources`` files' bytes, in order."""
    digest = hashlib.sha256()
    for rel in sources:
        digest.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def inputs_digest(
    runs: pd.DataFrame,
    *,
    store: Any = None,
    columns: Sequence[str] = RUN_COLUMNS,
    tables: Sequence[str] = ("query_metrics", "query_bias"),
) -> str:
    """sha256 of the study's runs (``columns``, sorted by run id) and of each run's
    per-query row counts (``tables``)."""
    from hybriddash.store.reads import reading

    cols = [c for c in columns if c in runs.columns]
    frame = runs[cols].sort_values("run_id").reset_index(drop=True) if len(runs) else runs
    for col in cols:  # lists (a corpus's languages) as text, so the CSV below is stable
        if frame[col].map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
            frame = frame.assign(
                **{
                    col: [
                        ",".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else ""
                        for v in frame[col]
                    ]
                }
            )
    ids = sorted(str(r) for r in runs.get("run_id", []))
    counts: dict[str, list[int]] = {r: [0] * len(tables) for r in ids}
    if ids:
        with reading(store) as con:
            for i, table in enumerate(tables):
                for run_id, n in con.execute(
                    f"SELECT run_id, count(*) FROM {table} WHERE run_id IN "
                    "(SELECT unnest(?::VARCHAR[])) GROUP BY run_id",
                    [ids],
                ).fetchall():
                    counts[run_id][i] = int(n)
    digest = hashlib.sha256(frame.to_csv(index=False, float_format="%.17g").encode())
    digest.update(json.dumps(counts, sort_keys=True).encode())
    return digest.hexdigest()


#: What each result's key reads: the code files, the run columns, the per-query tables.
KEY_INPUTS: dict[str, tuple[Sequence[str], Sequence[str], Sequence[str]]] = {
    "findings_questions": (
        QUESTION_SOURCES,
        QUESTION_RUN_COLUMNS,
        ("query_metrics", "run_language_probe_items"),
    ),
}


def result_key(name: str, args: Sequence[Any], runs: pd.DataFrame, *, store: Any = None) -> str:
    """The key of one result: entry name, arguments, code, inputs (module docstring)."""
    sources, columns, tables = KEY_INPUTS.get(
        name, (SOURCES, RUN_COLUMNS, ("query_metrics", "query_bias"))
    )
    parts = [
        name,
        json.dumps(list(args)),
        code_digest(sources=sources),
        inputs_digest(runs, store=store, columns=columns, tables=tables),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _path(folder: Path, name: str, args: Sequence[Any], part: str) -> Path:
    return folder / f"{'-'.join([name, *map(str, args)])}.{part}.parquet"


def read(folder: Path | None, name: str, args: Sequence[Any], parts: Sequence[str], key: str):
    """The frames ``parts`` of a shipped result when every one carries ``key``; else
    None (missing, another key, unreadable: the caller computes)."""
    import pyarrow.parquet as pq

    if folder is None:
        return None
    frames = []
    for part in parts:
        path = _path(folder, name, args, part)
        try:
            if (pq.read_schema(path).metadata or {}).get(_KEY) != key.encode():
                return None
            frame = pq.read_table(path).to_pandas()
        except (OSError, ValueError):
            return None
        for col in frame.columns:  # parquet lists come back as arrays; the page made tuples
            if (
                frame[col].dtype == object
                and len(frame)
                and isinstance(frame[col].iloc[0], np.ndarray)
            ):
                frame[col] = [tuple(float(x) for x in v) for v in frame[col]]
        frames.append(frame)
    return frames


def write(
    folder: Path, name: str, args: Sequence[Any], frames: dict[str, pd.DataFrame], key: str
) -> list[Path]:
    """Write each frame of a result with ``key`` in its schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for part, frame in frames.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: key.encode()})
        path = _path(folder, name, args, part)
        pq.write_table(table, path)
        written.append(path)
    return written


def shipped_folder() -> Path | None:
    """``<reference bundle>/derived`` of the configured reference bundle, if any."""
    from hybriddash import config

    reference = config.reference_dir()
    return None if reference is None else reference / FOLDER


def cached(
    name: str,
    args: Sequence[Any],
    parts: Sequence[str],
    runs: pd.DataFrame,
    compute: Callable[[], Sequence[pd.DataFrame]],
    *,
    store: Any = None,
) -> list[pd.DataFrame]:
    """The shipped result when its key matches this store, else ``compute()``."""
    key = result_key(name, args, runs, store=store)
    found = read(shipped_folder(), name, args, parts, key)
    return found if found is not None else list(compute())
