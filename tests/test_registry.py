"""Model names -> ModelSpec: folders, trained models, hub ids, prefixes, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hybriddash.encoders.registry import (
    OFFLINE_DEFAULT,
    ModelNotAvailableError,
    default_prefixes,
    list_models,
    load_model,
    resolve_model,
)


@pytest.mark.parametrize(
    ("model_id", "prefixes"),
    [
        ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ("intfloat/e5-base-v2", ("query: ", "passage: ")),
        (OFFLINE_DEFAULT, ("query: ", "passage: ")),
        ("sentence-transformers/LaBSE", ("", "")),
        ("FacebookAI/xlm-roberta-base", ("", "")),
        ("some/model-e55", ("", "")),
    ],
)
def test_default_prefixes_follow_the_model_family(model_id: str, prefixes: tuple[str, str]) -> None:
    assert default_prefixes(model_id) == prefixes


def test_tiny_folder_resolves_by_path(tiny_model_spec, tmp_artifacts: Path) -> None:
    spec = resolve_model(tiny_model_spec.source)
    assert spec.kind == "tiny" and spec.model_id == "tiny-random-bert"
    assert spec.fingerprint == tiny_model_spec.fingerprint and len(spec.fingerprint) == 16
    raw = resolve_model(tiny_model_spec.source, query_prefix="", passage_prefix="doc: ")
    assert (raw.query_prefix, raw.passage_prefix) == ("", "doc: ")
    assert raw.prefix("passage") == "doc: "


def _plain_copy(tiny_model_spec, dest: Path) -> Path:
    folder = dest / "my-labse-like-model"
    shutil.copytree(tiny_model_spec.source, folder)
    (folder / "hybriddash_model.json").unlink()
    return folder


def test_plain_folder_fingerprint_is_its_weights_hash(tiny_model_spec, tmp_artifacts: Path) -> None:
    folder = _plain_copy(tiny_model_spec, tmp_artifacts)
    spec = resolve_model(str(folder))
    assert spec.kind == "sentence-transformers"
    assert spec.model_id == str(folder)
    assert (spec.query_prefix, spec.passage_prefix) == ("", "")  # not an e5 name
    # same weights as the tiny model's folder -> same fingerprint
    assert spec.fingerprint == tiny_model_spec.fingerprint
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")
    assert resolve_model(str(folder)).fingerprint != spec.fingerprint


def _trained(tiny_model_spec, artifacts: Path, name: str, card: dict) -> Path:
    folder = artifacts / "models" / "trained" / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tiny_model_spec.source, folder)
    (folder / "hybriddash_model.json").unlink()
    (folder / "training_card.json").write_text(json.dumps(card))
    return folder


def test_trained_model_uses_its_card(tiny_model_spec, tmp_artifacts: Path) -> None:
    card = {
        "fingerprint": "abcdef0123456789ffff",
        "base_model": "sentence-transformers/LaBSE",
        "description": "hybrid batches, 2 epochs",
    }
    _trained(tiny_model_spec, tmp_artifacts, "hybrid-1", card)
    for name in ("trained/hybrid-1", "hybrid-1"):
        spec = resolve_model(name)
        assert spec.kind == "trained" and spec.model_id == "trained/hybrid-1"
        assert spec.fingerprint == "abcdef0123456789"
        assert spec.training_card == card
        assert (spec.query_prefix, spec.passage_prefix) == ("", "")  # LaBSE base: raw text
    ids = [s.model_id for s in list_models()]
    assert ids == [OFFLINE_DEFAULT, "trained/hybrid-1"]


def test_trained_card_model_id_and_prefixes_win(tiny_model_spec, tmp_artifacts: Path) -> None:
    card = {
        "fingerprint": "1234567890abcdef",
        "model_id": "trained/x-y",
        "query_prefix": "q: ",
        "passage_prefix": "p: ",
    }
    _trained(tiny_model_spec, tmp_artifacts, "x-y", card)
    spec = resolve_model("trained/x-y")
    assert (spec.model_id, spec.query_prefix, spec.passage_prefix) == ("trained/x-y", "q: ", "p: ")


def test_broken_training_card_is_a_clear_error(tiny_model_spec, tmp_artifacts: Path) -> None:
    folder = _trained(tiny_model_spec, tmp_artifacts, "broken", {"model_id": "trained/broken"})
    with pytest.raises(
        ModelNotAvailableError, match=r"training_card\.json: missing the 'fingerprint'"
    ):
        resolve_model("trained/broken")
    (folder / "training_card.json").write_text("{not json")
    with pytest.raises(ModelNotAvailableError, match="not valid JSON"):
        resolve_model(str(folder))
    # list_models skips it rather than failing the whole listing
    assert [s.model_id for s in list_models()] == [OFFLINE_DEFAULT]


def test_unknown_names_give_clear_errors(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelNotAvailableError, match="no trained model 'trained/nope'"):
        resolve_model("trained/nope")
    with pytest.raises(ModelNotAvailableError, match="no such model folder"):
        resolve_model("./does/not/exist")
    not_a_model = tmp_artifacts / "empty-folder"
    not_a_model.mkdir()
    with pytest.raises(ModelNotAvailableError, match="not a model folder"):
        resolve_model(str(not_a_model))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ModelNotAvailableError,
        match=r"not in the local Hugging Face cache.*multilingual-e5-small-q4",
    ):
        resolve_model("sentence-transformers/LaBSE")
    with pytest.raises(ModelNotAvailableError, match="empty model name"):
        resolve_model("  ")


def test_unreachable_hub_says_so(tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def unreachable(self, repo_id, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    with pytest.raises(
        ModelNotAvailableError, match=r"hub is unreachable .*ConnectionError.*offline default"
    ):
        resolve_model("intfloat/multilingual-e5-small")


def test_hub_model_in_the_local_cache_resolves(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setattr(
        huggingface_hub,
        "snapshot_download",
        lambda repo_id, local_files_only: f"/cache/models--x/snapshots/{commit}",
    )
    spec = resolve_model("intfloat/multilingual-e5-small")
    assert spec.kind == "sentence-transformers" and spec.source.endswith(commit)
    assert spec.query_prefix == "query: " and commit[:10] in spec.description
    assert len(spec.fingerprint) == 16


def test_load_model_is_cached_per_process(tiny_model_spec) -> None:
    first = load_model(tiny_model_spec)
    assert load_model(tiny_model_spec) is first
    assert first.get_embedding_dimension() == 32


def test_models_cli_lists_json_without_building(
    tiny_model_spec, tmp_artifacts: Path, capsys
) -> None:
    from hybriddash.cli import main

    _trained(tiny_model_spec, tmp_artifacts, "mono-1", {"fingerprint": "feedfacefeedface"})
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [OFFLINE_DEFAULT, "trained/mono-1"]
    assert rows[0]["built"] is False and rows[0]["kind"] == "offline-base"
    assert rows[1]["fingerprint"] == "feedfacefeedface"
    assert not (tmp_artifacts / "models" / OFFLINE_DEFAULT).exists()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "not built yet" in out and "trained/mono-1" in out
