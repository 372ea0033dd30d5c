"""Language bias as rank distance (after Huang et al. 2023; the paper's Table 2).

In the multilingual (pooled) setting, for one query whose relevant candidates (one per
language in LAReQA) sit at 1-based pooled ranks ``rank_i``::

    rank_distance = max_i rank_i - min_i rank_i

i.e. the rank of its lowest-ranked relevant candidate minus that of its highest-ranked
one. 0 is the ideal of a language-blind model only when all relevant candidates are
adjacent at the top; lower is better. A query with a single relevant candidate has no
distance to measure: NaN, and it is left out of every mean (MLQA-R and XQuAD-R queries
have 2 to 11). The headline value is the mean over queries per query language, then
the mean over query languages.
"""

from __future__ import annotations

import numpy as np

from hybriddash.metrics._segments import check_segments


def rank_distance_segments(pooled_ranks: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """(n,) float64 ``max - min`` pooled rank per query; NaN where it has < 2 ranks."""
    r, p = check_segments(pooled_ranks, indptr)
    count = np.diff(p)
    out = np.full(count.shape[0], np.nan)
    nonempty = count > 0
    if nonempty.any():
        starts = p[:-1][nonempty]
        hi = np.maximum.reduceat(r, starts)
        lo = np.minimum.reduceat(r, starts)
        out[nonempty] = (hi - lo).astype(np.float64)
    out[count < 2] = np.nan
    return out
