"""Basic reads from the store; every function returns pandas DataFrames (or dicts).

Each takes ``store=`` (a :class:`~hybriddash.store.db.Store`, ``None`` for the
default store, or an open connection to read inside a write transaction) and opens
one short read-only connection. Page-level tables are built on top of these in
:mod:`hybriddash.reports`. An absent store file reads as empty tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hybriddash.store.db import Store

Source = Store | duckdb.DuckDBPyConnection | None

HEADLINE_COLUMNS = (
    "monolingual",
    "crosslingual",
    "multilingual",
    "rank_distance",
    "ndcg_at_10",
    "recall_at_100",
)


@contextlib.contextmanager
def reading(store: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to read with: ``store``'s own, or a new read-only one."""
    if isinstance(store, duckdb.DuckDBPyConnection):
        yield store
        return
    with (store if isinstance(store, Store) else Store()).read() as con:
        yield con


def _frame(store: Source, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    with reading(store) as con:
        return con.execute(sql, list(params)).df()


def _first_row(frame: pd.DataFrame) -> dict[str, Any] | None:
    return None if frame.empty else frame.iloc[0].to_dict()


# ---- catalogue ---------------------------------------------------------------
def list_models(*, store: Source = None) -> pd.DataFrame:
    """All registered models (``models`` columns), oldest first."""
    return _frame(store, "SELECT * FROM models ORDER BY registered_at, model_id")


def list_corpora(*, store: Source = None) -> pd.DataFrame:
    """All registered corpora (``corpora`` columns), oldest first."""
    return _frame(store, "SELECT * FROM corpora ORDER BY registered_at, name")


def list_runs(
    dataset_id: str | None = None, *, model_id: str | None = None, store: Source = None
) -> pd.DataFrame:
    """Runs with their headline numbers, newest first; optionally one dataset / model."""
    where, params = [], []
    if dataset_id is not None:
        where.append("r.dataset_id = ?")
        params.append(dataset_id)
    if model_id is not None:
        where.append("r.model_id = ?")
        params.append(model_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return _frame(
        store,
        f"SELECT r.*, {', '.join('h.' + c for c in HEADLINE_COLUMNS)} "
        f"FROM runs r LEFT JOIN run_headline h USING (run_id) {clause} "
        "ORDER BY r.created_at DESC, r.run_id",
        params,
    )


def get_run(run_id: str, *, store: Source = None) -> dict[str, Any] | None:
    """The ``runs`` row of ``run_id`` with its headline numbers, or None."""
    return _first_row(
        _frame(
            store,
            f"SELECT r.*, {', '.join('h.' + c for c in HEADLINE_COLUMNS)} "
            "FROM runs r LEFT JOIN run_headline h USING (run_id) WHERE r.run_id = ?",
            [run_id],
        )
    )


def find_run(
    model_fp: str,
    corpus_fp: str,
    mode: str,
    k: int,
    *,
    metrics_version: str | None = None,
    store: Source = None,
) -> dict[str, Any] | None:
    """The stored run of (model fingerprint, corpus fingerprint, encode mode, k), or None.

    With ``metrics_version`` only a run computed by that metrics version counts.
    """
    sql = (
        "SELECT run_id FROM runs WHERE model_fp = ? AND corpus_fp = ? AND encode_mode = ? "
        "AND top_k = ?"
    )
    params: list[Any] = [model_fp, corpus_fp, mode, int(k)]
    if metrics_version is not None:
        sql += " AND metrics_version = ?"
        params.append(metrics_version)
    found = _frame(store, sql + " ORDER BY created_at DESC LIMIT 1", params)
    return None if found.empty else get_run(str(found.iloc[0]["run_id"]), store=store)


# ---- one or more runs --------------------------------------------------------
def headline(run_ids: Sequence[str], *, store: Source = None) -> pd.DataFrame:
    """Headline numbers of ``run_ids`` (in that order) with model and corpus names."""
    if not run_ids:
        return _frame(
            store,
            f"SELECT r.run_id, r.model_id, r.corpus_name, r.dataset_id, r.encode_mode, "
            f"r.contaminated, {', '.join('h.' + c for c in HEADLINE_COLUMNS)} "
            "FROM runs r JOIN run_headline h USING (run_id) WHERE false",
        )
    frame = _frame(
        store,
        f"SELECT r.run_id, r.model_id, r.corpus_name, r.dataset_id, r.encode_mode, "
        f"r.contaminated, {', '.join('h.' + c for c in HEADLINE_COLUMNS)} "
        "FROM runs r JOIN run_headline h USING (run_id) WHERE list_contains(?, r.run_id)",
        [list(run_ids)],
    )
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    return frame.sort_values("run_id", key=lambda s: s.map(order)).reset_index(drop=True)


def pair_metrics(run_id: str, *, store: Source = None) -> pd.DataFrame:
    """``run_pair_metrics`` rows of a run: one per (query_lang, cand_lang), 'all' = pooled."""
    return _frame(
        store,
        "SELECT * FROM run_pair_metrics WHERE run_id = ? ORDER BY query_lang, cand_lang",
        [run_id],
    )


def query_metrics(
    run_id: str,
    *,
    query_lang: str | None = None,
    cand_lang: str | None = None,
    setting: str | None = None,
    store: Source = None,
) -> pd.DataFrame:
    """Per-query metrics of a run, optionally one query language / candidate pool / setting."""
    sql, params = "SELECT * FROM query_metrics WHERE run_id = ?", [run_id]
    for column, value in (
        ("query_lang", query_lang),
        ("cand_lang", cand_lang),
        ("setting", setting),
    ):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    return _frame(store, sql + " ORDER BY query_id, cand_lang", params)


def relevant_ranks(
    run_id: str, *, query_id: str | None = None, store: Source = None
) -> pd.DataFrame:
    """Pooled rank of every relevant candidate (``query_relevant_ranks``) of a run."""
    sql, params = "SELECT * FROM query_relevant_ranks WHERE run_id = ?", [run_id]
    if query_id is not None:
        sql += " AND query_id = ?"
        params.append(query_id)
    return _frame(store, sql + " ORDER BY query_id, pooled_rank", params)


def query_bias(run_id: str, *, store: Source = None) -> pd.DataFrame:
    """Rank distance per query (``query_bias``) of a run."""
    return _frame(store, "SELECT * FROM query_bias WHERE run_id = ? ORDER BY query_id", [run_id])


def query_cell_values(
    run_ids: Sequence[str], measure: str, *, store: Source = None
) -> tuple[list[str], list[str], list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Per-query values of several runs in one headline measure, as integer codes.

    ``measure``: ``monolingual | crosslingual | multilingual`` (AP per query and pool,
    cell ``"<query_lang>><cand_lang>"``) or ``rank_distance`` (per query, cell
    ``<query_lang>``, group id from the run's multilingual rows; NULL left out). Returns
    ``(groups, cells, parts)``: the sorted group ids and cells met, and per run (in
    ``run_ids`` order) ``(group index, cell index, value)`` arrays. Numbers only cross
    from DuckDB, which keeps reading a whole study's rows well under a second.
    """
    if measure == "rank_distance":
        rows = (
            "SELECT r.ri, m.group_id, b.query_lang AS cell, b.rank_distance::DOUBLE AS value "
            "FROM query_bias b JOIN r USING (run_id) JOIN query_metrics m "
            "ON m.run_id = b.run_id AND m.query_id = b.query_id AND m.setting = 'multilingual' "
            "WHERE b.rank_distance IS NOT NULL"
        )
        params: list[Any] = [list(run_ids)]
    else:
        rows = (
            "SELECT r.ri, m.group_id, m.query_lang || '>' || m.cand_lang AS cell, "
            "m.ap AS value FROM query_metrics m JOIN r USING (run_id) "
            "WHERE m.setting = ? AND m.ap IS NOT NULL"
        )
        params = [list(run_ids), measure]
    ctes = (
        "WITH r AS (SELECT run_id, ri - 1 AS ri FROM "
        "(SELECT unnest(?::VARCHAR[]) AS run_id, unnest(range(1, len(?::VARCHAR[]) + 1)) AS ri)), "
        f"q AS ({rows}), "
        "g AS (SELECT group_id, row_number() OVER (ORDER BY group_id) - 1 AS gi "
        "FROM (SELECT DISTINCT group_id FROM q)), "
        "c AS (SELECT cell, row_number() OVER (ORDER BY cell) - 1 AS ci "
        "FROM (SELECT DISTINCT cell FROM q)) "
    )
    params = [list(run_ids), *params]
    with reading(store) as con:
        groups = [
            r[0]
            for r in con.execute(ctes + "SELECT group_id FROM g ORDER BY gi", params).fetchall()
        ]
        cells = [
            r[0] for r in con.execute(ctes + "SELECT cell FROM c ORDER BY ci", params).fetchall()
        ]
        got = con.execute(
            ctes + "SELECT ri, gi, ci, value FROM q JOIN g USING (group_id) JOIN c USING (cell) "
            "ORDER BY ri",
            params,
        ).fetchnumpy()
    ri = np.asarray(got["ri"], dtype=np.int64)
    bounds = np.searchsorted(ri, np.arange(len(run_ids) + 1))
    gi, ci = np.asarray(got["gi"], dtype=np.int64), np.asarray(got["ci"], dtype=np.int64)
    value = np.asarray(got["value"], dtype=np.float64)
    parts = [(gi[a:b], ci[a:b], value[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return groups, cells, parts


def topk_hits(run_id: str, query_id: str, *, store: Source = None) -> pd.DataFrame:
    """The stored pooled top-k of one query, best first, with candidate texts.

    Columns: rank, candidate_id, cand_lang, score, relevant, text.
    """
    return _frame(
        store,
        "SELECT t.rank, t.candidate_id, t.cand_lang, t.score, t.relevant, c.text "
        "FROM topk_hits t JOIN runs r USING (run_id) "
        "LEFT JOIN corpus_candidates c ON c.corpus_fp = r.corpus_fp "
        "AND c.candidate_id = t.candidate_id "
        "WHERE t.run_id = ? AND t.query_id = ? ORDER BY t.rank",
        [run_id, query_id],
    )


def lang_share(run_id: str, k: int | None = None, *, store: Source = None) -> pd.DataFrame:
    """Share of each candidate language in the pooled top-k per query language.

    All k = 1..top_k, or one ``k``. Columns: query_lang, k, cand_lang, share.
    """
    sql, params = (
        "SELECT query_lang, k, cand_lang, share FROM run_lang_share WHERE run_id = ?",
        [run_id],
    )
    if k is not None:
        sql += " AND k = ?"
        params.append(int(k))
    return _frame(store, sql + " ORDER BY query_lang, k, cand_lang", params)


# ---- corpora and models ------------------------------------------------------
def corpus_queries(
    corpus_fp: str, *, lang: str | None = None, store: Source = None
) -> pd.DataFrame:
    """Stored query texts of a corpus (query_id, lang, group_id, text)."""
    sql, params = (
        "SELECT query_id, lang, group_id, text FROM corpus_queries WHERE corpus_fp = ?",
        [corpus_fp],
    )
    if lang is not None:
        sql += " AND lang = ?"
        params.append(lang)
    return _frame(store, sql + " ORDER BY query_id", params)


def training_groups(model_id: str, *, store: Source = None) -> pd.DataFrame:
    """Groups and question-text hashes a model was trained on (group_id, text_hash)."""
    return _frame(
        store,
        "SELECT group_id, text_hash FROM model_training_groups WHERE model_id = ? "
        "ORDER BY group_id, text_hash",
        [model_id],
    )


def training_curves(model_ids: Sequence[str], *, store: Source = None) -> pd.DataFrame:
    """Training curves of ``model_ids``: model_id, step, split, metric, value, elapsed_s.

    ``split`` is ``train`` or ``validation``; ``metric`` is ``loss`` or
    ``map_multilingual`` (see :mod:`hybriddash.training.curves`). Models trained before
    curves were recorded (or files of schema version 1 not yet upgraded) have no rows.
    """
    columns = ["model_id", "step", "split", "metric", "value", "elapsed_s"]
    if not model_ids:
        return pd.DataFrame(columns=columns)
    with reading(store) as con:
        has_table = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'training_curves'"
        ).fetchone()[0]
        if not has_table:
            return pd.DataFrame(columns=columns)
        return con.execute(
            f"SELECT {', '.join(columns)} FROM training_curves WHERE model_id IN "
            f"({', '.join('?' * len(model_ids))}) ORDER BY model_id, split, metric, step",
            list(model_ids),
        ).df()


# ---- issue 23: bitext accuracy, language-ID probe ------------------------------------
def bitext_accuracy(run_id: str, *, store: Source = None) -> pd.DataFrame:
    """P@1 per cross-lingual pair of a run (``run_bitext_accuracy``): query_lang,
    cand_lang, accuracy, n_queries; empty for a run stored before schema 5."""
    return _frame(
        store,
        "SELECT query_lang, cand_lang, accuracy, n_queries FROM run_bitext_accuracy "
        "WHERE run_id = ? ORDER BY query_lang, cand_lang",
        [run_id],
    )


def language_probe(run_id: str, *, store: Source = None) -> pd.DataFrame:
    """Language-ID probe of a run (``run_language_probe``): lang ('all' = overall),
    accuracy, chance, n_samples, n_folds; empty for a run stored before schema 5."""
    return _frame(
        store,
        "SELECT lang, accuracy, chance, n_samples, n_folds FROM run_language_probe "
        "WHERE run_id = ? ORDER BY lang = 'all' DESC, lang",
        [run_id],
    )


def language_probe_items(run_id: str, *, store: Source = None) -> pd.DataFrame:
    """The probe's items of a run (``run_language_probe_items``): item_id, lang,
    group_id, correct; empty for a run stored before schema 6 or at headline detail."""
    return _frame(
        store,
        "SELECT item_id, lang, group_id, correct FROM run_language_probe_items "
        "WHERE run_id = ? ORDER BY item_id",
        [run_id],
    )
