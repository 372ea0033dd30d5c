"""Validate an upload completely before anything is stored.

:func:`validate_upload` reads the sources into memory, detects (or takes) the
format, parses with :mod:`hybriddash.data.upload.formats` collecting *every*
problem, runs the checks common to all formats, and either returns a
:class:`ValidatedUpload` (the corpus plus notices) or raises
:class:`~hybriddash.data.upload.problems.UploadRejected` listing all problems.
It writes nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hybriddash.data.corpus import Corpus
from hybriddash.data.upload.formats import (
    FORMATS,
    detect_format,
    parse_beir,
    parse_squad,
    parse_table,
)
from hybriddash.data.upload.problems import ProblemLog, UploadRejected
from hybriddash.data.upload.sources import UploadFile, collect_files

UPLOAD_PREFIX = "upload:"
# the "file" column of a problem with the dataset name (not a file of the upload)
NAME_PLACE = "dataset name"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Source = str | os.PathLike[str] | UploadFile | tuple[str, bytes]


@dataclass
class ValidatedUpload:
    """An accepted upload, not yet stored.

    ``table_rows`` are the normalised parallel-table rows when the input was a
    table (stored as-is); ``files`` carry name and sha256 for the manifest.
    """

    name: str
    format: str
    corpus: Corpus
    notices: list[str]
    files: list[tuple[str, int, str]]  # (name, bytes, sha256)
    table_rows: list[dict] | None = None


def check_name(name: str, log: ProblemLog | None = None) -> bool:
    """Whether ``name`` is a valid upload name (letters, digits, ``._-``; max 64)."""
    if isinstance(name, str) and _NAME.match(name):
        return True
    message = (
        f"invalid corpus name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )
    if log is None:
        raise ValueError(message)
    log.add(NAME_PLACE, None, "name", message, "name")
    return False


def default_name(sources: Sequence[Source]) -> str:
    """An upload name from the first source's file name: its stem, made valid.

    ``"My QA (v2).csv"`` -> ``"My-QA-v2"``; ``"corpus"`` when nothing usable is left.
    """
    if not sources:
        return "corpus"
    first = sources[0]
    if isinstance(first, UploadFile):
        raw = first.name
    elif isinstance(first, tuple):
        raw = str(first[0])
    else:
        raw = os.fspath(first)
    base = re.split(r"[\\/]", raw.rstrip("/\\"))[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:64].rstrip("-._")
    return cleaned or "corpus"


def validate_upload(
    sources: Sequence[Source],
    name: str | None,
    *,
    fmt: str = "auto",
    max_bytes: int | None = None,
) -> ValidatedUpload:
    """Read and check an upload; raise :class:`UploadRejected` with every problem found.

    ``sources``: paths (files, folders, ``.zip``), :class:`UploadFile` objects or
    ``(file name, bytes)`` pairs. ``fmt``: ``auto`` (from the file names) or one of
    :data:`~hybriddash.data.upload.formats.FORMATS`. ``max_bytes``: size limit
    (default ``HYBRIDDASH_UPLOAD_MAX_MB`` or 200 MB).
    """
    log = ProblemLog()
    if name is None or not str(name).strip():
        name = default_name(sources)
        log.notice(f"no dataset name given: using {name!r} (from the file name)")
    check_name(name, log)
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown upload format {fmt!r}: expected auto or one of {FORMATS}")
    files = collect_files(sources, log, max_bytes=max_bytes)
    if log:
        log.raise_if_any()  # size/zip problems: do not parse half an upload
    detected = detect_format(files, log) if fmt == "auto" else fmt
    if detected is None:
        log.raise_if_any()
    dataset_id = UPLOAD_PREFIX + name
    rows: list[dict] | None = None
    if detected == "squad":
        corpus = parse_squad(files, dataset_id, log)
    elif detected == "beir":
        corpus = parse_beir(files, dataset_id, log)
    else:
        corpus, rows = parse_table(files, dataset_id, log)
    if corpus is None or log:
        if not log:  # a parser returned nothing without saying why: never accept silently
            log.add("upload", None, None, "no corpus could be built from these files", "empty")
        log.raise_if_any()
    assert corpus is not None
    if len(corpus.languages) == 1:
        log.notice(
            f"only one language ({corpus.languages[0]}): the cross-lingual views will be empty; "
            "monolingual and pooled numbers are still computed"
        )
    log.notice(
        f"{len(corpus.queries)} queries and {len(corpus.candidates)} candidates in "
        f"{len(corpus.languages)} language(s): {', '.join(corpus.languages)}"
    )
    described = [(f.name, len(f.data), hashlib.sha256(f.data).hexdigest()) for f in files]
    return ValidatedUpload(name, detected, corpus, log.notices, described, rows)


__all__ = [
    "NAME_PLACE",
    "UploadRejected",
    "ValidatedUpload",
    "check_name",
    "default_name",
    "validate_upload",
]
