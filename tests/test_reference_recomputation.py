"""The shipped reference results, checked against an independent recomputation.

Everything on the "independent" side is plain SQL over the committed parquet files of
``reference/``; it shares no code with ``hybriddash`` (not the store, not the metrics,
not the study report):

- multilingual AP and rank distance of every query, from the committed ranks of its
  relevant candidates in the pooled ranking: ``AP = (1/R) * sum_i i / rank_i`` (``rank_i``
  the i-th smallest relevant rank) and ``rank distance = max rank - min rank``;
- every run's headline, macro-averaged as the paper does: the mean over query languages X
  (monolingual: of mAP(X->X); multilingual: of mAP(X->all); rank distance: of the mean
  over X's queries) or over ordered language pairs X != Y (crosslingual: of mAP(X->Y)),
  each mAP the mean AP over the queries with a relevant candidate in that pool. On
  XQuAD-R (every language has every query) that is the plain mean over queries; on
  MLQA-R (questions exist in 2 to 4 languages) it is not;
- every role's numbers (mean over its seeds of that headline) and every comparison's
  effect (the difference of the two roles' seed means of the headline) and interval: the
  hierarchical bootstrap of docs/results.md redone here with plain loops over resamples
  (group multiplicities and seed draws from the streams the rule names), from the
  per-query rows.

The Findings page, opened on a fresh store that holds only the reference bundle, must show
the same numbers.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from study_toy_store import open_findings

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"
PIECES = REFERENCE / "pieces"

pytestmark = pytest.mark.skipif(
    not (REFERENCE / "manifest.json").exists(), reason="no reference bundle in this checkout"
)


def _files(table: str) -> str:
    """A duckdb list literal of every piece's ``table`` parquet file."""
    paths = sorted(str(p) for p in PIECES.glob(f"*/{table}.parquet"))
    assert paths, f"no {table}.parquet under {PIECES}"
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _sql(sql: str) -> pd.DataFrame:
    with duckdb.connect() as con:
        return con.sql(sql).df()


def _role_of(row: pd.Series) -> str:
    """The page's model label, rebuilt from the committed model fields."""
    correction = row["correction"] if isinstance(row["correction"], str) else ""
    sampler = row["sampler"] if isinstance(row["sampler"], str) else ""
    if not sampler:
        name = "base (no training)"
    elif sampler == "mono":
        name = "X-X-mono"
    elif sampler == "cross":
        name = "X-Y"
    elif math.isclose(float(row["alpha"]), 0.5):
        name = "Hybrid"
    else:
        name = f"Hybrid α={float(row['alpha']):g}"
    return f"{name} + {correction}" if correction else name


def _runs() -> pd.DataFrame:
    """One row per committed run: run_id, eval corpus, role label, seed."""
    runs = _sql(
        f"""
        SELECT DISTINCT r.run_id, r.corpus_name AS eval_dataset, m.sampler, m.alpha,
               r.correction, m.training_card
        FROM read_parquet({_files("runs")}, union_by_name = true) r
        JOIN read_parquet({_files("models")}, union_by_name = true) m USING (model_id)
        """
    )
    runs["label"] = runs.apply(_role_of, axis=1)
    runs["seed"] = [
        json.loads(card)["config"]["seed"] if isinstance(card, str) else -1
        for card in runs["training_card"]
    ]
    return runs.drop(columns=["training_card"])


def _per_query() -> pd.DataFrame:
    """Per run and query: monolingual, crosslingual, multilingual AP and rank distance.

    Also multilingual AP and rank distance recomputed from the committed relevant ranks
    (``*_from_ranks``; NaN for runs whose ranks the bundle does not keep).
    """
    from_ranks = _sql(
        f"""
        WITH ordered AS (
            SELECT run_id, query_id, pooled_rank,
                   row_number() OVER (PARTITION BY run_id, query_id ORDER BY pooled_rank) AS i,
                   count(*) OVER (PARTITION BY run_id, query_id) AS n_relevant
            FROM read_parquet({_files("query_relevant_ranks")})
        )
        SELECT run_id, query_id,
               sum(i / pooled_rank) / any_value(n_relevant) AS multilingual_from_ranks,
               CASE WHEN count(*) > 1 THEN max(pooled_rank) - min(pooled_rank) END
                   AS rank_distance_from_ranks
        FROM ordered GROUP BY run_id, query_id
        """
    )
    stored = _sql(
        f"""
        SELECT run_id, query_id, setting, avg(ap) AS ap
        FROM read_parquet({_files("query_metrics")})
        GROUP BY run_id, query_id, setting
        """
    ).pivot(index=["run_id", "query_id"], columns="setting", values="ap")
    bias = _sql(
        f"SELECT run_id, query_id, rank_distance FROM read_parquet({_files('query_bias')})"
    ).set_index(["run_id", "query_id"])
    return (
        stored.join(bias, how="outer")
        .join(from_ranks.set_index(["run_id", "query_id"]), how="outer")
        .reset_index()
    )


def _macro_headline(run_ids: list[str]) -> pd.DataFrame:
    """Per run: the headline macro-averaged over languages / pairs from per-query rows."""
    ids = "[" + ", ".join("'" + r + "'" for r in run_ids) + "]"
    maps = _sql(
        f"""
        WITH pools AS (
            SELECT run_id, setting, query_lang, cand_lang, avg(ap) AS map
            FROM read_parquet({_files("query_metrics")})
            WHERE list_contains({ids}, run_id)
            GROUP BY run_id, setting, query_lang, cand_lang
        )
        SELECT run_id,
               avg(map) FILTER (WHERE setting = 'monolingual') AS monolingual,
               avg(map) FILTER (WHERE setting = 'crosslingual') AS crosslingual,
               avg(map) FILTER (WHERE setting = 'multilingual') AS multilingual
        FROM pools GROUP BY run_id
        """
    ).set_index("run_id")
    distance = _sql(
        f"""
        WITH languages AS (
            SELECT run_id, query_lang, avg(rank_distance) AS rank_distance
            FROM read_parquet({_files("query_bias")})
            WHERE list_contains({ids}, run_id) AND rank_distance IS NOT NULL
            GROUP BY run_id, query_lang
        )
        SELECT run_id, avg(rank_distance) AS rank_distance FROM languages GROUP BY run_id
        """
    ).set_index("run_id")
    return maps.join(distance)


_MEASURES = ["monolingual", "crosslingual", "multilingual", "rank_distance"]


@pytest.mark.slow  # loads the whole reference bundle and decides every verdict: ~2 min
def test_findings_page_equals_an_independent_recomputation(tmp_path, monkeypatch):
    runs = _runs()
    per_query = _per_query().merge(runs[["run_id", "eval_dataset", "label", "seed"]])
    assert len(per_query) and not per_query["label"].isna().any()
    assert set(per_query["eval_dataset"]) == set(runs["eval_dataset"])

    # the committed per-query metrics agree with the committed ranks, on the runs kept at
    # full detail (the bundle keeps the relevant ranks of one run per strategy)
    ranked = per_query.groupby("run_id")["multilingual_from_ranks"].transform("count") > 0
    with_ranks = per_query[ranked]
    assert with_ranks.groupby("eval_dataset")["run_id"].nunique().min() >= 2
    assert with_ranks["multilingual"].to_numpy() == pytest.approx(
        with_ranks["multilingual_from_ranks"].to_numpy(), abs=1e-9
    )
    assert with_ranks["rank_distance"].isna().equals(with_ranks["rank_distance_from_ranks"].isna())
    both = with_ranks.dropna(subset=["rank_distance"])
    assert (both["rank_distance"] == both["rank_distance_from_ranks"]).all()

    # headline of each run, macro-averaged from its per-query rows; the committed headline
    # rows agree. Runs the bundle keeps at headline detail (corrections of X-X-mono and
    # X-Y, which no verdict compares query by query) have no per-query rows: their
    # committed headline is all there is to show.
    from_queries = _macro_headline(sorted(per_query["run_id"].unique()))
    committed = _sql(f"SELECT * FROM read_parquet({_files('run_headline')})").set_index("run_id")
    assert set(from_queries.index) <= set(committed.index)
    assert len(from_queries) >= len(committed) / 2
    for measure in _MEASURES:
        assert from_queries[measure].to_numpy() == pytest.approx(
            committed.loc[from_queries.index, measure].to_numpy(), abs=1e-9
        ), measure
    # on MLQA-R the macro average is not the plain mean over queries: the check above
    # tells the two apart
    plain = per_query.groupby("run_id")[_MEASURES].mean()
    mlqa = runs.loc[runs["eval_dataset"] == "mlqa-r", "run_id"]
    mlqa = mlqa[mlqa.isin(plain.index)]
    if len(mlqa):
        gap = (plain.loc[mlqa, "monolingual"] - from_queries.loc[mlqa, "monolingual"]).abs()
        assert gap.max() > 1e-4
    headline = pd.concat(
        [from_queries, committed.loc[~committed.index.isin(from_queries.index), _MEASURES]]
    )

    # every role: mean over seeds
    role_means = (
        headline.join(runs.set_index("run_id")[["eval_dataset", "label"]])
        .groupby(["eval_dataset", "label"])[_MEASURES]
        .agg(["mean", "size"])
    )

    at = open_findings(monkeypatch, tmp_path / "hybriddash.duckdb", REFERENCE)
    held = next(d.value for d in at.dataframe if "seeds" in d.value.columns)
    assert len(held) == len(role_means)
    for _, row in held.iterrows():
        expected = role_means.loc[(row["evaluated on"], row["model"])]
        assert row["seeds"] == expected[("multilingual", "size")]
        for shown, measure, digits in (
            ("mono mAP", "monolingual", 3),
            ("cross mAP", "crosslingual", 3),
            ("multi mAP", "multilingual", 3),
            ("rank distance (positions)", "rank_distance", 1),
        ):
            mean_text = row[shown].split(" ± ")[0]
            assert mean_text == f"{expected[(measure, 'mean')]:.{digits}f}", (row["model"], measure)

    # every comparison: effect = difference of the roles' seed means of the headline;
    # interval = the rule's hierarchical bootstrap, redone with loops (below)
    comps = next(d.value for d in at.dataframe if "A vs B" in d.value.columns)
    decided = comps[comps["effect"] != "–"]
    assert len(decided) >= 10
    m = len(decided)  # Bonferroni over the comparisons with data
    cells = _cells(per_query_rows(), runs)
    for _, row in decided.iterrows():
        corpus, (a, b) = row["evaluated on"], row["A vs B"].split(" vs ")
        measure = {v: k for k, v in _MEASURE_LABELS.items()}[row["measure"]]
        unit = "rank positions" if measure == "rank_distance" else "mAP"
        assert row["unit"] == unit
        digits = 1 if unit == "rank positions" else 4
        effect = (
            role_means.loc[(corpus, a), (measure, "mean")]
            - role_means.loc[(corpus, b), (measure, "mean")]
        )
        assert row["effect"] == f"{effect:+.{digits}f}", (row["A vs B"], measure)
        delta = _bootstrap(cells, runs, corpus, a, measure) - _bootstrap(
            cells, runs, corpus, b, measure
        )
        alpha = 0.05 / m
        lo, hi = np.quantile(delta, [alpha, 1 - alpha])
        level = f"{100 * (1 - 2 * alpha):.2f}".rstrip("0").rstrip(".")
        assert row["interval"] == f"{level}% [{lo:+.{digits}f}, {hi:+.{digits}f}]", row["A vs B"]
    verdicts = next(d.value for d in at.dataframe if "decided by" in d.value.columns)
    corpora = sorted(set(runs["eval_dataset"]))
    assert len(verdicts) == 6 * len(corpora)


_MEASURE_LABELS = {
    "monolingual": "monolingual mAP",
    "crosslingual": "cross-lingual mAP",
    "multilingual": "multilingual mAP",
    "rank_distance": "rank distance",
}
N_RESAMPLES = 10_000


def per_query_rows() -> pd.DataFrame:
    """Every committed per-query value: run, group, cell ("X>Y" or X), measure, value."""
    return _sql(
        f"""
        SELECT run_id, group_id, query_lang || '>' || cand_lang AS cell, setting AS measure,
               ap AS value
        FROM read_parquet({_files("query_metrics")}) WHERE ap IS NOT NULL
        UNION ALL
        SELECT b.run_id, m.group_id, b.query_lang AS cell, 'rank_distance' AS measure,
               b.rank_distance::DOUBLE AS value
        FROM read_parquet({_files("query_bias")}) b
        JOIN read_parquet({_files("query_metrics")}) m
          ON m.run_id = b.run_id AND m.query_id = b.query_id AND m.setting = 'multilingual'
        WHERE b.rank_distance IS NOT NULL
        """
    )


def _cells(rows: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """Per corpus: sorted group ids; per (run, measure): group index, cell index, value."""
    rows = rows.merge(runs[["run_id", "eval_dataset"]])
    out: dict = {}
    for corpus, part in rows.groupby("eval_dataset"):
        groups = sorted(part["group_id"].unique())
        out[corpus] = {"groups": groups}
        g_index = {g: i for i, g in enumerate(groups)}
        for (run_id, measure), sub in part.groupby(["run_id", "measure"]):
            cell_names = sorted(sub["cell"].unique())
            c_index = {x: i for i, x in enumerate(cell_names)}
            out[corpus][(run_id, measure)] = (
                np.array([g_index[g] for g in sub["group_id"]]),
                np.array([c_index[x] for x in sub["cell"]]),
                sub["value"].to_numpy(float),
            )
    return out


_DONE: dict = {}


def _bootstrap(cells: dict, runs: pd.DataFrame, corpus: str, label: str, measure: str):
    if (corpus, label, measure) not in _DONE:
        _DONE[(corpus, label, measure)] = _bootstrap_loop(cells, runs, corpus, label, measure)
    return _DONE[(corpus, label, measure)]


def _bootstrap_loop(cells: dict, runs: pd.DataFrame, corpus: str, label: str, measure: str):
    """A role's resampled headline, one resample at a time: resample b takes G groups
    with replacement (row b of ``integers(0, G, (B, G))`` of the corpus's stream) and k
    seeds out of k (row b of ``integers(0, k, (B, k))`` of the (corpus, model) stream);
    the headline is the mean over cells of (weighted AP sum / weighted count)."""
    groups = cells[corpus]["groups"]
    n_groups = len(groups)
    draws = np.random.default_rng([0, zlib.crc32(corpus.encode())]).integers(
        0, n_groups, size=(N_RESAMPLES, n_groups)
    )
    role = runs[(runs["eval_dataset"] == corpus) & (runs["label"] == label)].sort_values("seed")
    k = len(role)
    seeds = np.random.default_rng(
        [0, zlib.crc32(corpus.encode()), zlib.crc32(label.encode())]
    ).integers(0, k, size=(N_RESAMPLES, k))
    per_seed = [cells[corpus][(r, measure)] for r in role["run_id"]]
    out = np.empty(N_RESAMPLES)
    for b in range(N_RESAMPLES):
        weight = np.bincount(draws[b], minlength=n_groups).astype(float)
        values = []
        for g, c, v in per_seed:
            w = weight[g]
            num = np.bincount(c, weights=w * v)
            den = np.bincount(c, weights=w)
            values.append(np.mean(num[den > 0] / den[den > 0]))
        out[b] = np.mean([values[s] for s in seeds[b]])
    return out
