"""Store a validated upload as dataset ``upload:<name>``, atomically.

Layout of ``<artifacts>/uploads/<name>/``:

- ``corpus.jsonl`` — the corpus in the parallel-table format, rows in
  :func:`canonical_order` (what
  :func:`hybriddash.data.datasets.load_upload` reads), written whenever the corpus
  has the parallel structure (every parallel table; SQuAD/LAReQA and BEIR uploads
  whose relevance is "the group's answer in every language"); or
- ``corpus.json`` — the full corpus (candidates, queries, relevance; see
  :func:`write_corpus_json`) when it does not (e.g. a BEIR query with several
  relevant documents in one language, or a sentence answering two questions);
- ``manifest.json`` — name, format, fingerprint, counts, notices, the uploaded
  files' names, sizes and sha256.

Nothing is written before validation passed. The folder is assembled in a hidden
staging folder beside it (``.staging-*``, ignored by the dataset listing), the
corpus is registered in the store, and only then is the staging folder renamed into
place (one ``rename``; an older upload of the same name is swapped out the same
way when ``overwrite=True``). Any failure removes the staging folder, so a refused
or failed import leaves the uploads folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hybriddash import config
from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.data.parallel_table import corpus_from_parallel_rows
from hybriddash.data.upload.problems import Problem, UploadRejected
from hybriddash.data.upload.validation import (
    UPLOAD_PREFIX,
    Source,
    ValidatedUpload,
    validate_upload,
)
from hybriddash.data.upload.writers import NotParallelError, corpus_to_parallel_rows

TABLE_FILE = "corpus.jsonl"
FULL_FILE = "corpus.json"
MANIFEST_FILE = "manifest.json"
FULL_FORMAT = "hybriddash-corpus"
FULL_VERSION = 1


@dataclass
class ImportResult:
    """What an accepted import produced."""

    dataset_id: str
    name: str
    path: Path
    fingerprint: str
    format: str
    stored_as: str  # corpus.jsonl | corpus.json
    languages: list[str]
    n_queries: int
    n_candidates: int
    notices: list[str] = field(default_factory=list)
    registered: bool = False


def uploads_root() -> Path:
    """``<artifacts>/uploads`` without creating it (a refused upload creates nothing)."""
    return (
        Path(os.environ.get("HYBRIDDASH_ARTIFACTS", config.REPO_ROOT / "artifacts"))
        .expanduser()
        .resolve()
        / "uploads"
    )


def upload_exists(name: str) -> bool:
    folder = uploads_root() / name
    return (folder / TABLE_FILE).is_file() or (folder / FULL_FILE).is_file()


def import_upload(
    sources: Sequence[Source],
    name: str,
    *,
    fmt: str = "auto",
    max_bytes: int | None = None,
    overwrite: bool = False,
    register: bool = True,
    store: object | None = None,
) -> ImportResult:
    """Validate ``sources`` and store them as dataset ``upload:<name>``.

    Raises :class:`UploadRejected` (every problem, nothing written) when the files
    are invalid or the name is taken and ``overwrite`` is False. ``register``
    stores the corpus row and texts in the store (``store``: a
    :class:`~hybriddash.store.db.Store`, default the configured one).
    """
    validated = validate_upload(sources, name, fmt=fmt, max_bytes=max_bytes)
    if upload_exists(name) and not overwrite:
        raise UploadRejected(
            [
                Problem(
                    "--name",
                    None,
                    "name",
                    f"an upload named {name!r} already exists; choose another name or overwrite it",
                    "name",
                )
            ],
            validated.notices,
        )
    return store_upload(validated, overwrite=overwrite, register=register, store=store)


def _stored_rows(validated: ValidatedUpload) -> list[dict] | None:
    """Parallel rows that rebuild a corpus equivalent to the validated one, or None."""
    rows = validated.table_rows
    if rows is None:
        try:
            rows = corpus_to_parallel_rows(validated.corpus)
        except NotParallelError:
            return None
    rows = canonical_order(rows)
    rebuilt = corpus_from_parallel_rows(rows, validated.corpus.dataset_id, TABLE_FILE)
    return rows if relevance_key(rebuilt) == relevance_key(validated.corpus) else None


def canonical_order(rows: list[dict]) -> list[dict]:
    """Rows sorted by (article in first-appearance order, group id, language).

    Candidate order decides exact score ties (and which kernel path BLAS takes for a
    block), so the same corpus uploaded as a table, as BEIR or as SQuAD files — which
    list candidates in different orders — becomes the same dataset and gives the same
    numbers to the last bit. Article order is kept as written: it defines the
    "first N articles" subset.
    """
    first_seen: dict[str, int] = {}
    for row in rows:
        first_seen.setdefault(str(row.get("article") or row["group_id"]), len(first_seen))
    return sorted(
        rows,
        key=lambda r: (
            first_seen[str(r.get("article") or r["group_id"])],
            str(r["group_id"]),
            str(r["lang"]),
        ),
    )


def relevance_key(corpus: Corpus) -> tuple:
    """Everything that decides metrics, without ids: texts, languages, groups, relevance.

    Two corpora with equal keys give the same numbers for any model (candidate ids
    and order aside, which only break exact score ties).
    """
    by_id = {c.id: (c.lang, c.text) for c in corpus.candidates}
    queries = sorted(
        (q.lang, q.text, q.group, tuple(sorted(by_id[c] for c in corpus.relevant[q.id])))
        for q in corpus.queries
    )
    return tuple(queries), tuple(sorted(by_id.values()))


def store_upload(
    validated: ValidatedUpload,
    *,
    overwrite: bool = False,
    register: bool = True,
    store: object | None = None,
) -> ImportResult:
    """Write a validated upload atomically (see the module docstring)."""
    name = validated.name
    root = config.uploads_dir()
    rows = _stored_rows(validated)
    dataset_id = UPLOAD_PREFIX + name
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        if rows is not None:
            with (staging / TABLE_FILE).open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            stored = corpus_from_parallel_rows(rows, dataset_id, TABLE_FILE)
            stored_as = TABLE_FILE
        else:
            write_corpus_json(validated.corpus, staging / FULL_FILE)
            stored = read_corpus_json(staging / FULL_FILE, dataset_id)
            stored_as = FULL_FILE
        stored.notes[:] = list(validated.notices)
        manifest = {
            "name": name,
            "dataset_id": dataset_id,
            "format": validated.format,
            "stored_as": stored_as,
            "fingerprint": stored.fingerprint,
            "languages": stored.languages,
            "counts": stored.counts(),
            "n_queries": len(stored.queries),
            "n_candidates": len(stored.candidates),
            "notices": validated.notices,
            "files": [{"name": n, "bytes": b, "sha256": h} for n, b, h in validated.files],
            "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (staging / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        registered = False
        if register:
            # lazy: the store sits downstream of data; only an import needs it
            from hybriddash.store.writes import register_corpus

            registered = register_corpus(store, stored)  # type: ignore[arg-type]
        target = root / name
        _swap_into_place(staging, target, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportResult(
        dataset_id,
        name,
        target,
        stored.fingerprint,
        validated.format,
        stored_as,
        stored.languages,
        len(stored.queries),
        len(stored.candidates),
        list(validated.notices),
        registered,
    )


def _swap_into_place(staging: Path, target: Path, *, overwrite: bool) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=target.parent))
    os.rename(target, trash / "old")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(trash / "old", target)
        raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def delete_upload(name: str) -> bool:
    """Remove ``uploads/<name>`` (its store rows stay: runs on it remain readable)."""
    folder = uploads_root() / name
    if not folder.is_dir() or name.startswith("."):
        return False
    shutil.rmtree(folder)
    return True


# ---- the full-corpus file ---------------------------------------------------------


def write_corpus_json(corpus: Corpus, path: str | Path) -> Path:
    """Write ``{"format": "hybriddash-corpus", "version": 1, candidates, queries, relevant}``."""
    payload = {
        "format": FULL_FORMAT,
        "version": FULL_VERSION,
        "dataset_id": corpus.dataset_id,
        "candidates": [
            {
                "id": c.id,
                "lang": c.lang,
                "text": c.text,
                "context": c.context,
                "article": c.article,
                "groups": list(c.groups),
            }
            for c in corpus.candidates
        ],
        "queries": [
            {"id": q.id, "lang": q.lang, "text": q.text, "group": q.group, "article": q.article}
            for q in corpus.queries
        ],
        "relevant": {q: sorted(c) for q, c in corpus.relevant.items()},
    }
    path = Path(path)
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def read_corpus_json(path: str | Path, dataset_id: str | None = None) -> Corpus:
    """Read a file written by :func:`write_corpus_json` (``dataset_id`` overrides the stored one).

    Raises ``ValueError`` naming the file and the field at fault.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}, line {exc.lineno}: malformed JSON: {exc.msg}") from None
    if not isinstance(payload, dict) or payload.get("format") != FULL_FORMAT:
        raise ValueError(f"{path}, field 'format': expected {FULL_FORMAT!r}")
    if payload.get("version") != FULL_VERSION:
        raise ValueError(
            f"{path}, field 'version': expected {FULL_VERSION}, got {payload.get('version')!r}"
        )
    try:
        candidates = [
            Candidate(
                c["id"],
                c["lang"],
                c["text"],
                c.get("context"),
                c.get("article"),
                tuple(c.get("groups", ())),
            )
            for c in payload["candidates"]
        ]
        queries = [
            Query(q["id"], q["lang"], q["text"], q["group"], q.get("article"))
            for q in payload["queries"]
        ]
        relevant = {q: frozenset(c) for q, c in payload["relevant"].items()}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}, field {exc}: missing or malformed") from None
    return Corpus(dataset_id or payload.get("dataset_id", "upload"), candidates, queries, relevant)


def load_stored_upload(name: str) -> Corpus:
    """Load ``upload:<name>`` whichever file it was stored as (for ``datasets.load_upload``)."""
    folder = uploads_root() / name
    if (folder / FULL_FILE).is_file():
        return read_corpus_json(folder / FULL_FILE, UPLOAD_PREFIX + name)
    from hybriddash.data.datasets import load_upload

    return load_upload(name)
