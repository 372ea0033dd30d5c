"""The resumable study runner with the tiny model: plan, alpha endpoints, resume, re-run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybriddash.store import bundle
from hybriddash.store.db import Store
from hybriddash.training.reproduce import PROFILES, Profile
from hybriddash.training.study import (
    REPRODUCE_TOLERANCE,
    alpha_endpoints_identical,
    run_study,
    study_plan,
)

TINY = Profile(
    name="tiny-study",
    steps=2,
    batch_size=4,
    max_length=24,
    eval_every=2,
    seeds=(0,),
    eval_articles={"sample": 2},
    freeze_layers=1,  # the tiny model has 2 layers
    alpha_sweep=(0.0, 0.5, 1.0),
    sweep_direction=("sample", "sample"),
    note="TINY STUDY PROFILE",
)
DIRS = (("sample", "sample"),)


def test_standard_plan_counts_every_model():
    prof = PROFILES["standard"]
    reused = study_plan(prof, reuse_endpoints={0.0: True, 1.0: True})
    # 2 bases + 2 directions x 5 seeds x 3 strategies + 3 sweep seeds x alphas {0.25, 0.75}
    assert len(reused) == 2 + 30 + 6
    assert len({p.key for p in reused}) == len(reused)
    separate = study_plan(prof, reuse_endpoints={0.0: False, 1.0: False})
    assert len(separate) == 2 + 30 + 12
    sweep = [p for p in separate if p.sampler == "hybrid" and p.alpha != 0.5]
    assert {(p.train_data, p.eval_data) for p in sweep} == {("mlqa-r", "xquad-r")}


def test_standard_bundle_keeps_full_detail_for_the_first_seed_only():
    from hybriddash.training.study import run_detail

    prof = PROFILES["standard"]
    plan = {p.key: p for p in study_plan(prof, reuse_endpoints={0.0: True, 1.0: True})}
    levels = {k: run_detail(p, prof) for k, p in plan.items()}
    assert sorted(k for k, v in levels.items() if v == "full") == sorted(
        [
            "standard-xquad-r-base",
            "standard-mlqa-r-base",
            *(
                f"repro-standard-{t}-{s}-s0"
                for t in ("mlqa-r", "xquad-r")
                for s in ("mono", "cross", "hybrid")
            ),
        ]
    )
    assert run_detail(plan["repro-standard-mlqa-r-hybrid-s1"], prof, "center-docs") == "verdicts"
    assert run_detail(plan["repro-standard-mlqa-r-mono-s1"], prof, "center-docs") == "headline"
    assert run_detail(plan["standard-xquad-r-base"], prof, "center-docs") == "verdicts"
    assert run_detail(plan["repro-standard-mlqa-r-mono-s1"], TINY) == "full"


def test_alpha_endpoints_plan_the_batches_of_mono_and_cross(sample_corpus):
    assert alpha_endpoints_identical(sample_corpus, TINY, 0) == {0.0: True, 1.0: True}


# the tests below train tiny models (a study run on three fresh machines): minutes in
# all, so they run with the slow tests (CI runs them)
@pytest.mark.slow
def test_hybrid_alpha_zero_trains_exactly_like_cross(tmp_artifacts, sample_corpus, tiny_model_spec):
    import torch
    from safetensors.torch import load_file

    from hybriddash.training.trainer import TrainConfig, train

    weights = {}
    for out, sampler, alpha in (("c", "cross", 0.5), ("h0", "hybrid", 0.0)):
        cfg = TrainConfig(
            out=out,
            sampler=sampler,
            alpha=alpha,
            base=tiny_model_spec.source,
            train_data="sample",
            steps=2,
            batch_size=4,
            max_length=24,
            eval_every=2,
            freeze_layers=1,
        )
        res = train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
        weights[out] = load_file(str(Path(res.folder) / "model.safetensors"))
    assert weights["c"].keys() == weights["h0"].keys()
    assert all(torch.equal(weights["c"][k], weights["h0"][k]) for k in weights["c"])


def _run(tmp_path: Path, name: str, tiny_model_spec, monkeypatch, bundle_dir: Path, **kw):
    artifacts = tmp_path / f"artifacts-{name}"  # a fresh machine: nothing of the others
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(artifacts / "store.duckdb"))
    lines: list[str] = []
    summary = run_study(
        TINY,
        bundle_dir,
        base=tiny_model_spec.source,
        directions=DIRS,
        store=Store(artifacts / "store.duckdb"),
        progress=False,
        log=lines.append,
        **kw,
    )
    return summary, lines, artifacts


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, tiny_model_spec):
    tmp_path = tmp_path_factory.mktemp("study")
    mp = pytest.MonkeyPatch()
    try:
        ref = tmp_path / "reference"
        first = _run(tmp_path, "a", tiny_model_spec, mp, ref, stop_after=2)
        second = _run(tmp_path, "b", tiny_model_spec, mp, ref)
        third = _run(tmp_path, "c", tiny_model_spec, mp, ref)
        # the re-run: base and X-X-mono again, from nothing, into another bundle
        rerun = _run(tmp_path, "d", tiny_model_spec, mp, tmp_path / "rerun", stop_after=2)
    finally:
        mp.undo()
    return {
        "ref": ref,
        "first": first,
        "second": second,
        "third": third,
        "rerun": rerun,
        "tmp": tmp_path,
        "tiny": tiny_model_spec,
    }


@pytest.mark.slow
def test_a_stopped_study_resumes_on_a_new_machine(resumed):
    s1, _l1, _a1 = resumed["first"]
    # alpha 0 and 1 reuse X-Y / X-X-mono: base, mono, cross, hybrid
    assert s1["alpha_endpoints"] == {0.0: True, 1.0: True}
    assert len(s1["done"]) == 2 and len(s1["remaining"]) == 2
    s2, l2, a2 = resumed["second"]
    assert s2["skipped"] == s1["done"] and len(s2["done"]) == 2 and not s2["remaining"]
    assert any(line.startswith("   skip") for line in l2)
    # the pieces of the first machine were not trained again on the second
    trained_here = {p.name for p in (a2 / "models" / "trained").iterdir() if p.is_dir()}
    first_models = {k for k in s1["done"] if not k.endswith("-base")}
    assert trained_here.isdisjoint(first_models)
    assert set(s2["done"]) <= trained_here | {k for k in s2["done"] if k.endswith("-base")}
    s3, _l3, _a3 = resumed["third"]
    assert s3["done"] == [] and len(s3["skipped"]) == 4
    manifest = bundle.verify_bundle(resumed["ref"])
    assert manifest["complete"] is True and manifest["alpha_endpoints"] == {"0": True, "1": True}
    assert manifest["profile"]["name"] == "tiny-study"


@pytest.mark.slow
def test_the_resumed_store_holds_every_piece(resumed):
    from hybriddash.reports import study as S

    _s, _l, artifacts = resumed["third"]
    store = Store(artifacts / "store.duckdb")
    runs = S.study_runs(store=store)
    assert sorted(runs["label"]) == sorted(["base (no training)", "X-X-mono", "X-Y", "Hybrid"])
    curve = S.alpha_curve(runs)
    # alpha 0 and 1 drawn from the reused X-Y and X-X-mono runs
    assert curve["alpha"].tolist() == [0.0, 0.5, 1.0]
    assert curve["source"].tolist() == ["X-Y", "hybrid", "X-X-mono"]
    assert not S.learning_curves(runs, store=store).empty


@pytest.mark.slow
def test_a_rerun_reproduces_the_stored_numbers_within_tolerance(resumed):
    stored = bundle.headline_by_piece(resumed["ref"])
    rerun = bundle.headline_by_piece(resumed["tmp"] / "rerun")
    rerun_pieces = set(rerun["piece"])
    assert len(rerun_pieces) == 2
    stored = stored[stored["piece"].isin(rerun_pieces)]
    table = bundle.compare_headlines(stored, rerun, tolerance=REPRODUCE_TOLERANCE)
    assert len(table) == 2 * 4
    assert table["within"].all(), table[~table["within"]]


def test_a_bundle_refuses_a_study_of_another_budget(tmp_artifacts, tiny_model_spec):
    from dataclasses import replace

    from hybriddash.training.study import _profile_dict

    bundle.open_bundle(tmp_artifacts / "b", profile=_profile_dict(TINY))
    with pytest.raises(bundle.BundleError, match="steps=2, now 3"):
        run_study(
            replace(TINY, steps=3),
            tmp_artifacts / "b",
            base=tiny_model_spec.source,
            directions=DIRS,
            store=Store(tmp_artifacts / "x.duckdb"),
            progress=False,
            log=lambda line: None,
        )


@pytest.mark.slow
def test_learning_curve_gives_a_stable_order_budget(tmp_artifacts, sample_corpus, tiny_model_spec):
    from dataclasses import replace

    from hybriddash.reports.study import stable_order_budget
    from hybriddash.training.study import run_learning_curve

    prof = replace(TINY, name="tiny-lc", steps=4, eval_every=2)
    val = run_learning_curve(
        prof,
        base=tiny_model_spec.source,
        train_data="sample",
        corpus=sample_corpus,
        store=Store(tmp_artifacts / "lc.duckdb"),
        progress=False,
    )
    assert set(val["strategy"]) == {"X-X-mono", "X-Y", "Hybrid"}
    assert sorted(set(val["step"])) == [0, 2, 4]
    budget, table = stable_order_budget(val)
    assert budget in (0, 2, 4) and table["stable"].iloc[-1]


@pytest.mark.slow
def test_a_report_of_a_study_in_progress_says_what_is_left(resumed, tmp_path):
    from argparse import Namespace

    from hybriddash.commands.reproduce import _study_report

    out = tmp_path / "results.md"
    partial = resumed["tmp"] / "rerun"  # stopped after 2 of its 4 models
    assert _study_report(Namespace(results=str(out)), partial) == 0
    text = out.read_text(encoding="utf-8")
    assert "Study in progress: 2 of 4 models finished" in text
    assert "## Verdicts" in text and "## Headline numbers" in text
    complete = tmp_path / "complete.md"
    assert _study_report(Namespace(results=str(complete)), resumed["ref"]) == 0
    assert "in progress" not in complete.read_text(encoding="utf-8")


def test_the_learning_curve_section_goes_into_the_results_once(tmp_path):
    from hybriddash.commands.reproduce import _write_section
    from hybriddash.reports.study import learning_curve_markdown, stable_order_budget

    rows = [
        {"strategy": s, "seed": 0, "step": step, "value": v}
        for step, values in (
            (0, (0.5, 0.5, 0.5)),
            (25, (0.7, 0.6, 0.8)),
            (50, (0.6, 0.7, 0.8)),
            (75, (0.6, 0.7, 0.8)),
        )
        for s, v in zip(("Hybrid", "X-X-mono", "X-Y"), values, strict=True)
    ]
    budget, order = stable_order_budget(pd.DataFrame(rows))
    assert budget == 50
    doc = {
        "budget_steps": budget,
        "steps": 75,
        "eval_every": 25,
        "curve": rows,
        "order": order.to_dict("records"),
    }
    text = "\n".join(learning_curve_markdown(doc, study_steps=25))
    assert "after **50 steps**" in text and "**25 steps** per model" in text
    assert "| 25 | 0.7000 | 0.6000 | 0.8000 | 0.2000 | X-Y > Hybrid > X-X-mono |" in text
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## What was run\n\nstuff\n", encoding="utf-8")
    _write_section(results, "learning_curve", text, before="## What was run")
    _write_section(
        results, "learning_curve", text.replace("0.7000", "0.7001"), before="## What was run"
    )
    out = results.read_text(encoding="utf-8")
    assert out.count("## Learning curve and budget") == 1 and "0.7001" in out
    assert out.index("## Learning curve") < out.index("## What was run")


def test_wall_time_counts_net_seconds_and_says_when_over_target():
    from hybriddash.reports.study import wall_time_markdown

    def piece(wall, paused=0.0, train=300.0, finished="2026-12-06T08:00:00Z"):
        return {
            "wall_seconds": wall,
            "paused_seconds": paused,
            "train_seconds": train,
            "finished": finished,
            "machine": {"cpu": "Test CPU", "cpu_flags": ["avx2"], "load_at_start": [1.5]},
        }

    manifest = {
        "plan": ["s-base", "s-mono-s0", "s-cross-s0", "s-hybrid-s0"],
        "pieces": {
            "s-base": piece(400.0, train=None, finished="2026-12-06T07:00:00Z"),
            "s-mono-s0": piece(1000.0, paused=400.0),  # net 600
            "s-cross-s0": piece(800.0),
        },
    }
    text = "\n".join(wall_time_markdown(manifest, target_hours=0.5))
    # 400 + 600 + 800 = 1800 s = 0.50 h, within 0.5 h; stopped 400 s = 0.11 h
    assert "**0.50 h** of piece wall time for the 3 models of 4 planned" in text
    assert "within the 0.5-hour target so far" in text and "0.11 h, is not counted" in text
    # median trained 700 s: plan = 400 + 3 x 700 = 2500 s; left: 1 x 700 -> 2500 s
    assert "median trained piece took 700 s (untrained base: 400 s)" in text
    assert (
        "would take 0.69 h" in text and "The 1 left at the median bring it to about 0.69 h" in text
    )
    assert "| s-mono-s0 | Test CPU (avx2) | 1.50 | 300 | 1000 | 400 | 600 |" in text
    assert "\n- `" not in text  # no piece has a note
    manifest["pieces"]["s-cross-s0"]["note"] = "the rerun reused the weights"
    noted = "\n".join(wall_time_markdown(manifest, target_hours=0.5))
    assert noted.endswith("\n- `s-cross-s0`: the rerun reused the weights")
    manifest["pieces"]["s-hybrid-s0"] = piece(1200.0)
    text = "\n".join(wall_time_markdown(manifest, target_hours=0.5))
    assert "**over** the 0.5-hour target by 0.33 h" in text and "left at the median" not in text
    assert "target" not in "\n".join(wall_time_markdown(manifest, target_hours=None))


def test_a_recomputed_piece_counts_its_first_full_run():
    from hybriddash.reports.study import wall_time_markdown

    machine = {"cpu": "Test CPU", "cpu_flags": ["avx2"], "load_at_start": [1.0]}
    manifest = {
        "plan": ["q-base", "q-mono-s3"],
        "pieces": {
            "q-base": {"wall_seconds": 34.0, "paused_seconds": 0.0, "machine": machine,
                       "first_run": {"wall_seconds": 1170.0, "paused_seconds": 70.0}},
            "q-mono-s3": {"wall_seconds": 900.0, "train_seconds": 300.0, "machine": machine},
        },
    }  # fmt: skip
    text = "\n".join(wall_time_markdown(manifest, target_hours=5))
    # 1100 + 900 = 2000 s = 0.56 h (the recomputation's 34 s is not the piece's cost)
    assert "**0.56 h** of piece wall time for the 2 models" in text
    assert "| q-base * | Test CPU (avx2) | 1.00 | – | 1170 | 70 | 1100 |" in text
    assert "first, full run's times (`first_run` in the manifest)" in text
    assert "earlier, stopped process" not in text


def test_a_piece_finished_by_a_second_process_counts_the_first_ones_work():
    from hybriddash.reports.study import wall_time_markdown

    machine = {"cpu": "Test CPU", "cpu_flags": ["avx2"], "load_at_start": [1.0]}
    manifest = {
        "pieces": {
            "q-mono-s4": {"wall_seconds": 700.0, "paused_seconds": 100.0, "machine": machine,
                          "train_seconds": 300.0, "earlier_process_seconds": 380.0},
        },
    }  # fmt: skip
    text = "\n".join(wall_time_markdown(manifest, target_hours=5))
    # 700 + 380 - 100 = 980 s: the reused work is the piece's cost too
    assert "| q-mono-s4 † | Test CPU (avx2) | 1.00 | 300 | 1080 | 100 | 980 |" in text
    assert "**0.27 h** of piece wall time" in text
    assert "an earlier, stopped process" in text


@pytest.mark.slow
def test_a_study_refuses_to_resume_on_pieces_of_changed_data(resumed, tmp_path, monkeypatch):
    """Pieces evaluated on a corpus the loaders no longer give (a loader fixed) must leave
    the bundle first: the resume names them and the command that takes them out."""
    import shutil

    from hybriddash.training import study

    folder = tmp_path / "copy"
    shutil.copytree(resumed["ref"], folder)
    before = bundle.read_manifest(folder)
    load = study.load_eval_corpus

    def fixed_loader(spec, profile):  # one candidate fewer: another fingerprint
        corpus = load(spec, profile)
        gone = corpus.candidates[-1].id
        return corpus.restrict(lambda c: c.id != gone, lambda q: True, {"fixed": 1})

    monkeypatch.setattr(study, "load_eval_corpus", fixed_loader)
    with pytest.raises(bundle.BundleError, match="bundle drop") as err:
        _run(tmp_path, "e", resumed["tiny"], monkeypatch, folder)
    assert all(key in str(err.value) for key in before["pieces"])
    assert bundle.read_manifest(folder)["pieces"] == before["pieces"]  # nothing touched
    monkeypatch.setattr(study, "load_eval_corpus", load)  # the data as it was: resumes
    summary, _lines, _art = _run(tmp_path, "f", resumed["tiny"], monkeypatch, folder)
    assert summary["done"] == [] and len(summary["skipped"]) == len(before["pieces"])


@pytest.mark.slow
def test_a_piece_stopped_part_way_counts_the_stopped_process_work(
    tiny_model_spec, tmp_path, monkeypatch
):
    """A study killed after a piece's training (a session's end, a preempted job) reuses
    the saved model on resume; the piece's manifest entry counts the training anyway."""
    from hybriddash.reports.study.markdown import piece_seconds
    from hybriddash.training import study
    from hybriddash.training.piece_progress import ledger_path, read_progress

    folder = tmp_path / "bundle"
    evaluate = study._evaluate_with_corrections

    def killed_after_training(model, corpus, piece, *args, **kwargs):
        if piece.sampler is not None:
            raise KeyboardInterrupt("the session ended")
        return evaluate(model, corpus, piece, *args, **kwargs)

    monkeypatch.setattr(study, "_evaluate_with_corrections", killed_after_training)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "g", tiny_model_spec, monkeypatch, folder)
    artifacts = tmp_path / "artifacts-g"
    ledger = read_progress(ledger_path(folder, artifacts=artifacts))
    assert ledger is not None and [c.step for c in ledger.checkpoints] == ["train"]
    trained_for = ledger.checkpoints[0].net_seconds
    assert trained_for > 0
    monkeypatch.setattr(study, "_evaluate_with_corrections", evaluate)
    summary, _lines, _art = _run(tmp_path, "g", tiny_model_spec, monkeypatch, folder)
    pieces = bundle.read_manifest(folder)["pieces"]
    stopped = pieces[ledger.piece]
    assert stopped["earlier_process_seconds"] == pytest.approx(trained_for, abs=0.1)
    assert "an earlier process, stopped part-way" in stopped["note"]
    assert piece_seconds(stopped)[0] == pytest.approx(stopped["wall_seconds"] + trained_for)
    # the pieces that ran in one go say nothing of earlier work; the ledger is gone
    assert sum("earlier_process_seconds" in p for p in pieces.values()) == 1
    assert not ledger_path(folder, artifacts=artifacts).exists()
