"""Per-query top-k lists over the pooled candidates with faiss (exact inner product).

Scores are inner products (``IndexFlatIP``); with L2-normalised embeddings they are
cosine similarities. Each row is re-sorted with the project's tie rule (descending
score, lower candidate index first, see :mod:`hybriddash.metrics`), since faiss orders
equal scores arbitrarily.

Known limits, both confined to exact float ties or near-ties:

- the k-th boundary may cut a run of tied scores: which of the tied candidates enter
  the list is faiss's choice, not the tie rule's (``search_margin`` extra candidates are
  fetched and re-sorted to make this rarer);
- faiss's sgemm may round a score differently from the matmul of
  :func:`hybriddash.retrieval.exact_ranks.relevant_ranks` in the last bit, so a
  near-tie can order differently in the list than in the exact ranks. The exact ranks
  are the reference for every metric; these lists feed share@k and the explorer.
"""

from __future__ import annotations

import faiss
import numpy as np

DEFAULT_K = 100


def topk(
    query_emb: np.ndarray,
    cand_emb: np.ndarray,
    k: int = DEFAULT_K,
    *,
    search_margin: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k candidates of every query by inner product.

    Args:
        query_emb: (nq, d) float32 (L2-normalised for cosine).
        cand_emb: (nc, d) float32.
        k: list length; clipped to ``nc`` when there are fewer candidates.
        search_margin: extra candidates fetched beyond k, so ties at the boundary are
            more often resolved by the tie rule.

    Returns:
        ``(scores (nq, k') float32, indices (nq, k') int64)`` with ``k' = min(k, nc)``;
        column 0 is rank 1; rows ordered by (-score, index).
    """
    q = np.ascontiguousarray(query_emb, dtype=np.float32)
    c = np.ascontiguousarray(cand_emb, dtype=np.float32)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(f"expected (nq, d) and (nc, d) embeddings, got {q.shape} and {c.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    nq, nc = q.shape[0], c.shape[0]
    k_out = min(k, nc)
    if nq == 0 or nc == 0:
        return np.zeros((nq, k_out), np.float32), np.zeros((nq, k_out), np.int64)
    k_fetch = min(k_out + max(search_margin, 0), nc)
    index = faiss.IndexFlatIP(q.shape[1])
    index.add(c)
    scores, indices = index.search(q, k_fetch)
    order = np.lexsort((indices, -scores), axis=-1)[:, :k_out]
    scores = np.take_along_axis(scores, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1).astype(np.int64)
    return scores, indices
