"""The dashboard's page-level queries (hybriddash.reports.tables) on a hand-built store.

Expected values are worked out by hand from the rows in ``dash_toy_store``.
"""

from __future__ import annotations

import pytest
from dash_toy_store import OTHER_FP, TOY_FP, build_toy_store

from hybriddash.reports import tables
from hybriddash.store.db import Store


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_toy_store(tmp_path_factory.mktemp("toy") / "toy.duckdb")


def test_catalogue_lists_corpora_models_and_runs(toy: Store) -> None:
    corpora = tables.corpora_table(store=toy)
    assert set(corpora["corpus_fp"]) == {TOY_FP, OTHER_FP}
    assert corpora.iloc[0]["corpus_fp"] == TOY_FP  # most runs first
    models = tables.models_table(store=toy)
    assert models.iloc[0]["model_id"] == "base"  # the offline base model leads
    assert dict(zip(models["model_id"], models["n_runs"], strict=True))["base"] == 2
    assert len(tables.runs_for("toy", store=toy)) == 3
    assert len(tables.runs_for(TOY_FP, store=toy)) == 3
    assert len(tables.runs_for(store=toy)) == 4
    assert tables.runs_for("toy", [], store=toy).empty


def test_latest_runs_keeps_requested_model_order(toy: Store) -> None:
    runs = tables.latest_runs("toy", ["hybrid", "base"], store=toy)
    assert runs["model_id"].tolist() == ["hybrid", "base"]
    assert runs["run_id"].tolist() == ["run-hybrid", "run-base"]


def test_headline_marks_best_among_uncontaminated_and_deltas(toy: Store) -> None:
    table = tables.headline_table("toy", ["base", "hybrid", "leaky"], baseline="base", store=toy)
    by = table.set_index("model_id")
    assert by.loc["hybrid", "delta_multilingual"] == pytest.approx(0.15)
    assert by.loc["hybrid", "delta_rank_distance"] == pytest.approx(-2.0)
    assert by.loc["base", "delta_monolingual"] == pytest.approx(0.0)
    # leaky has the best numbers but is contaminated: hybrid is marked best
    assert bool(by.loc["leaky", "contaminated"])
    assert not by.loc["leaky", ["best_monolingual", "best_multilingual"]].any()
    assert by.loc["hybrid", "best_multilingual"]
    assert by.loc["hybrid", "best_rank_distance"]  # lower is better
    assert not by.loc["base", "best_rank_distance"]


def test_headline_baseline_outside_selection_still_gives_deltas(toy: Store) -> None:
    table = tables.headline_table("toy", ["hybrid"], baseline="base", store=toy)
    assert table["model_id"].tolist() == ["hybrid"]
    assert table["delta_crosslingual"].iloc[0] == pytest.approx(0.10)
    no_base = tables.headline_table("toy", ["hybrid"], store=toy)
    assert no_base["delta_crosslingual"].isna().all()


def test_pair_matrix_and_difference(toy: Store) -> None:
    pairs = tables.pair_matrix("run-base", store=toy)
    assert len(pairs) == 9 and "all" not in set(pairs["cand_lang"])
    matrix = tables.as_matrix(pairs)
    assert list(matrix.index) == ["de", "en", "zh"] == list(matrix.columns)
    assert matrix.loc["en", "en"] == pytest.approx(0.9)
    assert matrix.loc["en", "zh"] == pytest.approx(0.6)
    pooled = tables.as_matrix(tables.pair_matrix("run-base", include_pooled=True, store=toy))
    assert list(pooled.columns)[-1] == "all"
    diff = tables.pair_difference("run-hybrid", "run-base", store=toy)
    diag = diff[diff["query_lang"] == diff["cand_lang"]]
    off = diff[diff["query_lang"] != diff["cand_lang"]]
    assert diag["diff"].abs().max() == pytest.approx(0.0)
    assert off["diff"].to_numpy() == pytest.approx([0.1] * 6)


def test_pair_difference_refuses_runs_on_different_corpora(toy: Store) -> None:
    with pytest.raises(ValueError, match="different corpora"):
        tables.pair_difference("run-base", "run-other", store=toy)
    with pytest.raises(LookupError, match="run-missing"):
        tables.pair_difference("run-base", "run-missing", store=toy)


def test_lang_share_has_ideal_share_from_relevant_languages(toy: Store) -> None:
    share = tables.lang_share_table("run-base", 1, store=toy)
    en = share[share["query_lang"] == "en"].set_index("cand_lang")
    # en queries: g1 has answers in 3 languages, g2 in 2 -> ideal en = (1/3 + 1/2) / 2
    assert en.loc["en", "ideal_share"] == pytest.approx(5 / 12)
    assert en.loc["zh", "ideal_share"] == pytest.approx(1 / 6)
    assert en["ideal_share"].sum() == pytest.approx(1.0)
    assert en.loc["en", "share"] == pytest.approx(1.0)  # own language always first
    assert en.loc["zh", "share"] == pytest.approx(0.0)  # absent from the top-1: filled with 0
    hybrid = tables.lang_share_table("run-hybrid", 1, store=toy)
    hen = hybrid[hybrid["query_lang"] == "en"].set_index("cand_lang")
    assert hen.loc["de", "share"] == pytest.approx(1.0)
    same = tables.same_language_share("run-hybrid", 1, store=toy).set_index("query_lang")
    assert same.loc["en", "share"] == pytest.approx(0.0)
    assert same.loc["de", "share"] == pytest.approx(1.0)
    assert same.loc["zh", "ideal_share"] == pytest.approx(1 / 3)


def test_lang_share_refuses_k_beyond_stored_top_k(toy: Store) -> None:
    with pytest.raises(ValueError, match="outside 1..3"):
        tables.lang_share_table("run-base", 4, store=toy)


def test_rank_distance_worst_queries_and_hits(toy: Store) -> None:
    dist = tables.rank_distance_distribution(["run-base", "run-hybrid"], store=toy)
    assert len(dist) == 10
    base = dist[dist["run_id"] == "run-base"].set_index("query_id")
    assert base.loc["g1/en", "rank_distance"] == 2 and base.loc["g2/de", "rank_distance"] == 1
    worst = tables.worst_queries("run-base", "en", 1, store=toy)
    assert worst["query_id"].tolist() == ["g2/en"]
    assert worst["ap"].iloc[0] == pytest.approx(0.25)
    assert worst["text"].iloc[0] == "question g2 in en?"
    assert worst["same_lang_rank"].iloc[0] == 1
    hits = tables.query_hits(["run-base", "run-hybrid"], "g1/en", store=toy)
    assert len(hits) == 6
    top = hits[hits["rank"] == 1].set_index("model_id")["candidate_id"]
    assert top.to_dict() == {"base": "g1/en", "hybrid": "g1/de"}
    assert hits["text"].notna().all()
    assert len(tables.query_hits(["run-base"], "g1/en", k=2, store=toy)) == 2
    relevant = tables.query_relevant(["run-base"], "g1/en", store=toy)
    assert relevant["pooled_rank"].tolist() == [1, 2, 3]
    assert tables.corpus_queries("toy", "en", store=toy)["query_id"].tolist() == ["g1/en", "g2/en"]


def test_empty_store_gives_empty_frames(tmp_path) -> None:
    empty = Store(tmp_path / "none.duckdb")
    assert tables.runs_for(store=empty).empty
    assert tables.corpora_table(store=empty).empty
    head = tables.headline_table("toy", store=empty)
    assert head.empty and "best_multilingual" in head.columns


def test_find_corpus_matches_name_or_fingerprint_and_prefers_the_newest_run():
    import pandas as pd

    corpora = pd.DataFrame(
        {
            "corpus_fp": ["aaa", "bbb", "ccc"],
            "name": ["upload:x", "upload:x", "sample"],
            "last_run": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-15"]),
        }
    )
    assert tables.find_corpus(corpora, "upload:x")["corpus_fp"] == "bbb"
    assert tables.find_corpus(corpora, "aaa")["corpus_fp"] == "aaa"
    assert tables.find_corpus(corpora, "sample")["name"] == "sample"
    assert tables.find_corpus(corpora, "missing") is None
    assert tables.find_corpus(corpora, None) is None
