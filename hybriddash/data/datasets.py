"""The dataset registry: one source of truth for dataset ids.

Ids:

- ``xquad-r``, ``mlqa-r``: LAReQA benchmarks (sentence candidates), read from
  ``<data dir>/xquad-r`` and ``<data dir>/mlqa-r`` (:func:`hybriddash.config.data_dir`,
  env ``HYBRIDDASH_DATA`` or CLI ``--data-dir``);
- ``mlqa-train``: MLQA test files as question -> paragraph training pairs;
- ``sample``: the built-in sample corpus (always available);
- ``upload:<name>``: a corpus imported by the user, stored in the parallel-table
  format at ``<artifacts>/uploads/<name>/corpus.jsonl``, or, when it cannot be
  written as a parallel table, as ``corpus.json`` (the upload importer's full
  format, read by :func:`hybriddash.data.corpus_json.read_corpus_json`).

:func:`load_dataset` keeps the last few full corpora in an in-process LRU cache
(keyed by id, data folder and file modification times, so a re-imported upload or a
changed data folder is re-read); subsets are cut from the cached full corpus.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hybriddash import config
from hybriddash.data.corpus import Corpus

UPLOAD_PREFIX = "upload:"
UPLOAD_FILE = "corpus.jsonl"  # parallel table (JSON Lines)
UPLOAD_FULL_FILE = "corpus.json"  # the upload importer's full format


@dataclass(frozen=True)
class _Builtin:
    id: str
    title: str
    kind: str  # "benchmark" | "sample" | "train"
    folder: str | None  # sub-folder of the data dir, None for the packaged sample
    languages: tuple[str, ...]
    n_queries: int | None  # documented totals; None when only known after loading
    n_candidates: int | None
    license: str
    note: str


# Documented sizes (../shared/data/README.md, LAReQA paper Table 1); the loaders'
# tests check that loading gives exactly these numbers.
XQUAD_R_COUNTS: dict[str, tuple[int, int]] = {
    "ar": (1190, 1222),
    "de": (1190, 1276),
    "el": (1190, 1234),
    "en": (1190, 1180),
    "es": (1190, 1215),
    "hi": (1190, 1244),
    "ru": (1190, 1219),
    "th": (1190, 852),
    "tr": (1190, 1167),
    "vi": (1190, 1209),
    "zh": (1190, 1196),
}
MLQA_R_COUNTS: dict[str, tuple[int, int]] = {
    "ar": (517, 2545),
    "de": (512, 2362),
    "en": (1148, 6264),
    "es": (500, 1787),
    "hi": (507, 2426),
    "vi": (511, 2828),
    "zh": (504, 2322),
}
# measured from the pinned files (tests/test_squad_pairs.py checks them): 9,677
# question ids -> 22,724 (id, question language) queries; 14,580 distinct paragraphs
MLQA_TRAIN_SIZE: tuple[int, int] = (22724, 14580)

BUILTINS: dict[str, _Builtin] = {
    "xquad-r": _Builtin(
        "xquad-r",
        "XQuAD-R (LAReQA)",
        "benchmark",
        "xquad-r",
        tuple(XQUAD_R_COUNTS),
        sum(q for q, _ in XQUAD_R_COUNTS.values()),
        sum(c for _, c in XQUAD_R_COUNTS.values()),
        "CC BY-SA 4.0",
        "11-way parallel: 48 articles, 1,190 questions per language, 11 relevant sentences "
        "per query in the pooled setting",
    ),
    "mlqa-r": _Builtin(
        "mlqa-r",
        "MLQA-R (LAReQA)",
        "benchmark",
        "mlqa-r",
        tuple(MLQA_R_COUNTS),
        sum(q for q, _ in MLQA_R_COUNTS.values()),
        sum(c for _, c in MLQA_R_COUNTS.values()),
        "CC BY-NC 4.0",
        "MLQA dev with sentence breaks: 1,148 question ids, each in 2 to 4 languages",
    ),
    "mlqa-train": _Builtin(
        "mlqa-train",
        "MLQA test files as question -> paragraph pairs (training)",
        "train",
        "mlqa-train",
        ("ar", "de", "es", "hi", "vi", "zh"),
        MLQA_TRAIN_SIZE[0],
        MLQA_TRAIN_SIZE[1],
        "CC BY-SA 3.0",
        "answers are empty in this copy: question -> paragraph pairs only; disjoint from "
        "xquad-r and mlqa-r",
    ),
    "sample": _Builtin(
        "sample",
        "Built-in sample (42 QA groups x 6 languages)",
        "sample",
        None,
        ("ar", "de", "en", "es", "ru", "zh"),
        None,
        None,
        "Apache-2.0 (written for hybriddash)",
        "general-knowledge questions with answer and distractor sentences; always available",
    ),
}

#: Dataset ids in display order (uploads are listed after these).
DATASET_IDS: tuple[str, ...] = tuple(BUILTINS)


class DatasetNotAvailableError(FileNotFoundError):
    """A known dataset whose files are not where hybriddash looked."""


@dataclass
class DatasetInfo:
    """What ``data list`` and the dashboard show about one dataset.

    ``n_queries`` / ``n_candidates`` are totals over all languages (None when not
    known without loading); ``path`` is the folder or file read (None when not found).
    """

    id: str
    title: str
    kind: str  # "benchmark" | "sample" | "train" | "upload"
    available: bool
    path: str | None
    languages: list[str]
    n_queries: int | None
    n_candidates: int | None
    license: str
    note: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # per language, when known


# ---- locations ------------------------------------------------------------------


def dataset_folder(dataset_id: str) -> Path | None:
    """The folder a benchmark/train dataset is read from (None without a data dir)."""
    spec = BUILTINS.get(dataset_id)
    if spec is None or spec.folder is None:
        return None
    base = config.data_dir()
    return None if base is None else base / spec.folder


def upload_path(name: str) -> Path:
    """``<artifacts>/uploads/<name>/corpus.jsonl`` (not checked for existence)."""
    _check_upload_name(name)
    return config.uploads_dir() / name / UPLOAD_FILE


def _upload_files(name: str) -> list[Path]:
    """The stored corpus file(s) of an upload that exist (full format first)."""
    folder = upload_path(name).parent
    return [p for p in (folder / UPLOAD_FULL_FILE, folder / UPLOAD_FILE) if p.is_file()]


def _check_upload_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(
            f"invalid upload name {name!r}: expected a plain folder name (no '/', not hidden)"
        )


def _is_available(dataset_id: str) -> bool:
    if dataset_id == "sample":
        return True
    folder = dataset_folder(dataset_id)
    return folder is not None and folder.is_dir() and any(folder.glob("*.json"))


def _missing_message(dataset_id: str) -> str:
    base = config.data_dir()
    where = (
        f"no data folder is configured (HYBRIDDASH_DATA unset and {config.REPO_ROOT.parent / 'shared' / 'data'} "
        "does not exist)"
        if base is None
        else f"searched {base / BUILTINS[dataset_id].folder} (from HYBRIDDASH_DATA / --data-dir or the default)"
    )
    return (
        f"dataset {dataset_id!r} is not available: {where}. Run `python -m hybriddash data "
        f"download {dataset_id}` or point HYBRIDDASH_DATA (or --data-dir) at a folder holding "
        f"{BUILTINS[dataset_id].folder}/"
    )


# ---- listing --------------------------------------------------------------------


def list_uploads() -> list[str]:
    """Names of uploaded corpora (folders under ``<artifacts>/uploads`` with a corpus file)."""
    root = config.uploads_dir()
    names = {
        p.parent.name
        for pattern in (f"*/{UPLOAD_FILE}", f"*/{UPLOAD_FULL_FILE}")
        for p in root.glob(pattern)
        if not p.parent.name.startswith(".")
    }
    return sorted(names)


def list_datasets(with_counts: bool = False) -> list[DatasetInfo]:
    """Every known dataset with its availability.

    Benchmarks report their documented sizes without loading; with
    ``with_counts=True`` every available dataset is loaded (cached) and ``counts``
    holds exact per-language numbers. The sample and uploads are small and are always
    loaded to count them.
    """
    infos: list[DatasetInfo] = []
    for dataset_id, spec in BUILTINS.items():
        available = _is_available(dataset_id)
        folder = dataset_folder(dataset_id)
        if dataset_id == "sample":
            from hybriddash.data.sample import sample_path

            path: str | None = sample_path()
        else:
            path = str(folder) if available and folder is not None else None
        info = DatasetInfo(
            dataset_id,
            spec.title,
            spec.kind,
            available,
            path,
            list(spec.languages),
            spec.n_queries,
            spec.n_candidates,
            spec.license,
            spec.note,
        )
        if available and (with_counts or spec.kind == "sample"):
            _fill_counts(info, load_dataset(dataset_id))
        infos.append(info)
    for name in list_uploads():
        dataset_id = UPLOAD_PREFIX + name
        info = DatasetInfo(
            dataset_id,
            f"Upload {name}",
            "upload",
            True,
            str((_upload_files(name) or [upload_path(name)])[0]),
            [],
            None,
            None,
            "as declared by the uploader",
            "",
        )
        try:
            _fill_counts(info, load_dataset(dataset_id))
        except ValueError as exc:  # a broken upload is listed, not fatal
            info.available = False
            info.note = f"cannot be loaded: {exc}"
        infos.append(info)
    return infos


def _fill_counts(info: DatasetInfo, corpus: Corpus) -> None:
    info.counts = corpus.counts()
    info.languages = corpus.languages
    info.n_queries = len(corpus.queries)
    info.n_candidates = len(corpus.candidates)
    if corpus.notes and not info.note:
        info.note = "; ".join(corpus.notes)


# ---- loading --------------------------------------------------------------------

_CACHE_SIZE = 4
_cache: OrderedDict[tuple, Corpus] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(dataset_id: str) -> tuple:
    """Id + the files' (path, mtime, size), so edits on disk invalidate the cache."""
    if dataset_id.startswith(UPLOAD_PREFIX):
        files = _upload_files(dataset_id[len(UPLOAD_PREFIX) :])
    else:
        folder = dataset_folder(dataset_id)
        files = sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []
    stamp = []
    for f in files:
        st = os.stat(f)
        stamp.append((str(f), st.st_mtime_ns, st.st_size))
    return (dataset_id, tuple(stamp))


def _load_full(dataset_id: str) -> Corpus:
    if dataset_id == "sample":
        from hybriddash.data.sample import load_sample

        return load_sample()
    if dataset_id.startswith(UPLOAD_PREFIX):
        return load_upload(dataset_id[len(UPLOAD_PREFIX) :])
    if dataset_id not in BUILTINS:
        known = ", ".join([*DATASET_IDS, UPLOAD_PREFIX + "<name>"])
        raise ValueError(f"unknown dataset {dataset_id!r}: expected one of {known}")
    if not _is_available(dataset_id):
        raise DatasetNotAvailableError(_missing_message(dataset_id))
    folder = dataset_folder(dataset_id)
    assert folder is not None
    if dataset_id in ("xquad-r", "mlqa-r"):
        from hybriddash.data.lareqa import load_lareqa

        return load_lareqa(folder, dataset_id)
    from hybriddash.data.squad_pairs import load_squad_pairs

    return load_squad_pairs(folder, dataset_id)


def load_upload(name: str) -> Corpus:
    """Read an uploaded corpus: ``corpus.json`` (full format) if present, else ``corpus.jsonl``.

    ``corpus.jsonl`` is parallel-table JSON Lines, turned into a corpus by
    :func:`hybriddash.data.parallel_table.corpus_from_parallel_rows`.
    """
    from hybriddash.data.parallel_table import corpus_from_parallel_rows
    from hybriddash.data.sample import read_jsonl_rows

    files = _upload_files(name)
    if not files:
        available = ", ".join(list_uploads()) or "none"
        raise DatasetNotAvailableError(
            f"no uploaded corpus {name!r}: {upload_path(name)} does not exist (uploads: {available})"
        )
    path = files[0]
    if path.name == UPLOAD_FULL_FILE:
        from hybriddash.data.corpus_json import read_corpus_json

        return read_corpus_json(path, UPLOAD_PREFIX + name)
    numbers, rows = read_jsonl_rows(path.read_text(encoding="utf-8"), str(path))
    return corpus_from_parallel_rows(rows, UPLOAD_PREFIX + name, str(path), row_numbers=numbers)


def load_dataset(
    dataset_id: str,
    langs: Sequence[str] | None = None,
    articles: int | None = None,
) -> Corpus:
    """Load a dataset by id, optionally restricted to ``langs`` and the first ``articles``.

    ``langs`` may use any spelling :func:`hybriddash.languages.normalize_language`
    accepts. Raises ``ValueError`` for an unknown id or language and
    :class:`DatasetNotAvailableError` (a ``FileNotFoundError``) naming the folder
    searched when a benchmark's files are missing. The full corpus is shared through
    the cache: treat it as read-only (subsets are new objects).
    """
    key = _cache_key(dataset_id)
    with _cache_lock:
        corpus = _cache.get(key)
        if corpus is not None:
            _cache.move_to_end(key)
    if corpus is None:
        corpus = _load_full(dataset_id)
        with _cache_lock:
            _cache[key] = corpus
            _cache.move_to_end(key)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if langs is None and articles is None:
        return corpus
    if langs is not None:
        from hybriddash.languages import normalize_language

        langs = [normalize_language(lang) for lang in langs]
    return corpus.subset_by(langs=langs, articles=articles)


def clear_cache() -> None:
    """Forget every cached corpus (tests; after changing HYBRIDDASH_DATA in-process)."""
    with _cache_lock:
        _cache.clear()
