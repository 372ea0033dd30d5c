"""Training-free corrections: each removes a known language offset from constructed
embeddings; corrected runs are cached, keyed by method and fit corpus, and guarded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.encoders import corrections as corr
from hybriddash.evaluation import evaluate, make_run_id
from hybriddash.store import reads
from hybriddash.store.db import Store

LANGS = ("de", "en", "zh")
DIM = 24


def _world(seed: int = 0, n_groups: int = 12, offset_scale: float = 2.0):
    """Semantic vectors per group, a large offset per language (documents and queries
    get different offsets), e = semantics + language offset, NOT normalised."""
    rng = np.random.default_rng(seed)
    doc_off = {lang: offset_scale * rng.normal(size=DIM) for lang in LANGS}
    query_off = {lang: offset_scale * rng.normal(size=DIM) for lang in LANGS}
    return rng, doc_off, query_off


def _corpus(rng, doc_off, query_off, prefix: str, n_groups: int):
    """A parallel corpus (one question and one answer per group and language) and the
    constructed vector of every text (keyed by text)."""
    vectors: dict[str, np.ndarray] = {}
    cands, queries, relevant = [], [], {}
    for g in range(n_groups):
        group = f"{prefix}{g}"
        answer, question = rng.normal(size=DIM), rng.normal(size=DIM)
        for lang in LANGS:
            c_text, q_text = f"answer {group} {lang}", f"question {group} {lang}?"
            vectors[c_text] = answer + doc_off[lang]
            vectors[q_text] = question + query_off[lang]
            cands.append(
                Candidate(f"c/{group}/{lang}", lang, c_text, article=group, groups=(group,))
            )
            queries.append(Query(f"q/{group}/{lang}", lang, q_text, group, article=group))
            relevant[f"q/{group}/{lang}"] = frozenset({f"c/{group}/{l2}" for l2 in LANGS})
    return Corpus(prefix, cands, queries, relevant), vectors


def _encoder(vectors):
    return lambda texts, kind: np.stack([vectors[t] for t in texts])


def _spread_between_translations(x: np.ndarray, corpus: Corpus, items: str) -> float:
    """Largest distance between the vectors of two translations of one item."""
    rows = corpus.candidates if items == "candidates" else corpus.queries
    by_group: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        group = row.groups[0] if items == "candidates" else row.group
        by_group.setdefault(group, []).append(i)
    return max(
        float(np.linalg.norm(x[i] - x[j]))
        for members in by_group.values()
        for i in members
        for j in members
    )


def test_center_docs_removes_the_document_language_offset() -> None:
    rng, doc_off, query_off = _world()
    corpus, vectors = _corpus(rng, doc_off, query_off, "e", 12)
    cands = np.stack([vectors[c.text] for c in corpus.candidates])
    queries = np.stack([vectors[q.text] for q in corpus.queries])
    fitted = corr.fit_correction(corr.CorrectionRequest("center-docs"), corpus, cands)
    # every language holds the same groups, so mean_L - mean_all is exactly the offset
    # minus the mean offset: subtracting it leaves semantics + one shared vector
    mean_off = np.mean([doc_off[lang] for lang in LANGS], axis=0)
    for lang in LANGS:
        np.testing.assert_allclose(fitted.doc_offsets[lang], doc_off[lang] - mean_off, atol=1e-9)
    q2, c2 = fitted.apply(queries, corpus.query_langs, cands, corpus.candidate_langs)
    assert _spread_between_translations(corr.unit(cands), corpus, "candidates") > 0.5
    assert _spread_between_translations(c2, corpus, "candidates") < 1e-5
    np.testing.assert_allclose(q2, queries)  # queries untouched
    np.testing.assert_allclose(np.linalg.norm(c2, axis=1), 1.0, rtol=1e-6)
    assert fitted.record["documents_per_lang"] == {"de": 12, "en": 12, "zh": 12}


def test_center_fits_query_means_on_the_stated_corpus() -> None:
    rng, doc_off, query_off = _world(1)
    evaluation, vectors = _corpus(rng, doc_off, query_off, "e", 10)
    fit, fit_vectors = _corpus(rng, doc_off, query_off, "f", 15)  # other groups
    cands = np.stack([vectors[c.text] for c in evaluation.candidates])
    queries = np.stack([vectors[q.text] for q in evaluation.queries])
    fitted = corr.fit_correction(
        corr.CorrectionRequest("center", "f"), evaluation, cands,
        encode=_encoder(fit_vectors), fit_corpus=fit,
    )  # fmt: skip
    mean_q = np.mean([query_off[lang] for lang in LANGS], axis=0)
    for lang in LANGS:
        np.testing.assert_allclose(fitted.query_offsets[lang], query_off[lang] - mean_q, atol=1e-9)
    q2, c2 = fitted.apply(queries, evaluation.query_langs, cands, evaluation.candidate_langs)
    assert _spread_between_translations(corr.unit(queries), evaluation, "queries") > 0.5
    assert _spread_between_translations(q2, evaluation, "queries") < 1e-5
    assert _spread_between_translations(c2, evaluation, "candidates") < 1e-5
    assert fitted.record["fit_corpus"] == "f" and fitted.record["query_fallback_langs"] == []
    assert fitted.record["queries_per_lang"] == {"de": 15, "en": 15, "zh": 15}


def test_center_falls_back_to_document_offsets_for_unfitted_query_languages() -> None:
    rng, doc_off, query_off = _world(2)
    evaluation, vectors = _corpus(rng, doc_off, query_off, "e", 6)
    fit, fit_vectors = _corpus(rng, doc_off, query_off, "f", 6)
    fit = fit.subset_by(langs=["de", "en"])
    cands = np.stack([vectors[c.text] for c in evaluation.candidates])
    fitted = corr.fit_correction(
        corr.CorrectionRequest("center", "f"), evaluation, cands,
        encode=_encoder(fit_vectors), fit_corpus=fit,
    )  # fmt: skip
    assert fitted.record["query_fallback_langs"] == ["zh"]
    np.testing.assert_allclose(fitted.query_offsets["zh"], fitted.doc_offsets["zh"])


def test_shift_subtracts_offsets_estimated_from_parallel_pairs() -> None:
    rng, doc_off, query_off = _world(3)
    evaluation, vectors = _corpus(rng, doc_off, query_off, "e", 8)
    fit, fit_vectors = _corpus(rng, doc_off, query_off, "f", 20)
    cands = np.stack([vectors[c.text] for c in evaluation.candidates])
    queries = np.stack([vectors[q.text] for q in evaluation.queries])
    fitted = corr.fit_correction(
        corr.CorrectionRequest("shift", "f"), evaluation, cands,
        encode=_encoder(fit_vectors), fit_corpus=fit,
    )  # fmt: skip
    # relative language vectors w.r.t. English: exactly offset_L - offset_en
    assert fitted.record["source_lang"] == "en"
    assert fitted.record["pairs_per_lang"] == {"de": 20, "en": 20, "zh": 20}
    for lang in LANGS:
        np.testing.assert_allclose(
            fitted.doc_offsets[lang], doc_off[lang] - doc_off["en"], atol=1e-9
        )
    q2, c2 = fitted.apply(queries, evaluation.query_langs, cands, evaluation.candidate_langs)
    assert _spread_between_translations(c2, evaluation, "candidates") < 1e-5
    np.testing.assert_allclose(q2, queries)  # Shift corrects the index only


def test_shift_leaves_languages_without_pairs_alone_and_says_so() -> None:
    rng, doc_off, query_off = _world(4)
    evaluation, vectors = _corpus(rng, doc_off, query_off, "e", 4)
    fit, fit_vectors = _corpus(rng, doc_off, query_off, "f", 4)
    fit = fit.subset_by(langs=["de", "zh"])  # no English: the source is the first by count
    cands = np.stack([vectors[c.text] for c in evaluation.candidates])
    fitted = corr.fit_correction(
        corr.CorrectionRequest("shift", "f"), evaluation, cands,
        encode=_encoder(fit_vectors), fit_corpus=fit,
    )  # fmt: skip
    assert fitted.record["source_lang"] == "de"
    assert fitted.record["unfitted_langs"] == ["en"]
    assert "en" not in fitted.doc_offsets


def test_corrections_remove_the_bias_in_pooled_retrieval() -> None:
    """With a language offset larger than the semantics, a query's nearest candidate is
    the wrong answer in its own language; after center the right answers come first."""
    from hybriddash.retrieval.exact_ranks import corpus_relevant_ranks

    rng, doc_off, query_off = _world(5, offset_scale=3.0)
    # queries carry the offset of their language's documents: the bias LAReQA measures
    query_off = {lang: doc_off[lang] + 0.1 * rng.normal(size=DIM) for lang in LANGS}
    evaluation, vectors = _corpus(rng, doc_off, query_off, "e", 10)
    fit, fit_vectors = _corpus(rng, doc_off, query_off, "f", 10)
    for q in evaluation.queries:  # a question is its answer's semantics plus noise
        answer = vectors[f"answer {q.group} {q.lang}"] - doc_off[q.lang]
        vectors[q.text] = answer + 0.3 * rng.normal(size=DIM) + query_off[q.lang]
    cands = corr.unit(np.stack([vectors[c.text] for c in evaluation.candidates]))
    queries = corr.unit(np.stack([vectors[q.text] for q in evaluation.queries]))

    def worst_first_rank(q, c) -> int:
        ranks = corpus_relevant_ranks(evaluation, q, c)
        return int(ranks.pooled_rank.max())  # 3 = every query's 3 answers on top

    assert worst_first_rank(queries, cands) > 3
    fitted = corr.fit_correction(
        corr.CorrectionRequest("center", "f"), evaluation, cands,
        encode=lambda texts, kind: corr.unit(_encoder(fit_vectors)(texts, kind)), fit_corpus=fit,
    )  # fmt: skip
    assert worst_first_rank(*fitted.apply(
        queries, evaluation.query_langs, cands, evaluation.candidate_langs
    )) == 3  # fmt: skip


def test_requests_are_validated_and_labelled() -> None:
    assert corr.parse_correction(None) is None and corr.parse_correction("none") is None
    assert corr.parse_correction("center-docs").label == "center-docs"
    assert corr.parse_correction("center", "mlqa-r").label == "center(fit=mlqa-r)"
    assert corr.parse_correction("shift", "xquad-r[articles=1-8]").label == (
        "shift(fit=xquad-r[articles=8])"
    )
    assert corr.parse_correction("shift", "xquad-r[articles=9-16]").fit_on == (
        "xquad-r[articles=9-16]"
    )
    with pytest.raises(ValueError, match="unknown correction"):
        corr.parse_correction("whiten")
    with pytest.raises(ValueError, match="needs --fit-on"):
        corr.parse_correction("center")
    with pytest.raises(ValueError, match="fitted on the candidates being indexed"):
        corr.parse_correction("center-docs", "mlqa-r")
    with pytest.raises(ValueError, match="needs --correction"):
        corr.parse_correction(None, "mlqa-r")
    with pytest.raises(ValueError, match="expected DATASET"):
        corr.parse_correction("shift", "xquad-r[langs=en]")
    assert corr.corrected_model_id("trained/hyb", corr.CorrectionRequest("center-docs")) == (
        "trained/hyb + center-docs"
    )


def test_article_range_keeps_the_named_articles(sample_corpus) -> None:
    sub = corr.article_range(sample_corpus, 2, 3)
    articles = sample_corpus.articles()
    assert sub.articles() == articles[1:3]
    assert sub.name == "sample[articles=2-3]"
    assert {q.article for q in sub.queries} == set(articles[1:3])
    assert corr.load_fit_corpus("sample[articles=2-3]").fingerprint == sub.fingerprint


# ---- through evaluate() -----------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_spec, sample_corpus):
    root = tmp_path_factory.mktemp("corrections")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(root / "artifacts"))
        mp.setenv("HYBRIDDASH_STORE", str(root / "artifacts" / "store.duckdb"))
        store = Store(root / "artifacts" / "store.duckdb")
        sub = sample_corpus.subset_by(articles=3)

        def run(correction=None, fit_on=None, **kw):
            return evaluate(
                tiny_model_spec, sub, k=10, store=store, progress=False,
                correction=correction, fit_on=fit_on, **kw,
            )  # fmt: skip

        yield {
            "store": store,
            "run": run,
            "plain": run(),
            "center_docs": run("center-docs"),
            "center_a": run("center", "sample[articles=4-5]"),
            "center_b": run("center", "sample[articles=4]"),
            "shift_a": run("shift", "sample[articles=4-5]"),
        }


def test_corrected_runs_are_models_of_their_own(runs, tiny_model_spec) -> None:
    plain, cd = runs["plain"], runs["center_docs"]
    assert plain.model_id == tiny_model_spec.model_id and plain.correction is None
    # the plain run keeps the run id it always had
    assert plain.run_id == make_run_id(tiny_model_spec.fingerprint, plain.corpus_fp, plain.mode, 10)
    assert cd.model_id == f"{tiny_model_spec.model_id} + center-docs"
    assert cd.correction == "center-docs" and cd.correction_of == tiny_model_spec.model_id
    assert cd.model_fp != plain.model_fp and cd.run_id != plain.run_id
    assert cd.headline["multilingual"] != plain.headline["multilingual"]
    ids = {runs[k].run_id for k in ("plain", "center_docs", "center_a", "center_b", "shift_a")}
    assert len(ids) == 5  # method and fit corpus are part of the key
    models = reads.list_models(store=runs["store"]).set_index("model_id")
    row = models.loc[runs["shift_a"].model_id]
    assert row["correction"] == "shift" and row["correction_of"] == tiny_model_spec.model_id
    assert row["correction_fit"] == "sample[articles=4-5]" and row["kind"] == "tiny"


def test_corrected_runs_are_cached_and_reused(runs, monkeypatch) -> None:
    import hybriddash.encoders.corrections as module

    def boom(*a, **k):
        raise AssertionError("refitted a cached correction")

    monkeypatch.setattr(module, "fit_correction", boom)
    again = runs["run"]("center", "sample[articles=4-5]")
    assert again.reused and again.run_id == runs["center_a"].run_id
    assert again.correction_info == runs["center_a"].correction_info
    assert again.correction_fit == "sample[articles=4-5]"


def test_a_fitted_correction_records_what_it_was_fitted_on(runs) -> None:
    info = runs["center_a"].correction_info
    assert info["fit_corpus"] == "sample[articles=4-5]"
    n_fit = len(corr.load_fit_corpus("sample[articles=4-5]").queries)
    assert info["queries_fitted_on"] == f"{n_fit} queries of sample[articles=4-5]"
    assert "candidates being indexed" in info["documents_fitted_on"]
    stored = reads.get_run(runs["center_a"].run_id, store=runs["store"])
    assert json.loads(stored["correction_info"])["fit_corpus_fp"] == info["fit_corpus_fp"]
    shift = runs["shift_a"].correction_info
    assert shift["source_lang"] == "en" and shift["unfitted_langs"] == []


def test_the_guard_flags_a_correction_fitted_on_the_evaluation_groups(runs) -> None:
    assert not runs["center_a"].contaminated and not runs["center_docs"].contaminated
    leaky = runs["run"]("center", "sample")
    assert leaky.contaminated
    assert "correction center(fit=sample) contaminated" in leaky.contamination_note
    leaky_shift = runs["run"]("shift", "sample[articles=2-3]")  # shares articles 2, 3
    assert leaky_shift.contaminated and "parallel group" in leaky_shift.contamination_note


def test_language_preference_rows_are_stored_per_run(runs) -> None:
    from hybriddash.reports.tables import language_preference_table

    ids = [runs["plain"].run_id, runs["center_docs"].run_id]
    table = language_preference_table(ids, store=runs["store"])
    overall = table[table["query_lang"] == "all"].set_index("model_id")
    assert list(overall.index) == [runs["plain"].model_id, runs["center_docs"].model_id]
    assert (table["source"] == "stored").all()
    assert overall["n_queries"].tolist() == [runs["plain"].n_queries] * 2
    assert ((overall["lpr"] >= 0) & (overall["lpr"] <= 1)).all()
    assert overall["mrc_k"].tolist() == [10, 10]


def test_preference_of_an_older_run_is_computed_from_its_stored_ranks(runs) -> None:
    """A run stored before the measures existed (no rows) gets the same numbers."""
    from hybriddash.reports.tables import language_preference_table

    run_id = runs["plain"].run_id
    stored = language_preference_table([run_id], store=runs["store"])
    with runs["store"].write() as con:
        con.execute("DELETE FROM run_language_preference WHERE run_id = ?", [run_id])
    computed = language_preference_table([run_id], store=runs["store"])
    assert (computed["source"] == "computed").all()
    cols = ["lpr", "lpr_chance", "relevant_same", "wrong_same", "wrong_other", "mrc"]
    np.testing.assert_allclose(
        computed[cols].to_numpy(float), stored[cols].to_numpy(float), atol=1e-12
    )


# ---- the command line ---------------------------------------------------------------
def test_cli_correction_flags(tmp_artifacts, tiny_model_spec, capsys) -> None:
    from hybriddash.cli import main

    out = tmp_artifacts / "run.json"
    argv = ["evaluate", "--model", tiny_model_spec.source, "--dataset", "sample"]
    argv += ["--articles", "2", "--k", "5", "--quiet"]
    assert main([*argv, "--correction", "shift", "--fit-on", "sample[articles=3-4]",
                 "--json", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "+ shift(fit=sample[articles=3-4])" in printed
    assert "correct shift on" in printed and "source language en" in printed
    doc = json.loads(out.read_text())
    assert doc["correction"] == "shift" and doc["correction_fit"] == "sample[articles=3-4]"
    assert doc["correction_info"]["fit_corpus"] == "sample[articles=3-4]"
    assert main([*argv, "--correction", "center"]) == 2
    assert "needs --fit-on" in capsys.readouterr().err
    assert main([*argv, "--fit-on", "sample"]) == 2
    assert "--fit-on needs --correction" in capsys.readouterr().err
