"""End-to-end training with the tiny model on the sample corpus; real-model smoke test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybriddash.training.trainer import TrainConfig, config_fingerprint, train


def tiny_config(spec, **over) -> TrainConfig:
    # mono batches are what a tiny random model can learn in a few dozen steps and carry
    # over to held-out groups (shared words between question and answer sentence)
    kw = dict(
        out="tiny-mono",
        sampler="mono",
        base=spec.source,
        train_data="sample",
        steps=40,
        batch_size=8,
        lr=1e-3,
        max_length=32,
        eval_every=10,
        freeze_embeddings=False,
        val_fraction=0.25,
        warmup_ratio=0.0,
    )
    kw.update(over)
    return TrainConfig(**kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_corpus, tiny_model_spec):
    """One tiny training run in its own artifacts folder and store, shared by the tests."""
    artifacts = tmp_path_factory.mktemp("train-artifacts")
    mp = pytest.MonkeyPatch()
    mp.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    mp.setenv("HYBRIDDASH_STORE", str(artifacts / "store.duckdb"))
    cfg = tiny_config(tiny_model_spec)
    result = train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    yield cfg, result, artifacts
    mp.undo()


@pytest.fixture
def in_trained_artifacts(trained, monkeypatch):
    _, _, artifacts = trained
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(artifacts / "store.duckdb"))
    return artifacts


def test_training_lowers_the_validation_loss(trained):
    _, result, _ = trained
    vals = [v["val_loss"] for v in result.card["val_losses"]]
    assert result.card["val_losses"][0]["step"] == 0  # measured before the first step
    assert len(vals) == 5
    assert result.card["best_val_loss"] == min(vals)
    assert min(vals) < vals[0] - 0.1, vals
    assert len(result.card["losses"]) == 40


def test_card_names_config_data_and_timings(trained, sample_corpus, tiny_model_spec):
    cfg, result, _ = trained
    card = json.loads((result.folder / "training_card.json").read_text())
    assert card["model_id"] == "trained/tiny-mono" == result.model_id
    assert card["fingerprint"] == config_fingerprint(
        cfg, tiny_model_spec.fingerprint, sample_corpus.fingerprint
    )
    assert card["base_fingerprint"] == tiny_model_spec.fingerprint
    assert card["data_fingerprint"] == sample_corpus.fingerprint
    assert card["sampler"] == "mono" and card["alpha"] == 1.0
    assert card["languages"] == sample_corpus.languages
    assert card["config"]["seed"] == 0 and card["config"]["steps"] == 40
    assert card["wall_seconds"] > 0 and card["step_seconds_median"] > 0
    assert card["cpu_options"]["freeze_embeddings"] is False
    assert card["n_train_groups"] + card["n_val_groups"] == len(
        {q.group for q in sample_corpus.queries}
    )


def test_saved_model_reloads_and_evaluates_with_contamination_flag(
    trained, in_trained_artifacts, sample_corpus
):
    from hybriddash.encoders.registry import list_models, load_model, resolve_model
    from hybriddash.evaluation import evaluate
    from hybriddash.store import reads

    _, result, _ = trained
    spec = resolve_model("trained/tiny-mono")
    assert spec.kind == "trained" and spec.fingerprint == result.fingerprint
    assert "trained/tiny-mono" in [s.model_id for s in list_models()]
    model = load_model(spec)
    assert model.max_seq_length == 128  # the base's limit, not the training one (32)
    # registered with every training group and its question-text hashes
    models = reads.list_models()
    row = models[models["model_id"] == "trained/tiny-mono"].iloc[0]
    assert row["sampler"] == "mono" and row["train_corpus_fp"] == sample_corpus.fingerprint
    groups = reads.training_groups("trained/tiny-mono")
    assert set(groups["group_id"]) == {q.group for q in sample_corpus.queries}
    # evaluating on its own training data is flagged
    summary = evaluate(spec, sample_corpus, progress=False, k=10)
    assert summary.contaminated
    assert "contaminated" in summary.contamination_note
    assert 0 <= summary.headline["monolingual"] <= 1


def test_same_configuration_is_reused_not_retrained(
    trained, in_trained_artifacts, sample_corpus, tiny_model_spec
):
    cfg, result, _ = trained
    mtime = (result.folder / "model.safetensors").stat().st_mtime
    again = train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    assert again.reused and again.fingerprint == result.fingerprint
    assert (result.folder / "model.safetensors").stat().st_mtime == mtime


def test_same_name_other_configuration_is_refused(
    trained, in_trained_artifacts, sample_corpus, tiny_model_spec
):
    cfg, _, _ = trained
    other = tiny_config(tiny_model_spec, seed=1)
    with pytest.raises(ValueError, match="already exists"):
        train(other, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)


def test_interrupted_run_leaves_nothing_loadable_or_registered(
    tmp_artifacts, sample_corpus, tiny_model_spec, monkeypatch
):
    from hybriddash.encoders.registry import ModelNotAvailableError, list_models, resolve_model
    from hybriddash.store import reads
    from hybriddash.training import trainer as trainer_mod

    calls = {"n": 0}
    original = trainer_mod._Recorder.on_step_end

    def killed(self, args, state, control, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what Ctrl-C does mid-run
        return original(self, args, state, control, **kw)

    monkeypatch.setattr(trainer_mod._Recorder, "on_step_end", killed)
    cfg = tiny_config(tiny_model_spec, out="killed", steps=10)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    root = tmp_artifacts / "models" / "trained"
    assert not (root / "killed").exists()
    assert not list(root.glob(".killed.tmp-*"))
    with pytest.raises(ModelNotAvailableError):
        resolve_model("trained/killed")
    assert "trained/killed" not in [s.model_id for s in list_models()]
    assert "trained/killed" not in set(reads.list_models()["model_id"])


def test_kill_during_save_leaves_a_temp_folder_that_is_ignored_and_cleaned(
    tmp_artifacts, sample_corpus, tiny_model_spec
):
    from hybriddash.encoders.registry import list_models

    root = tmp_artifacts / "models" / "trained"
    root.mkdir(parents=True)
    stale = root / ".half.tmp-1234"  # what SIGKILL between save and rename leaves
    stale.mkdir()
    (stale / "training_card.json").write_text('{"fingerprint": "0"}')
    assert "trained/half" not in [s.model_id for s in list_models()]
    cfg = tiny_config(tiny_model_spec, out="half", steps=2, eval_every=1)
    train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    assert not stale.exists()
    assert (root / "half" / "training_card.json").is_file()


def test_train_cli_runs_and_prints_summary(tmp_artifacts, tiny_model_spec, capsys):
    from hybriddash.cli import main

    argv = [
        "train",
        "--sampler",
        "hybrid",
        "--alpha",
        "0.5",
        "--base",
        tiny_model_spec.source,
        "--train-data",
        "sample",
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--max-length",
        "24",
        "--out",
        "cli-run",
        "--eval-every",
        "3",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "trained/cli-run" in out and "val loss" in out
    assert (tmp_artifacts / "models" / "trained" / "cli-run" / "training_card.json").is_file()
    assert main(argv) == 0
    assert "reused" in capsys.readouterr().out
    assert main([*argv[:-3], "--steps", "4", "--quiet"]) == 2  # same name, other config


def test_freeze_layers_freezes_the_bottom_and_keeps_old_fingerprints(tiny_model_spec):
    from hybriddash.encoders.registry import load_model
    from hybriddash.training.trainer import config_fingerprint, frozen_bottom

    encoder = load_model(tiny_model_spec)[0].auto_model
    modules = frozen_bottom(encoder, 1)
    assert modules == [encoder.embeddings, encoder.encoder.layer[0]]
    with pytest.raises(ValueError, match="only 2 layers"):
        frozen_bottom(encoder, 3)
    with pytest.raises(ValueError, match="BERT-style"):
        frozen_bottom(object(), 1)
    # freeze_layers=0 leaves the fingerprint of configurations from before the option
    cfg = tiny_config(tiny_model_spec)
    payload_without = config_fingerprint(cfg, "b", "d")
    assert config_fingerprint(tiny_config(tiny_model_spec, freeze_layers=1), "b", "d") != (
        payload_without
    )
    with pytest.raises(ValueError, match="freeze-layers"):
        tiny_config(tiny_model_spec, freeze_layers=-1)


def test_training_with_frozen_layers_updates_only_the_top(
    tmp_artifacts, sample_corpus, tiny_model_spec
):
    import torch

    from hybriddash.encoders.registry import load_model, resolve_model

    cfg = tiny_config(tiny_model_spec, out="fl1", steps=4, eval_every=2, freeze_layers=1)
    result = train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    assert result.card["cpu_options"]["freeze_layers"] == 1
    before = load_model(tiny_model_spec)[0].auto_model.state_dict()
    after = load_model(resolve_model(result.model_id))[0].auto_model.state_dict()
    for name, tensor in before.items():
        moved = not torch.equal(tensor, after[name])
        if name.startswith(("embeddings.", "encoder.layer.0.")):
            assert not moved, name
    assert any(
        not torch.equal(t, after[n]) for n, t in before.items() if n.startswith("encoder.layer.1.")
    )


def test_invalid_configuration_is_rejected(tiny_model_spec):
    with pytest.raises(ValueError, match="alpha"):
        tiny_config(tiny_model_spec, alpha=1.2)
    with pytest.raises(ValueError, match="batch-size"):
        tiny_config(tiny_model_spec, batch_size=1)
    with pytest.raises(ValueError, match="--out"):
        tiny_config(tiny_model_spec, out="../x")
    assert tiny_config(tiny_model_spec, sampler="cross", alpha=0.7).alpha == 0.0


@pytest.mark.slow
def test_real_model_smoke_few_steps_on_mlqa_r(tmp_artifacts, data_dir):
    """The offline base model, 3 steps of hybrid batches on a slice of MLQA-R."""
    from hybriddash.encoders.registry import resolve_model

    cfg = TrainConfig(
        out="smoke",
        sampler="hybrid",
        train_data="mlqa-r",
        articles=3,
        steps=3,
        batch_size=8,
        max_length=48,
        eval_every=3,
    )
    result = train(cfg, progress=False)
    card = result.card
    assert card["steps_done"] == 3
    assert card["cpu_options"]["frozen_parameters"] > 90_000_000
    assert len(card["val_losses"]) == 2
    assert all(v["val_loss"] > 0 for v in card["val_losses"])
    spec = resolve_model("trained/smoke")
    assert Path(spec.source, "model.safetensors").is_file()


@pytest.mark.slow  # trains and evaluates the three strategies (tiny model): ~1 min
def test_reproduction_protocol_runs_end_to_end_and_renders(tmp_artifacts, tiny_model_spec):
    """The protocol on the sample corpus with the tiny model (sample -> sample: contaminated
    on purpose, so the guard must show up in the rendered results)."""
    from hybriddash.training.reproduce import Profile, render_results, run_reproduction

    prof = Profile(
        name="test",
        steps=2,
        batch_size=4,
        max_length=24,
        eval_every=2,
        seeds=(0,),
        eval_articles={"sample": 2},
        note="TEST PROFILE: tiny model, 2 steps.",
        freeze_layers=1,  # the tiny model has 2 layers; the real profiles freeze 3
    )
    lines: list[str] = []
    res = run_reproduction(
        prof,
        base=tiny_model_spec.source,
        progress=False,
        log=lines.append,
        directions=(("sample", "sample"),),
    )
    labels = [r.label for r in res.rows]
    assert labels == ["base (no training)", "X-X-mono", "X-Y", "Hybrid"]
    assert [r.card["sampler"] for r in res.rows[1:]] == ["mono", "cross", "hybrid"]
    assert all(r.card["config"]["steps"] == 2 for r in res.rows[1:])  # same budget
    assert all(r.contaminated for r in res.rows[1:]) and not res.rows[0].contaminated
    md = render_results(res)
    assert md.count("TEST PROFILE") >= 4  # on every table
    assert "Table 1" in md and "Table 2" in md and ".792 / .674 / .547" in md
    assert "contaminated" in md
    assert "Hybrid vs X-X-mono" in md
    # resumable: a second run trains and evaluates nothing new
    again = run_reproduction(
        prof,
        base=tiny_model_spec.source,
        progress=False,
        log=lines.append,
        directions=(("sample", "sample"),),
    )
    assert [r.run_id for r in again.rows] == [r.run_id for r in res.rows]
    assert any("reused" in line for line in lines)
