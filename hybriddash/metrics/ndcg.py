"""nDCG@k with binary gains and a log2 discount (trec_eval ``ndcg_cut_k`` semantics).

For one query with ``R`` relevant candidates in the pool at 1-based ranks ``rank_i``::

    DCG@k  = sum_{i : rank_i <= k} 1 / log2(rank_i + 1)
    IDCG@k = sum_{j=1..min(R, k)} 1 / log2(j + 1)
    nDCG@k = DCG@k / IDCG@k

All relevant candidates have gain 1. R = 0 gives NaN. Ranks follow the package tie rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybriddash.metrics._segments import check_segments, segment_ids


def ndcg_at_k_segments(ranks: np.ndarray, indptr: np.ndarray, k: int = 10) -> np.ndarray:
    """nDCG@k of every segment: (n,) float64 in [0, 1], NaN for empty segments."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    r, p = check_segments(ranks, indptr)
    n = p.shape[0] - 1
    seg = segment_ids(p)
    gain = np.where(r <= k, 1.0 / np.log2(np.minimum(r, k) + 1.0), 0.0)
    dcg = np.bincount(seg, weights=gain, minlength=n)
    ideal_prefix = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    count = np.diff(p)
    idcg = ideal_prefix[np.minimum(count, k)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)


def ndcg_at_k(ranks: Sequence[int] | np.ndarray, k: int = 10) -> float:
    """nDCG@k of one query from the ranks of all its relevant candidates."""
    r = np.asarray(ranks, dtype=np.int64).ravel()
    return float(ndcg_at_k_segments(r, np.array([0, r.shape[0]]), k)[0])
