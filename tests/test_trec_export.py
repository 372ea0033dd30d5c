"""A stored run exported as TREC run + qrels gives our mAP in pytrec_eval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytrec_eval

from hybriddash.reports.trec import trec_export, write_trec
from hybriddash.store import reads
from hybriddash.store.db import Store


def _parse_run(text: str) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        qid, q0, doc, _rank, score, _tag = line.split()
        assert q0 == "Q0"
        run.setdefault(qid, {})[doc] = float(score)
    return run


def _parse_qrels(text: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        qid, zero, doc, rel = line.split()
        assert zero == "0"
        qrels.setdefault(qid, {})[doc] = int(rel)
    return qrels


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory, tiny_model_spec, sample_corpus):
    root = tmp_path_factory.mktemp("trec")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(root))
        store = Store(root / "trec.duckdb")
        from hybriddash.evaluation import evaluate

        summary = evaluate(tiny_model_spec, sample_corpus, k=20, store=store, progress=False)
        yield store, summary


@pytest.mark.parametrize("cand_lang", [None, "de"])
def test_pytrec_eval_map_over_the_export_equals_our_map(stored_run, cand_lang) -> None:
    store, summary = stored_run
    export = trec_export(summary.run_id, cand_lang=cand_lang, store=store)
    if cand_lang is None:
        # the file ranks every answer where we did, up to scores equal in their last
        # bits; the tiny random model's scores crowd together (9 of 252 queries on the
        # machine that first showed it), a real model's are far apart
        assert export.rank_mismatches == 0
        assert len(export.near_tie_queries) <= 0.1 * export.n_queries
    qrels, run = _parse_qrels(export.qrels), _parse_run(export.run)
    trec = pytrec_eval.RelevanceEvaluator(qrels, {"map"}).evaluate(run)
    ours = reads.query_metrics(summary.run_id, cand_lang=cand_lang or "all", store=store)
    ours = ours.set_index("query_id")["ap"].dropna()
    assert set(trec) == set(ours.index)
    theirs = pd.Series({q: trec[q]["map"] for q in ours.index})
    exact = ours.index.difference(pd.Index(export.near_tie_queries))
    np.testing.assert_allclose(theirs[exact], ours[exact], atol=1e-6)
    # a near tie moves a relevant candidate by a place or two: AP by far less than 0.01
    np.testing.assert_allclose(theirs, ours, atol=1e-2)
    assert theirs.mean() == pytest.approx(ours.mean(), abs=1e-4)
    if cand_lang is None:
        # the headline multilingual mAP: mean over query languages of mAP(X -> all)
        by_lang = reads.query_metrics(summary.run_id, cand_lang="all", store=store)
        assert by_lang.groupby("query_lang")["ap"].mean().mean() == pytest.approx(
            summary.headline["multilingual"], abs=1e-9
        )


def test_the_files_are_written_and_a_depth_cuts_the_lists(stored_run, tmp_path: Path) -> None:
    store, summary = stored_run
    run_path, qrels_path = write_trec(summary.run_id, tmp_path, store=store)
    assert run_path.name == f"{summary.run_id}.run" and qrels_path.stat().st_size > 0
    cut = trec_export(summary.run_id, depth=5, store=store)
    assert cut.n_lines == 5 * cut.n_queries
    with pytest.raises(ValueError, match="depth"):
        trec_export(summary.run_id, depth=0, store=store)
    with pytest.raises(LookupError, match="nope"):
        trec_export("nope", store=store)


def test_cli_writes_the_files_of_a_models_newest_run(
    stored_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash.cli import main

    store, summary = stored_run
    monkeypatch.setenv("HYBRIDDASH_STORE", str(store.path))
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(store.path.parent))  # its embedding cache
    out = tmp_path / "trec"
    assert (
        main(["trec", "--dataset", "sample", "--model", summary.model_id, "--out", str(out)]) == 0
    )
    assert (out / f"{summary.run_id}.run").read_text() == trec_export(
        summary.run_id, store=store
    ).run
