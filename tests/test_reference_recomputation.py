"""The shipped reference results, checked against an independent recomputation.

Everything on the "independent" side is plain SQL over the committed parquet files of
``reference/``; it shares no code with ``hybriddash`` (not the store, not the metrics,
not the study report):

- multilingual AP and rank distance of every query, from the committed ranks of its
  relevant candidates in the pooled ranking: ``AP = (1/R) * sum_i i / rank_i`` (``rank_i``
  the i-th smallest relevant rank) and ``rank distance = max rank - min rank``;
- every run's headline mAP, as the mean over queries of the per-query values;
- every role's numbers (mean over its seeds) and every comparison's effect
  (``mean_q (mean_s A[q, s] - mean_s B[q, s])``), from the per-query rows.

The Findings page, opened on a fresh store that holds only the reference bundle, must show
the same numbers.
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from study_toy_store import open_findings

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"
PIECES = REFERENCE / "pieces"
CORPUS = "xquad-r"

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


def _plotly_values(values) -> list:
    """A trace's x or y: a list, or plotly's typed array ``{dtype, bdata}`` (base64)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


_MEASURES = ["monolingual", "crosslingual", "multilingual", "rank_distance"]


@pytest.mark.slow  # loads the whole reference bundle and decides every verdict: ~2 min
def test_findings_page_equals_an_independent_recomputation(tmp_path, monkeypatch):
    all_runs = _runs()
    # XQuAD-R only: its languages have equal query counts, so a headline is the plain mean
    # over queries. MLQA-R's headline weighs languages differently (a mean over language
    # pairs), which this recomputation does not yet follow.
    runs = all_runs[all_runs["eval_dataset"] == CORPUS]
    per_query = _per_query().merge(runs[["run_id", "eval_dataset", "label", "seed"]])
    assert len(per_query) and not per_query["label"].isna().any()

    # the committed per-query metrics agree with the committed ranks, on the runs kept at
    # full detail (the bundle keeps the relevant ranks of one run per strategy)
    ranked = per_query.groupby("run_id")["multilingual_from_ranks"].transform("count") > 0
    with_ranks = per_query[ranked]
    assert with_ranks["run_id"].nunique() >= 2
    assert with_ranks["multilingual"].to_numpy() == pytest.approx(
        with_ranks["multilingual_from_ranks"].to_numpy(), abs=1e-9
    )
    assert with_ranks["rank_distance"].isna().equals(with_ranks["rank_distance_from_ranks"].isna())
    both = with_ranks.dropna(subset=["rank_distance"])
    assert (both["rank_distance"] == both["rank_distance_from_ranks"]).all()

    # headline of each run = mean over queries; the committed headline rows agree. Runs
    # the bundle keeps at headline detail (corrections of X-X-mono and X-Y, which no
    # verdict compares query by query) have no per-query rows: their committed headline
    # is all there is to show.
    from_queries = per_query.groupby("run_id")[_MEASURES].mean()
    committed = _sql(f"SELECT * FROM read_parquet({_files('run_headline')})").set_index("run_id")
    committed = committed[committed.index.isin(runs["run_id"])]
    assert set(from_queries.index) <= set(committed.index)
    assert len(from_queries) >= len(committed) / 2
    for measure in _MEASURES:
        assert from_queries[measure].to_numpy() == pytest.approx(
            committed.loc[from_queries.index, measure].to_numpy(), abs=1e-9
        ), measure
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
    held = held[held["evaluated on"] == CORPUS]
    assert len(held) == len(role_means)
    for _, row in held.iterrows():
        expected = role_means.loc[(row["evaluated on"], row["model"])]
        assert row["seeds"] == expected[("multilingual", "size")]
        for shown, measure in (
            ("mono mAP", "monolingual"),
            ("cross mAP", "crosslingual"),
            ("multi mAP", "multilingual"),
            ("rank distance", "rank_distance"),
        ):
            assert row[shown] == pytest.approx(expected[(measure, "mean")], abs=1e-9), (
                row["model"],
                measure,
            )

    # every comparison in the effect plots: the paired difference of seed means
    seed_means = per_query.groupby(["eval_dataset", "label", "query_id"])[_MEASURES].mean()
    settings = {
        "monolingual": "monolingual",
        "crosslingual": "crosslingual",
        "multilingual": "multilingual",
        "rank distance": "rank_distance",
    }
    name = re.compile(
        r"^\((?P<claim>[a-f])\) (?P<a>.+) vs (?P<b>.+), (?P<setting>[a-z ]+) · (?P<corpus>.+)$"
    )
    effects: dict[tuple[str, str], list[float]] = {}
    checked = 0
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if not spec["layout"]["title"]["text"].startswith("A minus B"):
            continue
        for trace in spec["data"]:
            for x, y in zip(_plotly_values(trace["x"]), _plotly_values(trace["y"]), strict=True):
                m = name.match(y)
                assert m, y
                if m["corpus"] != CORPUS:
                    continue
                measure = settings[m["setting"]]
                a = seed_means.loc[(m["corpus"], m["a"])][measure]
                b = seed_means.loc[(m["corpus"], m["b"])][measure]
                paired = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
                expected = float((paired["a"] - paired["b"]).mean())
                assert x == pytest.approx(expected, abs=1e-9), y
                effects.setdefault((m["claim"], m["corpus"]), []).append(x)
                checked += 1
    assert checked >= 5

    # the verdict table: one row per claim and corpus; each effect is one of its claim's
    verdicts = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    corpora = sorted(set(all_runs["eval_dataset"]))
    assert len(verdicts) == 6 * len(corpora)
    for _, row in verdicts[verdicts["evaluated on"] == CORPUS].iterrows():
        claim = row["claim"][1]
        if math.isnan(row["effect"]):
            assert row["verdict"] == "inconclusive"
            continue
        shown = effects[(claim, row["evaluated on"])]
        assert any(math.isclose(row["effect"], e, abs_tol=1e-9) for e in shown), row["claim"]
