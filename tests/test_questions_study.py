"""The questions profile: its plan, and a tiny questions study that shares models."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_study_runner import TINY

from hybriddash.store import bundle
from hybriddash.store.db import Store
from hybriddash.training import reproduce
from hybriddash.training.reproduce import PROFILES
from hybriddash.training.study import _profile_dict, questions_plan, run_study


def test_the_questions_plan_shares_seeds_3_and_4_with_the_standard_study():
    plan = {p.key: p for p in questions_plan(PROFILES["questions"])}
    assert len(plan) == 1 + 3 * 4  # base + 3 seeds x (mono, cross, hybrid, hybrid + pairs)
    shared = [p for p in plan.values() if p.shared_key]
    assert {(p.sampler, p.seed) for p in shared} == {
        (s, seed) for s in ("mono", "cross", "hybrid") for seed in (3, 4)
    }
    # one trained model serves both studies: the standard study's folder name
    assert all(p.model_out == p.shared_key for p in shared)
    assert plan["repro-questions-mlqa-r-hybrid-s3"].model_out == "repro-standard-mlqa-r-hybrid-s3"
    assert "repro-standard-mlqa-r-hybrid-s3" in bundle.read_manifest(reference_dir())["plan"]
    pairs = [p for p in plan.values() if p.extra_pairs]
    assert [p.seed for p in pairs] == [3, 4, 5] and all("xquad-r" in p.evals for p in pairs)
    assert "xquad-r" in plan["repro-questions-mlqa-r-hybrid-s5"].evals
    assert "xquad-r" not in plan["repro-questions-mlqa-r-mono-s5"].evals
    assert all(
        p.evals[: len(PROFILES["questions"].suites)] == PROFILES["questions"].suites
        for p in plan.values()
    )
    # the same budget: the shared models' configurations are the standard study's
    q, s = PROFILES["questions"], PROFILES["standard"]
    kw = dict(out="x", sampler="hybrid", base="b", train_data="mlqa-r", seed=3)
    assert q.train_config(**kw) == s.train_config(**kw)


def reference_dir():
    from hybriddash.config import REPO_ROOT

    return REPO_ROOT / "reference"


def test_a_questions_profile_that_trains_otherwise_than_the_shared_one_is_refused():
    with pytest.raises(ValueError, match="another configuration"):
        questions_plan(replace(PROFILES["questions"], steps=150))


# the tiny study of tests/test_study_runner.py, without its alpha sweep
SHARED = replace(TINY, name="tiny-shared", alpha_sweep=())
QUESTIONS = replace(
    SHARED,
    name="tiny-questions",
    seeds=(0, 1),
    suites=("sample[segments=test]",),
    extra_pairs="sample[segments=train]",
    shares_models_with="tiny-shared",
)


@pytest.mark.slow
def test_a_tiny_questions_study_evaluates_every_suite_and_fills_the_shared_bundle(
    tmp_path, tiny_model_spec, monkeypatch
):
    monkeypatch.setitem(reproduce.PROFILES, "tiny-shared", SHARED)
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(artifacts / "store.duckdb"))
    shared = tmp_path / "reference"
    bundle.open_bundle(shared, profile=_profile_dict(SHARED))
    # each piece ships the alignment view of its benchmark run (and of XNLI dev where it
    # has one): recorded here, the UMAP itself is tested in test_alignment.py
    from hybriddash.reports import alignment_shipped

    shipped: dict[str, list] = {}
    monkeypatch.setenv("HYBRIDDASH_SHIP_ALIGNMENT", "1")
    monkeypatch.setattr(
        alignment_shipped,
        "write_piece_alignment",
        lambda _bundle, key, pairs, store=None: shipped.setdefault(key, pairs),
    )
    lines: list[str] = []
    summary = run_study(
        QUESTIONS,
        tmp_path / "questions",
        base=tiny_model_spec.source,
        directions=(("sample", "sample"),),
        store=Store(artifacts / "store.duckdb"),
        progress=False,
        log=lines.append,
        shared_bundle=shared,
    )
    assert not summary["remaining"] and len(summary["done"]) == 1 + 2 * 4
    # each piece's line names the run whose headline it prints
    assert any(
        line.startswith("   X-X-mono seed 0 on sample[segments=test]: multi") for line in lines
    )
    assert any(line.startswith("   Hybrid seed 1 on sample: multi") for line in lines)
    manifest = bundle.verify_bundle(tmp_path / "questions")
    assert manifest["profile"]["suites"] == ["sample[segments=test]"]
    hybrid1 = manifest["pieces"]["repro-tiny-questions-sample-hybrid-s1"]
    # seed 1 is not shared: hybrid is evaluated on the suite and on the sample benchmark
    assert len(hybrid1["run_ids"]) == 2 and hybrid1["evals"] == ["sample[segments=test]", "sample"]
    # what the questions read, no texts (the bundle limit): every run at 'questions' detail
    assert set(hybrid1["run_detail"].values()) == {"questions"}
    assert not any(bundle._has_texts(c) for c in manifest["corpora"].values())
    assert shipped["repro-tiny-questions-sample-hybrid-s1"] == [
        ("trained/repro-tiny-questions-sample-hybrid-s1", _benchmark_fp(artifacts, hybrid1))
    ]
    assert "repro-tiny-questions-sample-mono-s0" not in shipped  # the suite only: no view
    pairs = manifest["pieces"]["repro-tiny-questions-sample-hybrid-pairs-s0"]
    assert pairs["role"] == "Hybrid + domain pairs" and len(pairs["run_ids"]) == 2
    # seed 0 is shared: its models carry the shared study's names, and that study's
    # bundle got their pieces (the sample runs), not the questions bundle
    held = bundle.verify_bundle(shared)
    assert set(held["pieces"]) == {
        f"repro-tiny-shared-sample-{s}-s0" for s in ("mono", "cross", "hybrid")
    }
    entry = held["pieces"]["repro-tiny-shared-sample-hybrid-s0"]
    assert entry["model_ids"] == ["trained/repro-tiny-shared-sample-hybrid-s0"]
    assert entry["trained_for"] == "repro-tiny-questions-sample-hybrid-s0"
    mono0 = manifest["pieces"]["repro-tiny-questions-sample-mono-s0"]
    assert mono0["model_ids"] == ["trained/repro-tiny-shared-sample-mono-s0"]
    assert len(mono0["run_ids"]) == 1
    # the guard runs on every suite run: here the main training corpus is the whole
    # sample, so its test split is flagged (with MLQA-R + TICO-19 pairs only the
    # registered TICO-19 train segments meet the test split, and they are disjoint)
    store = Store(artifacts / "store.duckdb")
    with store.read() as con:
        notes = con.execute(
            "SELECT contamination_note FROM runs WHERE list_contains(?, run_id)",
            [pairs["run_ids"]],
        ).fetchall()
    assert len(notes) == 2 and all("contaminated" in (n or "") for (n,) in notes)


def _benchmark_fp(artifacts, piece: dict) -> str:
    """The corpus fingerprint of the piece's run on the benchmark (not the suite split)."""
    with Store(artifacts / "store.duckdb").read() as con:
        (fp,) = con.execute(
            "SELECT corpus_fp FROM runs WHERE list_contains(?, run_id) "
            "AND NOT contains(corpus_name, 'segments=')",
            [piece["run_ids"]],
        ).fetchone()
    return fp
