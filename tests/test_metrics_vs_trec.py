"""Our AP / nDCG@10 / Recall@100 equal trec_eval's (pytrec_eval) on the same rankings.

trec_eval orders equal scores by DEScending docno. Naming candidate ``i`` with a docno
that decreases with ``i`` makes its order our tie rule (lower index first), so even tied
rankings must agree exactly; the untied cases use plain docnos.
"""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from hybriddash.metrics.settings import compute_metrics
from hybriddash.retrieval.exact_ranks import relevant_ranks

MEASURES = {"map", "ndcg_cut_10", "recall_100"}
OURS = {"map": "ap", "ndcg_cut_10": "ndcg_at_10", "recall_100": "recall_at_100"}


def docno(i: int, tie_order: bool) -> str:
    return f"d{10**7 - i:08d}" if tie_order else f"d{i:08d}"


def trec_values(scores, labels, pool, tie_order):
    """pytrec_eval over one row per query, restricted to the candidates in ``pool``."""
    qrels, run = {}, {}
    for qi in range(scores.shape[0]):
        cand = np.flatnonzero(pool)
        rel = cand[labels[qi, cand]]
        if rel.size == 0:
            continue
        qrels[f"q{qi}"] = {docno(i, tie_order): 1 for i in rel}
        run[f"q{qi}"] = {docno(i, tie_order): float(scores[qi, i]) for i in cand}
    return pytrec_eval.RelevanceEvaluator(qrels, MEASURES).evaluate(run)


def build_case(seed, nq, nc, n_langs, rel_counts, integer):
    rng = np.random.default_rng(seed)
    d = 12
    if integer:
        q = rng.integers(-2, 3, (nq, d)).astype(np.float32)
        c = rng.integers(-2, 3, (nc, d)).astype(np.float32)
    else:
        # Multiples of 2^-10 in [-1, 1]: a dot product of 12 terms is a multiple of
        # 2^-20 below 2^4, exact in float32's 24-bit significand (as is every partial
        # sum), so trec_eval sees exactly the scores our blocked matmul ranked.
        q = (rng.integers(-1024, 1025, (nq, d)) / 1024).astype(np.float32)
        c = (rng.integers(-1024, 1025, (nc, d)) / 1024).astype(np.float32)
    lang = rng.integers(0, n_langs, nc)
    counts = rng.choice(rel_counts, nq)
    indptr = np.r_[0, np.cumsum(counts)]
    indices = np.concatenate([rng.choice(nc, k, replace=False) for k in counts])
    return q, c, lang, indptr, indices


def compare_with_trec(q, c, lang, n_langs, indptr, indices, tie_order):
    ranks = relevant_ranks(q, c, lang, n_langs, indptr, indices, block_size=16)
    nq, nc = q.shape[0], c.shape[0]
    names = [f"l{i}" for i in range(n_langs)]
    frames = compute_metrics(
        [f"q{i}" for i in range(nq)],
        ["l0"] * nq,
        [f"g{i}" for i in range(nq)],
        [f"c{i}" for i in range(nc)],
        [names[x] for x in lang],
        ranks,
    )
    scores = q @ c.T  # exact (see build_case), hence the scores the ranks came from
    np.testing.assert_array_equal(scores[ranks.query_of_pair, ranks.indices], ranks.score)
    labels = np.zeros((nq, nc), bool)
    labels[ranks.query_of_pair, ranks.indices] = True
    pq = frames.per_query.set_index(["query_id", "cand_lang"])
    n_checked = 0
    for pool_name in ["all", *names]:
        pool = np.ones(nc, bool) if pool_name == "all" else lang == names.index(pool_name)
        trec = trec_values(scores, labels, pool, tie_order)
        for qid, values in trec.items():
            ours = pq.loc[(qid, pool_name)]
            for measure, column in OURS.items():
                assert ours[column] == pytest.approx(values[measure], abs=1e-9), (
                    qid,
                    pool_name,
                    measure,
                )
            n_checked += 1
        # the same set of (query, pool) rows exists on both sides
        assert (pq.xs(pool_name, level="cand_lang").shape[0]) == len(trec)
    return n_checked


def has_relevant_ties(q, c, indptr, indices) -> int:
    full = q @ c.T
    pair_q = np.repeat(np.arange(q.shape[0]), np.diff(indptr))
    return sum(int((full[i] == full[i, j]).sum()) > 1 for i, j in zip(pair_q, indices, strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_untied_rankings_equal_trec_eval(seed):
    q, c, lang, indptr, indices = build_case(seed, 30, 400, 4, [1, 2, 3, 11], False)
    assert has_relevant_ties(q, c, indptr, indices) == 0  # any docno order then agrees
    assert compare_with_trec(q, c, lang, 4, indptr, indices, tie_order=False) > 60


@pytest.mark.parametrize("seed", [0, 1])
def test_mlqa_like_two_to_four_relevant_equal_trec_eval(seed):
    q, c, lang, indptr, indices = build_case(seed, 40, 300, 7, [2, 3, 4], False)
    assert has_relevant_ties(q, c, indptr, indices) == 0
    assert compare_with_trec(q, c, lang, 7, indptr, indices, tie_order=False) > 80


@pytest.mark.parametrize("seed", [0, 1])
def test_tied_rankings_equal_trec_eval_under_matching_docnos(seed):
    q, c, lang, indptr, indices = build_case(seed, 30, 200, 3, [1, 2, 4], True)
    # the case must hold relevant/non-relevant ties for this to test the rule
    assert has_relevant_ties(q, c, indptr, indices) > 20
    assert compare_with_trec(q, c, lang, 3, indptr, indices, tie_order=True) > 40


def test_hand_built_case_equal_trec_eval():
    # 1 query, 6 candidates in 2 languages, explicit scores through 1-D embeddings.
    q = np.array([[1.0]], np.float32)
    c = np.array([[0.875], [0.75], [0.75], [0.125], [0.5], [0.9375]], np.float32)
    lang = np.array([0, 1, 0, 1, 0, 1])
    indptr, indices = np.array([0, 3]), np.array([2, 3, 4])
    assert compare_with_trec(q, c, lang, 2, indptr, indices, tie_order=True) == 3
    ranks = relevant_ranks(q, c, lang, 2, indptr, indices)
    # pooled order: 5, 0, then 1 and 2 tied (2 after 1), 4, 3
    np.testing.assert_array_equal(ranks.pooled_rank, [4, 6, 5])
