"""Approximate inner-product indexes for large candidate pools, and their recall.

Exact top-k lists (``IndexFlatIP``) cost O(nq * nc * d) per evaluation; above a pool
size (:func:`ann_threshold`, default 2,000,000 candidates, env ``HYBRIDDASH_ANN_THRESHOLD``)
``--index auto`` switches to an approximate index:

- ``hnsw``: ``faiss.IndexHNSWFlat`` (graph, ``M = 32`` links per node, inner-product
  metric); no training; ``efSearch`` is raised to at least ``2 * k`` at search time.
- ``ivf``: ``faiss.IndexIVFFlat`` (k-means inverted lists, ``nlist ~ 4 sqrt(nc)``);
  trained on a seeded sample of the pool; ``nprobe`` lists are scanned per query.

Cost (bench/bench_ann.py, one CPU core): on 200k x 384-d the HNSW build takes ~100 s
and IVF training ~23 s while an exact search of 500 queries takes ~1 s, so within one
evaluation an approximate index only pays off for very many queries (~80k for HNSW).

Only the top-k lists (share@k, the explorer) ever come from these indexes. Every
metric (AP, rank distance, nDCG, recall) is computed from exact ranks
(:mod:`hybriddash.retrieval.exact_ranks`), so an approximate index changes no stored
metric, only which candidates the stored lists hold; :func:`recall_at_k_vs_exact`
measures how far they are from the exact lists.

Determinism: IVF training is seeded; an HNSW graph built with more than one OpenMP
thread depends on thread timing (set ``OMP_NUM_THREADS=1`` for bit-identical lists).
"""

from __future__ import annotations

import math
import os

import faiss
import numpy as np

INDEX_KINDS = ("auto", "flat", "hnsw", "ivf")
APPROX_KINDS = ("hnsw", "ivf")
ANN_THRESHOLD_ENV = "HYBRIDDASH_ANN_THRESHOLD"
DEFAULT_ANN_THRESHOLD = 2_000_000

HNSW_M = 32
# Build breadth: twice faiss's default (40), for a denser graph since lists are 100 long;
# build time grows about linearly with it. Only 80 was benchmarked (bench/bench_ann.py:
# recall@100 0.992 on XQuAD-R), the default was not compared.
HNSW_EF_CONSTRUCTION = 80
# k-means wants >= 39 training points per list; training on all of a 1M pool would
# dominate the build, so at most this many points per list are sampled.
IVF_TRAIN_POINTS_PER_LIST = 64
IVF_SEED = 1234


def validate_index_kind(kind: str) -> str:
    """``kind`` lower-cased if it is one of :data:`INDEX_KINDS`, else ValueError."""
    norm = str(kind).strip().lower()
    if norm not in INDEX_KINDS:
        raise ValueError(f"index: unknown kind {kind!r}; expected one of {', '.join(INDEX_KINDS)}")
    return norm


def ann_threshold() -> int:
    """Pool size above which ``auto`` picks an approximate index.

    ``HYBRIDDASH_ANN_THRESHOLD`` (a positive integer) when set, else 2,000,000 (the HNSW build only pays for itself over many queries; see docs/benchmarks.md).
    """
    raw = os.environ.get(ANN_THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_ANN_THRESHOLD
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(
            f"{ANN_THRESHOLD_ENV}={raw!r}: expected a positive integer (candidates)"
        ) from None
    if value < 1:
        raise ValueError(f"{ANN_THRESHOLD_ENV}={raw!r}: expected a positive integer (candidates)")
    return value


def choose_index(n_candidates: int, threshold: int | None = None) -> str:
    """``"flat"`` for pools of at most ``threshold`` candidates, ``"hnsw"`` above.

    ``threshold`` defaults to :func:`ann_threshold`. HNSW rather than IVF because it
    needs no training and keeps recall@100 higher at the same search cost.
    """
    limit = ann_threshold() if threshold is None else int(threshold)
    return "hnsw" if n_candidates > limit else "flat"


def resolve_index_kind(kind: str, n_candidates: int, threshold: int | None = None) -> str:
    """The concrete kind (flat, hnsw, ivf) that ``kind`` means for a pool of this size."""
    norm = validate_index_kind(kind)
    return choose_index(n_candidates, threshold) if norm == "auto" else norm


def ivf_nlist(n_candidates: int) -> int:
    """Inverted lists for a pool: ``round(4 sqrt(n))``, capped at ``n // 39`` (k-means
    needs >= 39 points per centroid) and at least 1."""
    return max(1, min(round(4 * math.sqrt(max(n_candidates, 1))), n_candidates // 39))


def default_nprobe(nlist: int) -> int:
    """Lists scanned per query by default: a quarter of them, at least 8 (all when fewer).

    Why so many: on real multilingual embeddings a query's top 100 spread over many
    lists (questions vs. sentences, eleven languages). On XQuAD-R (13k candidates, 333
    lists) recall@100 vs exact was 0.78 at nlist/16, 0.89 at nlist/8, 0.96 at nlist/4.
    """
    return min(nlist, max(8, math.ceil(nlist / 4)))


def build_index(
    cand_emb: np.ndarray,
    kind: str,
    *,
    nprobe: int | None = None,
    ef_search: int | None = None,
    hnsw_m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
) -> faiss.Index:
    """An inner-product faiss index over ``cand_emb`` with every candidate added.

    Args:
        cand_emb: (nc, d) float32 candidate embeddings (L2-normalised for cosine).
        kind: ``flat`` (exact ``IndexFlatIP``), ``hnsw`` or ``ivf``; ``auto`` is resolved
            with :func:`choose_index` first.
        nprobe: IVF lists scanned per query (default :func:`default_nprobe`).
        ef_search: HNSW search breadth (default 2 * 100); :func:`search_index` raises it
            to at least 2 * k per search.
        hnsw_m, ef_construction: HNSW graph degree and build breadth.

    Returns:
        The index; its position ``i`` is row ``i`` of ``cand_emb``.
    """
    c = np.ascontiguousarray(cand_emb, dtype=np.float32)
    if c.ndim != 2:
        raise ValueError(f"cand_emb: expected (nc, d) embeddings, got shape {c.shape}")
    nc, d = c.shape
    resolved = resolve_index_kind(kind, nc)
    if resolved == "flat":
        index: faiss.Index = faiss.IndexFlatIP(d)
    elif resolved == "hnsw":
        index = faiss.IndexHNSWFlat(d, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(ef_construction)
        index.hnsw.efSearch = int(ef_search) if ef_search is not None else 200
    else:
        nlist = ivf_nlist(nc)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = IVF_SEED
        index.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
        index.nprobe = int(nprobe) if nprobe is not None else default_nprobe(nlist)
        if index.nprobe < 1:
            raise ValueError(f"nprobe must be >= 1, got {nprobe}")
        if nc:
            index.train(c)
    if nc:
        index.add(c)
    return index


def index_kind_of(index: faiss.Index) -> str:
    """``flat``, ``hnsw`` or ``ivf`` for an index made by :func:`build_index`."""
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def search_index(
    index: faiss.Index, query_emb: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """faiss ``search`` with HNSW's ``efSearch`` raised to at least ``2 * k``.

    Returns faiss's raw ``(scores (nq, k), indices (nq, k))``: not re-sorted, and an
    approximate index may leave slots it could not fill as index -1.
    """
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = max(int(index.hnsw.efSearch), 2 * int(k))
    q = np.ascontiguousarray(query_emb, dtype=np.float32)
    return index.search(q, int(k))


def recall_at_k_vs_exact(approx_idx: np.ndarray, exact_idx: np.ndarray, k: int) -> float:
    """Recall@k of approximate top-k lists against the exact ones.

    ``recall@k = (1 / nq) * sum_q |A_q[:k] ∩ E_q[:k]| / k``, with ``A_q`` and ``E_q``
    the approximate and exact candidate lists of query q (rank 1 first). Order inside
    the first k does not matter; entries < 0 (faiss's "no result") never match.
    When the exact lists are shorter than k (pool smaller than k), the denominator is
    their length instead. 1.0 when there are no queries.

    Args:
        approx_idx, exact_idx: (nq, >= k) integer candidate indices.
        k: cut-off, >= 1.
    """
    a = np.asarray(approx_idx)
    e = np.asarray(exact_idx)
    if a.ndim != 2 or e.ndim != 2 or a.shape[0] != e.shape[0]:
        raise ValueError(
            f"expected (nq, k) index arrays with the same nq, got {a.shape} and {e.shape}"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    nq = a.shape[0]
    if nq == 0:
        return 1.0
    kk = min(k, e.shape[1])
    if kk == 0:
        return 1.0
    a, e = a[:, :kk], e[:, :kk]
    hits = 0
    for row_a, row_e in zip(a, e, strict=True):
        hits += np.intersect1d(row_a[row_a >= 0], row_e[row_e >= 0]).size
    return float(hits / (nq * kk))
