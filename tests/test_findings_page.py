"""The Findings page under AppTest: a fresh install with reference results, too few seeds,
an empty store. Its numbers must equal an independent recomputation from the store."""

from __future__ import annotations

import json

import pytest
from study_toy_store import build_study_store, open_findings

from hybriddash.reports import study as S
from hybriddash.store import bundle
from hybriddash.store.db import Store


@pytest.mark.slow  # a whole tiny study into a bundle, then a fresh store: ~1 min
def test_fresh_install_shows_the_reference_findings(tmp_path, monkeypatch):
    source = build_study_store(tmp_path / "study.duckdb", with_corrections=True)
    bundle.export_store(
        tmp_path / "reference",
        store=source,
        label="reference results",
        command="python -m hybriddash reproduce --profile standard",
        machine={"cpu": "Test CPU"},
    )
    fresh = tmp_path / "install" / "hybriddash.duckdb"
    at = open_findings(monkeypatch, fresh, tmp_path / "reference")
    # labelled as reference results, with machine and command
    assert any("reference results" in i.value and "Test CPU" in i.value for i in at.info)
    verdicts = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert len(verdicts) == 6  # one row per claim (one benchmark)
    # an independent recomputation from the loaded per-query data gives the same numbers
    claims, comps = S.study_verdicts(S.study_runs(store=Store(fresh)), S.store_loader(Store(fresh)))
    assert verdicts["verdict"].tolist() == claims["verdict"].tolist()
    assert claims["verdict"].tolist() == [
        "supported",
        "contradicted",
        "supported",
        "inconclusive",
        "supported",
        "supported",
    ]
    shown = next(d.value for d in at.dataframe if "A vs B" in d.value.columns)
    assert len(shown) == len(comps) == 11  # a, b, d: 1 each; c, e: 2; f: 4
    assert shown["effect"].tolist() == [
        f"{e:+.1f}" if u == "rank positions" else f"{e:+.4f}"
        for e, u in zip(comps["effect"], comps["unit"], strict=True)
    ]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    # 7 forest plots (one per claim and unit: (f) has mAP and rank positions), alpha
    # sweep, learning curve, gains
    assert len(charts) == 10, titles
    assert any(t.startswith("Multilingual mAP vs alpha") for t in titles)
    assert not any("Too few" in w.value for w in at.warning)
    assert any("Training-free corrections" in m.value for m in at.markdown)


def test_too_few_seeds_is_said_plainly(tmp_path, monkeypatch):
    build_study_store(tmp_path / "one.duckdb", seeds=(0,))
    at = open_findings(monkeypatch, tmp_path / "one.duckdb")
    assert any("Too few seeds" in w.value for w in at.warning)
    verdicts = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert set(verdicts["verdict"]) == {"inconclusive"}


def test_empty_store_explains_itself(tmp_path, monkeypatch):
    at = open_findings(monkeypatch, tmp_path / "empty.duckdb")
    assert any("Nothing to show yet" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    assert not (tmp_path / "empty.duckdb").exists()


def test_forest_plots_and_tables_on_a_toy_store(tmp_path, monkeypatch):
    """One forest plot per claim and unit: effect with interval, per-seed dots, the line
    at 0 and the margin band for "matches"; tables with human labels and no empty cells."""
    build_study_store(tmp_path / "toy.duckdb", with_corrections=True)
    at = open_findings(monkeypatch, tmp_path / "toy.duckdb")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    forest = [c for c in charts if c["layout"]["title"]["text"].startswith("A minus B")]
    assert len(forest) == 7
    units = [c["layout"]["xaxis"]["title"]["text"] for c in forest]
    assert units.count("difference (rank positions)") == 2  # (d) and (f)
    first = forest[0]  # (a): a "matches" claim
    rects = [s for s in first["layout"]["shapes"] if s.get("type") == "rect"]
    assert rects and rects[0]["x0"] == pytest.approx(-S.MARGIN) and rects[0]["x1"] == S.MARGIN
    effect = next(t for t in first["data"] if t["name"] == "supported")
    seeds = next(t for t in first["data"] if t["name"] == "supported: seeds")
    assert len(effect["x"]) == 1 and len(seeds["x"]) == 3  # three seeds as dots
    assert effect["marker"]["color"] == "#2e7d32"
    for frame in at.dataframe:
        df = frame.value
        assert not df.isna().any().any(), df.columns.tolist()
        assert not any("_" in str(col) for col in df.columns), df.columns.tolist()
    seeds_table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert seeds_table["rank distance (positions)"].str.fullmatch(r"[\d.]+ ± ([\d.]+|–)").all()
