"""What identifies an encoder: :class:`ModelSpec`, the offline default's id, and the
prefixes a model family expects.

A leaf module (no hybriddash imports), so the registry, the offline default's builder
and the encoders all read it without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OFFLINE_DEFAULT = "multilingual-e5-small-q4"


@dataclass
class ModelSpec:
    """Everything needed to load a model and to key its cached embeddings."""

    model_id: str  # "multilingual-e5-small-q4", a hub id, "trained/<name>", a path
    source: str  # folder path or hub id passed to SentenceTransformer
    fingerprint: str  # 16 hex chars: weights hash (base) or training-config hash
    kind: str  # "offline-base" | "sentence-transformers" | "trained" | "tiny"
    description: str
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    training_card: dict | None = None

    def prefix(self, kind: str) -> str:
        """The text prefix for ``kind`` ``"query"`` or ``"passage"``."""
        if kind == "query":
            return self.query_prefix
        if kind == "passage":
            return self.passage_prefix
        raise ValueError(f"text kind must be 'query' or 'passage', got {kind!r}")


def default_prefixes(model_id: str) -> tuple[str, str]:
    """(query prefix, passage prefix) a model family expects.

    The e5 family was trained with ``"query: "`` / ``"passage: "``; other
    sentence-transformers models (LaBSE, xlm-roberta, ...) take raw text.
    """
    tokens = re.split(r"[-_/.\s]+", model_id.lower())
    if "e5" in tokens:
        return "query: ", "passage: "
    return "", ""
