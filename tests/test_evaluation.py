"""evaluate(): the sample corpus with the tiny model, end to end into the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import hybriddash.encoders.encode as encode_module
import hybriddash.metrics.settings as settings_module
import hybriddash.retrieval.exact_ranks as exact_ranks_module
import hybriddash.retrieval.search as search_module
from hybriddash import evaluation
from hybriddash.evaluation import evaluate, make_run_id
from hybriddash.store import reads, writes
from hybriddash.store.db import Store

K = 20


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One artifacts folder + store for the module: the first evaluation is shared."""
    root = tmp_path_factory.mktemp("eval")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(root / "artifacts"))
        mp.setenv("HYBRIDDASH_STORE", str(root / "artifacts" / "store.duckdb"))
        yield root


@pytest.fixture(scope="module")
def first(env: Path, tiny_model_spec, sample_corpus):  # type: ignore[no-untyped-def]
    stages: list[tuple[str, float]] = []
    summary = evaluate(
        tiny_model_spec,
        sample_corpus,
        k=K,
        progress=False,
        progress_callback=lambda stage, fraction: stages.append((stage, fraction)),
    )
    return summary, stages


def _forbid(monkeypatch: pytest.MonkeyPatch, *targets: tuple[object, str]) -> None:
    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("recomputed something that was cached")

    for module, name in targets:
        monkeypatch.setattr(module, name, boom)


def _brute_force_ap(scores: np.ndarray, relevant: np.ndarray) -> float:
    """AP by sorting the row (stable, descending): sum over relevant of P@rank / R."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.sort(np.flatnonzero(np.isin(order, relevant)) + 1)
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def test_first_run_encodes_computes_and_stores(first, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    summary, stages = first
    n_texts = len({q.text for q in sample_corpus.queries}) + len(
        {c.text for c in sample_corpus.candidates}
    )
    assert not summary.reused
    assert summary.n_encoded == n_texts and summary.n_cached == 0
    assert summary.n_queries == len(sample_corpus.queries)
    assert summary.n_candidates == len(sample_corpus.candidates)
    langs = sample_corpus.languages
    assert summary.languages == langs
    assert set(summary.pairs) == {f"{q}-{c}" for q in langs for c in langs}
    assert set(summary.multilingual_by_lang) == set(langs)
    # headline = the macro-averages of the pair table
    mono = np.mean([summary.pairs[f"{x}-{x}"] for x in langs])
    cross = np.mean([summary.pairs[f"{x}-{y}"] for x in langs for y in langs if x != y])
    assert summary.headline["monolingual"] == pytest.approx(mono)
    assert summary.headline["crosslingual"] == pytest.approx(cross)
    assert summary.headline["multilingual"] == pytest.approx(
        np.mean(list(summary.multilingual_by_lang.values()))
    )
    # progress: starts at 0, ends at 1, never goes back
    fractions = [f for _, f in stages]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False))
    assert [s for s, _ in stages][-1] == "done"


def test_store_holds_every_table_of_the_run(first, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    summary, _ = first
    store = Store()
    run = reads.get_run(summary.run_id, store=store)
    assert run is not None
    assert run["run_id"] == make_run_id(
        summary.model_fp, sample_corpus.fingerprint, summary.mode, K
    )
    assert run["monolingual"] == pytest.approx(summary.headline["monolingual"])
    assert not run["contaminated"]
    nq, nc, n_langs = summary.n_queries, summary.n_candidates, len(summary.languages)
    counts = store.query(
        "SELECT (SELECT count(*) FROM topk_hits WHERE run_id = $r) AS topk, "
        "(SELECT count(*) FROM query_bias WHERE run_id = $r) AS bias, "
        "(SELECT count(*) FROM run_pair_metrics WHERE run_id = $r) AS pairs, "
        "(SELECT count(*) FROM query_relevant_ranks WHERE run_id = $r) AS rel, "
        "(SELECT count(*) FROM run_lang_share WHERE run_id = $r) AS share, "
        "(SELECT count(*) FROM corpus_queries WHERE corpus_fp = $c) AS cq, "
        "(SELECT count(*) FROM corpus_candidates WHERE corpus_fp = $c) AS cc",
        {"r": summary.run_id, "c": sample_corpus.fingerprint},
    ).iloc[0]
    assert counts["topk"] == nq * K
    assert counts["bias"] == nq
    assert counts["pairs"] == n_langs * n_langs + n_langs
    assert counts["rel"] == sum(len(r) for r in sample_corpus.relevant.values())
    assert counts["share"] == n_langs * K * n_langs
    assert counts["cq"] == nq and counts["cc"] == nc
    shares = reads.lang_share(summary.run_id, store=store)
    sums = shares.groupby(["query_lang", "k"])["share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    models = reads.list_models(store=store)
    assert models["model_id"].tolist() == [summary.model_id]


def test_stored_ap_matches_a_brute_force_sort(first, tiny_model_spec, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    """Independent check: AP from a plain argsort of the scores equals the stored AP."""
    summary, _ = first
    enc = encode_module.encode_corpus(tiny_model_spec, sample_corpus, progress=False)
    assert enc.stats.n_encoded == 0  # served by the cache the evaluation filled
    qm = reads.query_metrics(summary.run_id)
    stored = {(r.query_id, r.cand_lang): r.ap for r in qm.itertuples()}
    cand_langs = sample_corpus.candidate_langs
    for qi in range(0, len(sample_corpus.queries), 25):
        query = sample_corpus.queries[qi]
        scores = enc.candidates @ enc.queries[qi]
        rel = sample_corpus.relevant_indices(query.id)
        assert stored[(query.id, "all")] == pytest.approx(_brute_force_ap(scores, rel), abs=1e-9)
        for lang in sample_corpus.languages:
            pool = np.flatnonzero(cand_langs == lang)
            rel_in_pool = np.flatnonzero(np.isin(pool, rel))
            if rel_in_pool.size:
                ap = _brute_force_ap(scores[pool], rel_in_pool)
                assert stored[(query.id, lang)] == pytest.approx(ap, abs=1e-9)
    hits = reads.topk_hits(summary.run_id, sample_corpus.queries[0].id)
    best = np.argsort(-(enc.candidates @ enc.queries[0]), kind="stable")[:K]
    assert hits["candidate_id"].tolist() == [sample_corpus.candidates[i].id for i in best]
    rel_ids = sample_corpus.relevant[sample_corpus.queries[0].id]
    assert hits["relevant"].tolist() == [c in rel_ids for c in hits["candidate_id"]]


def test_second_run_recomputes_nothing(
    first, tiny_model_spec, sample_corpus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    summary, _ = first
    store = Store()
    before = store.query("SELECT count(*) AS n FROM topk_hits")["n"].iloc[0]
    _forbid(
        monkeypatch,
        (encode_module, "encode_corpus"),
        (exact_ranks_module, "corpus_relevant_ranks"),
        (settings_module, "compute_corpus_metrics"),
        (search_module, "topk"),
        (writes, "write_run"),
    )
    again = evaluate(tiny_model_spec, sample_corpus, k=K, progress=False)
    assert again.reused and again.n_encoded == 0
    assert again.run_id == summary.run_id
    assert again.pairs == pytest.approx(summary.pairs)
    assert again.headline == pytest.approx(summary.headline)
    assert again.to_json()["pairs"] == pytest.approx(summary.to_json()["pairs"])
    assert store.query("SELECT count(*) AS n FROM topk_hits")["n"].iloc[0] == before


def test_forced_rerun_encodes_nothing_and_is_idempotent(
    first, tiny_model_spec, sample_corpus
) -> None:  # type: ignore[no-untyped-def]
    summary, _ = first
    store = Store()
    tables = ("runs", "topk_hits", "query_metrics", "run_lang_share", "corpus_queries", "models")
    count = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in tables)
    before = store.query(count).iloc[0].to_dict()
    again = evaluate(tiny_model_spec, sample_corpus, k=K, progress=False, force=True)
    assert not again.reused
    assert again.n_encoded == 0 and again.n_cached == summary.n_encoded
    assert again.headline == pytest.approx(summary.headline)
    assert store.query(count).iloc[0].to_dict() == before


def test_subset_reuses_the_cached_embeddings(first, tiny_model_spec, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    summary, _ = first
    sub = evaluate(tiny_model_spec, sample_corpus, langs=["EN", "de"], k=K, progress=False)
    assert not sub.reused and sub.n_encoded == 0
    assert sub.run_id != summary.run_id
    assert sub.languages == ["de", "en"]
    assert set(sub.pairs) == {"de-de", "de-en", "en-de", "en-en"}
    assert len(reads.list_runs(store=Store())) >= 2


def test_contaminated_model_is_flagged(first, tiny_model_spec, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    from hybriddash.training.contamination import training_groups_of

    store = Store()
    trained_on = sample_corpus.subset_by(langs=["en"], articles=1)
    writes.register_model(
        store,
        tiny_model_spec,
        training_groups=[(g.group_id, g.text_hash) for g in training_groups_of(trained_on)],
    )
    try:
        flagged = evaluate(tiny_model_spec, sample_corpus, langs=["en", "zh"], k=K, progress=False)
        assert flagged.contaminated
        assert "contaminated" in flagged.contamination_note
        run = reads.get_run(flagged.run_id, store=store)
        assert run is not None and run["contaminated"]
        assert run["contamination_note"] == flagged.contamination_note
    finally:
        writes.register_model(store, tiny_model_spec, training_groups=[])


def test_interrupted_run_stores_nothing(
    first, tiny_model_spec, sample_corpus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    store = Store()
    runs_before = set(reads.list_runs(store=store)["run_id"])
    real = writes.insert_frame

    def interrupted(con, table, frame):  # type: ignore[no-untyped-def]
        real(con, table, frame)
        if table == "topk_hits":
            raise KeyboardInterrupt

    monkeypatch.setattr(writes, "insert_frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(tiny_model_spec, sample_corpus, langs=["ar", "ru"], k=K, progress=False)
    assert set(reads.list_runs(store=store)["run_id"]) == runs_before
    monkeypatch.setattr(writes, "insert_frame", real)
    done = evaluate(tiny_model_spec, sample_corpus, langs=["ar", "ru"], k=K, progress=False)
    assert not done.reused and done.n_encoded == 0
    assert done.run_id in set(reads.list_runs(store=store)["run_id"])


def test_metrics_version_is_part_of_the_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_run_id("f" * 16, "c" * 16, "float32", 100)
    assert a == make_run_id("f" * 16, "c" * 16, "float32", 100)
    assert a != make_run_id("f" * 16, "c" * 16, "float32", 10)
    assert a != make_run_id("f" * 16, "c" * 16, "int8", 100)
    monkeypatch.setattr(evaluation, "METRICS_VERSION", "next")
    assert a != make_run_id("f" * 16, "c" * 16, "float32", 100)


def test_bad_arguments_name_the_problem(env: Path, tiny_model_spec, sample_corpus) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="k must be >= 1"):
        evaluate(tiny_model_spec, sample_corpus, k=0, progress=False)
    with pytest.raises(ValueError, match="xx"):
        evaluate(tiny_model_spec, sample_corpus, langs=["xx"], progress=False)


def test_trained_model_without_registered_groups_is_flagged_by_its_card(
    tmp_path: Path, sample_corpus
) -> None:  # type: ignore[no-untyped-def]
    from hybriddash.encoders.registry import ModelSpec

    store = Store(tmp_path / "empty.duckdb")
    card = {"train_dataset": "sample[en]", "sampler": "hybrid"}
    trained = ModelSpec("trained/x", "/nowhere", "0" * 16, "trained", "x", training_card=card)
    flagged, note = evaluation.contamination(trained, sample_corpus, store=store)
    assert flagged and "cannot be ruled out" in note
    other = ModelSpec(
        "trained/y",
        "/nowhere",
        "1" * 16,
        "trained",
        "y",
        training_card={"train_dataset": "mlqa-r[de,en]"},
    )
    assert evaluation.contamination(other, sample_corpus, store=store) == (False, "")


def test_exact_topk_comes_from_the_rank_pass_and_equals_faiss_flat(
    first, tiny_model_spec, sample_corpus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An exact run builds no faiss index: its lists are the rank pass's, as faiss's are."""
    summary, _ = first
    store = Store()
    from hybriddash.encoders.encode import encode_corpus

    enc = encode_corpus(tiny_model_spec, sample_corpus, progress=False)
    faiss_lists = search_module.topk_with_report(enc.queries, enc.candidates, K, index="flat")
    _forbid(monkeypatch, (search_module, "topk_with_report"), (search_module, "build_index"))
    monkeypatch.setattr(evaluation, "METRICS_VERSION", "test-exact-topk")  # a fresh run id
    again = evaluate(tiny_model_spec, sample_corpus, k=K, progress=False, index="flat")
    assert not again.reused and again.index_kind == "flat" and again.index_recall_at_k == 1.0
    hits = store.query(
        "SELECT query_id, rank, candidate_id FROM topk_hits WHERE run_id = ? ORDER BY query_id, rank",
        [again.run_id],
    )
    position = {q.id: i for i, q in enumerate(sample_corpus.queries)}
    row_of = {c.id: i for i, c in enumerate(sample_corpus.candidates)}
    n_differ = 0
    for query_id, rows in hits.groupby("query_id"):
        qi = position[query_id]
        ours = np.array([row_of[c] for c in rows["candidate_id"]])
        theirs = faiss_lists.indices[qi]
        true = enc.candidates @ enc.queries[qi]
        # the same lists, up to the order of scores equal within float32 rounding
        # (faiss and numpy sum the dot products in different orders)
        assert np.allclose(true[ours], true[theirs], atol=1e-5), query_id
        n_differ += int((ours != theirs).sum())
    assert n_differ <= 0.01 * len(hits)
    assert again.headline == pytest.approx(summary.headline)
