"""Mean Rank Correlation across the parallel versions of a query (MultiEuP-v2).

Source: Yang, Jiang & Baldwin (2025), *Language Bias in Information Retrieval: The Nature
of the Beast and Mitigation Methods*, arXiv 2509.06195 (the MultiEuP-v2 study). Its
premise: "queries in different languages, but with identical semantics, should yield
equivalent ranking lists when retrieving on the same multilingual documents"; fairness is
measured as the agreement (rank correlation) of the rankings that the parallel versions
of a query get.

The paper's exact formula could not be retrieved here; this is our precise definition:

- For two parallel queries ``a`` and ``b`` (same parallel group, different languages)
  with pooled top-k lists ``A`` and ``B``, take the items ``U = A ∪ B``. An item's rank
  in a list is its position (1..k); an item missing from the list gets rank ``k + 1``
  (tied last), as in Fagin, Kumar & Sivakumar (2003), *Comparing top k lists*.
- ``tau(a, b)`` = Kendall's tau-b of the two rank vectors over ``U``::

      tau_b = (C - D) / sqrt((n0 - n1) * (n0 - n2))

  with ``C``/``D`` the concordant/discordant pairs of items, ``n0 = |U|(|U|-1)/2`` and
  ``n1``/``n2`` the pairs tied in the first/second list. 1 = the same list in the same
  order; values fall as the lists diverge; two disjoint lists of k items give
  ``-2k / (3k - 1)`` (-0.669 for k = 100: each list ranks its own items above the
  other's), so the scale runs from about -0.67 (nothing shared) to 1; NaN when undefined
  (``|U| < 2`` or a list is all ties).
- A group's value is the mean of ``tau`` over its unordered language pairs; the run's
  **MRC@k** is the mean over groups with at least two queries. Per query language
  ``X``: the mean of ``tau`` over the pairs that include ``X``'s query.

Depth ``k`` is the stored pooled top-k (100 by default): deep enough to see the
relevant candidates of every language in a LAReQA pool, and the lists every run keeps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd

PAIR_COLUMNS = ["group_id", "query_a", "query_b", "lang_a", "lang_b", "tau"]


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two equally long score/rank vectors (ties allowed); NaN if undefined.

    O(n^2) pair comparison: meant for short vectors (two top-k lists, n <= 2k).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x {x.shape} and y {y.shape} must be 1-D of one length")
    n = x.shape[0]
    if n < 2:
        return float("nan")
    iu = np.triu_indices(n, k=1)
    dx = np.sign(x[:, None] - x[None, :])[iu]
    dy = np.sign(y[:, None] - y[None, :])[iu]
    n0 = dx.shape[0]
    n1 = int(np.count_nonzero(dx == 0))
    n2 = int(np.count_nonzero(dy == 0))
    denom = np.sqrt(float(n0 - n1) * float(n0 - n2))
    if denom == 0:
        return float("nan")
    return float(np.sum(dx * dy) / denom)


def topk_rank_correlation(
    list_a: Sequence[int], list_b: Sequence[int], k: int | None = None
) -> float:
    """Kendall's tau-b of two top-k lists over their union, absent items tied at ``k + 1``.

    ``list_a``/``list_b``: item ids best first (distinct within a list); only the first
    ``k`` of each are used (default: the longer list's length). Equal to
    :func:`kendall_tau_b` of the two rank vectors over the union (tested), computed in
    closed form from the lists' overlap (the pairs of the union fall in a few classes:
    shared x shared is Kendall's count over the shared items; shared x only-in-A is
    concordant when the shared item comes first in A; only-in-A x only-in-B is always
    discordant; pairs within only-in-A are tied in B's ranking and vice versa).
    """
    a = np.asarray(list(list_a))
    b = np.asarray(list(list_b))
    if k is None:
        k = max(a.shape[0], b.shape[0])
    a, b = a[:k], b[:k]
    ka, kb = a.shape[0], b.shape[0]
    if np.unique(a).shape[0] != ka or np.unique(b).shape[0] != kb:
        raise ValueError("a top-k list holds an item twice")
    _, ia, ib = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    m = ia.shape[0]
    n = ka + kb - m
    if n < 2:
        return float("nan")
    # shared x shared: ordinary Kendall count over the shared items (no ties)
    if m > 1:
        dx = np.sign(ia[:, None] - ia[None, :])
        dy = np.sign(ib[:, None] - ib[None, :])
        s = float(np.sum(np.triu(dx * dy, 1)))
    else:
        s = 0.0
    # shared x only-in-A: +1 when the shared item is ahead of the A-only item in A
    only_a = np.setdiff1d(np.arange(ka), ia, assume_unique=True)
    only_b = np.setdiff1d(np.arange(kb), ib, assume_unique=True)
    if m:
        s += float(np.sum(only_a.shape[0] - 2 * np.searchsorted(only_a, ia)))
        s += float(np.sum(only_b.shape[0] - 2 * np.searchsorted(only_b, ib)))
    # only-in-A x only-in-B: always discordant
    s -= float(only_a.shape[0] * only_b.shape[0])
    n0 = n * (n - 1) / 2
    tied_x = only_b.shape[0] * (only_b.shape[0] - 1) / 2  # B-only items all at k + 1 in A
    tied_y = only_a.shape[0] * (only_a.shape[0] - 1) / 2
    denom = np.sqrt((n0 - tied_x) * (n0 - tied_y))
    return float(s / denom) if denom > 0 else float("nan")


def parallel_pair_correlations(
    topk_indices: np.ndarray,
    query_groups: Sequence[str] | np.ndarray,
    query_langs: Sequence[str] | np.ndarray,
    query_ids: Sequence[str] | np.ndarray | None = None,
    *,
    k: int | None = None,
) -> pd.DataFrame:
    """``tau`` for every unordered pair of parallel queries (same group, different language).

    Args:
        topk_indices: (nq, K) candidate ids/indices of each query's pooled top-K, best first.
        query_groups, query_langs: (nq,) parallel group and language of each query row.
        query_ids: (nq,) ids for the output (default: row numbers).
        k: depth used (default K).

    Returns:
        One row per pair: ``group_id, query_a, query_b, lang_a, lang_b, tau`` with
        ``lang_a < lang_b``. Two queries of one group in the same language are not paired.
    """
    idx = np.asarray(topk_indices)
    nq = idx.shape[0]
    groups = np.asarray(query_groups, dtype=object)
    langs = np.asarray(query_langs, dtype=object)
    ids = np.arange(nq).astype(object) if query_ids is None else np.asarray(query_ids, dtype=object)
    if groups.shape != (nq,) or langs.shape != (nq,) or ids.shape != (nq,):
        raise ValueError("query_groups, query_langs and query_ids need one value per top-k row")
    depth = idx.shape[1] if k is None else min(int(k), idx.shape[1])
    first: list[int] = []
    second: list[int] = []
    order = np.lexsort((langs.astype(str), groups.astype(str)))
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]) if nq else []
    bounds = list(starts) + [nq]
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        members = order[s:e]
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                if langs[members[i]] != langs[members[j]]:
                    first.append(members[i])
                    second.append(members[j])
    qa = np.asarray(first, dtype=np.int64)
    qb = np.asarray(second, dtype=np.int64)
    return pd.DataFrame(
        {
            # lists, so that pandas infers each column's type as it does for rows
            "group_id": groups[qa].tolist(),
            "query_a": ids[qa].tolist(),
            "query_b": ids[qb].tolist(),
            "lang_a": langs[qa].tolist(),
            "lang_b": langs[qb].tolist(),
            "tau": pair_taus(idx[:, :depth], qa, qb),
        },
        columns=PAIR_COLUMNS,
    )


def pair_taus(lists: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """:func:`topk_rank_correlation` of rows ``lists[first[p]]`` and ``lists[second[p]]``.

    The same closed form, in one compiled pass over all pairs (integer counts, then the
    same float operations: bit-identical results, tested). On the shape of full XQuAD-R
    (65,450 pairs of top-100 lists) 0.5 s against 19 s for one
    :func:`topk_rank_correlation` call per pair (``bench/bench_rank_correlation.py``).
    Items may be any comparable values; each row's items must be distinct.
    """
    lists = np.asarray(lists)
    if lists.ndim != 2:
        raise ValueError(f"lists must be 2-D (rows x depth), got shape {lists.shape}")
    if first.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    if not np.issubdtype(lists.dtype, np.integer):
        lists = np.unique(lists, return_inverse=True)[1].reshape(lists.shape)
    lists = lists.astype(np.int64, copy=False)
    used = np.unique(np.r_[first, second])
    by_value = np.argsort(lists, axis=1, kind="stable")
    ordered = np.take_along_axis(lists[used], by_value[used], axis=1)
    if ordered.shape[1] > 1 and (ordered[:, 1:] == ordered[:, :-1]).any():
        raise ValueError("a top-k list holds an item twice")
    return _pair_taus(lists, by_value, first.astype(np.int64), second.astype(np.int64))


@numba.njit(cache=True, nogil=True)
def _pair_taus(
    lists: np.ndarray, by_value: np.ndarray, first: np.ndarray, second: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; tested through pair_taus
    depth = lists.shape[1]
    out = np.empty(first.shape[0], dtype=np.float64)
    pos_a = np.empty(depth, dtype=np.int64)
    pos_b = np.empty(depth, dtype=np.int64)
    shared_a = np.zeros(depth, dtype=np.bool_)
    shared_b = np.zeros(depth, dtype=np.bool_)
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        shared_a[:] = False
        shared_b[:] = False
        # the shared items, by merging the two lists in value order
        i = j = m = 0
        while i < depth and j < depth:
            va, vb = lists[a, by_value[a, i]], lists[b, by_value[b, j]]
            if va < vb:
                i += 1
            elif va > vb:
                j += 1
            else:
                pos_a[m], pos_b[m] = by_value[a, i], by_value[b, j]
                shared_a[pos_a[m]] = True
                shared_b[pos_b[m]] = True
                m += 1
                i += 1
                j += 1
        n = 2 * depth - m
        if n < 2:
            out[p] = np.nan
            continue
        s = 0
        for x in range(m):  # shared x shared: Kendall's count
            for y in range(x + 1, m):
                dx = (pos_a[x] > pos_a[y]) - (pos_a[x] < pos_a[y])
                dy = (pos_b[x] > pos_b[y]) - (pos_b[x] < pos_b[y])
                s += dx * dy
        only = depth - m  # as many A-only items as B-only ones: both lists hold depth
        before_a = before_b = 0
        for t in range(depth):  # shared x only-in-one: (#only after) - (#only before)
            if shared_a[t]:
                s += only - 2 * before_a
            else:
                before_a += 1
            if shared_b[t]:
                s += only - 2 * before_b
            else:
                before_b += 1
        s -= only * only  # only-in-A x only-in-B: always discordant
        n0 = n * (n - 1) / 2
        tied = only * (only - 1) / 2
        denom = np.sqrt((n0 - tied) * (n0 - tied))
        out[p] = float(s) / denom if denom > 0 else np.nan
    return out


def mean_rank_correlation(pairs: pd.DataFrame) -> float:
    """MRC: mean over groups of the mean ``tau`` of the group's pairs (NaN pairs left out)."""
    valid = pairs.dropna(subset=["tau"])
    if valid.empty:
        return float("nan")
    return float(valid.groupby("group_id")["tau"].mean().mean())


def rank_correlation_by_language(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per query language X: mean ``tau`` over the pairs that include X, and their count.

    Columns: ``query_lang, mrc, n_pairs``.
    """
    valid = pairs.dropna(subset=["tau"])
    both = pd.concat(
        [
            valid[["lang_a", "tau"]].rename(columns={"lang_a": "query_lang"}),
            valid[["lang_b", "tau"]].rename(columns={"lang_b": "query_lang"}),
        ],
        ignore_index=True,
    )
    if both.empty:
        return pd.DataFrame(columns=["query_lang", "mrc", "n_pairs"])
    out = both.groupby("query_lang")["tau"].agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "mrc", "size": "n_pairs"})
