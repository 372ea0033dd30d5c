"""The untrained base model's numbers on the four suites ship in reference/suites and
load, with reference/, into a fresh store (issue 23)."""

from __future__ import annotations

import pytest

from hybriddash import config
from hybriddash.data.datasets import DEFAULT_SUBSETS
from hybriddash.reports import tables
from hybriddash.store import bundle
from hybriddash.store.db import Store

SUITES = config.REPO_ROOT / "reference" / "suites"


@pytest.fixture()
def fresh(fresh_install) -> Store:
    return fresh_install


def test_every_suite_is_shipped_with_and_without_center_docs(fresh):
    manifest = bundle.verify_bundle(SUITES)
    runs = tables.runs_for(store=fresh)
    for suite, subset in DEFAULT_SUBSETS.items():
        piece = manifest["pieces"][f"suite-{suite}-base"]
        assert piece["eval_data"] == subset
        mine = runs[runs["run_id"].isin(piece["run_ids"])]
        assert sorted(mine["correction"].fillna("none")) == ["center-docs", "none"], suite
        # each evaluation's wall time and load travel with it
        assert all(t["wall_s"] > 0 and "load_1min_at_start" in t for t in piece["timings"])


def test_the_shipped_numbers_are_in_the_fresh_store(fresh):
    manifest = bundle.read_manifest(SUITES)
    with fresh.read() as con:
        for piece in manifest["pieces"].values():
            for record, run_id in zip(piece["timings"], piece["run_ids"], strict=True):
                multi = con.execute(
                    "SELECT multilingual FROM run_headline WHERE run_id = ?", [run_id]
                ).fetchall()
                assert multi and multi[0][0] == pytest.approx(record["headline"]["multilingual"])
        # the suites' own measures: bitext accuracy (TICO-19, XNLI, Tatoeba), the probe
        bitext = con.execute(
            "SELECT count(DISTINCT run_id) FROM run_bitext_accuracy WHERE list_contains(?, run_id)",
            [[r for p in manifest["pieces"].values() for r in p["run_ids"]]],
        ).fetchall()[0][0]
        assert bitext >= 6
        probes = con.execute("SELECT count(DISTINCT run_id) FROM run_language_probe").fetchall()
        assert probes[0][0] >= 8


@pytest.mark.slow
def test_the_shipped_numbers_are_of_the_corpora_the_loaders_give_today():
    """A loader change (TICO-19's misaligned documents left out) makes the shipped numbers
    stale: each piece's runs must be of the corpus its default subset loads now."""
    import pandas as pd

    from hybriddash.data import datasets

    if config.data_dir() is None or not (config.data_dir() / "tico-19").is_dir():
        pytest.skip("the shared data folder is not available")
    manifest = bundle.read_manifest(SUITES)
    for suite, subset in DEFAULT_SUBSETS.items():
        piece = f"suite-{suite}-base"
        runs = pd.read_parquet(SUITES / "pieces" / piece / "runs.parquet")
        assert set(runs["corpus_fp"]) == {datasets.load_dataset(subset).fingerprint}, suite
        assert manifest["pieces"][piece]["eval_data"] == subset
    datasets.clear_cache()
