"""Metric kernels on hand-computed cases, and the settings/aggregation tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from hybriddash.metrics import (
    average_precision,
    average_precision_segments,
    first_relevant_rank_segments,
    language_share_at_k,
    ndcg_at_k,
    ndcg_at_k_segments,
    rank_distance_segments,
    recall_at_k,
    recall_at_k_segments,
    same_language_share_per_query,
)
from hybriddash.metrics.settings import compute_metrics, topk_frames
from hybriddash.retrieval.exact_ranks import relevant_ranks

# ---- kernels ---------------------------------------------------------------------------


def test_average_precision_hand_computed():
    assert average_precision([1]) == 1.0
    assert average_precision([3, 1]) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision([2, 5, 10]) == pytest.approx((1 / 2 + 2 / 5 + 3 / 10) / 3)
    assert math.isnan(average_precision([]))


def test_average_precision_segments_equals_per_segment_and_handles_empty():
    ranks = np.array([5, 2, 1, 7, 3, 9])
    indptr = np.array([0, 2, 2, 6])
    got = average_precision_segments(ranks, indptr)
    assert got[0] == pytest.approx(average_precision([5, 2]))
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(average_precision([1, 7, 3, 9]))


def test_average_precision_equals_sklearn_on_a_full_ranking():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(5, 200))
        labels = np.zeros(n, bool)
        labels[rng.choice(n, int(rng.integers(1, 6)), replace=False)] = True
        scores = rng.permutation(n).astype(float)  # distinct: no tie rule involved
        ranks = np.argsort(np.argsort(-scores)) + 1
        assert average_precision(ranks[labels]) == pytest.approx(
            average_precision_score(labels, scores), abs=1e-12
        )


def test_repeated_rank_in_a_segment_is_rejected():
    with pytest.raises(ValueError, match="segment 1 holds rank 4 twice"):
        average_precision_segments(np.array([1, 4, 4]), np.array([0, 1, 3]))
    with pytest.raises(ValueError, match="1-based"):
        average_precision_segments(np.array([0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="indptr"):
        average_precision_segments(np.array([1, 2]), np.array([0, 1]))


def test_ndcg_hand_computed():
    # ranks 1 and 3 of R = 2: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([1, 3], k=10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([11, 12], k=10) == 0.0
    assert ndcg_at_k([2], k=1) == 0.0
    # R > k: IDCG sums only k terms
    ideal = sum(1 / math.log2(i + 1) for i in range(1, 4))
    assert ndcg_at_k([1, 2, 3, 4, 5], k=3) == pytest.approx(1.0)
    assert ndcg_at_k([1, 2, 4, 5, 6], k=3) == pytest.approx((1 + 1 / math.log2(3)) / ideal)
    got = ndcg_at_k_segments(np.array([1, 2]), np.array([0, 0, 2]))
    assert math.isnan(got[0]) and got[1] == 1.0


def test_recall_hand_computed():
    assert recall_at_k([1, 100, 101, 5000], k=100) == 0.5
    assert recall_at_k([101], k=100) == 0.0
    got = recall_at_k_segments(np.array([3, 1, 2]), np.array([0, 1, 1, 3]), k=2)
    assert got[0] == 0.0 and math.isnan(got[1]) and got[2] == 1.0


def test_first_relevant_and_rank_distance():
    ranks = np.array([40, 3, 17, 8, 5])
    indptr = np.array([0, 3, 4, 5])
    np.testing.assert_array_equal(first_relevant_rank_segments(ranks, indptr), [3, 8, 5])
    with pytest.raises(ValueError, match="segment 1 is empty"):
        first_relevant_rank_segments(ranks[:3], np.array([0, 3, 3]))
    dist = rank_distance_segments(np.array([40, 3, 17, 8, 2, 9]), np.array([0, 3, 3, 4, 6]))
    assert dist[0] == 37
    assert math.isnan(dist[1])  # no relevant candidate
    assert math.isnan(dist[2])  # a single relevant candidate: undefined, left out
    assert dist[3] == 7


def test_language_share_hand_computed():
    # 3 queries, K = 3; query 0 and 1 in group 0, query 2 in group 1; 2 candidate langs.
    topk = np.array([[0, 1, 1], [1, 1, -1], [0, 0, 0]])
    share = language_share_at_k(topk, np.array([0, 0, 1]), 2, 2)
    assert share.shape == (2, 3, 2)
    np.testing.assert_allclose(share[0, 0], [0.5, 0.5])  # k=1: lang0 once, lang1 once
    np.testing.assert_allclose(share[0, 1], [(1 / 2 + 0) / 2, (1 / 2 + 1) / 2])
    np.testing.assert_allclose(share[0, 2], [(1 / 3) / 2, (2 / 3 + 2 / 3) / 2])  # -1 slot
    np.testing.assert_allclose(share[1, :, 0], 1.0)
    same = same_language_share_per_query(topk, np.array([1, 1, -1]))
    np.testing.assert_allclose(same, [[0, 1 / 2, 2 / 3], [1, 1, 2 / 3], [0, 0, 0]])


def test_language_share_empty_group_is_nan_and_shares_sum_to_one():
    rng = np.random.default_rng(1)
    topk = rng.integers(0, 4, (50, 20))
    share = language_share_at_k(topk, rng.integers(0, 2, 50), 3, 4)
    np.testing.assert_allclose(share[:2].sum(axis=2), 1.0)
    assert np.isnan(share[2]).all()


# ---- settings and aggregation -------------------------------------------------------------


def _mlqa_like_case():
    """3 languages, groups present in 2 or 3 of them (like MLQA-R), random embeddings."""
    rng = np.random.default_rng(7)
    langs = ["de", "en", "zh"]
    group_langs = {"g0": ["de", "en", "zh"], "g1": ["en", "zh"], "g2": ["de", "en"]}
    cand_ids, cand_langs, answer = [], [], {}
    for lang in langs:
        for i in range(6):  # distractors
            cand_ids.append(f"{lang}-x{i}")
            cand_langs.append(lang)
    for g, gl in group_langs.items():
        for lang in gl:
            answer[(g, lang)] = len(cand_ids)
            cand_ids.append(f"{lang}-{g}")
            cand_langs.append(lang)
    query_ids, query_langs, query_groups, rel = [], [], [], []
    for g, gl in group_langs.items():
        for lang in gl:
            query_ids.append(f"{g}-{lang}")
            query_langs.append(lang)
            query_groups.append(g)
            rel.append(sorted(answer[(g, x)] for x in gl))
    indptr = np.r_[0, np.cumsum([len(r) for r in rel])]
    indices = np.concatenate(rel)
    q = rng.standard_normal((len(query_ids), 8)).astype(np.float32)
    c = rng.standard_normal((len(cand_ids), 8)).astype(np.float32)
    codes = np.array([langs.index(x) for x in cand_langs])
    ranks = relevant_ranks(q, c, codes, 3, indptr, indices)
    return query_ids, query_langs, query_groups, cand_ids, cand_langs, ranks, q, c


def test_compute_metrics_rows_settings_and_values():
    qids, qlangs, qgroups, cids, clangs, ranks, q, c = _mlqa_like_case()
    frames = compute_metrics(qids, qlangs, qgroups, cids, clangs, ranks)
    pq = frames.per_query
    # g0 x 3 langs x (3 pools + all) + g1 x 2 x (2 + 1) + g2 x 2 x (2 + 1)
    assert len(pq) == 3 * 4 + 2 * 3 + 2 * 3
    assert set(pq["setting"]) == {"monolingual", "crosslingual", "multilingual"}
    assert (pq.loc[pq["cand_lang"] == "all", "setting"] == "multilingual").all()
    assert (pq["setting"] == "monolingual").sum() == len(qids)
    # a query has no row for a pool without its group (g1 has no German candidate)
    assert pq[(pq["query_id"] == "g1-en") & (pq["cand_lang"] == "de")].empty

    # AP recomputed from the scores with sklearn, per pool
    scores = q @ np.asarray(c).T
    clangs_arr = np.asarray(clangs)
    for row in pq.itertuples():
        qi = qids.index(row.query_id)
        pool = np.ones(len(cids), bool) if row.cand_lang == "all" else clangs_arr == row.cand_lang
        labels = np.zeros(len(cids), bool)
        labels[ranks.indices[ranks.indptr[qi] : ranks.indptr[qi + 1]]] = True
        assert row.n_relevant == labels[pool].sum()
        want = average_precision_score(labels[pool], scores[qi, pool])
        assert row.ap == pytest.approx(want, abs=1e-9)

    assert frames.relevant_ranks.shape[0] == ranks.indices.shape[0]
    assert list(frames.relevant_ranks.columns) == [
        "query_id", "query_lang", "cand_lang", "candidate_id", "pooled_rank",
    ]  # fmt: skip
    assert str(frames.bias["rank_distance"].dtype) == "Int64"
    assert frames.bias["rank_distance"].notna().all()  # every query has >= 2 relevant


def test_pairs_and_headline_are_the_papers_macro_averages():
    qids, qlangs, qgroups, cids, clangs, ranks, _, _ = _mlqa_like_case()
    frames = compute_metrics(qids, qlangs, qgroups, cids, clangs, ranks)
    pq, pairs = frames.per_query, frames.pairs
    # 3 monolingual + 6 ordered cross pairs (all exist through g0) + 3 pooled
    assert len(pairs) == 12
    en_zh = pq[(pq["query_lang"] == "en") & (pq["cand_lang"] == "zh")]
    row = pairs[(pairs["query_lang"] == "en") & (pairs["cand_lang"] == "zh")].iloc[0]
    assert row["map"] == pytest.approx(en_zh["ap"].mean())
    assert row["n_queries"] == 2  # g0-en, g1-en
    head = frames.headline_dict()
    mono = pairs[pairs["setting"] == "monolingual"]["map"].mean()
    cross = pairs[pairs["setting"] == "crosslingual"]["map"].mean()
    multi = pairs[pairs["setting"] == "multilingual"]
    assert head["monolingual"] == pytest.approx(mono)
    assert head["crosslingual"] == pytest.approx(cross)
    assert head["multilingual"] == pytest.approx(multi["map"].mean())
    assert head["ndcg_at_10"] == pytest.approx(multi["ndcg_at_10"].mean())
    assert head["recall_at_100"] == pytest.approx(multi["recall_at_100"].mean())
    # macro over query languages, not a mean over all queries: languages have 2-3 queries
    dist = frames.bias.astype({"rank_distance": float})
    assert head["rank_distance"] == pytest.approx(
        dist.groupby("query_lang")["rank_distance"].mean().mean()
    )


def test_single_relevant_query_has_null_rank_distance_and_is_left_out():
    q = np.array([[1, 0], [0, 1]], np.float32)
    c = np.array([[1, 0], [0, 1], [0.5, 0.5]], np.float32)
    ranks = relevant_ranks(q, c, np.array([0, 1, 0]), 2, np.array([0, 1, 3]), np.array([0, 1, 2]))
    frames = compute_metrics(["a", "b"], ["en", "en"], ["g", "h"], ["c0", "c1", "c2"],
                             ["en", "de", "en"], ranks)  # fmt: skip
    bias = frames.bias.set_index("query_id")["rank_distance"]
    assert pd.isna(bias["a"]) and bias["b"] == 1
    assert frames.headline_dict()["rank_distance"] == 1.0


def test_topk_frames_flags_relevant_hits_and_shares():
    qids, qlangs, _, cids, clangs, ranks, q, c = _mlqa_like_case()
    from hybriddash.retrieval.search import topk

    scores, idx = topk(q, c, k=5)
    hits, share = topk_frames(qids, qlangs, cids, clangs, ranks.indptr, ranks.indices, scores, idx)
    assert len(hits) == len(qids) * 5
    rel_pairs = {
        (qids[qi], cids[j]) for qi, j in zip(ranks.query_of_pair, ranks.indices, strict=True)
    }
    want = [
        (a, b) in rel_pairs for a, b in zip(hits["query_id"], hits["candidate_id"], strict=True)
    ]
    assert hits["relevant"].tolist() == want
    assert any(want)
    sums = share.groupby(["query_lang", "k"])["share"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert len(share) == 3 * 5 * 3
