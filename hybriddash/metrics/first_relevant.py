"""Rank of the first (highest-ranked) relevant candidate.

For one query in one pool: ``first = min_i rank_i`` (1-based, package tie rule); the
reciprocal ``1 / first`` is the query's reciprocal rank. Averaged per candidate
language it shows in which language the model finds the answer first.
"""

from __future__ import annotations

import numpy as np

from hybriddash.metrics._segments import check_segments


def first_relevant_rank_segments(ranks: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """(n,) int64 smallest rank of every segment; raises ValueError on an empty segment."""
    r, p = check_segments(ranks, indptr)
    count = np.diff(p)
    if np.any(count == 0):
        raise ValueError(
            f"segment {int(np.argmax(count == 0))} is empty: no relevant candidate, no first rank"
        )
    if count.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.minimum.reduceat(r, p[:-1]).astype(np.int64)
