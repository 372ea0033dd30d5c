"""Language Preference Rate, top-1 split (MLAIRE) and Mean Rank Correlation (MultiEuP-v2)
on hand-built rankings with values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybriddash.metrics.language_preference import (
    TOP1_CELLS,
    chance_preference_segments,
    language_preference_segments,
    top1_cells,
    top1_shares,
)
from hybriddash.metrics.rank_correlation import (
    kendall_tau_b,
    mean_rank_correlation,
    pair_taus,
    parallel_pair_correlations,
    rank_correlation_by_language,
    topk_rank_correlation,
)
from hybriddash.metrics.settings import language_preference_table


# ---- LPR ---------------------------------------------------------------------------
def test_lpr_is_one_when_the_own_language_answer_comes_first() -> None:
    # q0: own-language answer at 1, translations at 3 and 7  -> 1
    # q1: own at 4, a translation at 2                        -> 0
    # q2: only an own-language answer                         -> undefined
    # q3: no own-language answer                              -> undefined
    # q4: own at 10, translations at 11 and 12                -> 1 (ranks, not closeness)
    ranks = np.array([3, 1, 7, 4, 2, 5, 9, 11, 10, 12])
    same = np.array([0, 1, 0, 1, 0, 1, 0, 0, 1, 0], dtype=bool)
    indptr = np.array([0, 3, 5, 6, 7, 10])
    got = language_preference_segments(ranks, same, indptr)
    np.testing.assert_array_equal(got, [1.0, 0.0, np.nan, np.nan, 1.0])


def test_lpr_chance_is_one_over_the_answer_languages() -> None:
    langs = np.array(["en", "de", "zh", "en", "de", "en"])
    same = np.array([1, 0, 0, 1, 0, 1], dtype=bool)
    indptr = np.array([0, 3, 5, 6])
    got = chance_preference_segments(langs, same, indptr)
    np.testing.assert_allclose(got, [1 / 3, 1 / 2, np.nan])


def test_top1_cells_split_successes_and_both_failures() -> None:
    relevant = np.array([True, True, False, False, False])
    same = np.array([True, False, True, False, True])
    cells = top1_cells(relevant, same)
    assert [TOP1_CELLS[c] for c in cells] == [
        "relevant_same",
        "relevant_other",
        "wrong_same",  # a wrong passage in the query language: preference failure
        "wrong_other",  # a wrong passage in another language: semantic failure
        "wrong_same",
    ]
    assert top1_shares(cells) == {
        "relevant_same": 0.2,
        "relevant_other": 0.2,
        "wrong_same": 0.4,
        "wrong_other": 0.2,
    }


# ---- Kendall tau-b on top-k lists ----------------------------------------------------------
def test_kendall_tau_b_known_values() -> None:
    assert kendall_tau_b(np.array([1, 2, 3]), np.array([1, 2, 3])) == 1.0
    assert kendall_tau_b(np.array([1, 2, 3]), np.array([3, 2, 1])) == -1.0
    # one swapped pair out of three: (C - D) / n0 = (2 - 1) / 3
    assert kendall_tau_b(np.array([1, 2, 3]), np.array([1, 3, 2])) == pytest.approx(1 / 3)
    assert np.isnan(kendall_tau_b(np.array([1.0]), np.array([1.0])))


def test_topk_lists_identical_reversed_and_disjoint() -> None:
    assert topk_rank_correlation(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    assert topk_rank_correlation(["a", "b", "c"], ["c", "b", "a"]) == -1.0
    # disjoint [a, b] vs [c, d]: ranks a=(1,3) b=(2,3) c=(3,1) d=(3,2); the four cross
    # pairs are discordant, a-b and c-d are tied in one list: -4 / sqrt(5 * 5)
    assert topk_rank_correlation(["a", "b"], ["c", "d"]) == pytest.approx(-0.8)
    # in general two disjoint lists of k give -2k / (3k - 1)
    k = 100
    assert topk_rank_correlation(list(range(k)), list(range(k, 2 * k))) == pytest.approx(
        -2 * k / (3 * k - 1)
    )
    # [a, b, c] vs [a, c, d]: union a b c d; A ranks 1 2 3 4(absent), B ranks 1 4 2 3;
    # pairs: ab + (1<2, 1<4), ac +, ad +, bc - (2<3, 4>2), bd - (2<4, 4>3), cd + (3<4, 2<3)
    # C - D = 4 - 2 = 2, no ties in A (d alone absent), none in B (b alone) -> 2 / 6
    assert topk_rank_correlation(["a", "b", "c"], ["a", "c", "d"]) == pytest.approx(1 / 3)


def test_topk_closed_form_equals_the_brute_force_and_scipy() -> None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(2, 25))
        pool = int(rng.integers(k, 3 * k + 1))
        a = rng.choice(pool, size=int(rng.integers(1, k + 1)), replace=False).tolist()
        b = rng.choice(pool, size=int(rng.integers(1, k + 1)), replace=False).tolist()
        items = list(dict.fromkeys([*a, *b]))
        x = np.array([a.index(i) + 1 if i in a else k + 1 for i in items], float)
        y = np.array([b.index(i) + 1 if i in b else k + 1 for i in items], float)
        got = topk_rank_correlation(a, b, k)
        brute = kendall_tau_b(x, y)
        assert (np.isnan(got) and np.isnan(brute)) or got == pytest.approx(brute, abs=1e-12)
        if len(items) > 1 and not np.isnan(brute):
            assert brute == pytest.approx(kendalltau(x, y).statistic, abs=1e-9)


def test_mean_rank_correlation_over_parallel_groups() -> None:
    # g1: en and de get the same list (tau 1); g2: en and de agree, zh reverses (-1, -1)
    topk = np.array(
        [
            [0, 1, 2],  # g1 en
            [0, 1, 2],  # g1 de
            [3, 4, 5],  # g2 en
            [3, 4, 5],  # g2 de
            [5, 4, 3],  # g2 zh
            [7, 8, 9],  # g3 en: no parallel version, no pair
        ]
    )
    groups = ["g1", "g1", "g2", "g2", "g2", "g3"]
    langs = ["en", "de", "en", "de", "zh", "en"]
    pairs = parallel_pair_correlations(topk, groups, langs, [f"q{i}" for i in range(6)])
    assert len(pairs) == 4
    by = {(r.group_id, r.lang_a, r.lang_b): r.tau for r in pairs.itertuples()}
    assert by == {
        ("g1", "de", "en"): 1.0,
        ("g2", "de", "en"): 1.0,
        ("g2", "de", "zh"): -1.0,
        ("g2", "en", "zh"): -1.0,
    }
    # mean over groups of the group means: (1 + (1 - 1 - 1) / 3) / 2
    assert mean_rank_correlation(pairs) == pytest.approx(1 / 3)
    per_lang = rank_correlation_by_language(pairs).set_index("query_lang")
    assert per_lang.loc["en", "mrc"] == pytest.approx(1 / 3)  # 1, 1, -1
    assert per_lang.loc["zh", "mrc"] == pytest.approx(-1.0)
    assert per_lang.loc["de", "n_pairs"] == 3


def test_language_preference_table_by_hand() -> None:
    # two parallel groups in en and de; relevant candidates: one per language
    # q0 g1 en: en answer at 1, de at 2   -> LPR 1; top-1 relevant, own language
    # q1 g1 de: en at 1, de at 5          -> LPR 0; top-1 relevant, other language
    # q2 g2 en: en at 3, de at 4          -> LPR 1; top-1 wrong, in en (preference failure)
    # q3 g2 de: de at 2, en at 6          -> LPR 1; top-1 wrong, in en (semantic failure)
    rel_query = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    rel_rank = np.array([1, 2, 1, 5, 3, 4, 2, 6])
    rel_lang = np.array(["en", "de", "en", "de", "en", "de", "de", "en"])
    top1_relevant = np.array([True, True, False, False])
    top1_lang = np.array(["en", "en", "en", "en"])
    topk = np.array([[0, 1], [0, 1], [2, 3], [3, 2]])
    table = language_preference_table(
        ["en", "de", "en", "de"], ["g1", "g1", "g2", "g2"], rel_query, rel_rank, rel_lang,
        top1_relevant, top1_lang, topk,
    ).set_index("query_lang")  # fmt: skip
    assert list(table.index) == ["de", "en", "all"]
    assert table.loc["en", "lpr"] == 1.0 and table.loc["de", "lpr"] == 0.5
    assert table.loc["all", "lpr"] == 0.75  # macro over languages
    assert table.loc["all", "lpr_chance"] == 0.5
    assert table.loc["en", "relevant_same"] == 0.5 and table.loc["en", "wrong_same"] == 0.5
    assert table.loc["de", "relevant_other"] == 0.5 and table.loc["de", "wrong_other"] == 0.5
    # g1's lists agree (tau 1), g2's are swapped (tau -1): MRC 0
    assert table.loc["all", "mrc"] == 0.0 and table.loc["all", "n_mrc_pairs"] == 2
    assert table.loc["all", "n_queries"] == 4 and table.loc["all", "mrc_k"] == 2
    cells = table[list(TOP1_CELLS)].sum(axis=1)
    np.testing.assert_allclose(cells.to_numpy(), 1.0)
    assert isinstance(table, pd.DataFrame)


def test_pair_taus_are_bit_identical_to_the_per_pair_closed_form() -> None:
    # overlapping top-k lists (items drawn from a small pool, so pairs share 0..k items)
    rng = np.random.default_rng(7)
    n_rows, depth = 60, 12
    lists = np.stack([rng.choice(30, size=depth, replace=False) for _ in range(n_rows)])
    lists[5] = lists[4]  # identical lists
    lists[7] = lists[6][::-1]  # reversed
    lists[9] = lists[8] + 100  # disjoint
    first, second = np.triu_indices(n_rows, k=1)
    got = pair_taus(lists, first, second)
    want = [
        topk_rank_correlation(lists[a].tolist(), lists[b].tolist())
        for a, b in zip(first, second, strict=True)
    ]
    np.testing.assert_array_equal(got, np.array(want))  # bit for bit, not approximately
    # string items, depth 1 (NaN: a union of two items is the least defined) and errors
    words = np.array([["x", "y", "z"], ["z", "w", "x"]])
    assert pair_taus(words, np.array([0]), np.array([1]))[0] == topk_rank_correlation(
        ["x", "y", "z"], ["z", "w", "x"]
    )
    assert np.isnan(pair_taus(np.array([[1], [1]]), np.array([0]), np.array([1]))[0])
    with pytest.raises(ValueError, match="twice"):
        pair_taus(np.array([[1, 1], [2, 3]]), np.array([0]), np.array([1]))
