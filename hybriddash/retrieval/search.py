"""Per-query top-k lists over the pooled candidates with faiss.

The index is exact (``IndexFlatIP``, the default) or, for large pools, approximate
(HNSW or IVF, :mod:`hybriddash.retrieval.ann`); :func:`topk_with_report` says which ran
and, for an approximate one, its measured recall@k against exact search on a seeded
sample of queries. No metric depends on these lists (AP and the rest come from exact
ranks); they feed share@k and the explorer.

Scores are inner products (``IndexFlatIP``); with L2-normalised embeddings they are
cosine similarities. Each row is re-sorted with the project's tie rule (descending
score, lower candidate index first, see :mod:`hybriddash.metrics`), since faiss orders
equal scores arbitrarily.

Known limits of the exact lists, both confined to exact float ties or near-ties:

- the k-th boundary may cut a run of tied scores: which of the tied candidates enter
  the list is faiss's choice, not the tie rule's (``search_margin`` extra candidates are
  fetched and re-sorted to make this rarer);
- faiss's sgemm may round a score differently from the matmul of
  :func:`hybriddash.retrieval.exact_ranks.relevant_ranks` in the last bit, so a
  near-tie can order differently in the list than in the exact ranks. The exact ranks
  are the reference for every metric; these lists feed share@k and the explorer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from hybriddash.retrieval.ann import (
    build_index,
    recall_at_k_vs_exact,
    resolve_index_kind,
    search_index,
)

DEFAULT_K = 100
# Queries on which an approximate index is checked against exact search.
RECALL_SAMPLE = 200
RECALL_SEED = 0


@dataclass
class TopK:
    """Top-k lists and how they were made.

    ``scores``/``indices``: (nq, k') float32 / int64, rows ordered by (-score, index).
    ``index_kind``: ``flat``, ``hnsw`` or ``ivf`` (what ran, ``auto`` resolved).
    ``recall_at_k``: mean over the sampled queries of |approx ∩ exact| / k'
    (:func:`~hybriddash.retrieval.ann.recall_at_k_vs_exact`); 1.0 for ``flat``, None
    when not measured (``recall_sample=0``). ``n_recall_queries``: queries sampled.
    ``n_exact_fallback``: rows the approximate index could not fill with k' candidates,
    searched exactly instead. ``build_seconds``/``search_seconds``: wall time of index
    build (incl. IVF training) and search (incl. the recall check).
    """

    scores: np.ndarray
    indices: np.ndarray
    index_kind: str
    k: int
    recall_at_k: float | None
    n_recall_queries: int = 0
    n_exact_fallback: int = 0
    build_seconds: float = 0.0
    search_seconds: float = 0.0


def topk(
    query_emb: np.ndarray,
    cand_emb: np.ndarray,
    k: int = DEFAULT_K,
    *,
    search_margin: int = 8,
    index: str = "flat",
    nprobe: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k candidates of every query by inner product.

    Args:
        query_emb: (nq, d) float32 (L2-normalised for cosine).
        cand_emb: (nc, d) float32.
        k: list length; clipped to ``nc`` when there are fewer candidates.
        search_margin: extra candidates fetched beyond k, so ties at the boundary are
            more often resolved by the tie rule.
        index: ``flat`` (exact, default), ``hnsw``, ``ivf`` or ``auto`` (flat up to
            :func:`~hybriddash.retrieval.ann.ann_threshold` candidates, hnsw above).
            Recall is not measured here; use :func:`topk_with_report` for that.
        nprobe: IVF lists scanned per query (default: the index's).

    Returns:
        ``(scores (nq, k') float32, indices (nq, k') int64)`` with ``k' = min(k, nc)``;
        column 0 is rank 1; rows ordered by (-score, index).
    """
    result = topk_with_report(
        query_emb,
        cand_emb,
        k,
        search_margin=search_margin,
        index=index,
        nprobe=nprobe,
        recall_sample=0,
    )
    return result.scores, result.indices


def topk_with_report(
    query_emb: np.ndarray,
    cand_emb: np.ndarray,
    k: int = DEFAULT_K,
    *,
    search_margin: int = 8,
    index: str = "auto",
    nprobe: int | None = None,
    recall_sample: int = RECALL_SAMPLE,
    seed: int = RECALL_SEED,
) -> TopK:
    """:func:`topk` plus which index ran and its recall against exact search.

    For ``hnsw``/``ivf`` the lists of ``min(recall_sample, nq)`` queries, drawn without
    replacement with ``numpy.random.default_rng(seed)``, are recomputed exactly
    (``IndexFlatIP``) and ``recall@k'`` of the approximate lists is measured against
    them. Rows where the approximate index returned fewer than k' candidates (IVF with
    few lists probed, tiny pools) are searched exactly, so every row is complete.
    Arguments as in :func:`topk`; ``index`` defaults to ``auto`` here.
    """
    q = np.ascontiguousarray(query_emb, dtype=np.float32)
    c = np.ascontiguousarray(cand_emb, dtype=np.float32)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(f"expected (nq, d) and (nc, d) embeddings, got {q.shape} and {c.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if recall_sample < 0:
        raise ValueError(f"recall_sample must be >= 0, got {recall_sample}")
    nq, nc = q.shape[0], c.shape[0]
    kind = resolve_index_kind(index, nc)
    k_out = min(k, nc)
    if nq == 0 or nc == 0:
        empty = (np.zeros((nq, k_out), np.float32), np.zeros((nq, k_out), np.int64))
        return TopK(*empty, index_kind=kind, k=k_out, recall_at_k=1.0)
    k_fetch = min(k_out + max(search_margin, 0), nc)

    started = time.perf_counter()
    built = build_index(c, kind, nprobe=nprobe)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores, indices = _sorted_search(built, q, k_fetch, k_out)

    n_fallback = 0
    recall: float | None = 1.0
    n_sample = 0
    if kind != "flat":
        # faiss marks unfilled slots with index -1; such rows are redone exactly so the
        # lists stay complete (downstream share@k assumes k' real candidates per row).
        short = np.flatnonzero((indices < 0).any(axis=1))
        n_fallback = int(short.size)
        exact = build_index(c, "flat") if n_fallback or recall_sample else None
        if n_fallback:
            scores[short], indices[short] = _sorted_search(exact, q[short], k_fetch, k_out)
        if recall_sample:
            n_sample = min(recall_sample, nq)
            rows = np.sort(np.random.default_rng(seed).choice(nq, n_sample, replace=False))
            _, exact_idx = _sorted_search(exact, q[rows], k_fetch, k_out)
            recall = recall_at_k_vs_exact(indices[rows], exact_idx, k_out)
        else:
            recall = None
    return TopK(
        scores=scores,
        indices=indices,
        index_kind=kind,
        k=k_out,
        recall_at_k=recall,
        n_recall_queries=n_sample,
        n_exact_fallback=n_fallback,
        build_seconds=build_seconds,
        search_seconds=time.perf_counter() - started,
    )


def _sorted_search(index, q: np.ndarray, k_fetch: int, k_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Search ``k_fetch`` and keep the first ``k_out`` by (-score, index); -1 slots last."""
    scores, indices = search_index(index, q, k_fetch)
    # faiss gives unfilled slots index -1 and score -FLT_MAX (inner product), so they
    # sort last; the explicit key makes that independent of the sentinel score.
    missing = indices < 0
    order = np.lexsort((indices, -scores, missing), axis=-1)[:, :k_out]
    scores = np.take_along_axis(scores, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1).astype(np.int64)
    return scores, indices
