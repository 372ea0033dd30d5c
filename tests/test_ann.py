"""Approximate indexes (HNSW, IVF): recall against exact search, index choice, errors."""

from __future__ import annotations

import numpy as np
import pytest

from hybriddash.retrieval.ann import (
    ANN_THRESHOLD_ENV,
    DEFAULT_ANN_THRESHOLD,
    ann_threshold,
    build_index,
    choose_index,
    index_kind_of,
    ivf_nlist,
    recall_at_k_vs_exact,
    resolve_index_kind,
    search_index,
    validate_index_kind,
)


def clustered(n: int, nq: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised queries and candidates drawn around shared random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 100, d)).astype(np.float32)
    c = centres[rng.integers(0, len(centres), n)]
    c = c + 0.5 * rng.standard_normal((n, d)).astype(np.float32)
    q = centres[rng.integers(0, len(centres), nq)]
    q = q + 0.5 * rng.standard_normal((nq, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q, c


@pytest.fixture(scope="module")
def pool() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q, c = clustered(5000, 200, 64, seed=0)
    exact = np.argsort(-(q @ c.T), axis=1, kind="stable")[:, :100]
    return q, c, exact


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_index_recall_at_100_vs_exact_is_above_095(pool, kind):
    q, c, exact = pool
    index = build_index(c, kind)
    assert index_kind_of(index) == kind and index.ntotal == len(c)
    _, idx = search_index(index, q, 100)
    recall = recall_at_k_vs_exact(idx, exact, 100)
    assert 0.95 < recall <= 1.0


def test_flat_index_is_exact(pool):
    q, c, exact = pool
    _, idx = search_index(build_index(c, "flat"), q, 100)
    assert recall_at_k_vs_exact(idx, exact, 100) == 1.0


def test_hnsw_search_breadth_is_at_least_twice_k(pool):
    q, c, _ = pool
    index = build_index(c, "hnsw", ef_search=16)
    search_index(index, q[:2], 150)
    assert index.hnsw.efSearch >= 300


def test_ivf_nprobe_is_settable_and_more_probes_do_not_lose_recall(pool):
    q, c, exact = pool
    few = build_index(c, "ivf", nprobe=1)
    assert few.nprobe == 1 and few.nlist == ivf_nlist(len(c))
    many = build_index(c, "ivf", nprobe=few.nlist)  # every list: exact
    r_few = recall_at_k_vs_exact(search_index(few, q, 100)[1], exact, 100)
    r_all = recall_at_k_vs_exact(search_index(many, q, 100)[1], exact, 100)
    assert r_few < r_all and r_all == pytest.approx(1.0, abs=1e-3)


def test_ivf_nlist_is_about_four_sqrt_n_and_trainable():
    assert ivf_nlist(1_000_000) == 4000
    assert ivf_nlist(200_000) == round(4 * 200_000**0.5)
    assert ivf_nlist(5000) == 5000 // 39  # capped: k-means wants >= 39 points per list
    assert ivf_nlist(10) == 1 and ivf_nlist(0) == 1


def test_choose_index_switches_above_the_threshold(monkeypatch):
    monkeypatch.delenv(ANN_THRESHOLD_ENV, raising=False)
    assert ann_threshold() == DEFAULT_ANN_THRESHOLD == 2_000_000
    assert choose_index(2_000_000) == "flat"
    assert choose_index(2_000_001) == "hnsw"
    assert choose_index(50, threshold=49) == "hnsw"
    monkeypatch.setenv(ANN_THRESHOLD_ENV, "1_000")
    assert choose_index(1000) == "flat" and choose_index(1001) == "hnsw"
    assert resolve_index_kind("auto", 1001) == "hnsw"
    assert resolve_index_kind("IVF", 10) == "ivf"  # an explicit kind is never overridden
    monkeypatch.setenv(ANN_THRESHOLD_ENV, "many")
    with pytest.raises(ValueError, match=ANN_THRESHOLD_ENV):
        choose_index(10)


def test_unknown_index_kind_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown kind 'annoy'.*auto, flat, hnsw, ivf"):
        validate_index_kind("annoy")
    with pytest.raises(ValueError, match="unknown kind"):
        build_index(np.ones((4, 2), np.float32), "lsh")


def test_recall_formula_on_hand_made_lists():
    exact = np.array([[0, 1, 2, 3], [4, 5, 6, 7]])
    approx = np.array([[3, 2, 9, 0], [4, -1, -1, -1]])
    # query 0: {0, 2, 3} of 4; query 1: {4} of 4; order inside the top-k is ignored
    assert recall_at_k_vs_exact(approx, exact, 4) == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert recall_at_k_vs_exact(approx, exact, 2) == pytest.approx((0 / 2 + 1 / 2) / 2)
    assert recall_at_k_vs_exact(approx[:, :2], exact[:, :2], 10) == pytest.approx(0.25)
    assert recall_at_k_vs_exact(np.zeros((0, 4)), np.zeros((0, 4)), 4) == 1.0
    with pytest.raises(ValueError, match="same nq"):
        recall_at_k_vs_exact(approx, exact[:1], 4)


def test_evaluate_records_the_index_and_keeps_metrics_exact(
    tmp_artifacts, tiny_model_spec, capsys: pytest.CaptureFixture[str]
):  # type: ignore[no-untyped-def]
    import json

    from hybriddash.cli import main

    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "sample"]
    argv += ["--langs", "en,de", "--k", "10", "--quiet", "--json", "-"]
    assert main([*argv, "--index", "flat"]) == 0
    flat_out = capsys.readouterr()
    flat = json.loads(flat_out.out)
    assert flat["index"] == "flat" and flat["index_recall_at_k"] == 1.0
    assert "exact index (faiss IndexFlatIP)" in flat_out.err

    assert main([*argv, "--index", "hnsw"]) == 0
    hnsw_out = capsys.readouterr()
    hnsw = json.loads(hnsw_out.out)
    assert hnsw["index"] == "hnsw" and hnsw["reused"] is False  # its own run, not the flat one
    assert hnsw["run_id"] != flat["run_id"]
    assert 0.0 <= hnsw["index_recall_at_k"] <= 1.0 and hnsw["index_recall_queries"] > 0
    assert "approximate index hnsw: recall@10 vs exact" in hnsw_out.err
    for key in ("monolingual", "crosslingual", "multilingual", "rank_distance", "pairs"):
        assert hnsw[key] == flat[key]  # AP and ranks never come from the index

    assert main([*argv, "--index", "hnsw"]) == 0  # reused: kind known, recall not stored
    again = json.loads(capsys.readouterr().out)
    assert again["reused"] is True and again["index"] == "hnsw"
    assert again["index_recall_at_k"] is None
    with pytest.raises(SystemExit):
        main([*argv, "--index", "lsh"])
