"""The decision rule of issue 22 on constructed data with known answers.

docs/results.md, "Decision rule": the effect is the headline difference itself; the
interval resamples translation groups and seeds (hybriddash/reports/study/
hierarchical_bootstrap.py); "matches" = the 1 - 2 alpha' interval inside the margin,
"better" = it excludes 0 on the claimed side.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from study_toy_store import build_study_store

from hybriddash.metrics.settings import headline_table
from hybriddash.reports import study as S
from hybriddash.reports.study import hierarchical_bootstrap as hb
from hybriddash.reports.study.comparisons import loader_source

B = 4000  # resamples in these tests (the rule uses hb.N_RESAMPLES)


def _verdict(a: hb.CellTable, b: hb.CellTable, kind: str, *, alpha=0.05, margin=0.01, key="x"):
    """The rule's verdict of A vs B on one benchmark (one comparison: alpha' = alpha)."""
    n_groups = a.sums.shape[1]
    w = hb.group_weights(n_groups, B, hb.stream(key))
    da = hb.seed_draws(a.n_seeds, B, hb.stream(key, "A"))
    db = hb.seed_draws(b.n_seeds, B, hb.stream(key, "B"))
    effect = hb.headlines(a).mean() - hb.headlines(b).mean()
    delta = hb.resampled_mean(a, w, da) - hb.resampled_mean(b, w, db)
    diffs = hb.headlines(a) - hb.headlines(b).mean()
    iv = hb.summarise(effect, delta, alpha, kind=kind, margin=margin, seed_diffs=diffs)
    return hb.decide(iv, kind=kind, margin=margin), iv


def _table(values: np.ndarray, groups: np.ndarray, cells: np.ndarray) -> hb.CellTable:
    """One seed per row of ``values`` (n_seeds, n_queries)."""
    gi, g = np.unique(groups, return_inverse=True)
    ci, c = np.unique(cells, return_inverse=True)
    parts = [(g, c, v) for v in np.atleast_2d(values)]
    return hb.cell_table_from_codes(parts, len(gi), len(ci), range(len(parts)))


def test_no_resampling_gives_the_headline_table_exactly():
    """Unequal languages (MLQA-R: English in every group, others in some): the macro
    average over pairs, not the query mean; equal to metrics.settings.headline_table."""
    rng = np.random.default_rng(3)
    rows = []
    for g in range(300):
        langs = ["en"] + [x for x in ("de", "zh", "ar") if rng.random() < 0.4]
        for q in langs:
            for cand in ["all", *langs]:
                setting = (
                    "multilingual"
                    if cand == "all"
                    else "monolingual"
                    if cand == q
                    else "crosslingual"
                )
                rows.append((f"g{g}", q, cand, setting, rng.beta(2, 2)))
    qm = pd.DataFrame(rows, columns=["group_id", "query_lang", "cand_lang", "setting", "ap"])
    pairs = qm.groupby(["query_lang", "cand_lang", "setting"], as_index=False)["ap"].mean()
    pairs = pairs.rename(columns={"ap": "map"}).assign(ndcg_at_10=0.0, recall_at_100=0.0)
    bias = pd.DataFrame({"query_lang": ["en"], "rank_distance": [1.0]})
    expected = headline_table(pairs, bias).iloc[0]
    for setting in ("monolingual", "crosslingual", "multilingual"):
        sub = qm[qm["setting"] == setting]
        table = _table(
            sub["ap"].to_numpy(),
            sub["group_id"].to_numpy(),
            (sub["query_lang"] + ">" + sub["cand_lang"]).to_numpy(),
        )
        assert hb.headlines(table)[0] == pytest.approx(expected[setting], abs=1e-12)
        # and the query mean is a different number (English weighs more there)
        assert abs(sub["ap"].mean() - expected[setting]) > 1e-4
        # all-ones group weights are the same statistic
        ones = np.ones((1, table.sums.shape[1]))
        assert hb.headlines(table, ones)[0, 0] == pytest.approx(expected[setting], abs=1e-12)


def test_grouping_changes_a_verdict_an_ungrouped_bootstrap_gets_wrong():
    """40 questions x 10 translations; the difference is shared by a question's
    translations (sd 0.05 across questions, mean 0.01). Grouped: SE ~ 0.05/sqrt(40) =
    0.008, the 90% interval includes 0 -> inconclusive. Treating the 400 queries as
    independent: SE ~ 0.0025 -> "better" supported, wrongly."""
    n_groups, n_langs = 40, 10
    z = np.linspace(-1.0, 1.0, n_groups)
    z = (z - z.mean()) / z.std()
    d_group = 0.01 + 0.05 * z
    groups = np.repeat(np.arange(n_groups), n_langs)
    langs = np.tile(np.arange(n_langs), n_groups)
    jitter = np.random.default_rng(0).normal(0, 1e-4, groups.size)
    a_values = 0.5 + d_group[groups] + jitter
    b_values = np.full(groups.size, 0.5)
    grouped = _verdict(
        _table(a_values, groups, langs), _table(b_values, groups, langs), "superiority"
    )
    each_query = np.arange(groups.size)  # every query its own "group"
    ungrouped = _verdict(
        _table(a_values, each_query, langs), _table(b_values, each_query, langs), "superiority"
    )
    assert grouped[1].effect == pytest.approx(ungrouped[1].effect)  # same statistic
    assert ungrouped[0] == hb.SUPPORTED
    assert grouped[0] == hb.INCONCLUSIVE
    assert grouped[1].se > 2.5 * ungrouped[1].se


def test_one_seed_beyond_the_margin_blocks_matches():
    """A's three seeds differ from B by +0.000, +0.001 and +0.015 (mean +0.0053, inside
    ±0.01, what a seed-averaged test would call equivalent); a resample draws the third
    seed twice or three times with probability 7/27, so the 90% interval passes +0.01.
    With all three seeds within ±0.002 the same data are "matches"."""
    groups = np.repeat(np.arange(200), 3)
    langs = np.tile(np.arange(3), 200)
    base = 0.6 + np.random.default_rng(1).normal(0, 0.01, groups.size)
    b = _table(np.stack([base, base, base]), groups, langs)
    outlier = _table(np.stack([base, base + 0.001, base + 0.015]), groups, langs)
    verdict, iv = _verdict(outlier, b, "equivalence")
    assert -0.01 < iv.effect < 0.01
    assert iv.seed_diffs == pytest.approx((0.0, 0.001, 0.015))
    assert verdict == hb.INCONCLUSIVE and iv.high > 0.01
    tight = _table(np.stack([base, base + 0.001, base + 0.002]), groups, langs)
    assert _verdict(tight, b, "equivalence")[0] == hb.SUPPORTED
    # the difference beyond the margin on every seed: contradicted
    far = _table(np.stack([base + 0.03, base + 0.031, base + 0.029]), groups, langs)
    assert _verdict(far, b, "equivalence")[0] == hb.CONTRADICTED


def test_decide_reads_the_interval():
    iv = hb.Interval(effect=0.0, low=-0.004, high=0.006, level=0.9, se=0.003, p=0.0, seed_diffs=())
    assert hb.decide(iv, kind="equivalence", margin=0.01) == hb.SUPPORTED
    assert hb.decide(iv, kind="superiority") == hb.INCONCLUSIVE
    up = hb.Interval(0.02, 0.012, 0.03, 0.9, 0.005, 0.0, ())
    assert hb.decide(up, kind="superiority") == hb.SUPPORTED
    assert hb.decide(up, kind="superiority", direction=-1) == hb.CONTRADICTED
    assert hb.decide(up, kind="equivalence", margin=0.01) == hb.CONTRADICTED


def test_minimum_detectable_effect_follows_the_normal_approximation():
    # one-sided 5% and 80% power: 1.645 + 0.842 = 2.486 standard errors
    assert hb.minimum_detectable(0.01, 0.05, kind="superiority") == pytest.approx(0.02486, abs=1e-4)
    # equivalence at true difference 0: 1.645 + z_0.9 (1.282) = 2.926 standard errors
    assert hb.minimum_detectable(0.01, 0.05, kind="equivalence") == pytest.approx(0.02926, abs=1e-4)


def test_group_weights_draw_every_group_count_once_per_resample():
    w = hb.group_weights(50, 300, hb.stream("w"))
    assert w.shape == (300, 50) and (w.sum(axis=1) == 50).all()
    assert abs(w.mean() - 1) < 0.05  # each group drawn once per resample on average
    again = hb.group_weights(50, 300, hb.stream("w"))
    assert (w == again).all()


@pytest.fixture(scope="module")
def five_seeds(tmp_path_factory):
    store = build_study_store(tmp_path_factory.mktemp("five") / "s.duckdb", seeds=(0, 1, 2, 3, 4))
    return store, S.study_runs(store=store)


def test_effect_equals_the_headline_difference_with_five_seeds_and_a_partial_plan(five_seeds):
    """5 seeds for most models, 3 for X-Y (a plan not complete): the effect of every
    comparison is the difference of the seed-table means to 1e-9, and the row says how
    many seeds each side had."""
    store, study = five_seeds
    partial = study[~((study["strategy"] == "cross") & (study["seed"] >= 3))]
    claims, comps = S.decide_study(partial, S.store_loader(store), n_resamples=500)
    means = S.seed_table(partial).set_index("label")
    for r in comps:
        if not math.isfinite(r.effect):
            continue
        expected = means.loc[r.model_a, r.measure] - means.loc[r.model_b, r.measure]
        assert r.effect == pytest.approx(expected, abs=1e-9), r.label
    xy = [r for r in comps if r.model_b == "X-Y"]
    assert xy and all(r.n_seeds_a == 5 and r.n_seeds_b == 3 for r in xy)
    assert [c.verdict for c in claims][:3] == [hb.SUPPORTED, hb.CONTRADICTED, hb.SUPPORTED]


def test_store_reader_and_frame_loader_give_the_same_verdicts(five_seeds):
    """reads.query_cell_values (numbers from DuckDB) = the per-run frames path."""
    store, study = five_seeds
    fast = S.decide_study(study, S.store_loader(store), n_resamples=300)[1]
    frames = S.store_loader(store)
    del frames.store  # type: ignore[attr-defined]  # force the frame path
    slow = S.decide_study(study, frames, n_resamples=300)[1]
    assert [(r.effect, r.ci_low, r.ci_high, r.verdict) for r in fast] == [
        (r.effect, r.ci_low, r.ci_high, r.verdict) for r in slow
    ]
    assert loader_source  # the frame path is the public loader_source


def test_one_row_per_comparison_with_one_unit(five_seeds):
    store, study = five_seeds
    _, comps = S.study_verdicts(study, S.store_loader(store), n_resamples=300)
    assert set(comps.groupby("measure")["unit"].nunique()) == {1}
    assert set(comps.loc[comps["measure"] == "rank_distance", "unit"]) == {"rank positions"}
    assert set(comps.loc[comps["measure"] != "rank_distance", "unit"]) == {"mAP"}
