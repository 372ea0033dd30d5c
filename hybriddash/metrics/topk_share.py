"""Which languages fill the top of the pooled ranking: language share@k.

From each query's pooled top-K list (language code of the candidate at each slot,
package tie rule), for every k = 1..K:

    share(X, k, l)      = mean over queries q of language X of  #{j <= k : lang(top_j(q)) = l} / k
    same_share(q, k)    = #{j <= k : lang(top_j(q)) = lang(q)} / k
    same_share(X, k)    = share(X, k, X)

Shares over l sum to 1 for every (X, k) when every slot holds a candidate. Slots marked
-1 (fewer than K candidates) count in the denominator k but for no language.
"""

from __future__ import annotations

import numpy as np


def language_share_at_k(
    topk_cand_lang: np.ndarray,
    query_group: np.ndarray,
    n_groups: int,
    n_cand_langs: int,
) -> np.ndarray:
    """Share of each candidate language in the top-k, per query group, for k = 1..K.

    Args:
        topk_cand_lang: (nq, K) int language code of the candidate in each top-K slot
            (slot 0 = rank 1), -1 for an empty slot.
        query_group: (nq,) int group of each query in [0, n_groups) (its query language).
        n_groups: number of query groups.
        n_cand_langs: number of candidate language codes.

    Returns:
        (n_groups, K, n_cand_langs) float64; ``out[g, k - 1, l]`` = share(g, k, l).
        A group without queries is NaN.
    """
    lang = np.asarray(topk_cand_lang)
    group = np.asarray(query_group, dtype=np.int64)
    if lang.ndim != 2 or group.shape != (lang.shape[0],):
        raise ValueError(f"expected (nq, K) and (nq,), got {lang.shape} and {group.shape}")
    nq, k_max = lang.shape
    if nq and (group.min() < 0 or group.max() >= n_groups):
        raise ValueError(f"query_group codes must lie in [0, {n_groups})")
    if lang.size and lang.max() >= n_cand_langs:
        raise ValueError(f"topk_cand_lang codes must lie in [-1, {n_cand_langs})")
    slot = np.broadcast_to(np.arange(k_max, dtype=np.int64), lang.shape)
    valid = lang >= 0
    flat = (group[:, None] * k_max + slot) * n_cand_langs + lang
    counts = np.bincount(flat[valid], minlength=n_groups * k_max * n_cand_langs)
    counts = counts.reshape(n_groups, k_max, n_cand_langs).cumsum(axis=1)
    n_queries = np.bincount(group, minlength=n_groups).astype(np.float64)
    ks = np.arange(1, k_max + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / (n_queries[:, None, None] * ks[None, :, None])


def same_language_share_per_query(
    topk_cand_lang: np.ndarray, query_cand_lang: np.ndarray
) -> np.ndarray:
    """(nq, K) float64 share of slots 1..k holding the query's own language, k = 1..K.

    ``query_cand_lang`` (nq,) is each query's language in the candidate code space
    (-1 when no candidate has that language: share 0).
    """
    lang = np.asarray(topk_cand_lang)
    own = np.asarray(query_cand_lang)
    if lang.ndim != 2 or own.shape != (lang.shape[0],):
        raise ValueError(f"expected (nq, K) and (nq,), got {lang.shape} and {own.shape}")
    same = (lang == own[:, None]) & (own[:, None] >= 0)
    return same.cumsum(axis=1) / np.arange(1, lang.shape[1] + 1, dtype=np.float64)
