"""Page-level queries over the store: every dashboard view and every export is one of these.

Each function is one read of the DuckDB store (schema: ``hybriddash/store/schema.sql``)
returning a :class:`pandas.DataFrame` with documented columns. Pages draw these frames;
exports write them. Nothing here encodes text or ranks candidates: the numbers come from
the evaluation run that wrote the store; this module only selects, joins and compares.

Conventions (as in the schema): language codes are canonical; ranks are 1-based;
mAP/AP/share values are in [0, 1]; ``cand_lang = 'all'`` is the pooled (multilingual)
candidate set. A *corpus reference* is a corpus fingerprint (``corpora.corpus_fp``) or a
corpus name (``corpora.name``, e.g. ``xquad-r`` or ``xquad-r[en,de;articles=4]``).

Corrected encoders (``"<model> + <correction>"``, :mod:`hybriddash.encoders.corrections`)
are models like any other here: their runs carry the corrected id in ``model_id``, so
every table has a row for them; ``correction`` / ``correction_of`` / ``correction_fit``
columns say which correction of which model, fitted on what.

Every function takes an optional ``store``: any object whose ``read()`` is a context
manager yielding a read-only DuckDB connection (:class:`hybriddash.store.db.Store`);
``None`` opens the configured store (``HYBRIDDASH_STORE``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import pandas as pd

# Headline measures and their direction: True when higher is better.
HEADLINE_METRICS: dict[str, bool] = {
    "monolingual": True,
    "crosslingual": True,
    "multilingual": True,
    "rank_distance": False,
    "ndcg_at_10": True,
    "recall_at_100": True,
}


class ReadableStore(Protocol):
    """What this module needs from a store: a read-only connection per query."""

    def read(self) -> Any:  # a context manager yielding a duckdb.DuckDBPyConnection
        ...


class StoreEmptyError(LookupError):
    """The store does not exist yet or holds nothing for the requested item."""


def open_store(path: str | None = None) -> ReadableStore:
    """The store at ``path`` (default: the configured ``HYBRIDDASH_STORE``)."""
    from hybriddash.store.db import Store

    return Store(path) if path is not None else Store()


@contextmanager
def _connection(store: ReadableStore | None) -> Iterator[Any]:
    with (store if store is not None else open_store()).read() as con:
        yield con


def _frame(store: ReadableStore | None, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    with _connection(store) as con:
        return con.execute(sql, list(params)).df()


# ---------------------------------------------------------------------------
# catalogue: corpora, models, runs
# ---------------------------------------------------------------------------


def corpora_table(store: ReadableStore | None = None) -> pd.DataFrame:
    """Corpora that have at least one run, most used first.

    Columns: ``corpus_fp, dataset_id, name, languages (list[str]), n_queries,
    n_candidates, subset (JSON text), n_runs, last_run``.
    """
    return _frame(
        store,
        """
        SELECT c.corpus_fp, c.dataset_id, c.name, c.languages, c.n_queries, c.n_candidates,
               CAST(c.subset AS VARCHAR) AS subset,
               count(r.run_id) AS n_runs, max(r.created_at) AS last_run
        FROM corpora c JOIN runs r USING (corpus_fp)
        GROUP BY ALL
        ORDER BY n_runs DESC, c.name
        """,
    )


def find_corpus(corpora: pd.DataFrame, ref: str | None) -> pd.Series | None:
    """The row of ``corpora`` (a :func:`corpora_table` frame) that ``ref`` names.

    ``ref`` is a fingerprint or a name. A name can cover several fingerprints (an
    upload re-imported with new content keeps its name); then the corpus with the
    newest run wins, so one view never mixes runs on different corpora. None when
    nothing matches.
    """
    if not ref or corpora.empty:
        return None
    hits = corpora[(corpora["corpus_fp"] == ref) | (corpora["name"] == ref)]
    if hits.empty:
        return None
    return hits.sort_values("last_run", ascending=False).iloc[0]


def resolve_corpus(ref: str, *, store: ReadableStore | None = None) -> tuple[str, str]:
    """``(corpus_fp, name)`` of a corpus given by fingerprint or name (see :func:`find_corpus`).

    Raises ``LookupError`` when no evaluated corpus matches.
    """
    corpora = corpora_table(store=store)
    row = find_corpus(corpora, ref)
    if row is None:
        known = ", ".join(sorted(set(corpora["name"]))) or "none"
        raise LookupError(f"no evaluated corpus {ref!r} in the store (evaluated: {known})")
    return str(row["corpus_fp"]), str(row["name"])


def models_table(store: ReadableStore | None = None) -> pd.DataFrame:
    """Every model the store knows, with its training card (JSON text) and run count.

    Columns: ``model_id, kind, description, sampler, alpha, base_model_id,
    train_dataset, fingerprint, source, training_card, correction, correction_of,
    correction_fit, n_runs`` (``correction`` NULL for plain models; a corrected encoder
    is listed right after its uncorrected model).
    """
    return _frame(
        store,
        """
        SELECT m.model_id, m.kind, m.description, m.sampler, m.alpha, m.base_model_id,
               m.train_dataset, m.fingerprint, m.source,
               CAST(m.training_card AS VARCHAR) AS training_card,
               m.correction, m.correction_of, m.correction_fit,
               (SELECT count(*) FROM runs r WHERE r.model_id = m.model_id) AS n_runs
        FROM models m
        LEFT JOIN models u ON u.model_id = m.correction_of
        ORDER BY (m.kind = 'offline-base') DESC,
                 coalesce(u.registered_at, m.registered_at), m.correction IS NOT NULL,
                 m.registered_at, m.model_id
        """,
    )


_CORRECTION_COLUMNS = ["correction", "correction_of", "correction_fit"]


def _corpus_filter(corpus: str | None, alias: str = "r") -> tuple[str, list[Any]]:
    if corpus is None:
        return "TRUE", []
    return f"({alias}.corpus_fp = ? OR {alias}.corpus_name = ?)", [corpus, corpus]


def runs_for(
    corpus: str | None = None,
    model_ids: Sequence[str] | None = None,
    *,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """Runs on a corpus (fingerprint or name; ``None`` = every corpus), newest first.

    Columns: ``run_id, model_id, kind, sampler, alpha, dataset_id, corpus_fp,
    corpus_name, encode_mode, top_k, n_queries, n_candidates, contaminated,
    contamination_note, wall_seconds, created_at, correction, correction_of,
    correction_fit``.
    """
    where, params = _corpus_filter(corpus)
    if model_ids is not None:
        if model_ids:
            where += " AND r.model_id IN (SELECT unnest(?))"
            params.append(list(model_ids))
        else:
            where += " AND FALSE"
    return _frame(
        store,
        f"""
        SELECT r.run_id, r.model_id, m.kind, m.sampler, m.alpha, r.dataset_id, r.corpus_fp,
               r.corpus_name, r.encode_mode, r.top_k, r.n_queries, r.n_candidates,
               r.contaminated, r.contamination_note, r.wall_seconds, r.created_at,
               r.correction, r.correction_of, r.correction_fit
        FROM runs r LEFT JOIN models m USING (model_id)
        WHERE {where}
        ORDER BY r.created_at DESC, r.run_id
        """,
        params,
    )


def latest_runs(
    corpus: str,
    model_ids: Sequence[str] | None = None,
    *,
    encode_mode: str | None = None,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """One run per model on ``corpus``: the newest (optionally of one ``encode_mode``).

    Same columns as :func:`runs_for`, ordered as ``model_ids`` when given.
    """
    runs = runs_for(corpus, model_ids, store=store)
    if encode_mode is not None:
        runs = runs[runs["encode_mode"] == encode_mode]
    runs = runs.drop_duplicates("model_id", keep="first")  # runs_for sorts newest first
    if model_ids is not None:
        order = {m: i for i, m in enumerate(model_ids)}
        runs = runs.sort_values("model_id", key=lambda s: s.map(order))
    return runs.reset_index(drop=True)


# ---------------------------------------------------------------------------
# headline table
# ---------------------------------------------------------------------------


def headline_table(
    corpus: str,
    model_ids: Sequence[str] | None = None,
    baseline: str | None = None,
    *,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """Headline numbers per model on one corpus, with deltas against a baseline model.

    One row per model (its newest run on the corpus). Measures, as stored by the
    evaluation (macro-averages, see ``run_headline`` in the schema):
    ``monolingual`` = mean over X of mAP(X->X); ``crosslingual`` = mean over X != Y of
    mAP(X->Y); ``multilingual`` = mean over X of mAP(X->all); ``rank_distance`` = mean
    over X of the mean over X's queries of (lowest - highest pooled rank of a relevant
    candidate), lower is better; ``ndcg_at_10`` and ``recall_at_100`` in the pooled set.

    Extra columns:

    - ``delta_<measure>`` = value - baseline's value (``NaN`` without a baseline or
      when the baseline has no run on the corpus). For rank distance a negative delta
      is an improvement.
    - ``best_<measure>``: True on the best row (max, or min for rank distance) among the
      runs **not** flagged as contaminated — a model trained on the evaluation data
      cannot be the best honest result. Ties mark every tied row.
    - ``contaminated`` / ``contamination_note`` from the run.

    Columns: ``model_id, kind, sampler, alpha, run_id, encode_mode, n_queries,
    contaminated, contamination_note, correction, correction_of, correction_fit,
    <measures>, delta_<measures>, best_<measures>``. A corrected encoder is a row of its
    own (``model_id`` ``"<model> + <correction>"``).
    """
    runs = latest_runs(corpus, model_ids, store=store)
    if baseline is not None and (model_ids is not None and baseline not in model_ids):
        base_run = latest_runs(corpus, [baseline], store=store)
        runs_all = pd.concat([runs, base_run], ignore_index=True)
    else:
        runs_all = runs
    measures = list(HEADLINE_METRICS)
    if runs_all.empty:
        cols = ["model_id", "kind", "sampler", "alpha", "run_id", "encode_mode", "n_queries"]
        cols += ["contaminated", "contamination_note", *_CORRECTION_COLUMNS, *measures]
        cols += [f"delta_{m}" for m in measures] + [f"best_{m}" for m in measures]
        return pd.DataFrame(columns=cols)
    numbers = _frame(
        store,
        f"SELECT run_id, {', '.join(measures)} FROM run_headline WHERE run_id IN (SELECT unnest(?))",
        [runs_all["run_id"].tolist()],
    )
    table = runs_all[
        ["model_id", "kind", "sampler", "alpha", "run_id", "encode_mode", "n_queries"]
        + ["contaminated", "contamination_note", *_CORRECTION_COLUMNS]
    ].merge(numbers, on="run_id", how="left")
    base_row = table[table["model_id"] == baseline] if baseline is not None else table.iloc[0:0]
    for m in measures:
        ref = base_row[m].iloc[0] if len(base_row) else float("nan")
        table[f"delta_{m}"] = table[m] - ref
    clean = table[~table["contaminated"].fillna(False).astype(bool)]
    for m, higher in HEADLINE_METRICS.items():
        values = clean[m].dropna()
        if values.empty:
            table[f"best_{m}"] = False
            continue
        best = values.max() if higher else values.min()
        table[f"best_{m}"] = (table[m] == best) & ~table["contaminated"].fillna(False).astype(bool)
    if model_ids is not None:
        table = table[table["model_id"].isin(model_ids)]
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------------
# language pairs
# ---------------------------------------------------------------------------


def pair_matrix(
    run_id: str, *, include_pooled: bool = False, store: ReadableStore | None = None
) -> pd.DataFrame:
    """mAP per (query language, candidate language) of one run, long form.

    Columns: ``query_lang, cand_lang, setting, map, ndcg_at_10, recall_at_100,
    n_queries``; ``setting`` is monolingual (X->X), crosslingual (X->Y) or, with
    ``include_pooled``, multilingual (``cand_lang = 'all'``). Sorted by languages.
    """
    pooled = "" if include_pooled else "AND cand_lang <> 'all'"
    return _frame(
        store,
        f"""
        SELECT query_lang, cand_lang, setting, map, ndcg_at_10, recall_at_100, n_queries
        FROM run_pair_metrics WHERE run_id = ? {pooled}
        ORDER BY query_lang, cand_lang = 'all', cand_lang
        """,
        [run_id],
    )


def as_matrix(pairs: pd.DataFrame, value: str = "map") -> pd.DataFrame:
    """Pivot a long pair frame to query languages (rows) x candidate languages (columns).

    Rows and columns share one sorted language order so the diagonal is monolingual;
    a pooled ``'all'`` column, if present, comes last. Missing pairs are ``NaN``.
    """
    if pairs.empty:
        return pd.DataFrame()
    matrix = pairs.pivot(index="query_lang", columns="cand_lang", values=value)
    langs = sorted(set(matrix.index) | (set(matrix.columns) - {"all"}))
    cols = langs + (["all"] if "all" in matrix.columns else [])
    return matrix.reindex(index=langs, columns=cols)


def pair_difference(
    run_a: str, run_b: str, *, include_pooled: bool = False, store: ReadableStore | None = None
) -> pd.DataFrame:
    """Per-pair mAP of two runs on the same corpus and their difference ``a - b``.

    Columns: ``query_lang, cand_lang, setting, map_a, map_b, diff, n_queries``; only
    pairs both runs have. Raises ``ValueError`` when the runs are on different corpora
    (their pairs would not measure the same queries).
    """
    corpora = _frame(
        store, "SELECT run_id, corpus_fp FROM runs WHERE run_id IN (?, ?)", [run_a, run_b]
    )
    found = dict(zip(corpora["run_id"], corpora["corpus_fp"], strict=True))
    for run in (run_a, run_b):
        if run not in found:
            raise StoreEmptyError(f"run {run!r} is not in the store (table runs)")
    if found[run_a] != found[run_b]:
        raise ValueError(
            f"runs {run_a!r} and {run_b!r} were evaluated on different corpora "
            f"({found[run_a]} vs {found[run_b]}); a pairwise difference needs the same corpus"
        )
    a = pair_matrix(run_a, include_pooled=include_pooled, store=store)
    b = pair_matrix(run_b, include_pooled=include_pooled, store=store)
    both = a.merge(
        b[["query_lang", "cand_lang", "map"]], on=["query_lang", "cand_lang"], suffixes=("_a", "_b")
    )
    both["diff"] = both["map_a"] - both["map_b"]
    return both[["query_lang", "cand_lang", "setting", "map_a", "map_b", "diff", "n_queries"]]


# ---------------------------------------------------------------------------
# top-k language dominance
# ---------------------------------------------------------------------------


def _check_k(run_id: str, k: int, store: ReadableStore | None) -> None:
    top = _frame(store, "SELECT top_k FROM runs WHERE run_id = ?", [run_id])
    if top.empty:
        raise StoreEmptyError(f"run {run_id!r} is not in the store (table runs)")
    top_k = int(top["top_k"].iloc[0])
    if not 1 <= k <= top_k:
        raise ValueError(f"k={k} is outside 1..{top_k}, the top-k stored for run {run_id!r}")


_IDEAL_SHARE_SQL = """
    -- ideal share of candidate language L for query language X: the fraction of each
    -- X query's relevant candidates that are in L, averaged over X's queries
    WITH per_query AS (
        SELECT query_id, query_lang, cand_lang, count(*) AS n_lang,
               sum(count(*)) OVER (PARTITION BY query_id) AS n_rel
        FROM query_relevant_ranks WHERE run_id = ?
        GROUP BY query_id, query_lang, cand_lang
    ),
    n_queries AS (
        SELECT query_lang, count(DISTINCT query_id) AS nq FROM per_query GROUP BY query_lang
    )
    SELECT p.query_lang, p.cand_lang, sum(p.n_lang / p.n_rel) / any_value(n.nq) AS ideal_share
    FROM per_query p JOIN n_queries n USING (query_lang)
    GROUP BY p.query_lang, p.cand_lang
"""


def lang_share_table(run_id: str, k: int, *, store: ReadableStore | None = None) -> pd.DataFrame:
    """Which candidate languages fill the pooled top-k, per query language.

    ``share`` (from ``run_lang_share``) = fraction of the top-k slots of a query held by
    candidates in ``cand_lang``, averaged over the queries of ``query_lang``; the shares
    of one query language sum to 1. ``ideal_share`` = fraction of the query's relevant
    candidates that are in ``cand_lang``, averaged over the same queries: in a parallel
    corpus with one answer per language it is 1 / n_languages — what an encoder with no
    language preference would show. ``excess = share - ideal_share``.

    Columns: ``query_lang, cand_lang, share, ideal_share, excess``; no rows for a run
    stored without its shares (a reference run at the ``verdicts`` detail level), never
    shares of 0. Raises ``ValueError`` when ``k`` is outside 1..top_k of the run.
    """
    _check_k(run_id, k, store)
    return _frame(
        store,
        f"""
        WITH ideal AS ({_IDEAL_SHARE_SQL}),
        share AS (
            SELECT query_lang, cand_lang, share FROM run_lang_share WHERE run_id = ? AND k = ?
        )
        SELECT query_lang, cand_lang, coalesce(s.share, 0.0) AS share,
               coalesce(i.ideal_share, 0.0) AS ideal_share,
               coalesce(s.share, 0.0) - coalesce(i.ideal_share, 0.0) AS excess
        FROM share s FULL OUTER JOIN ideal i USING (query_lang, cand_lang)
        WHERE EXISTS (SELECT 1 FROM run_lang_share WHERE run_id = ?)
        ORDER BY query_lang, cand_lang
        """,
        [run_id, run_id, k, run_id],
    )


#: How :func:`group_shares` groups candidate languages.
SHARE_GROUPINGS = ("language", "script", "own")


def group_shares(shares: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`lang_share_table` rows with the candidate languages grouped: ``language``
    (as they are), ``script`` (:func:`hybriddash.languages.script_of`: Latin, Cyrillic,
    Arabic, ...) or ``own`` ("own language" = the query's, "other languages").

    ``share`` and ``ideal_share`` of a group = the sum over its languages (shares of one
    query language still sum to 1); ``excess = share - ideal_share``; ``languages`` =
    the group's codes. Columns: ``query_lang, cand_lang`` (the group), ``share,
    ideal_share, excess, languages``.
    """
    from hybriddash.languages import script_of

    if by not in SHARE_GROUPINGS:
        raise ValueError(f"grouping {by!r} not one of {', '.join(SHARE_GROUPINGS)}")
    frame = shares.copy()
    if by == "language":
        return frame.assign(languages=frame["cand_lang"])
    if by == "script":
        group = frame["cand_lang"].map(script_of)
    else:
        group = (frame["cand_lang"] == frame["query_lang"]).map(
            {True: "own language", False: "other languages"}
        )
    out = (
        frame.assign(group=group)
        .groupby(["query_lang", "group"], as_index=False)
        .agg(
            share=("share", "sum"),
            ideal_share=("ideal_share", "sum"),
            languages=("cand_lang", lambda c: ", ".join(sorted(c))),
        )
        .rename(columns={"group": "cand_lang"})
    )
    out["excess"] = out["share"] - out["ideal_share"]
    return out[["query_lang", "cand_lang", "share", "ideal_share", "excess", "languages"]]


def same_language_share(run_id: str, k: int, *, store: ReadableStore | None = None) -> pd.DataFrame:
    """Same-language share@k per query language: top-k slots held by the query's language.

    ``share`` = ``run_lang_share`` at ``cand_lang = query_lang``; ``ideal_share`` as in
    :func:`lang_share_table`. A share far above the ideal means the encoder prefers
    candidates in the query's own language (the bias hybrid batches aim to reduce).

    Columns: ``query_lang, share, ideal_share``.
    """
    table = lang_share_table(run_id, k, store=store)
    same = table[table["query_lang"] == table["cand_lang"]]
    return same[["query_lang", "share", "ideal_share"]].reset_index(drop=True)


def rank_distance_distribution(
    run_ids: Sequence[str], *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """Per-query rank distance of the given runs (pooled setting; lower is better).

    ``rank_distance`` = pooled rank of the query's lowest-ranked relevant candidate minus
    that of its highest-ranked one (0 when all relevant candidates are adjacent at the top,
    or when the query has a single relevant candidate).

    Columns: ``run_id, model_id, query_id, query_lang, rank_distance``.
    """
    return _frame(
        store,
        """
        SELECT b.run_id, r.model_id, b.query_id, b.query_lang, b.rank_distance
        FROM query_bias b JOIN runs r USING (run_id)
        WHERE b.run_id IN (SELECT unnest(?))
        ORDER BY r.model_id, b.query_lang, b.query_id
        """,
        [list(run_ids)],
    )


def worst_queries(
    run_id: str, query_lang: str, n: int = 10, *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """The ``n`` queries of ``query_lang`` with the lowest multilingual (pooled) AP.

    Ties in AP are broken by larger rank distance first, then query id. Columns:
    ``query_id, group_id, text, ap, first_relevant_rank, n_relevant, rank_distance,
    same_lang_rank`` (pooled rank of the relevant candidate in the query's own language).
    """
    return _frame(
        store,
        """
        SELECT m.query_id, m.group_id, q.text, m.ap, m.first_relevant_rank, m.n_relevant,
               b.rank_distance, s.pooled_rank AS same_lang_rank
        FROM query_metrics m
        JOIN runs r ON r.run_id = m.run_id
        LEFT JOIN corpus_queries q ON q.corpus_fp = r.corpus_fp AND q.query_id = m.query_id
        LEFT JOIN query_bias b ON b.run_id = m.run_id AND b.query_id = m.query_id
        LEFT JOIN (
            SELECT query_id, min(pooled_rank) AS pooled_rank FROM query_relevant_ranks
            WHERE run_id = ? AND cand_lang = query_lang GROUP BY query_id
        ) s ON s.query_id = m.query_id
        WHERE m.run_id = ? AND m.query_lang = ? AND m.cand_lang = 'all'
        ORDER BY m.ap ASC, b.rank_distance DESC NULLS LAST, m.query_id
        LIMIT ?
        """,
        [run_id, run_id, query_lang, int(n)],
    )


# ---------------------------------------------------------------------------
# query explorer
# ---------------------------------------------------------------------------


def corpus_queries(
    corpus: str, lang: str | None = None, *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """Queries of a corpus (fingerprint or name), optionally of one language.

    Columns: ``query_id, lang, group_id, text``, sorted by group then language.
    """
    where = "AND q.lang = ?" if lang is not None else ""
    params: list[Any] = [corpus, corpus] + ([lang] if lang is not None else [])
    return _frame(
        store,
        f"""
        SELECT q.query_id, q.lang, q.group_id, q.text
        FROM corpus_queries q
        WHERE q.corpus_fp IN (SELECT corpus_fp FROM corpora WHERE corpus_fp = ? OR name = ?)
        {where}
        ORDER BY q.group_id, q.lang
        """,
        params,
    )


def query_hits(
    run_ids: Sequence[str],
    query_id: str,
    *,
    k: int | None = None,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """The stored pooled top-k of one query for each run, with candidate texts.

    Columns: ``run_id, model_id, rank, candidate_id, cand_lang, score, relevant, text``
    (``score`` is the cosine similarity the run ranked by; ``relevant`` from the corpus
    judgements). ``k`` cuts each list to its first ``k`` ranks.
    """
    cut = "AND h.rank <= ?" if k is not None else ""
    params: list[Any] = [list(run_ids), query_id] + ([int(k)] if k is not None else [])
    return _frame(
        store,
        f"""
        SELECT h.run_id, r.model_id, h.rank, h.candidate_id, h.cand_lang, h.score, h.relevant,
               c.text
        FROM topk_hits h
        JOIN runs r ON r.run_id = h.run_id
        LEFT JOIN corpus_candidates c
               ON c.corpus_fp = r.corpus_fp AND c.candidate_id = h.candidate_id
        WHERE h.run_id IN (SELECT unnest(?)) AND h.query_id = ? {cut}
        ORDER BY r.model_id, h.rank
        """,
        params,
    )


def query_relevant(
    run_ids: Sequence[str], query_id: str, *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """Where each relevant candidate of a query landed in the pooled ranking, per run.

    Columns: ``run_id, model_id, candidate_id, cand_lang, pooled_rank, text``; shows the
    relevant candidates that fell outside the stored top-k too.
    """
    return _frame(
        store,
        """
        SELECT q.run_id, r.model_id, q.candidate_id, q.cand_lang, q.pooled_rank, c.text
        FROM query_relevant_ranks q
        JOIN runs r ON r.run_id = q.run_id
        LEFT JOIN corpus_candidates c
               ON c.corpus_fp = r.corpus_fp AND c.candidate_id = q.candidate_id
        WHERE q.run_id IN (SELECT unnest(?)) AND q.query_id = ?
        ORDER BY r.model_id, q.pooled_rank
        """,
        [list(run_ids), query_id],
    )


# ---------------------------------------------------------------------------
# query-language preference (MLAIRE) and rank agreement (MultiEuP-v2)
# ---------------------------------------------------------------------------


def language_preference_table(
    run_ids: Sequence[str], *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """Language Preference Rate, top-1 split and Mean Rank Correlation of each run.

    One row per (run, query language) plus a ``query_lang = 'all'`` row per run (see
    :func:`hybriddash.metrics.settings.language_preference_table` for the definitions:
    ``lpr`` = share of queries whose own-language answer is ranked above its
    translations, ``lpr_chance`` what a ranking indifferent to language gives; the
    top-1 split ``relevant_same, relevant_other, wrong_same`` (query-language preference
    failure), ``wrong_other`` (semantic failure); ``mrc`` = mean Kendall tau-b of the
    top-``mrc_k`` lists of parallel queries, 1 = the same ranking whatever the query
    language). Runs evaluated before these measures existed have no stored rows: theirs
    are computed here from the stored ranks and top-k lists with the same functions
    (``source = 'computed'``, else ``'stored'``).

    Columns: ``run_id, model_id, query_lang, lpr, lpr_chance, n_lpr, relevant_same,
    relevant_other, wrong_same, wrong_other, n_queries, mrc, n_mrc_pairs, mrc_k, source``.
    """
    from hybriddash.metrics.settings import LANG_PREF_COLUMNS

    run_ids = list(dict.fromkeys(run_ids))
    stored = _frame(
        store,
        f"""
        SELECT p.run_id, r.model_id, {", ".join("p." + c for c in LANG_PREF_COLUMNS)}
        FROM run_language_preference p JOIN runs r USING (run_id)
        WHERE p.run_id IN (SELECT unnest(?))
        """,
        [run_ids],
    ).assign(source="stored")
    frames = [stored]
    for run_id in run_ids:
        if run_id in set(stored["run_id"]):
            continue
        computed = _computed_language_preference(run_id, store)
        if computed is not None:
            frames.append(computed.assign(source="computed"))
    columns = ["run_id", "model_id", *LANG_PREF_COLUMNS, "source"]
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    if out.empty:
        return pd.DataFrame(columns=columns)
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    out = out.assign(_run=out["run_id"].map(order), _all=out["query_lang"] == "all").sort_values(
        ["_run", "_all", "query_lang"]
    )
    return out[columns].reset_index(drop=True)


def missing_detail(run_ids: Sequence[str], *, store: ReadableStore | None = None) -> dict[str, str]:
    """Runs stored without their per-query top-k lists and ranks, each with the reason.

    Such runs (a reference bundle keeps the detail for uncorrected runs only, to stay
    small) have no LPR, top-1 split, MRC, top-k lists or own-language ranks: pages say
    "not stored for this run" instead of showing an empty or zero number.
    """
    run_ids = list(dict.fromkeys(run_ids))
    if not run_ids:
        return {}
    found = _frame(
        store,
        """
        SELECT r.run_id, r.correction,
               EXISTS (SELECT 1 FROM topk_hits t WHERE t.run_id = r.run_id) AS has_topk,
               EXISTS (SELECT 1 FROM query_relevant_ranks q WHERE q.run_id = r.run_id) AS has_ranks,
               r.run_id IN (SELECT unnest(?)) AS is_reference
        FROM runs r WHERE r.run_id IN (SELECT unnest(?))
        """,
        [sorted(_reference_run_ids(store)), run_ids],
    )
    out = {}
    for row in found.itertuples():
        if row.has_topk or row.has_ranks:
            continue
        if row.is_reference and isinstance(row.correction, str) and row.correction:
            why = (
                "the reference bundle keeps top-k lists and per-query ranks of uncorrected "
                "runs only (to stay small); this run of a post-hoc correction has its "
                "headline, language-pair and top-k share tables"
            )
        elif row.is_reference:
            why = "the reference bundle stored this run without top-k lists and ranks"
        else:
            why = "this run was stored without top-k lists and per-query ranks"
        out[str(row.run_id)] = why
    return out


def _reference_run_ids(store: ReadableStore | None) -> set[str]:
    try:
        from hybriddash.store.bundle import reference_run_ids

        return reference_run_ids(store)  # type: ignore[arg-type]
    except Exception:  # no reference table in an old store
        return set()


def _computed_language_preference(run_id: str, store: ReadableStore | None) -> pd.DataFrame | None:
    """:func:`language_preference_table` rows of one run from its stored ranks and top-k."""
    import numpy as np

    from hybriddash.metrics.settings import language_preference_table as compute

    run = _frame(store, "SELECT model_id, corpus_fp FROM runs WHERE run_id = ?", [run_id])
    if run.empty:
        return None
    corpus_fp = str(run["corpus_fp"].iloc[0])
    queries = _frame(
        store,
        """
        SELECT DISTINCT b.query_id, b.query_lang, q.group_id
        FROM query_bias b
        LEFT JOIN corpus_queries q ON q.corpus_fp = ? AND q.query_id = b.query_id
        WHERE b.run_id = ? ORDER BY b.query_id
        """,
        [corpus_fp, run_id],
    )
    if queries.empty:
        return None
    index = {q: i for i, q in enumerate(queries["query_id"])}
    rel = _frame(
        store,
        "SELECT query_id, cand_lang, pooled_rank FROM query_relevant_ranks WHERE run_id = ?",
        [run_id],
    )
    hits = _frame(
        store,
        "SELECT query_id, rank, candidate_id, cand_lang, relevant FROM topk_hits "
        "WHERE run_id = ? ORDER BY query_id, rank",
        [run_id],
    )
    if hits.empty and rel.empty:
        return None  # stored without top-k detail: nothing to compute from (missing_detail)
    nq = len(queries)
    k = int(hits["rank"].max()) if len(hits) else 0
    codes, _ = pd.factorize(hits["candidate_id"])
    topk = np.full((nq, k), -1, dtype=np.int64)
    rows = hits["query_id"].map(index).to_numpy()
    if k:
        topk[rows, hits["rank"].to_numpy() - 1] = codes
    # a query without a full list (never written that way) keeps distinct placeholders
    missing = topk < 0
    topk[missing] = -1 - np.arange(int(missing.sum()))
    first = hits[hits["rank"] == 1].set_index("query_id")
    top1_rel = queries["query_id"].map(first["relevant"]).fillna(False).astype(bool)
    top1_lang = queries["query_id"].map(first["cand_lang"]).fillna("")
    groups = queries["group_id"].fillna(queries["query_id"])
    frame = compute(
        queries["query_lang"].to_numpy(),
        groups.to_numpy(),
        rel["query_id"].map(index).to_numpy(),
        rel["pooled_rank"].to_numpy(),
        rel["cand_lang"].to_numpy(),
        top1_rel.to_numpy(),
        top1_lang.to_numpy(),
        topk,
    )
    frame.insert(0, "model_id", str(run["model_id"].iloc[0]))
    frame.insert(0, "run_id", run_id)
    return frame


# ---- issue 23: bitext accuracy, language-ID probe, language ordering -----------------


def bitext_pairs(run_id: str, *, store: ReadableStore | None = None) -> pd.DataFrame:
    """P@1 per cross-lingual pair of one run, long form (``run_bitext_accuracy``).

    Columns: ``query_lang, cand_lang, accuracy, n_queries``; empty for runs stored
    before schema 5 (they have no such rows).
    """
    return _frame(
        store,
        "SELECT query_lang, cand_lang, accuracy, n_queries FROM run_bitext_accuracy "
        "WHERE run_id = ? ORDER BY query_lang, cand_lang",
        [run_id],
    )


def language_probe(run_id: str, *, store: ReadableStore | None = None) -> pd.DataFrame:
    """The run's language-ID probe (``run_language_probe``), ``'all'`` first, with each
    language's CC-100 size: ``lang, accuracy, chance, n_samples, n_folds, cc100_gib,
    level`` (:mod:`hybriddash.data.resources`)."""
    from hybriddash.data.resources import cc100_gib, resource_level

    frame = _frame(
        store,
        "SELECT lang, accuracy, chance, n_samples, n_folds FROM run_language_probe "
        "WHERE run_id = ? ORDER BY lang = 'all' DESC, lang",
        [run_id],
    )
    frame["cc100_gib"] = [cc100_gib(x) for x in frame["lang"]]
    frame["level"] = [resource_level(x) if x != "all" else "" for x in frame["lang"]]
    return frame


LANGUAGE_ORDERS = ("code", "value", "cc100", "script")


def order_languages(
    matrix: pd.DataFrame,
    *,
    by: str = "code",
    keep: Sequence[str] | None = None,
    top_n: int | None = None,
) -> pd.DataFrame:
    """A language x language matrix restricted and reordered for display at 100+ languages.

    ``keep``: only these languages (rows and columns; the pooled ``'all'`` column and an
    English column stay);
    ``by``: ``code`` (alphabetical), ``value`` (row mean, highest first), ``cc100``
    (CC-100 size, largest first; languages not in CC-100 last) or ``script`` (then code);
    ``top_n``: the first N rows in that order, with the columns they have values in
    (at most N of those, in the same order). Columns follow the row order where they
    are also rows.
    """
    from hybriddash.data.resources import cc100_gib
    from hybriddash.languages import script_of

    if by not in LANGUAGE_ORDERS:
        raise ValueError(f"order {by!r}: expected one of {LANGUAGE_ORDERS}")
    if matrix.empty:
        return matrix
    rows = [x for x in matrix.index if keep is None or x in set(keep)]
    if by == "value":
        means = matrix.drop(columns=["all"], errors="ignore").mean(axis=1)
        rows.sort(key=lambda x: (-(means.get(x) if means.get(x) == means.get(x) else -1), x))
    elif by == "cc100":
        rows.sort(key=lambda x: (-(cc100_gib(x) or -1.0), x))
    elif by == "script":
        rows.sort(key=lambda x: (script_of(x), x))
    else:
        rows.sort()
    if top_n is not None:
        rows = rows[: max(1, int(top_n))]
    rank = {x: i for i, x in enumerate(rows)}
    sub = matrix.loc[rows]
    cols = [c for c in sub.columns if c != "all" and sub[c].notna().any()]
    cols.sort(key=lambda c: (rank.get(c, len(rank)), c))
    if top_n is not None:
        cols = cols[: max(1, int(top_n))]
    if keep is not None:  # English stays as the anchor column (Tatoeba: X <-> en only)
        cols = [c for c in cols if c in set(keep) or c == "en"]
    return sub[cols + (["all"] if "all" in matrix.columns else [])]
