"""The full-corpus JSON file: any :class:`Corpus`, relevance included, in one file.

Written for an upload whose relevance is not "the group's answer in every language"
(see :mod:`hybriddash.data.upload.importer`) and read by
:func:`hybriddash.data.datasets.load_upload`. It sits below both, so neither imports
the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from hybriddash.data.corpus import Candidate, Corpus, Query

FULL_FORMAT = "hybriddash-corpus"
FULL_VERSION = 1


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
