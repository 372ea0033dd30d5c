"""The DuckDB store: schema round trip, idempotent upserts, atomic runs, locking."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.store import reads, writes
from hybriddash.store.db import SCHEMA_VERSION, Store, StoreError

LANGS = ("de", "en", "zh")


def synthetic_run(
    run_id: str,
    *,
    n_groups: int = 4,
    k: int = 5,
    seed: int = 0,
    corpus_fp: str = "c0ffee0000000000",
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """A run row and frames for every run table, shaped like an evaluation's output.

    Numbers are random but internally consistent in size: one query per (group, lang),
    ``k`` top-k hits per query, a metrics row per (query, cand_lang incl. 'all').
    """
    rng = np.random.default_rng(seed)
    queries = [(f"g{g}/{lang}", lang, f"g{g}") for g in range(n_groups) for lang in LANGS]
    nq = len(queries)
    run = {
        "run_id": run_id,
        "model_id": "model-a",
        "model_fp": "a" * 16,
        "corpus_fp": corpus_fp,
        "dataset_id": "synthetic",
        "corpus_name": "synthetic",
        "encode_mode": "float32",
        "top_k": k,
        "metrics_version": "test",
        "languages": list(LANGS),
        "n_queries": nq,
        "n_candidates": n_groups * len(LANGS),
        "n_encoded": 0,
        "n_cached": 2 * nq,
        "contaminated": False,
        "contamination_note": "",
        "wall_seconds": 1.5,
    }
    headline = {
        "monolingual": float(rng.random()),
        "crosslingual": float(rng.random()),
        "multilingual": float(rng.random()),
        "rank_distance": float(rng.integers(0, 50)),
        "ndcg_at_10": float(rng.random()),
        "recall_at_100": 1.0,
    }
    pairs = pd.DataFrame(
        [
            {
                "query_lang": q,
                "cand_lang": c,
                "setting": "multilingual"
                if c == "all"
                else ("monolingual" if q == c else "crosslingual"),
                "map": float(rng.random()),
                "ndcg_at_10": float(rng.random()),
                "recall_at_100": 1.0,
                "n_queries": n_groups,
            }
            for q in LANGS
            for c in (*LANGS, "all")
        ]
    )
    qm = pd.DataFrame(
        [
            {
                "query_id": qid,
                "query_lang": lang,
                "group_id": g,
                "cand_lang": c,
                "setting": "multilingual"
                if c == "all"
                else ("monolingual" if lang == c else "crosslingual"),
                "ap": float(rng.random()),
                "ndcg_at_10": float(rng.random()),
                "recall_at_100": 1.0,
                "first_relevant_rank": int(rng.integers(1, 10)),
                "n_relevant": 3 if c == "all" else 1,
            }
            for qid, lang, g in queries
            for c in (*LANGS, "all")
        ]
    )
    rel = pd.DataFrame(
        [
            {
                "query_id": qid,
                "query_lang": lang,
                "cand_lang": c,
                "candidate_id": f"{g}/{c}/s",
                "pooled_rank": int(rng.integers(1, 3 * n_groups + 1)),
            }
            for qid, lang, g in queries
            for c in LANGS
        ]
    )
    bias = pd.DataFrame(
        {
            "query_id": [q[0] for q in queries],
            "query_lang": [q[1] for q in queries],
            "rank_distance": rng.integers(0, 10, nq).astype(np.int32),
        }
    )
    topk = pd.DataFrame(
        {
            "query_id": np.repeat([q[0] for q in queries], k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), nq),
            "candidate_id": [
                f"g{rng.integers(n_groups)}/{rng.choice(LANGS)}/s" for _ in range(nq * k)
            ],
            "cand_lang": rng.choice(LANGS, nq * k),
            "score": np.sort(rng.random(nq * k).astype(np.float32))[::-1],
            "relevant": rng.random(nq * k) < 0.3,
        }
    )
    share = pd.DataFrame(
        [
            {"query_lang": q, "k": kk, "cand_lang": c, "share": 1 / 3}
            for q in LANGS
            for kk in range(1, k + 1)
            for c in LANGS
        ]
    )
    frames = {
        "run_headline": headline,
        "run_pair_metrics": pairs,
        "query_metrics": qm,
        "query_relevant_ranks": rel,
        "query_bias": bias,
        "topk_hits": topk,
        "run_lang_share": share,
    }
    return run, frames


def tiny_corpus() -> Corpus:
    """Two groups in three languages, one relevant sentence per language."""
    cands, queries, relevant = [], [], {}
    for g in ("g0", "g1"):
        for lang in LANGS:
            cands.append(Candidate(f"{g}/{lang}/s", lang, f"answer {g} {lang}", groups=(g,)))
    for g in ("g0", "g1"):
        for lang in LANGS:
            queries.append(Query(f"{g}/{lang}", lang, f"question {g} {lang}?", g))
            relevant[f"{g}/{lang}"] = frozenset(f"{g}/{c}/s" for c in LANGS)
    return Corpus("synthetic", cands, queries, relevant)


class FakeSpec:
    model_id = "model-a"
    fingerprint = "a" * 16
    kind = "trained"
    source = "/models/a"
    description = "a test model"
    query_prefix = "query: "
    passage_prefix = "passage: "
    training_card = {"sampler": "hybrid", "alpha": 0.5, "base_model_id": "base"}


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, for content comparisons."""
    with store.read() as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        out = {}
        for t in sorted(tables):
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [t]
                ).fetchall()
                if r[0] not in ("registered_at", "created_at")
            ]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall()
            out[t] = sorted(rows, key=repr)
        return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.duckdb", lock_timeout=30)


# ---- schema and round trips ----------------------------------------------------
def test_absent_store_reads_as_empty_tables(store: Store) -> None:
    assert not store.exists()
    assert reads.list_runs(store=store).empty
    assert reads.list_models(store=store).empty
    assert reads.get_run("nope", store=store) is None
    assert not store.exists()  # reading never creates the file


def test_first_write_creates_schema_with_version(store: Store) -> None:
    with store.write() as con:
        con.execute("SELECT 1")
    tables = store.query("SELECT table_name FROM duckdb_tables()")["table_name"].tolist()
    for t in ("models", "corpora", "runs", "topk_hits", "query_metrics", "run_lang_share"):
        assert t in tables
    version = store.query("SELECT value FROM schema_info WHERE key = 'schema_version'")
    assert version["value"].tolist() == [SCHEMA_VERSION]


def test_run_round_trip(store: Store) -> None:
    run, frames = synthetic_run("run-1")
    writes.write_run(store, run, frames)
    got = reads.get_run("run-1", store=store)
    assert got is not None
    assert (
        got["model_id"] == "model-a" and got["top_k"] == 5 and list(got["languages"]) == list(LANGS)
    )
    assert got["monolingual"] == pytest.approx(frames["run_headline"]["monolingual"])
    pairs = reads.pair_metrics("run-1", store=store)
    assert len(pairs) == len(frames["run_pair_metrics"])
    expected = frames["run_pair_metrics"].set_index(["query_lang", "cand_lang"])["map"]
    assert pairs.set_index(["query_lang", "cand_lang"])[
        "map"
    ].sort_index().tolist() == pytest.approx(expected.sort_index().tolist())
    hits = reads.topk_hits("run-1", "g1/de", store=store)
    exp = frames["topk_hits"][frames["topk_hits"]["query_id"] == "g1/de"]
    assert hits["rank"].tolist() == [1, 2, 3, 4, 5]
    assert hits["candidate_id"].tolist() == exp["candidate_id"].tolist()
    assert hits["relevant"].tolist() == exp["relevant"].tolist()
    assert len(reads.query_metrics("run-1", store=store)) == len(frames["query_metrics"])
    assert len(reads.query_metrics("run-1", cand_lang="all", store=store)) == 12
    assert len(reads.relevant_ranks("run-1", query_id="g0/en", store=store)) == 3
    assert len(reads.query_bias("run-1", store=store)) == 12
    assert set(reads.lang_share("run-1", k=2, store=store)["k"]) == {2}
    found = reads.find_run("a" * 16, "c0ffee0000000000", "float32", 5, store=store)
    assert found is not None and found["run_id"] == "run-1"
    assert reads.find_run("a" * 16, "c0ffee0000000000", "float32", 10, store=store) is None
    assert (
        reads.find_run(
            "a" * 16, "c0ffee0000000000", "float32", 5, metrics_version="other", store=store
        )
        is None
    )


def test_model_and_corpus_round_trip(store: Store) -> None:
    corpus = tiny_corpus()
    groups = [("g0", "h0"), ("g0", "h0"), ("g1", None)]
    with store.write() as con:
        writes.register_model(con, FakeSpec(), training_groups=groups)
        assert writes.register_corpus(con, corpus) is True
    models = reads.list_models(store=store)
    assert models["model_id"].tolist() == ["model-a"]
    assert models["sampler"].iloc[0] == "hybrid" and models["alpha"].iloc[0] == 0.5
    tg = reads.training_groups("model-a", store=store)
    pairs = [
        (g, h if isinstance(h, str) else None)
        for g, h in zip(tg["group_id"], tg["text_hash"], strict=True)
    ]
    assert sorted(pairs, key=repr) == [
        ("g0", "h0"),
        ("g1", None),
    ]
    corpora = reads.list_corpora(store=store)
    assert corpora["corpus_fp"].tolist() == [corpus.fingerprint]
    assert corpora["n_queries"].iloc[0] == 6
    q = reads.corpus_queries(corpus.fingerprint, lang="zh", store=store)
    assert q["text"].tolist() == ["question g0 zh?", "question g1 zh?"]
    cands = store.query("SELECT groups FROM corpus_candidates WHERE candidate_id = 'g1/de/s'")
    assert list(cands["groups"].iloc[0]) == ["g1"]
    # keyed by fingerprint: a second registration writes nothing
    assert writes.register_corpus(store, corpus) is False


def test_topk_hits_carry_candidate_texts(store: Store) -> None:
    corpus = tiny_corpus()
    run, frames = synthetic_run("run-t", n_groups=2, corpus_fp=corpus.fingerprint)
    with store.write() as con:
        writes.register_corpus(con, corpus)
        writes.write_run(con, run, frames)
    hits = reads.topk_hits("run-t", "g0/en", store=store)
    assert all(
        t == f"answer {c.split('/')[0]} {c.split('/')[1]}"
        for c, t in zip(hits["candidate_id"], hits["text"], strict=True)
    )


def test_headline_keeps_requested_order(store: Store) -> None:
    for i in range(3):
        writes.write_run(store, *synthetic_run(f"run-{i}", seed=i))
    table = reads.headline(["run-2", "run-0"], store=store)
    assert table["run_id"].tolist() == ["run-2", "run-0"]
    assert reads.headline([], store=store).empty
    assert len(reads.list_runs(store=store)) == 3
    assert reads.list_runs("other-dataset", store=store).empty


# ---- idempotence ---------------------------------------------------------------
def test_rewriting_a_run_is_idempotent(store: Store) -> None:
    run, frames = synthetic_run("run-1")
    writes.write_run(store, run, frames)
    writes.write_run(store, *synthetic_run("run-2", seed=3))
    first = dump(store)
    writes.write_run(store, run, frames)
    assert dump(store) == first
    # a changed re-run replaces the old rows, it does not add to them
    run2, frames2 = synthetic_run("run-1", seed=7, k=3)
    writes.write_run(store, run2, frames2)
    assert len(store.query("SELECT * FROM topk_hits WHERE run_id = 'run-1'")) == 12 * 3
    assert len(store.query("SELECT * FROM topk_hits WHERE run_id = 'run-2'")) == 12 * 5


def test_register_model_replaces_row_and_training_groups(store: Store) -> None:
    writes.register_model(store, FakeSpec(), training_groups=[("g0", "h0"), ("g1", "h1")])
    spec = FakeSpec()
    spec.fingerprint = "b" * 16
    writes.register_model(store, spec, training_groups=[("g2", "h2")])
    models = reads.list_models(store=store)
    assert models["fingerprint"].tolist() == ["b" * 16]
    assert reads.training_groups("model-a", store=store)["group_id"].tolist() == ["g2"]
    writes.register_model(store, spec)  # None keeps the groups
    assert reads.training_groups("model-a", store=store)["group_id"].tolist() == ["g2"]


# ---- atomicity ------------------------------------------------------------------
def test_failure_mid_write_leaves_store_byte_identical(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes.write_run(store, *synthetic_run("run-1"))
    before_bytes, before_rows = sha(store.path), dump(store)

    real_insert = writes.insert_frame

    def failing_insert(con, table, frame):  # type: ignore[no-untyped-def]
        real_insert(con, table, frame)
        if table == "topk_hits":  # after runs, metrics and the big table went in
            raise RuntimeError("injected failure")

    monkeypatch.setattr(writes, "insert_frame", failing_insert)
    # the big run (tens of thousands of rows) would be optimistically written to disk
    # by DuckDB's default settings; the store keeps it in memory until commit.
    with pytest.raises(RuntimeError, match="injected"):
        writes.write_run(store, *synthetic_run("run-2", n_groups=400, k=100))
    with pytest.raises(RuntimeError, match="injected"):
        writes.write_run(store, *synthetic_run("run-1", seed=5))  # a failed re-write
    assert sha(store.path) == before_bytes
    assert dump(store) == before_rows
    assert reads.get_run("run-2", store=store) is None


def test_invalid_frames_fail_before_anything_is_written(store: Store) -> None:
    writes.write_run(store, *synthetic_run("run-1"))
    before = sha(store.path)
    run, frames = synthetic_run("run-2")
    frames["topk_hits"] = frames["topk_hits"].assign(bogus=1)
    with pytest.raises(ValueError, match=r"topk_hits: column\(s\) \['bogus'\]"):
        writes.write_run(store, run, frames)
    run, frames = synthetic_run("run-2")
    frames["query_bias"] = frames["query_bias"].drop(columns=["query_lang"])
    with pytest.raises(ValueError, match=r"query_bias: required column\(s\) \['query_lang'\]"):
        writes.write_run(store, run, frames)
    run, frames = synthetic_run("run-2")
    frames["run_pair_metrics"] = frames["run_pair_metrics"].assign(run_id="run-9")
    with pytest.raises(ValueError, match="run_id 'run-9'"):
        writes.write_run(store, run, frames)
    assert sha(store.path) == before
    assert reads.get_run("run-2", store=store) is None


def test_keyboard_interrupt_rolls_back(store: Store) -> None:
    writes.write_run(store, *synthetic_run("run-1"))
    before = sha(store.path)
    with pytest.raises(KeyboardInterrupt), store.write() as con:
        writes.delete_run(con, "run-1")
        raise KeyboardInterrupt
    assert sha(store.path) == before
    assert reads.get_run("run-1", store=store) is not None


# ---- connections and locking ---------------------------------------------------
def test_nested_write_in_one_thread_fails_loudly(store: Store) -> None:
    with (
        store.write(),
        pytest.raises(StoreError, match="already open in this thread"),
        store.write(),
    ):
        pass
    with store.read(), pytest.raises(StoreError, match="already open"), store.write():
        pass
    with store.read(), store.read() as con:  # nested reads are fine
        con.execute("SELECT 1")


def test_reader_waits_for_writer_in_another_thread(store: Store) -> None:
    writes.write_run(store, *synthetic_run("run-1"))
    events: list[str] = []
    started = threading.Event()

    def writer() -> None:
        with store.write() as con:
            started.set()
            writes.delete_run(con, "run-1")
            time.sleep(0.3)
            writes.write_run(con, *synthetic_run("run-1", seed=9))
            events.append("written")

    t = threading.Thread(target=writer)
    t.start()
    started.wait(5)
    got = reads.get_run("run-1", store=store)  # blocks until the write committed
    events.append("read")
    t.join()
    assert events == ["written", "read"]
    assert got is not None and got["monolingual"] == pytest.approx(
        synthetic_run("run-1", seed=9)[1]["run_headline"]["monolingual"]
    )


def test_busy_store_raises_after_timeout(tmp_path: Path) -> None:
    slow = Store(tmp_path / "s.duckdb", lock_timeout=0.3)
    writes.write_run(slow, *synthetic_run("run-1"))
    done = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with slow.write():
            done.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    done.wait(5)
    try:
        with pytest.raises(StoreError, match=r"s\.duckdb\.lock.*within"), slow.read():
            pass
    finally:
        release.set()
        t.join()


def test_newer_schema_version_is_refused(store: Store) -> None:
    with store.write() as con:
        con.execute("UPDATE schema_info SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version '999'"), store.write():
        pass


def _downgrade_to_version_1(path: Path) -> None:
    """Make ``path`` look like a store written by schema version 1 (before corrections)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        for table in ("run_language_preference", "training_curves", "reference_bundles"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        for table in ("models", "runs"):
            for column in ("correction", "correction_of", "correction_fit", "correction_info"):
                con.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}")
        con.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    finally:
        con.close()


def test_a_version_1_store_opens_and_is_upgraded_in_place(tmp_path: Path) -> None:
    from hybriddash.store import db

    path = tmp_path / "old.duckdb"
    writes.write_run(Store(path), *synthetic_run("run-old"))
    _downgrade_to_version_1(path)
    db._checked_paths.discard(path.resolve())
    store = Store(path)
    # the first read upgrades the file (additive: every row kept), then reads the new columns
    runs = reads.list_runs(store=store)
    assert runs["run_id"].tolist() == ["run-old"]
    assert "correction" in runs.columns and runs["correction"].isna().all()
    version = store.query("SELECT value FROM schema_info WHERE key = 'schema_version'")
    assert version["value"].tolist() == [SCHEMA_VERSION] == ["6"]
    assert store.query("SELECT count(*) AS n FROM run_language_preference")["n"].tolist() == [0]
    # schema 5 (issue 23), schema 6 (issue 24)
    for table in ("run_bitext_accuracy", "run_language_probe", "run_language_probe_items"):
        assert store.query(f"SELECT count(*) AS n FROM {table}")["n"].tolist() == [0]
    assert len(reads.relevant_ranks("run-old", store=store)) > 0
    # a current-version file that lacks the columns (an unknown earlier
    # layout) gets them on its first read too
    third = tmp_path / "v2-without.duckdb"
    writes.write_run(Store(third), *synthetic_run("run-c"))
    _downgrade_to_version_1(third)
    with Store(third).write() as con:  # recorded as current, tables created, columns not
        con.execute("ALTER TABLE runs DROP COLUMN correction_info")
    db._checked_paths.discard(third.resolve())
    assert "correction_info" in reads.list_runs(store=Store(third)).columns
    # a write to another old file upgrades it too
    other = tmp_path / "old2.duckdb"
    writes.write_run(Store(other), *synthetic_run("run-a"))
    _downgrade_to_version_1(other)
    writes.write_run(Store(other), *synthetic_run("run-b"))
    assert sorted(reads.list_runs(store=Store(other))["run_id"]) == ["run-a", "run-b"]


def test_default_store_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDDASH_STORE", str(tmp_path / "env.duckdb"))
    assert Store().path == tmp_path / "env.duckdb"
    writes.write_run(None, *synthetic_run("run-env"))
    assert reads.get_run("run-env") is not None
    assert (tmp_path / "env.duckdb").is_file()


@pytest.mark.slow
def test_full_size_topk_writes_in_seconds(store: Store) -> None:
    """1.3M top-k rows (full XQuAD-R: 13,090 queries x 100) go in one transaction fast."""
    nq, k = 13090, 100
    rng = np.random.default_rng(0)
    run, frames = synthetic_run("run-big", n_groups=2, k=2)
    frames["topk_hits"] = pd.DataFrame(
        {
            "query_id": np.repeat([f"{i}/en" for i in range(nq)], k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), nq),
            "candidate_id": np.array([f"c{i}" for i in range(13014)], dtype=object)[
                rng.integers(0, 13014, nq * k)
            ],
            "cand_lang": np.array(LANGS, dtype=object)[rng.integers(0, 3, nq * k)],
            "score": rng.random(nq * k).astype(np.float32),
            "relevant": rng.random(nq * k) < 0.05,
        }
    )
    start = time.perf_counter()
    writes.write_run(store, run, frames)
    first = time.perf_counter() - start
    start = time.perf_counter()
    writes.write_run(store, run, frames)  # a re-write also deletes 1.3M rows
    second = time.perf_counter() - start
    assert store.query("SELECT count(*) AS n FROM topk_hits")["n"].iloc[0] == nq * k
    assert first < 30 and second < 30, (first, second)
    start = time.perf_counter()
    hits = reads.topk_hits("run-big", "777/en", store=store)
    assert len(hits) == k and time.perf_counter() - start < 2


def test_duckdb_lock_held_outside_hybriddash_is_retried(store: Store) -> None:
    """A program that opens the file without our lock (duckdb CLI) only delays a write."""
    import subprocess
    import sys

    writes.write_run(store, *synthetic_run("run-1"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True);"
            " time.sleep(1.5); c.close()",
            str(store.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        writes.write_run(store, *synthetic_run("run-2"))
    finally:
        holder.wait(30)
    assert reads.get_run("run-2", store=store) is not None


def test_connection_is_closed_after_use(store: Store) -> None:
    with store.write() as con:
        pass
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
