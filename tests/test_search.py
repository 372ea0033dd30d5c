"""faiss top-k lists: exact inner-product order, ties re-sorted by candidate index."""

from __future__ import annotations

import numpy as np
import pytest

from hybriddash.retrieval.exact_ranks import relevant_ranks
from hybriddash.retrieval.search import topk


def stable_reference(q, c, k):
    scores = q @ c.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), order


def test_topk_equals_a_stable_full_sort_on_random_vectors():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((25, 32)).astype(np.float32)
    c = rng.standard_normal((500, 32)).astype(np.float32)
    scores, idx = topk(q, c, k=20)
    want_scores, want_idx = stable_reference(q, c, 20)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
    assert scores.dtype == np.float32 and idx.dtype == np.int64


def test_tied_scores_are_ordered_by_candidate_index():
    # Rows 3, 1 and 7 of the candidates are the same vector: always tied.
    rng = np.random.default_rng(1)
    c = rng.standard_normal((12, 4)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    c[[1, 7]] = c[3]
    q = (c[3] * 5).reshape(1, -1)  # the tied triple scores highest
    scores, idx = topk(q, c, k=5)
    np.testing.assert_array_equal(idx[0, :3], [1, 3, 7])
    assert scores[0, 0] == scores[0, 1] == scores[0, 2]


def test_integer_vectors_with_many_ties_match_the_stable_sort():
    rng = np.random.default_rng(2)
    q = rng.integers(-1, 2, (30, 6)).astype(np.float32)
    c = rng.integers(-1, 2, (200, 6)).astype(np.float32)
    _, idx = topk(q, c, k=10, search_margin=200)  # margin covers every boundary tie run
    np.testing.assert_array_equal(idx, stable_reference(q, c, 10)[1])


def test_topk_agrees_with_exact_pooled_ranks():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((15, 16)).astype(np.float32)
    c = rng.standard_normal((300, 16)).astype(np.float32)
    _, idx = topk(q, c, k=300)
    indptr = np.arange(16) * 300
    ranks = relevant_ranks(q, c, np.zeros(300, np.int64), 1, indptr, idx.ravel())
    np.testing.assert_array_equal(
        ranks.pooled_rank.reshape(15, 300), np.tile(np.arange(1, 301), (15, 1))
    )


def test_k_larger_than_the_pool_is_clipped_and_bad_input_raises():
    c = np.eye(3, dtype=np.float32)
    scores, idx = topk(np.ones((2, 3), np.float32), c, k=10)
    assert idx.shape == (2, 3)
    np.testing.assert_array_equal(idx, [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="k must be"):
        topk(np.ones((1, 3), np.float32), c, k=0)
    with pytest.raises(ValueError, match=r"\(nq, d\)"):
        topk(np.ones((1, 4), np.float32), c)


@pytest.mark.parametrize("integer", [False, True])
def test_fused_topk_of_exact_ranks_equals_the_stable_sort(integer):
    rng = np.random.default_rng(4)
    if integer:  # many ties, also across the k-th boundary
        q = rng.integers(-1, 2, (40, 6)).astype(np.float32)
        c = rng.integers(-1, 2, (300, 6)).astype(np.float32)
    else:
        q = rng.standard_normal((40, 16)).astype(np.float32)
        c = rng.standard_normal((300, 16)).astype(np.float32)
    lang = rng.integers(0, 3, 300)
    indptr, indices = np.arange(41), rng.integers(0, 300, 40)
    ranks = relevant_ranks(q, c, lang, 3, indptr, indices, block_size=9, top_k=25)
    want_scores, want_idx = stable_reference(q, c, 25)
    np.testing.assert_array_equal(ranks.topk_indices, want_idx)
    np.testing.assert_allclose(ranks.topk_scores, want_scores, rtol=1e-5)
    if not integer:
        np.testing.assert_array_equal(ranks.topk_indices, topk(q, c, k=25)[1])
    # a relevant candidate inside the list sits at its exact pooled rank
    for qi in range(40):
        hit = np.flatnonzero(ranks.topk_indices[qi] == indices[qi])
        if hit.size:
            assert hit[0] + 1 == ranks.pooled_rank[qi]


def test_fused_topk_is_clipped_to_the_pool_and_off_by_default():
    q = np.ones((2, 3), np.float32)
    c = np.eye(3, dtype=np.float32)
    ranks = relevant_ranks(q, c, np.zeros(3, np.int64), 1, np.array([0, 1, 2]), np.array([0, 2]))
    assert ranks.topk_indices is None and ranks.topk_scores is None
    ranks = relevant_ranks(
        q, c, np.zeros(3, np.int64), 1, np.array([0, 1, 2]), np.array([0, 2]), top_k=10
    )
    np.testing.assert_array_equal(ranks.topk_indices, [[0, 1, 2], [0, 1, 2]])


# ---- index choice: flat stays exact, approximate ones report recall vs exact ----------
def clustered_pool(n: int, nq: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 100, d)).astype(np.float32)
    c = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, d))
    q = centres[rng.integers(0, len(centres), nq)] + 0.5 * rng.standard_normal((nq, d))
    c = (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)
    q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    return q, c


def test_flat_report_is_exact_and_equals_topk():
    from hybriddash.retrieval.search import topk_with_report

    rng = np.random.default_rng(5)
    q = rng.standard_normal((20, 16)).astype(np.float32)
    c = rng.standard_normal((400, 16)).astype(np.float32)
    report = topk_with_report(q, c, k=30, index="flat")
    assert report.index_kind == "flat" and report.recall_at_k == 1.0 and report.k == 30
    np.testing.assert_array_equal(report.indices, stable_reference(q, c, 30)[1])
    np.testing.assert_array_equal(report.indices, topk(q, c, k=30)[1])
    # auto below the threshold is flat: same lists
    auto = topk_with_report(q, c, k=30, index="auto")
    assert auto.index_kind == "flat"
    np.testing.assert_array_equal(auto.indices, report.indices)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_topk_reports_recall_measured_against_exact(kind):
    from hybriddash.retrieval.ann import recall_at_k_vs_exact
    from hybriddash.retrieval.search import topk_with_report

    q, c = clustered_pool(5000, 300, 64, seed=6)
    report = topk_with_report(q, c, k=100, index=kind, recall_sample=200, seed=1)
    assert report.index_kind == kind and report.n_recall_queries == 200
    assert report.indices.shape == (300, 100) and (report.indices >= 0).all()
    # rows keep the tie rule's order: descending score, then index
    assert (np.diff(report.scores, axis=1) <= 0).all()
    # the reported number is the recall of the sampled rows; the full one is close
    full = recall_at_k_vs_exact(report.indices, stable_reference(q, c, 100)[1], 100)
    assert 0.95 < report.recall_at_k <= 1.0
    assert abs(full - report.recall_at_k) < 0.02
    # same seed, same sample, same number (single-threaded build is deterministic)
    again = topk_with_report(q, c, k=100, index=kind, recall_sample=200, seed=1)
    assert again.n_recall_queries == 200 and again.recall_at_k == pytest.approx(
        report.recall_at_k, abs=0.01
    )


def test_auto_switches_to_hnsw_above_the_env_threshold(monkeypatch):
    from hybriddash.retrieval.search import topk_with_report

    monkeypatch.setenv("HYBRIDDASH_ANN_THRESHOLD", "100")
    q, c = clustered_pool(1000, 50, 16, seed=7)
    report = topk_with_report(q, c, k=10, index="auto")
    assert report.index_kind == "hnsw" and report.n_recall_queries == 50
    assert report.recall_at_k is not None and report.recall_at_k > 0.9
    # plain topk measures nothing but uses the same index
    _, idx = topk(q, c, k=10, index="auto")
    assert idx.shape == (50, 10)


def test_unfilled_ivf_rows_fall_back_to_exact_search():
    from hybriddash.retrieval.search import topk_with_report

    # one probed list out of many cannot hold 100 candidates: faiss leaves -1 slots
    q, c = clustered_pool(5000, 40, 16, seed=8)
    report = topk_with_report(q, c, k=100, index="ivf", nprobe=1)
    assert report.n_exact_fallback > 0
    assert (report.indices >= 0).all()
    exact = stable_reference(q, c, 100)[1]
    short = [i for i in range(40) if np.array_equal(report.indices[i], exact[i])]
    assert len(short) >= report.n_exact_fallback


def test_bad_index_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown kind 'bm25'.*auto, flat, hnsw, ivf"):
        topk(np.ones((1, 3), np.float32), np.eye(3, dtype=np.float32), index="bm25")
