"""The suites end to end with the tiny model: CLI ``evaluate --dataset tico-19[domain=...]``
and ``tatoeba``, the new measures stored, shown by the CLI, in the TREC export and in a
bundle piece that loads into a fresh store."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybriddash.cli import main
from hybriddash.data import datasets
from hybriddash.store import reads
from hybriddash.store.db import Store
from tests.test_suites import TATOEBA_PAIRS, write_tatoeba, write_tico


@pytest.fixture
def suite_data(tmp_path: Path, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    write_tico(data / "tico-19")
    write_tatoeba(data / "tatoeba", TATOEBA_PAIRS)
    monkeypatch.setenv("HYBRIDDASH_DATA", str(data))
    datasets.clear_cache()
    yield data
    datasets.clear_cache()


def test_cli_evaluates_a_tico_domain_and_stores_the_new_measures(
    suite_data: Path, tiny_model_spec, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "tico-19[domain=pubmed]"]
    assert main([*argv, "--quiet", "--k", "5"]) == 0
    out = capsys.readouterr().out
    assert "tico-19[domain=pubmed]" in out and "bitext accuracy" in out
    assert "language-ID probe" in out
    runs = reads.list_runs()
    assert runs["corpus_name"].tolist() == ["tico-19[domain=pubmed]"]
    run_id = runs["run_id"].iloc[0]
    bitext = reads.bitext_accuracy(run_id)
    assert len(bitext) == 6  # 3 languages, ordered pairs
    assert bitext["n_queries"].tolist() == [2] * 6
    probe = reads.language_probe(run_id)
    assert probe["lang"].tolist()[0] == "all" and len(probe) == 4
    # the probe's items: their mean is the accuracy; translations share a group (tuid)
    items = reads.language_probe_items(run_id)
    assert len(items) == int(probe["n_samples"].iloc[0])
    assert items["correct"].mean() == pytest.approx(float(probe["accuracy"].iloc[0]), abs=1e-12)
    assert (items["group_id"] == items["item_id"].str.split("/").str[0]).all()
    hits = Store().query(
        "SELECT query_id, candidate_id FROM topk_hits WHERE run_id = $r", {"r": run_id}
    )
    assert len(hits) and not (hits["query_id"] == hits["candidate_id"]).any()  # self excluded
    from hybriddash.reports.trec import trec_export

    export = trec_export(run_id)
    assert "PubMed_1:1/fr" in export.qrels and export.run
    from hybriddash.reports.export import build_export, render

    table = build_export("bitext", "tico-19[domain=pubmed]", [tiny_model_spec.model_id])
    assert table.data["accuracy"].tolist() == bitext["accuracy"].tolist()
    probe_table = build_export("probe", "tico-19[domain=pubmed]", [tiny_model_spec.model_id])
    assert "CC-100" in render(probe_table, "md").decode()
    assert probe_table.data.set_index("lang").loc["sw", "level"] == "low"


def test_cli_evaluates_tatoeba_pairs_and_a_piece_loads_into_a_fresh_store(
    suite_data: Path, tiny_model_spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "tatoeba", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "X -> en" in out and "en -> X" in out
    run_id = reads.list_runs()["run_id"].iloc[0]
    bitext = reads.bitext_accuracy(run_id)
    assert set(zip(bitext["query_lang"], bitext["cand_lang"], strict=True)) == {
        ("de", "en"), ("en", "de"), ("sw", "en"), ("en", "sw"),
    }  # fmt: skip
    from hybriddash.store import bundle

    folder = tmp_path / "bundle"
    bundle.open_bundle(folder, label="t")
    bundle.export_piece(
        folder, "suite-tatoeba", model_ids=[tiny_model_spec.model_id], run_ids=[run_id]
    )
    fresh = Store(tmp_path / "fresh.duckdb")
    bundle.load_bundle(folder, fresh)
    assert reads.bitext_accuracy(run_id, store=fresh).equals(bitext)
    assert len(reads.language_probe(run_id, store=fresh)) == 4  # de, en, sw, all


def test_overview_offers_the_suites_with_domain_selector_and_licence(
    suite_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HYBRIDDASH_STORE", str(tmp_path / "ui.duckdb"))
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.run()
    [dataset] = [w for w in at.selectbox if w.key == "hd_eval_dataset"]
    dataset.select("tico-19").run()
    [domain] = [w for w in at.selectbox if w.key == "hd_eval_domain"]
    domain.select("pubmed").run()
    assert not at.exception
    assert "--dataset 'tico-19[domain=pubmed]'" in at.code[0].value
    assert any("CC0 1.0" in c.value for c in at.caption)
    catalogue = next(t.value for t in at.dataframe if "license" in t.value.columns)
    assert "CC0 1.0" in set(catalogue["license"])
