"""Paired significance tests checked against scipy on known cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hybriddash.reports.significance import (
    compare_query_frames,
    holm,
    marker_legend,
    paired_permutation_test,
    paired_test,
    paired_ttest,
    significance_marker,
)


def _scipy_perm(a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int = 0) -> float:
    res = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(res.pvalue)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_ttest_equals_scipy_ttest_rel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=40)
    b = a - 0.05 + rng.normal(scale=0.1, size=40)
    t, p = paired_ttest(a, b)
    ref = stats.ttest_rel(a, b)
    assert t == pytest.approx(float(ref.statistic), rel=1e-12)
    assert p == pytest.approx(float(ref.pvalue), rel=1e-10)


def test_ttest_degenerate_cases_are_defined() -> None:
    a = np.array([0.5, 0.25, 1.0])
    assert paired_ttest(a, a) == (0.0, 1.0)  # scipy: NaN
    t, p = paired_ttest(a, a - 0.125)  # exact binary fractions: sd(d) == 0
    assert math.isinf(t) and t > 0 and p == 0.0  # scipy: inf, 0


@pytest.mark.parametrize("n", [5, 9, 12])
def test_exact_permutation_equals_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.uniform(size=n)
    b = rng.uniform(size=n)
    p, exact, n_null = paired_permutation_test(a, b, n_resamples=10_000)
    assert exact and n_null == 2**n
    assert p == pytest.approx(_scipy_perm(a, b, 10_000), abs=1e-12)


def test_exact_permutation_hand_computed_case() -> None:
    # d = (1, 1, 1): of the 8 sign vectors only (+,+,+) reaches mean 1, only (-,-,-)
    # reaches -1, so P(T >= 1) = 1/8 and the two-sided p is 2/8.
    p, exact, _ = paired_permutation_test([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    assert exact and p == pytest.approx(0.25)
    # ties within the null distribution (d has equal magnitudes) counted as scipy does
    d = np.array([0.2, -0.2, 0.2, 0.0])
    p2, _, _ = paired_permutation_test(d, np.zeros(4))
    assert p2 == pytest.approx(_scipy_perm(d, np.zeros(4), 10_000), abs=1e-12)


def test_randomized_permutation_close_to_scipy() -> None:
    rng = np.random.default_rng(7)
    a = rng.uniform(size=60)
    b = a - 0.03 + rng.normal(scale=0.12, size=60)
    p, exact, n_null = paired_permutation_test(a, b, n_resamples=20_000, seed=3)
    assert not exact and n_null == 20_000
    ref = _scipy_perm(a, b, 20_000, seed=11)
    # two independent Monte-Carlo estimates: within a few standard errors
    se = math.sqrt(ref * (1 - ref) / 20_000) + 1e-4
    assert abs(p - ref) < 5 * se
    # and both agree with the t-test's order of magnitude on this near-normal sample
    assert abs(p - paired_ttest(a, b)[1]) < 0.02


def test_permutation_detects_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(size=200)
    assert paired_permutation_test(a + 0.1, a)[0] < 0.001
    noise = rng.normal(scale=0.1, size=200)
    assert paired_permutation_test(a + noise, a + noise[::-1])[0] > 0.05


def test_holm_matches_hand_computation() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> monotone max -> .06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = holm([np.nan, 0.01])
    assert math.isnan(out[0]) and out[1] == pytest.approx(0.01)


def test_effect_sizes_and_win_tie_loss() -> None:
    a = np.array([1.0, 0.5, 0.2, 0.3, 0.9])
    b = np.array([0.5, 0.5, 0.4, 0.1, 0.9])
    r = paired_test(a, b)
    d = a - b
    assert (r.wins, r.ties, r.losses) == (2, 2, 1)
    assert r.mean_diff == pytest.approx(d.mean())
    assert r.cohen_dz == pytest.approx(d.mean() / d.std(ddof=1))
    # lower-is-better measures flip wins and losses, not the sign of the difference
    r2 = paired_test(a, b, higher_is_better=False)
    assert (r2.wins, r2.losses) == (1, 2) and r2.mean_diff == pytest.approx(d.mean())


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="equal length"):
        paired_test([1.0, 2.0], [1.0])


def test_markers_and_legend() -> None:
    assert [significance_marker(p) for p in (0.0005, 0.005, 0.03, 0.2, float("nan"))] == [
        "***",
        "**",
        "*",
        "",
        "",
    ]
    assert "* p < 0.05" in marker_legend()


def _query_metrics(run: str, values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = []
    for (qlang, clang), aps in values.items():
        setting = (
            "multilingual"
            if clang == "all"
            else ("monolingual" if clang == qlang else "crosslingual")
        )
        for i, ap in enumerate(aps):
            rows.append(
                {
                    "run_id": run,
                    "query_id": f"g{i}/{qlang}",
                    "query_lang": qlang,
                    "group_id": f"g{i}",
                    "cand_lang": clang,
                    "setting": setting,
                    "ap": ap,
                }
            )
    return pd.DataFrame(rows)


def test_compare_query_frames_per_setting_and_pair_with_holm() -> None:
    rng = np.random.default_rng(5)
    n = 30
    base = {
        k: rng.uniform(size=n)
        for k in [
            ("en", "en"),
            ("en", "de"),
            ("de", "de"),
            ("de", "en"),
            ("en", "all"),
            ("de", "all"),
        ]
    }
    better = {k: np.clip(v + (0.2 if k[1] == "all" else 0.0), 0, 1) for k, v in base.items()}
    a = _query_metrics("A", {k: list(v) for k, v in better.items()})
    b = _query_metrics("B", {k: list(v) for k, v in base.items()})
    bias_a = pd.DataFrame(
        {"query_id": [f"g{i}/en" for i in range(n)], "query_lang": "en", "rank_distance": 1}
    )
    bias_b = bias_a.assign(rank_distance=5)
    out = compare_query_frames(a, b, bias_a, bias_b, n_resamples=2000)
    head = out[out["family"] == "headline"].set_index("setting")
    assert list(head.index) == ["monolingual", "crosslingual", "multilingual", "rank_distance"]
    assert head.loc["monolingual", "mean_diff"] == pytest.approx(0.0)
    assert head.loc["monolingual", "p_perm"] == 1.0
    assert head.loc["multilingual", "p_perm_holm"] < 0.01
    # rank distance: A is 4 lower on every query -> all wins for A
    assert head.loc["rank_distance", "wins"] == n and head.loc["rank_distance", "mean_diff"] == -4
    # crosslingual headline pairs one value per query: the mean over its other languages
    assert head.loc["crosslingual", "n"] == 2 * n
    pairs = out[out["family"] == "pair"]
    assert len(pairs) == 6
    # Holm within the pair family: adjusted p >= raw p, and equals the hand formula
    assert (pairs["p_perm_holm"] >= pairs["p_perm"] - 1e-15).all()
    np.testing.assert_allclose(pairs["p_perm_holm"], holm(pairs["p_perm"].to_numpy()))
    # the two pooled pairs are significant, monolingual/cross pairs are not
    sig = set(pairs.loc[pairs["marker"] != "", "cand_lang"])
    assert sig == {"all"}
    # the t-test p-values match scipy pair by pair
    en_all = pairs[(pairs["query_lang"] == "en") & (pairs["cand_lang"] == "all")].iloc[0]
    ref = stats.ttest_rel(better[("en", "all")], base[("en", "all")])
    assert en_all["p_ttest"] == pytest.approx(float(ref.pvalue), rel=1e-9)
