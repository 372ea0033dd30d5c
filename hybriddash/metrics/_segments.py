"""CSR segment helpers shared by the metric kernels (see the package docstring)."""

from __future__ import annotations

import numpy as np


def check_segments(ranks: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(ranks, indptr)`` and return them as int64 arrays.

    Raises ValueError when ``indptr`` is not a CSR pointer over ``ranks`` or a rank is < 1.
    """
    r = np.asarray(ranks)
    p = np.asarray(indptr, dtype=np.int64)
    if r.ndim != 1 or p.ndim != 1 or p.shape[0] < 1:
        raise ValueError(f"ranks must be 1-D and indptr 1-D non-empty, got {r.shape}, {p.shape}")
    if p[0] != 0 or p[-1] != r.shape[0] or np.any(np.diff(p) < 0):
        raise ValueError(f"indptr must rise from 0 to len(ranks)={r.shape[0]}, got {p[0]}..{p[-1]}")
    if r.size and not np.issubdtype(r.dtype, np.integer) and not np.all(r == np.floor(r)):
        raise ValueError("ranks must be whole numbers")
    r = r.astype(np.int64, copy=False)
    if r.size and r.min() < 1:
        raise ValueError(f"ranks are 1-based: got a rank of {int(r.min())}")
    return r, p


def segment_ids(indptr: np.ndarray) -> np.ndarray:
    """(nnz,) segment index of each entry."""
    return np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))


def sorted_within_segments(
    ranks: np.ndarray, indptr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks sorted ascending inside each segment: ``(sorted_ranks, seg, position)``.

    ``position`` is the 1-based position of each entry inside its segment after sorting.
    Raises ValueError when a segment holds a rank twice (the tie rule makes ranks distinct).
    """
    seg = segment_ids(indptr)
    rising = np.diff(ranks) > 0
    if rising.all() or (rising | (np.diff(seg) != 0)).all():
        r = ranks  # already ascending inside every segment (callers often pre-sort)
    else:
        r = ranks[np.lexsort((ranks, seg))]
    if r.size > 1:
        same = (np.diff(r) == 0) & (np.diff(seg) == 0)
        if same.any():
            i = int(np.argmax(same))
            raise ValueError(f"segment {int(seg[i])} holds rank {int(r[i])} twice")
    position = np.arange(1, r.shape[0] + 1, dtype=np.int64) - indptr[seg]
    return r, seg, position


def segment_counts(indptr: np.ndarray) -> np.ndarray:
    return np.diff(indptr)
