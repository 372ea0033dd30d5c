"""Average precision over ALL relevant candidates (trec_eval ``map`` semantics, no cut-off).

For one query with ``R`` relevant candidates in the searched pool, at distinct 1-based
ranks sorted ascending ``rank_1 < rank_2 < ... < rank_R``::

    AP = (1 / R) * sum_{i=1..R} i / rank_i

(``i / rank_i`` is the precision at the depth of the i-th relevant candidate.) Ranks
follow the package tie rule. A pool with no relevant candidate (R = 0) gives NaN.
mAP of a setting is the plain mean of AP over its queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybriddash.metrics._segments import check_segments, sorted_within_segments


def average_precision_segments(ranks: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """AP of every segment: (n,) float64, NaN for empty segments.

    Args:
        ranks: (nnz,) 1-based ranks of the relevant candidates, distinct within a segment,
            in any order.
        indptr: (n + 1,) CSR pointer; segment ``i`` is one query in one pool.
    """
    r, p = check_segments(ranks, indptr)
    n = p.shape[0] - 1
    sr, seg, pos = sorted_within_segments(r, p)
    total = np.bincount(seg, weights=pos / sr, minlength=n)
    count = np.diff(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def average_precision(ranks: Sequence[int] | np.ndarray) -> float:
    """AP of one query from the ranks of its relevant candidates (see module docstring)."""
    r = np.asarray(ranks, dtype=np.int64).ravel()
    return float(average_precision_segments(r, np.array([0, r.shape[0]]))[0])
