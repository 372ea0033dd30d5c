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
    claims, _ = S.study_verdicts(S.study_runs(store=Store(fresh)), S.store_loader(Store(fresh)))
    assert verdicts["verdict"].tolist() == claims["verdict"].tolist()
    assert verdicts["effect"].tolist() == pytest.approx(claims["effect"].tolist())
    assert claims["verdict"].tolist() == [
        "supported",
        "contradicted",
        "supported",
        "inconclusive",
        "supported",
        "supported",
    ]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert len(charts) == 5, titles  # two effect plots, alpha, learning curve, gains
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
