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
corpus is registered (by the caller's ``register``; see
:mod:`hybriddash.store.uploads`), and only then is the staging folder renamed into
place (one ``rename``; an older upload of the same name is swapped out the same
way when ``overwrite=True``). Any failure removes the staging folder, so a refused
or failed import leaves the uploads folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hybriddash import config
from hybriddash.data.corpus import Corpus
from hybriddash.data.corpus_json import read_corpus_json, write_corpus_json
from hybriddash.data.parallel_table import corpus_from_parallel_rows
from hybriddash.data.upload.problems import Problem, UploadRejected
from hybriddash.data.upload.validation import (
    NAME_PLACE,
    UPLOAD_PREFIX,
    Source,
    ValidatedUpload,
    validate_upload,
)
from hybriddash.data.upload.writers import NotParallelError, corpus_to_parallel_rows

TABLE_FILE = "corpus.jsonl"
FULL_FILE = "corpus.json"
MANIFEST_FILE = "manifest.json"


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
    name: str | None,
    *,
    fmt: str = "auto",
    max_bytes: int | None = None,
    overwrite: bool = False,
    register: Callable[[Corpus], bool] | None = None,
) -> ImportResult:
    """Validate ``sources`` and store them as dataset ``upload:<name>``.

    Raises :class:`UploadRejected` (every problem, nothing written) when the files
    are invalid or the name is taken and ``overwrite`` is False. An empty ``name``
    becomes the first file's stem (:func:`~hybriddash.data.upload.validation.default_name`).
    ``register(corpus) -> bool`` is called before the upload is moved into place, so a
    failing registration leaves nothing; the data layer does not know the store, so
    :func:`hybriddash.store.uploads.import_upload` passes the store's registration.
    """
    validated = validate_upload(sources, name, fmt=fmt, max_bytes=max_bytes)
    name = validated.name
    if upload_exists(name) and not overwrite:
        raise UploadRejected(
            [
                Problem(
                    NAME_PLACE,
                    None,
                    "name",
                    f"an upload named {name!r} already exists; choose another name or overwrite it",
                    "name",
                )
            ],
            validated.notices,
        )
    return store_upload(validated, overwrite=overwrite, register=register)


def same_content_uploads(fingerprint: str, *, except_name: str | None = None) -> list[str]:
    """Names of stored uploads whose corpus has ``fingerprint`` (from their manifests)."""
    root = uploads_root()
    names = []
    for manifest in sorted(root.glob(f"*/{MANIFEST_FILE}")) if root.is_dir() else []:
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a broken manifest is not this import's problem
        if doc.get("fingerprint") == fingerprint and doc.get("name") != except_name:
            names.append(str(doc.get("name")))
    return names


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
    register: Callable[[Corpus], bool] | None = None,
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
        twins = same_content_uploads(stored.fingerprint, except_name=name)
        if twins:
            # runs and the store are keyed by content: both names show the same corpus
            validated.notices.append(
                f"same content as {', '.join(UPLOAD_PREFIX + t for t in twins)} (fingerprint "
                f"{stored.fingerprint}): the store keeps one corpus per content, so its runs "
                f"are shared and the sidebar lists it under the name first evaluated"
            )
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
        registered = bool(register(stored)) if register is not None else False
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
