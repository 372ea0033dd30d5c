"""Writes into the store: models, corpora, evaluation runs.

Every function takes ``target``: a :class:`~hybriddash.store.db.Store` (the write
gets its own transaction), ``None`` (the default store) or an open connection from
``with store.write() as con:`` (the write joins that transaction — this is how
:func:`hybriddash.evaluation.evaluate` stores model, corpus and run atomically).

Upserts are keyed by fingerprints and ids: writing the same thing twice leaves the
same rows. Bulk rows go in through registered pandas DataFrames (``INSERT … SELECT``),
which writes the 1.3M top-k rows of a full XQuAD-R run in a few seconds.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import duckdb
import pandas as pd

from hybriddash.data.corpus import Corpus
from hybriddash.store.db import Store

# Tables holding rows of one run, in write order; each has a run_id column.
RUN_TABLES = (
    "run_headline",
    "run_pair_metrics",
    "query_metrics",
    "query_relevant_ranks",
    "query_bias",
    "topk_hits",
    "run_lang_share",
    "run_language_preference",
    "run_bitext_accuracy",
    "run_language_probe",
    "run_language_probe_items",
)

Target = Store | duckdb.DuckDBPyConnection | None


class ModelLike(Protocol):
    """What :func:`register_model` reads from a model (``encoders.registry.ModelSpec``)."""

    model_id: str
    fingerprint: str
    kind: str
    source: str
    description: str
    query_prefix: str
    passage_prefix: str
    training_card: dict | None


@contextlib.contextmanager
def writing(target: Target) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection inside a write transaction: ``target``'s own, or a new one."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        yield target
        return
    store = target if isinstance(target, Store) else Store()
    with store.write() as con:
        yield con


# ---- models ------------------------------------------------------------------
def register_model(
    target: Target,
    spec: ModelLike,
    *,
    sampler: str | None = None,
    alpha: float | None = None,
    base_model_id: str | None = None,
    train_dataset: str | None = None,
    train_corpus_fp: str | None = None,
    training_groups: pd.DataFrame | Iterable[tuple[str, str | None]] | None = None,
) -> None:
    """Insert or update the ``models`` row of ``spec`` (keyed by ``model_id``).

    Training fields left ``None`` are taken from ``spec.training_card`` when it has
    them (keys ``sampler``, ``alpha``, ``base_model_id``/``base_model``,
    ``train_dataset``, ``train_corpus_fp``). ``training_groups`` — a DataFrame with
    columns ``group_id``, ``text_hash`` or pairs ``(group_id, text_hash)`` — replaces
    the model's rows in ``model_training_groups`` (the contamination guard's input);
    ``None`` keeps the rows already stored. The card's training curve
    (``card["curve"]``, :mod:`hybriddash.training.curves`) replaces the model's rows in
    ``training_curves`` in the same transaction.
    """
    card = dict(spec.training_card or {})
    row = {
        "model_id": spec.model_id,
        "fingerprint": spec.fingerprint,
        "kind": spec.kind,
        "source": str(spec.source) if spec.source is not None else None,
        "description": spec.description,
        "query_prefix": spec.query_prefix,
        "passage_prefix": spec.passage_prefix,
        "sampler": sampler if sampler is not None else card.get("sampler"),
        "alpha": alpha if alpha is not None else card.get("alpha"),
        "base_model_id": base_model_id
        if base_model_id is not None
        else card.get("base_model_id", card.get("base_model")),
        "train_dataset": train_dataset if train_dataset is not None else card.get("train_dataset"),
        "train_corpus_fp": train_corpus_fp
        if train_corpus_fp is not None
        else card.get("train_corpus_fp"),
        "training_card": json.dumps(card, ensure_ascii=False, default=str) if card else None,
    }
    if not row["model_id"] or not row["fingerprint"]:
        raise ValueError(f"register_model: model_id and fingerprint are required, got {row!r}")
    with writing(target) as con:
        cols = list(row)
        # An upsert, not delete + insert: registered_at keeps the first registration.
        con.execute(
            f"INSERT INTO models ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT (model_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "model_id"),
            [row[c] for c in cols],
        )
        if training_groups is not None:
            groups = _training_groups_frame(training_groups)
            groups.insert(0, "model_id", row["model_id"])
            con.execute("DELETE FROM model_training_groups WHERE model_id = ?", [row["model_id"]])
            insert_frame(con, "model_training_groups", groups)
        curve = _curve_frame(card.get("curve"))
        if curve is not None:
            curve.insert(0, "model_id", row["model_id"])
            con.execute("DELETE FROM training_curves WHERE model_id = ?", [row["model_id"]])
            insert_frame(con, "training_curves", curve)


def _curve_frame(rows: Any) -> pd.DataFrame | None:
    """The card's curve rows as a ``training_curves`` frame (None: the card has none)."""
    if not rows:
        return None
    columns = ["step", "split", "metric", "value", "elapsed_s"]
    try:
        frame = pd.DataFrame(list(rows))[columns]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"training card: malformed curve rows ({exc}); expected {columns}"
        ) from exc
    return frame.dropna(subset=["value"]).astype({"step": "int64", "value": "float64"})


def register_corrected_model(
    target: Target, spec: ModelLike, model_id: str, fingerprint: str, request: Any
) -> None:
    """Insert or update the ``models`` row of a corrected encoder ``"<model> + <label>"``.

    It inherits the uncorrected model's kind, source, prefixes and training card (so a
    corrected trained model still shows its sampler and training data), and records the
    correction: ``correction`` (method), ``correction_of`` (``spec.model_id``),
    ``correction_fit`` (fit corpus, None for center-docs). ``request`` is a
    :class:`hybriddash.encoders.corrections.CorrectionRequest`. Training groups are not
    copied: the contamination guard reads them from the uncorrected model.
    """
    card = dict(spec.training_card or {})
    description = f"{spec.description} + correction {request.label}".strip()
    row = {
        "model_id": model_id,
        "fingerprint": fingerprint,
        "kind": spec.kind,
        "source": str(spec.source) if spec.source is not None else None,
        "description": description,
        "query_prefix": spec.query_prefix,
        "passage_prefix": spec.passage_prefix,
        "sampler": card.get("sampler"),
        "alpha": card.get("alpha"),
        "base_model_id": card.get("base_model_id", card.get("base_model")),
        "train_dataset": card.get("train_dataset"),
        "train_corpus_fp": card.get("train_corpus_fp"),
        "training_card": json.dumps(card, ensure_ascii=False, default=str) if card else None,
        "correction": request.method,
        "correction_of": spec.model_id,
        "correction_fit": request.fit_on,
    }
    with writing(target) as con:
        cols = list(row)
        con.execute(
            f"INSERT INTO models ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT (model_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "model_id"),
            [row[c] for c in cols],
        )


def _training_groups_frame(
    groups: pd.DataFrame | Iterable[tuple[str, str | None]],
) -> pd.DataFrame:
    if isinstance(groups, pd.DataFrame):
        missing = {"group_id", "text_hash"} - set(groups.columns)
        if missing:
            raise ValueError(
                f"training_groups frame lacks column(s) {sorted(missing)}; "
                f"expected group_id, text_hash (got {list(groups.columns)})"
            )
        frame = groups[["group_id", "text_hash"]].copy()
    else:
        frame = pd.DataFrame(list(groups), columns=["group_id", "text_hash"])
    frame["group_id"] = frame["group_id"].astype(str)
    return frame.drop_duplicates().reset_index(drop=True)


# ---- corpora -----------------------------------------------------------------
def register_corpus(target: Target, corpus: Corpus) -> bool:
    """Store the ``corpora`` row and the query/candidate texts of ``corpus``.

    Keyed by ``corpus.fingerprint``, which covers every text, id and judgement:
    a corpus already stored is left untouched. Returns True when rows were written.
    """
    fp = corpus.fingerprint
    with writing(target) as con:
        if con.execute("SELECT 1 FROM corpora WHERE corpus_fp = ?", [fp]).fetchone():
            return False
        con.execute(
            "INSERT INTO corpora (corpus_fp, dataset_id, name, subset, languages, n_queries, "
            "n_candidates) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                fp,
                corpus.dataset_id,
                corpus.name,
                json.dumps(corpus.subset, ensure_ascii=False, sort_keys=True),
                list(corpus.languages),
                len(corpus.queries),
                len(corpus.candidates),
            ],
        )
        queries = pd.DataFrame(
            {
                "corpus_fp": fp,
                "query_id": [q.id for q in corpus.queries],
                "lang": [q.lang for q in corpus.queries],
                "group_id": [q.group for q in corpus.queries],
                "text": [q.text for q in corpus.queries],
            }
        )
        candidates = pd.DataFrame(
            {
                "corpus_fp": fp,
                "candidate_id": [c.id for c in corpus.candidates],
                "lang": [c.lang for c in corpus.candidates],
                "text": [c.text for c in corpus.candidates],
                "groups": [list(c.groups) for c in corpus.candidates],
            }
        )
        insert_frame(con, "corpus_queries", queries)
        insert_frame(con, "corpus_candidates", candidates)
        return True


# ---- runs --------------------------------------------------------------------
def write_run(
    target: Target,
    run: Mapping[str, Any],
    frames: Mapping[str, pd.DataFrame | Mapping[str, Any]],
) -> None:
    """Write one evaluation run: its ``runs`` row and its rows in :data:`RUN_TABLES`.

    ``run`` holds the ``runs`` columns (``run_id`` … see schema.sql). ``frames`` maps
    a table name of :data:`RUN_TABLES` to a DataFrame (or, for ``run_headline``, a
    dict of one row); a ``run_id`` column is added when absent and must equal
    ``run["run_id"]`` when present. Tables left out get no rows.

    The old rows of the run are deleted first and everything happens in one
    transaction: re-writing a run is idempotent, and a failure leaves the store as
    it was. Raises ValueError naming the table and column when a frame does not fit
    the schema (unknown column, missing required column, wrong run_id).
    """
    run_id = run.get("run_id")
    if not run_id:
        raise ValueError("write_run: run['run_id'] is required")
    unknown = set(frames) - set(RUN_TABLES)
    if unknown:
        raise ValueError(f"write_run: unknown table(s) {sorted(unknown)}; expected {RUN_TABLES}")
    prepared: dict[str, pd.DataFrame] = {}
    for table in RUN_TABLES:
        if table not in frames:
            continue
        frame = frames[table]
        frame = pd.DataFrame([dict(frame)]) if isinstance(frame, Mapping) else frame.copy()
        if "run_id" in frame.columns:
            wrong = frame.loc[frame["run_id"] != run_id, "run_id"]
            if len(wrong):
                raise ValueError(
                    f"write_run: {table} has run_id {wrong.iloc[0]!r}, expected {run_id!r}"
                )
        else:
            frame.insert(0, "run_id", run_id)
        prepared[table] = frame
    run_frame = pd.DataFrame([dict(run)])
    with writing(target) as con:
        delete_run(con, run_id)
        insert_frame(con, "runs", run_frame)
        for table, frame in prepared.items():
            insert_frame(con, table, frame)


def delete_run(target: Target, run_id: str) -> None:
    """Delete every row of ``run_id`` (its ``runs`` row and all per-run tables)."""
    with writing(target) as con:
        for table in (*RUN_TABLES, "runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


# ---- bulk insert -------------------------------------------------------------
def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append ``frame``'s rows to ``table`` by column name; returns the row count.

    Columns of the table that the frame lacks take their default (NULL). Raises
    ValueError naming the table and column when the frame has a column the table
    lacks, or lacks a NOT NULL column that has no default.
    """
    if frame.empty:
        return 0
    schema = con.execute(
        "SELECT column_name, is_nullable, column_default FROM duckdb_columns() "
        "WHERE table_name = ? AND schema_name = 'main' AND database_name = current_database()",
        [table],
    ).fetchall()
    if not schema:
        raise ValueError(f"store has no table {table!r}")
    known = {name for name, _, _ in schema}
    extra = [c for c in frame.columns if c not in known]
    if extra:
        raise ValueError(
            f"{table}: column(s) {extra} are not in the schema (columns: {sorted(known)})"
        )
    required = [name for name, nullable, default in schema if not nullable and default is None]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: required column(s) {missing} missing from the rows to write")
    for column in required:
        if frame[column].isna().any():
            row = int(frame[column].isna().to_numpy().argmax())
            raise ValueError(f"{table}: column {column!r} is NULL in row {row}")
    view = f"_hybriddash_insert_{table}"
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    con.register(view, frame)
    try:
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)
    return len(frame)
