"""``python -m hybriddash evaluate``: table, --json document, reuse, errors, real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybriddash.cli import main
from hybriddash.store import reads, writes
from hybriddash.store.db import Store

REQUIRED_KEYS = {
    "monolingual",
    "crosslingual",
    "multilingual",
    "rank_distance",
    "pairs",
    "n_queries",
    "n_candidates",
}


def test_evaluate_prints_table_and_writes_json(
    tmp_artifacts: Path, tiny_model_spec, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_artifacts / "out" / "run.json"
    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "sample"]
    argv += ["--langs", "en,German,zh", "--k", "10", "--quiet", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "monolingual mAP" in printed and "rank distance" in printed
    assert "encoded" in printed and "from the embedding cache" in printed
    doc = json.loads(out.read_text())
    assert set(doc) >= REQUIRED_KEYS
    assert set(doc["pairs"]) == {f"{q}-{c}" for q in ("de", "en", "zh") for c in ("de", "en", "zh")}
    assert doc["n_queries"] > 0 and doc["n_candidates"] > 0
    assert 0 <= doc["monolingual"] <= 1 and doc["rank_distance"] >= 0
    assert doc["reused"] is False and doc["n_encoded"] > 0
    # the pair matrix printed holds the en->en value
    assert f"{doc['pairs']['en-en']:.3f}".removeprefix("0") in printed

    assert main([*argv[:-2], "--json", "-"]) == 0  # second run: from the store
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert again["reused"] is True and again["n_encoded"] == 0
    assert again["pairs"] == pytest.approx(doc["pairs"])
    assert "reused from the store" in captured.err  # table goes to stderr with --json -
    assert len(reads.list_runs(store=Store())) == 1


def test_contamination_warning_is_loud(
    tmp_artifacts: Path, tiny_model_spec, sample_corpus, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from hybriddash.training.contamination import training_groups_of

    writes.register_model(
        Store(),
        tiny_model_spec,
        training_groups=[(g.group_id, g.text_hash) for g in training_groups_of(sample_corpus)],
    )
    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "sample"]
    assert main([*argv, "--langs", "en,de", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "CONTAMINATION" in err and "not zero-shot" in err


def test_bad_input_is_one_clear_error(
    tmp_artifacts: Path, tiny_model_spec, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    base = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "sample", "--quiet"]
    assert main([*base, "--langs", "en,klingon"]) == 2
    assert "klingon" in capsys.readouterr().err
    assert main([*base, "--articles", "0"]) == 2
    assert "--articles must be >= 1" in capsys.readouterr().err
    assert main(["evaluate", "--model", tiny_model_spec.source, "--dataset", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert not Store().exists()  # nothing was written


@pytest.mark.slow
def test_real_data_twice_from_a_clean_store(tmp_path: Path, data_dir: Path) -> None:
    """The base model on 4 XQuAD-R articles in en, de, zh; the second run encodes nothing.

    Separate processes, like two invocations from a shell, on fresh artifacts (the base
    model is converted there, ~10 s) and a fresh store.
    """
    store = tmp_path / "clean.duckdb"
    env = {**os.environ, "HYBRIDDASH_ARTIFACTS": str(tmp_path / "artifacts")}
    out1, out2, out3 = (tmp_path / f"run{i}.json" for i in (1, 2, 3))
    base = [sys.executable, "-m", "hybriddash", "--store", str(store), "evaluate"]
    base += ["--model", "multilingual-e5-small-q4", "--dataset", "xquad-r"]
    base += ["--langs", "en,de,zh", "--articles", "4", "--quiet"]

    def run(*extra: str) -> dict:
        done = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "monolingual mAP" in done.stdout
        return json.loads(Path(extra[extra.index("--json") + 1]).read_text())

    first = run("--json", str(out1))
    assert set(first) >= REQUIRED_KEYS
    assert set(first["pairs"]) == {
        f"{q}-{c}" for q in ("de", "en", "zh") for c in ("de", "en", "zh")
    }
    assert first["reused"] is False and first["n_encoded"] > 0
    # the base model ranks a translation first far more often than a random one would
    assert first["monolingual"] > 0.5 and first["multilingual"] > 0.2
    second = run("--json", str(out2))
    assert second["reused"] is True and second["n_encoded"] == 0
    assert second["pairs"] == pytest.approx(first["pairs"])
    # recomputed from the embedding cache: still nothing encoded, same numbers
    third = run("--force", "--json", str(out3))
    assert third["reused"] is False and third["n_encoded"] == 0
    assert third["n_cached"] == first["n_encoded"] + first["n_cached"]
    assert third["pairs"] == pytest.approx(first["pairs"], abs=1e-6)
