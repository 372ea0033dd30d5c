"""Recall@k (trec_eval ``recall_k`` semantics).

For one query with ``R`` relevant candidates in the pool at 1-based ranks ``rank_i``::

    Recall@k = #{i : rank_i <= k} / R

R = 0 gives NaN. Ranks follow the package tie rule (so the k-th slot is decided by it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybriddash.metrics._segments import check_segments, segment_ids


def recall_at_k_segments(ranks: np.ndarray, indptr: np.ndarray, k: int = 100) -> np.ndarray:
    """Recall@k of every segment: (n,) float64 in [0, 1], NaN for empty segments."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    r, p = check_segments(ranks, indptr)
    n = p.shape[0] - 1
    hits = np.bincount(segment_ids(p), weights=(r <= k).astype(np.float64), minlength=n)
    count = np.diff(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, hits / np.maximum(count, 1), np.nan)


def recall_at_k(ranks: Sequence[int] | np.ndarray, k: int = 100) -> float:
    """Recall@k of one query from the ranks of all its relevant candidates."""
    r = np.asarray(ranks, dtype=np.int64).ravel()
    return float(recall_at_k_segments(r, np.array([0, r.shape[0]]), k)[0])
