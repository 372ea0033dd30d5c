"""Result bundles: store -> bundle -> fresh store gives identical tables; reference loading."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest
from study_toy_store import build_study_store

from hybriddash.reports import tables
from hybriddash.store import bundle
from hybriddash.store.db import Store

TABLES = (*bundle.CORPUS_TABLES, *bundle.PIECE_TABLES)


def _table(store: Store, table: str) -> pd.DataFrame:
    with store.read() as con:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        order = ", ".join(f'"{c}"' for c in cols)
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return build_study_store(tmp_path_factory.mktemp("src") / "src.duckdb", with_corrections=True)


def test_round_trip_gives_identical_tables(source, tmp_path):
    manifest = bundle.export_store(
        tmp_path / "b",
        store=source,
        label="reference results",
        command="pytest",
        machine={"cpu": "test"},
    )
    # one piece per uncorrected model: the corrected runs go with their model
    assert "toy-base" in manifest["pieces"]
    assert set(manifest["pieces"]["toy-base"]["model_ids"]) == {
        "toy-base",
        "toy-base + center-docs",
    }
    assert manifest["total_bytes"] == bundle.bundle_bytes(tmp_path / "b") > 0
    fresh = Store(tmp_path / "fresh.duckdb")
    bundle.load_bundle(tmp_path / "b", fresh)
    for table in TABLES:
        a, b = _table(source, table), _table(fresh, table)
        assert len(a) == len(b), table
        pd.testing.assert_frame_equal(a, b, check_dtype=True, obj=table)
    filled = {
        "corpora",
        "corpus_queries",
        "models",
        "training_curves",
        "runs",
        "run_headline",
        "run_pair_metrics",
        "query_metrics",
        "query_bias",
    }
    assert all(len(_table(fresh, t)) for t in filled)
    # loading twice replaces, never duplicates
    bundle.load_bundle(tmp_path / "b", fresh)
    assert len(_table(fresh, "query_metrics")) == len(_table(source, "query_metrics"))
    (ref,) = bundle.reference_bundles(fresh)
    assert ref["label"] == "reference results" and ref["machine"] == {"cpu": "test"}
    assert ref["command"] == "pytest" and ref["code_version"]
    assert bundle.reference_run_ids(fresh) == set(_table(source, "runs")["run_id"])


def test_a_tampered_file_is_refused(source, tmp_path):
    bundle.export_store(tmp_path / "b", store=source)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    key, entry = next(iter(manifest["pieces"].items()))
    path = tmp_path / "b" / "pieces" / key / entry["files"]["runs"]["path"]
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(bundle.BundleError, match="sha256"):
        bundle.load_bundle(tmp_path / "b", Store(tmp_path / "x.duckdb"))


def test_ensure_reference_fills_only_an_empty_store(source, tmp_path):
    bundle.export_store(tmp_path / "b", store=source)
    empty = Store(tmp_path / "new.duckdb")
    assert bundle.ensure_reference(empty, tmp_path / "b") is True
    assert len(_table(empty, "runs")) == len(_table(source, "runs"))
    assert bundle.ensure_reference(empty, tmp_path / "b") is False  # not empty any more
    assert bundle.ensure_reference(Store(tmp_path / "other.duckdb"), tmp_path / "none") is False
    assert not (tmp_path / "other.duckdb").exists()


def test_topk_depth_cuts_only_topk_hits(tmp_path, sample_corpus, tiny_model_spec, monkeypatch):
    from hybriddash.evaluation import evaluate

    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(tmp_path / "a"))
    store = Store(tmp_path / "s.duckdb")
    run = evaluate(
        tiny_model_spec, sample_corpus, langs=["en", "de"], k=20, store=store, progress=False
    )
    bundle.export_store(tmp_path / "b", store=store, topk_depth=5)
    fresh = Store(tmp_path / "f.duckdb")
    bundle.load_bundle(tmp_path / "b", fresh)
    hits = _table(fresh, "topk_hits")
    assert hits["rank"].max() == 5 and len(hits) == 5 * run.n_queries
    pd.testing.assert_frame_equal(_table(store, "query_metrics"), _table(fresh, "query_metrics"))
    pd.testing.assert_frame_equal(
        _table(store, "corpus_candidates"), _table(fresh, "corpus_candidates")
    )


def test_detail_levels_keep_what_the_verdicts_need(source, tmp_path):
    runs = _table(source, "runs")
    hybrid = runs[runs["model_id"] == "trained/toy-hybrid-a0.5-s1"]["run_id"].tolist()
    mono = runs[runs["model_id"] == "trained/toy-mono-a1-s1"]["run_id"].tolist()
    with source.write() as con:  # the toy study stores no shares: one row to leave out
        con.execute("INSERT INTO run_lang_share VALUES (?, 'en', 1, 'en', 1.0)", [hybrid[0]])
    bundle.open_bundle(tmp_path / "b")
    entry = bundle.export_piece(
        tmp_path / "b",
        "slim",
        model_ids=["trained/toy-hybrid-a0.5-s1"],
        run_ids=hybrid + mono,
        store=source,
        run_detail={hybrid[0]: "verdicts", mono[0]: "headline"},
    )
    assert entry["run_detail"] == {hybrid[0]: "verdicts", mono[0]: "headline"}
    fresh = Store(tmp_path / "f.duckdb")
    bundle.load_bundle(tmp_path / "b", fresh)
    qm = _table(fresh, "query_metrics")
    assert set(qm["run_id"]) == {hybrid[0]}  # the headline-level run has no per-query rows
    src = _table(source, "query_metrics")
    src = src[src["run_id"] == hybrid[0]].reset_index(drop=True)
    assert qm["ap"].tolist() == src["ap"].tolist()
    assert qm["n_relevant"].isna().all()
    assert set(_table(fresh, "run_headline")["run_id"]) == {hybrid[0], mono[0]}
    assert set(_table(fresh, "query_bias")["run_id"]) == {hybrid[0]}
    # no verdict reads top-k shares: a 'verdicts' run has none, and the tables say
    # "no rows" rather than shares of 0
    assert _table(fresh, "run_lang_share").empty
    assert not tables.lang_share_table(hybrid[0], 1, store=source).empty
    assert tables.lang_share_table(hybrid[0], 1, store=fresh).empty


def test_a_piece_waits_for_another_writer_of_the_bundle(source, tmp_path):
    runs = _table(source, "runs")
    hybrid = runs[runs["model_id"] == "trained/toy-hybrid-a0.5-s1"]["run_id"].tolist()
    bundle.open_bundle(tmp_path / "b")
    done = threading.Event()

    def write():
        bundle.export_piece(
            tmp_path / "b",
            "p",
            model_ids=["trained/toy-hybrid-a0.5-s1"],
            run_ids=hybrid,
            store=source,
        )
        done.set()

    with bundle.writer_lock(tmp_path / "b"):
        worker = threading.Thread(target=write)
        worker.start()
        assert not done.wait(0.5)  # held: the second writer waits
        assert "p" not in bundle.finished_pieces(tmp_path / "b")
    worker.join(60)
    assert done.is_set() and "p" in bundle.finished_pieces(tmp_path / "b")


def test_nested_bundles_load_with_the_reference(source, tmp_path):
    runs = _table(source, "runs")
    hybrid = runs[runs["model_id"] == "trained/toy-hybrid-a0.5-s1"]["run_id"].tolist()
    mono = runs[runs["model_id"] == "trained/toy-mono-a1-s1"]["run_id"].tolist()
    for folder, model, run_ids in (
        (tmp_path / "ref", "trained/toy-hybrid-a0.5-s1", hybrid),
        (tmp_path / "ref" / "suites", "trained/toy-mono-a1-s1", mono),
    ):
        bundle.open_bundle(folder)
        bundle.export_piece(folder, "p", model_ids=[model], run_ids=run_ids, store=source)
    assert bundle.reference_folders(tmp_path / "ref") == [tmp_path / "ref", tmp_path / "ref/suites"]
    fresh = Store(tmp_path / "f.duckdb")
    assert bundle.ensure_reference(fresh, tmp_path / "ref") is True
    assert set(_table(fresh, "runs")["run_id"]) == set(hybrid) | set(mono)
    assert {m["bundle_id"] for m in bundle.reference_bundles(fresh)} == {"ref", "suites"}


def test_slim_writes_the_same_pieces_coarser(source, tmp_path):
    from hybriddash.store.bundle_slim import slim_bundle

    bundle.export_store(tmp_path / "b", store=source)
    full = bundle.read_manifest(tmp_path / "b")
    # a file that is no store table (a shipped UMAP view) travels as it is
    first = next(iter(full["pieces"]))
    extra = tmp_path / "b" / "pieces" / first / "alignment_stats.parquet"
    pd.DataFrame({"lang": ["en"], "accuracy": [0.5]}).to_parquet(extra)
    full["pieces"][first]["files"]["alignment_stats"] = bundle._file_entry(extra, 1)
    bundle.write_manifest(tmp_path / "b", full)
    slim = slim_bundle(tmp_path / "b", tmp_path / "s", detail="headline")
    assert set(slim["pieces"]) == set(full["pieces"])
    for key, entry in slim["pieces"].items():
        assert set(entry["run_detail"].values()) == {"headline"}
        assert entry["run_ids"] == full["pieces"][key]["run_ids"]
        assert entry["finished"] == full["pieces"][key]["finished"]
    copied = tmp_path / "s" / "pieces" / first / "alignment_stats.parquet"
    assert copied.read_bytes() == extra.read_bytes()
    assert slim["pieces"][first]["files"]["alignment_stats"]["sha256"] == bundle.file_sha256(extra)
    # the corpora of headline-only runs keep their catalogue row and no texts
    assert all(set(c["files"]) == {"corpora"} for c in slim["corpora"].values())
    fresh = Store(tmp_path / "f.duckdb")
    bundle.load_bundle(tmp_path / "s", fresh)
    pd.testing.assert_frame_equal(_table(source, "run_headline"), _table(fresh, "run_headline"))
    assert _table(fresh, "query_metrics").empty and _table(fresh, "corpus_queries").empty
    assert len(_table(fresh, "corpora")) == len(_table(source, "corpora"))
    with pytest.raises(bundle.BundleError, match="already a bundle"):
        slim_bundle(tmp_path / "b", tmp_path / "s", detail="headline")
    with pytest.raises(bundle.BundleError, match="no piece matches"):
        slim_bundle(tmp_path / "b", tmp_path / "t", detail="headline", pieces=["nothing*"])


def test_a_coarser_copy_of_a_run_keeps_the_finer_rows_already_loaded(source, tmp_path):
    """reference/questions ships the base's TyDi run with per-query rows, reference/suites
    the same run at 'headline': whichever loads last, the store keeps the rows."""
    runs = _table(source, "runs")
    hybrid = runs[runs["model_id"] == "trained/toy-hybrid-a0.5-s1"]["run_id"].tolist()
    for name, detail in (("fine", "verdicts"), ("coarse", "headline")):
        bundle.open_bundle(tmp_path / name)
        bundle.export_piece(
            tmp_path / name,
            "p",
            model_ids=["trained/toy-hybrid-a0.5-s1"],
            run_ids=hybrid,
            store=source,
            run_detail=dict.fromkeys(hybrid, detail),
        )
    want = _table(source, "query_metrics")
    want = want[want["run_id"].isin(hybrid)]
    for order in (("fine", "coarse"), ("coarse", "fine")):
        fresh = Store(tmp_path / f"{'-'.join(order)}.duckdb")
        for name in order:
            bundle.load_bundle(tmp_path / name, fresh)
        got = _table(fresh, "query_metrics")
        assert len(got) == len(want) > 0, order
        assert set(_table(fresh, "runs")["run_id"]) == set(hybrid)
        assert len(_table(fresh, "run_headline")) == len(hybrid)  # replaced, not doubled
    # loading the fine copy twice replaces its rows rather than adding them again
    bundle.load_bundle(tmp_path / "fine", fresh)
    assert len(_table(fresh, "query_metrics")) == len(want)
