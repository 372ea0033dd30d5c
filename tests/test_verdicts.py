"""The decision rule on constructed data with known answers (docs/results.md, "Decision rule")."""

from __future__ import annotations

import numpy as np
import pytest
from study_toy_store import build_study_store

from hybriddash.reports import study as S
from hybriddash.reports import verdicts as V


def test_mean_ci_matches_the_t_interval():
    d = np.array([0.1, 0.2, 0.3, 0.4])
    mean, lo, hi = V.mean_ci(d)
    # t_{0.975,3} = 3.182446; sd = 0.129099; se = 0.0645497
    assert mean == pytest.approx(0.25)
    assert (lo, hi) == pytest.approx(
        (0.25 - 3.182446 * 0.0645497, 0.25 + 3.182446 * 0.0645497), rel=1e-5
    )


def test_tost_shows_equivalence_inside_and_difference_outside_the_margin():
    rng = np.random.default_rng(1)
    inside = rng.normal(0.001, 0.01, 2000)
    p_tost, p_out = V.tost(inside, 0.01)
    assert p_tost < 1e-6 and p_out > 0.5
    outside = rng.normal(0.03, 0.01, 2000)
    p_tost, p_out = V.tost(outside, 0.01)
    assert p_tost > 0.5 and p_out < 1e-6
    noisy = rng.normal(0.0, 0.3, 20)  # too noisy to show anything
    p_tost, p_out = V.tost(noisy, 0.01)
    assert p_tost > 0.05 and p_out > 0.05


def _tested(kind, d, sa, sb, direction=1):
    return V.compare("x", "toy", "A vs B", kind, d, sa, sb, direction=direction, n_resamples=2000)


@pytest.mark.parametrize(
    ("kind", "shift", "seeds_a", "expected"),
    [
        ("equivalence", 0.0, (0.60, 0.601, 0.599), V.SUPPORTED),
        ("equivalence", 0.05, (0.65, 0.651, 0.649), V.CONTRADICTED),
        ("superiority", 0.05, (0.65, 0.651, 0.649), V.SUPPORTED),
        ("superiority", -0.05, (0.55, 0.551, 0.549), V.CONTRADICTED),
        ("superiority", 0.0, (0.60, 0.601, 0.599), V.INCONCLUSIVE),
    ],
)
def test_decide_gives_the_known_verdict(kind, shift, seeds_a, expected):
    rng = np.random.default_rng(3)
    d = shift + rng.normal(0, 0.01, 500)
    decided = V.decide([_tested(kind, d, seeds_a, (0.60, 0.602, 0.598))], aso_iterations=200)
    assert decided[0].verdict == expected, decided[0].reason


def test_significant_queries_but_overlapping_seeds_is_inconclusive():
    d = 0.05 + np.random.default_rng(4).normal(0, 0.01, 500)
    # seed scores interleave: ASO cannot say A dominates B
    decided = V.decide(
        [_tested("superiority", d, (0.60, 0.62, 0.58), (0.61, 0.59, 0.60))], aso_iterations=200
    )
    assert decided[0].verdict == V.INCONCLUSIVE
    assert "ASO" in decided[0].reason and decided[0].comparison.aso_ab >= 0.5


def test_lower_is_better_direction_for_rank_distance():
    d = -3.0 + np.random.default_rng(5).normal(0, 1, 500)  # A has lower rank distance
    decided = V.decide(
        [_tested("superiority", d, (7.0, 7.1, 6.9), (10.0, 10.1, 9.9), direction=-1)],
        aso_iterations=200,
    )
    assert decided[0].verdict == V.SUPPORTED


def test_too_few_seeds_is_inconclusive_whatever_the_data():
    d = 0.05 + np.random.default_rng(6).normal(0, 0.01, 500)
    decided = V.decide([_tested("superiority", d, (0.65,), (0.60,))])
    assert decided[0].verdict == V.INCONCLUSIVE and "too few seeds (1 < 3)" in decided[0].reason


def test_holm_spans_all_comparisons():
    rng = np.random.default_rng(7)
    # a borderline difference: significant alone, not after Holm over 20 comparisons
    d = rng.normal(0, 0.01, 400)
    d = d - d.mean() + 0.0013
    one = V.decide(
        [_tested("superiority", d, (0.65, 0.651, 0.649), (0.6, 0.601, 0.599))], aso_iterations=200
    )
    assert one[0].comparison.p_support < 0.05
    many = V.decide(
        [_tested("superiority", d, (0.65, 0.651, 0.649), (0.6, 0.601, 0.599))] * 20,
        aso_iterations=200,
    )
    assert many[0].p_support_holm > 0.05 and many[0].verdict == V.INCONCLUSIVE


def test_combine_composite_claims():
    def v(verdict):
        comp, _ = _tested("superiority", np.zeros(3), (1, 1, 1), (1, 1, 1))
        return V.Verdict(comp, 0.0, 0.0, verdict, verdict)

    assert V.combine([v(V.SUPPORTED), v(V.SUPPORTED)])[0] == V.SUPPORTED
    assert V.combine([v(V.SUPPORTED), v(V.INCONCLUSIVE)])[0] == V.INCONCLUSIVE
    assert V.combine([v(V.SUPPORTED), v(V.CONTRADICTED)])[0] == V.CONTRADICTED
    assert V.combine([])[0] == V.INCONCLUSIVE


@pytest.fixture(scope="module")
def toy_study(tmp_path_factory):
    store = build_study_store(tmp_path_factory.mktemp("study") / "s.duckdb")
    return store, S.study_runs(store=store)


def test_study_roles_are_read_from_the_store(toy_study):
    _store, study = toy_study
    counts = study.groupby("label").size().to_dict()
    assert counts == {
        "base (no training)": 1,
        "X-X-mono": 3,
        "X-Y": 3,
        "Hybrid": 3,
        "Hybrid α=0.25": 3,
        "Hybrid α=0.75": 3,
    }
    assert sorted(study.loc[study["label"] == "Hybrid", "seed"]) == [0, 1, 2]


def test_claims_on_the_constructed_study(toy_study):
    store, study = toy_study
    claims, comps = S.study_verdicts(study, S.store_loader(store), n_resamples=2000)
    got = dict(zip(claims["claim"], claims["verdict"], strict=True))
    assert got == {
        "a": V.SUPPORTED,
        "b": V.CONTRADICTED,
        "c": V.SUPPORTED,
        "d": V.INCONCLUSIVE,
        "e": V.SUPPORTED,
        "f": V.INCONCLUSIVE,
    }
    f = claims.set_index("claim").loc["f"]
    assert "no corrected runs in the store" in f["reason"]
    b = claims.set_index("claim").loc["b"]
    assert (
        b["effect"] == pytest.approx(-0.05, abs=0.01) and b["ci_low"] < b["effect"] < b["ci_high"]
    )
    # the effect is the headline difference (mean over seeds of the stored headline)
    a = claims.set_index("claim").loc["a"]

    def headline(label):
        return study.loc[study["label"] == label, "monolingual"].mean()

    assert a["effect"] == pytest.approx(headline("Hybrid") - headline("X-X-mono"), abs=1e-9)
    assert a["unit"] == "mAP" and a["measure"] == "monolingual"
    assert set(comps["claim"]) == set("abcdef")


def test_claim_f_with_corrections(tmp_path):
    store = build_study_store(tmp_path / "c.duckdb", with_corrections=True)
    study = S.study_runs(store=store)
    assert set(study["correction"]) == {"", "center-docs"}
    claims, comps = S.study_verdicts(study, S.store_loader(store), n_resamples=2000)
    f = claims.set_index("claim").loc["f"]
    assert f["verdict"] == V.SUPPORTED, f["reason"]
    assert len(comps[comps["claim"] == "f"]) == 4
    # the deviations say which corrections (f)'s "best" was chosen from, and which not
    [said] = [d for d in S.protocol_deviations(study, store=store) if "claim (f)" in d]
    assert "best of center-docs" in said and "center, shift" in said and "did not run" in said


def test_one_seed_makes_every_claim_inconclusive(toy_study):
    store, study = toy_study
    one = study[study["seed"].isin([-1, 0])]
    claims, _ = S.study_verdicts(one, S.store_loader(store), n_resamples=2000)
    assert set(claims["verdict"]) == {V.INCONCLUSIVE}
    assert claims["reason"].str.contains("too few seeds").sum() >= 4


def test_language_gains_and_alpha_curve(toy_study):
    store, study = toy_study
    gains = S.language_gains(study, S.store_loader(store), other="mono", n_boot=300)
    multi = gains[gains["setting"] == "multilingual"]
    assert sorted(multi["query_lang"]) == ["de", "en", "zh"]
    assert (multi["gain"].between(0.03, 0.07)).all() and (multi["ci_low"] < multi["gain"]).all()
    again = S.language_gains(study, S.store_loader(store), other="mono", n_boot=300)
    assert again.equals(gains)  # seeded bootstrap
    pairs = S.language_gains(study, S.store_loader(store), other="cross", by="pair", n_boot=100)
    assert len(pairs[pairs["setting"] == "crosslingual"]) == 6  # 3 x 2 ordered pairs
    curve = S.alpha_curve(study)
    assert curve["alpha"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve.set_index("alpha").loc[0.0, "source"] == "X-Y"


def test_stable_order_budget():
    import pandas as pd

    rows = []
    # mono leads until step 20, hybrid leads from step 30 on
    for step, (h, m, c) in {
        10: (0.3, 0.4, 0.2),
        20: (0.35, 0.45, 0.3),
        30: (0.5, 0.45, 0.4),
        40: (0.55, 0.5, 0.45),
        50: (0.6, 0.55, 0.5),
    }.items():
        rows += [("hybrid", step, h), ("mono", step, m), ("cross", step, c)]
    curve = pd.DataFrame(rows, columns=["strategy", "step", "value"])
    step, table = S.stable_order_budget(curve)
    assert step == 30 and table["stable"].tolist() == [False, False, True, True, True]
    assert table["order"].iloc[-1] == "hybrid > mono > cross"
    assert S.stable_order_budget(curve[curve["strategy"] == "mono"])[0] is None


def test_docs_state_the_rule_and_the_plan_before_any_result():
    from pathlib import Path

    from hybriddash.training.study import STANDARD_PLAN_MD

    text = (Path(__file__).resolve().parent.parent / "docs" / "results.md").read_text()
    assert S.DECISION_RULE_MD in text and STANDARD_PLAN_MD in text


def test_study_markdown_reports_every_claim(toy_study, tmp_path):
    from hybriddash.store import bundle

    store, _study = toy_study
    manifest = bundle.export_store(tmp_path / "b", store=store, command="pytest")
    manifest["profile"] = {"name": "standard", "note": "TEST"}
    md = S.study_markdown(
        manifest,
        store=store,
        n_resamples=500,
        learning_curve={
            "budget_steps": 30,
            "steps": 50,
            "eval_every": 10,
            "order": [{"step": 30, "order": "a > b"}],
        },
    )
    assert S.DECISION_RULE_MD in md and "## The standard study: plan" in md
    assert "### One row per comparison" in md and "### Old rule vs new rule" in md
    for claim in "abcdef":
        assert f"| ({claim}) " in md
    assert "**contradicted**" in md and "after **30 steps**" in md
    assert "## Alpha sweep" in md and "Per-language gain of hybrid over X-X-mono" in md
    assert "No run of the" in md and "was flagged" in md  # the contamination check
    assert "## The paper's published numbers" in md and "| LaBSE | Hybrid |" in md


def test_untrained_models_without_a_study_keep_their_names():
    import pandas as pd

    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2"],
            "model_id": ["tiny", "tiny-b"],
            "corpus_fp": ["c", "c"],
            "corpus_name": ["sample", "sample"],
            "created_at": [1, 2],
            "multilingual": [0.3, 0.4],
        }
    )
    models = pd.DataFrame(
        {"model_id": ["tiny", "tiny-b"], "kind": ["tiny", "sentence-transformers"]}
    )
    study = S.select_study(S.classify_runs(runs, models))
    assert sorted(study["label"]) == ["tiny (no training)", "tiny-b (no training)"]
    claims, _ = S.study_verdicts(study, lambda run: (None, None))
    assert set(claims["verdict"]) == {V.INCONCLUSIVE}
    assert "no hybrid (alpha 0.5) runs" in claims["reason"].iloc[0]


def test_the_readme_section_has_every_claim_and_is_rewritten_in_place(toy_study, tmp_path):
    from hybriddash.commands.reproduce import _write_section
    from hybriddash.store import bundle

    store, _study = toy_study
    manifest = bundle.export_store(tmp_path / "b", store=store, command="pytest")
    manifest["profile"] = {"name": "standard", "note": "TEST"}
    manifest["plan"] = [*manifest["pieces"], "a-piece-still-to-run"]
    results, readme = S.study_report(manifest, store=store, n_resamples=500)
    assert "## Verdicts" in results and "## Verdicts" not in readme
    for claim in "abcdef":
        lines = readme.splitlines()
        # one verdict row per claim, then one row per comparison of the claim
        assert sum(line.startswith(f"| ({claim}) {S.CLAIMS[claim].text}") for line in lines) == 1
        assert sum(line.startswith(f"| ({claim}) | toy-study |") for line in lines) >= 1
    assert "Study in progress" in readme and "a-piece-still-to-run" in readme
    assert "| toy-study | Hybrid | 3 |" in readme  # the seed table: mean ± sd of 3 seeds

    path = tmp_path / "README.md"
    path.write_text("# project\n\n## Results\n\n- a bullet\n", encoding="utf-8")
    _write_section(path, "study-results", readme, before=None)
    _write_section(path, "study-results", "second version", before=None)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# project\n\n## Results\n\n- a bullet\n")
    assert text.count("<!-- study-results:start -->") == 1 and "second version" in text
    assert "| (a) " not in text


def test_a_study_resumed_on_a_machine_without_bf16_keeps_its_seeds_and_says_so(tmp_path):
    """bf16 autocast follows the machine: seeds 0-1 with it and seed 2 without are one
    study (3 seeds, the same verdicts), and the deviations name the precision per seed."""
    mixed = build_study_store(tmp_path / "m.duckdb", bf16_seeds=(0, 1))
    study = S.study_runs(store=mixed)
    assert study.loc[study["strategy"] == "hybrid", "seed"].nunique() == 3
    assert study["n_budgets"].max() == 1
    [said] = [d for d in S.protocol_deviations(study, store=mixed) if "Precision" in d]
    assert "seed 0: bf16 autocast" in said and "seed 2: float32" in said
    same = build_study_store(tmp_path / "s.duckdb", bf16_seeds=(0, 1, 2))
    same_study = S.study_runs(store=same)
    assert not [d for d in S.protocol_deviations(same_study, store=same) if "Precision" in d]


def test_machines_are_named_with_their_kernel_flags():
    manifest = {
        "pieces": {
            "a": {"machine": {"cpu": "AMD EPYC"}},
            "b": {"machine": {"cpu": "AMD EPYC", "cpu_flags": ["avx2"]}},
            "c": {"machine": {"cpu": "AMD EPYC", "cpu_flags": ["avx2", "avx512_bf16"]}},
        }
    }
    assert S._machine_names(manifest) == [
        "AMD EPYC (avx2)",
        "AMD EPYC (avx2, avx512_bf16)",
        "AMD EPYC (flags not recorded)",
    ]


def test_an_inconclusive_claim_shows_the_effect_of_the_comparison_its_reason_names():
    from hybriddash.reports.study.comparisons import CLAIMS, ComparisonRow, combine

    def row(label_b, effect, p, verdict):
        return ComparisonRow(
            claim="c", eval_dataset="toy", model_a="Hybrid", model_b=label_b,
            measure="multilingual", unit="mAP", kind="superiority", direction=1,
            margin=float("nan"), effect=effect, ci_low=effect - 0.001, ci_high=effect + 0.001,
            level=0.99, p=p, alpha=0.005, test="t", se=0.001, mde=0.003, n_seeds_a=3,
            n_seeds_b=3, n_groups=10, seed_diffs=(effect,), verdict=verdict, reason=verdict,
        )  # fmt: skip

    strong_but_supported = row("X-X-mono", 0.0064, 0.004, S.SUPPORTED)
    blocking = row("X-Y", -0.0030, 0.002, S.INCONCLUSIVE)
    claim = combine(CLAIMS["c"], "toy", [strong_but_supported, blocking])
    assert claim.verdict == S.INCONCLUSIVE and claim.reason.startswith("Hybrid vs X-Y")
    assert claim.deciding is blocking  # not the larger-p supported one
    both = combine(CLAIMS["c"], "toy", [strong_but_supported, row("X-Y", 0.01, 0.001, "supported")])
    assert both.verdict == S.SUPPORTED and both.deciding is strong_but_supported  # weakest
    against = combine(
        CLAIMS["c"], "toy", [strong_but_supported, row("X-Y", -0.02, 1.0, "contradicted")]
    )
    assert against.verdict == S.CONTRADICTED and against.deciding.model_b == "X-Y"


def test_a_significant_difference_without_seed_support_says_which_way():
    rng = np.random.default_rng(3)
    d = -0.003 + 0.01 * rng.standard_normal(4000)  # A clearly worse across queries
    tested = V.compare(
        "c",
        "toy",
        "Hybrid vs X-Y, multilingual",
        "superiority",
        d,
        [0.548, 0.556, 0.537],  # the seeds overlap: no stochastic order
        [0.548, 0.551, 0.550],
        n_resamples=2000,
    )
    (decided,) = V.decide([tested], aso_iterations=200)
    assert decided.verdict == V.INCONCLUSIVE
    assert decided.reason.startswith("A worse across queries (significant)")


def test_code_versions_name_every_version_a_resumed_study_ran_under():
    from hybriddash.reports.study import code_versions

    manifest = {
        "code_version": "aaa",
        "pieces": {
            "late": {"finished": "2026-12-06T20:00:00Z", "code_version": "ccc"},
            "early": {"finished": "2026-12-06T10:00:00Z", "code_version": "aaa"},
            "middle": {"finished": "2026-12-06T15:00:00Z", "code_version": "bbb"},
            "again": {"finished": "2026-12-06T16:00:00Z", "code_version": "bbb"},
        },
    }
    assert code_versions(manifest) == "aaa, bbb, ccc"
    # pieces written before pieces recorded their code: the manifest's
    assert code_versions({"code_version": "aaa", "pieces": {"x": {}}}) == "aaa"


def _gains_study(seed_offsets: dict[str, tuple[float, ...]], n_groups: int = 200):
    """A study frame and loader: en/de queries per group, crosslingual pools en>de and
    de>en with AP = 0.5 + per-language shift + the seed's offset (same for every query)."""
    import pandas as pd

    rows, frames = [], {}
    for role, offsets in seed_offsets.items():
        for seed, offset in enumerate(offsets):
            run_id = f"{role}-s{seed}"
            rows.append(
                {"run_id": run_id, "corpus_fp": "fp", "study": "toy", "strategy": role,
                 "correction": "", "alpha": 0.5 if role == "hybrid" else float("nan"),
                 "seed": seed, "label": role}
            )  # fmt: skip
            qm = pd.DataFrame(
                [
                    {"query_id": f"{g}-{q}", "query_lang": q, "group_id": str(g),
                     "cand_lang": c, "setting": "crosslingual",
                     "ap": 0.5 + (0.1 if q == "de" else 0.0) + offset}
                    for g in range(n_groups)
                    for q, c in (("en", "de"), ("de", "en"))
                ]
            )  # fmt: skip
            frames[run_id] = (qm, pd.DataFrame())
    return pd.DataFrame(rows), frames.__getitem__


def test_language_gains_intervals_carry_the_seed_variance():
    """Every query gains exactly 0 on average over seeds, but the seeds spread by ±0.1:
    a bootstrap over queries alone would give [0, 0]; the rule's interval must not."""
    study, loader = _gains_study({"hybrid": (-0.1, 0.0, 0.1), "mono": (0.0, 0.0, 0.0)})
    gains = S.language_gains(study, loader, other="mono", n_boot=400)
    assert sorted(gains["query_lang"]) == ["de", "en"]
    assert np.allclose(gains["gain"], 0.0, atol=1e-12)
    assert ((gains["ci_high"] - gains["ci_low"]) > 0.05).all()
    assert (gains["n"] == 200).all()


def test_language_gains_without_seed_spread_are_exact():
    study, loader = _gains_study({"hybrid": (0.03, 0.03, 0.03), "mono": (0.0, 0.0, 0.0)})
    for by in ("query_lang", "pair"):
        gains = S.language_gains(study, loader, other="mono", by=by, n_boot=200)
        assert len(gains) == 2
        assert np.allclose(gains[["gain", "ci_low", "ci_high"]].to_numpy(), 0.03, atol=1e-12)


def test_runs_a_questions_bundle_shipped_stay_out_of_the_standard_claims(tmp_path):
    """A hybrid run loaded from a questions bundle (profile with suites) is not a sixth
    seed of the standard study; the same run from a standard bundle would count."""
    import json

    store = build_study_store(tmp_path / "s.duckdb")
    study = S.study_runs(store=store)
    extra = study[study["label"] == "Hybrid"]["run_id"].iloc[0]

    def ship(profile: dict) -> None:
        manifest = {"profile": profile, "pieces": {"p": {"run_ids": [extra]}}}
        with store.write() as con:
            con.execute(
                "INSERT OR REPLACE INTO reference_bundles (bundle_id, path, manifest, loaded_at) "
                "VALUES ('b', '/nowhere', ?, current_timestamp)",
                [json.dumps(manifest)],
            )

    ship({"name": "standard"})
    assert extra in set(S.study_runs(store=store)["run_id"])
    ship({"name": "questions", "suites": ["xnli"]})
    assert S.questions_bundle_runs(store=store) == {extra}
    kept = S.study_runs(store=store)
    assert extra not in set(kept["run_id"]) and len(kept) == len(study) - 1
