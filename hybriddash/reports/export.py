"""Comparison tables as files: CSV, Markdown, LaTeX (booktabs) and Parquet.

One source of truth: every table is built from the same store queries the pages
draw (:mod:`hybriddash.reports.tables`), then written. Tables (:data:`TABLES`):

``headline``
    One row per model: monolingual / cross-lingual / multilingual mAP, rank
    distance, nDCG@10 and Recall@100 (pooled), from
    :func:`~hybriddash.reports.tables.headline_table`. A corrected encoder
    (``<model> + <correction>``) is a row of its own; CSV/Parquet carry its
    ``correction``, ``correction_of`` and ``correction_fit``.
``pairs``
    mAP per (model, query language, candidate language), pooled ``'all'``
    included, from :func:`~hybriddash.reports.tables.pair_matrix`. Markdown and
    LaTeX show it as query languages x candidate languages, one block per model.
``shares``
    Share of each candidate language in the pooled top-k per query language
    (and the ideal share), from :func:`~hybriddash.reports.tables.lang_share_table`.
``queries``
    One row per (model, query): AP monolingual, mean AP cross-lingual,
    AP multilingual, pooled nDCG@10 / Recall@100 / first relevant rank and the
    rank distance — the per-query values the significance tests pair
    (:func:`query_results_table`, defined here: ``tables.py`` has no all-queries
    query).

Models are named by their human label (strategy, α, seed, training data, correction:
:func:`hybriddash.reports.labels.model_label`, the pages' name for them); CSV and Parquet
keep the id in ``model_id`` and the label beside it in ``label``.

CSV and Parquet hold the raw values (full float precision; re-reading them gives
the store's numbers) plus, for headline and pairs, the significance columns
``p_<measure>`` (Holm-corrected paired randomization test against the baseline)
and ``sig_<measure>`` (marker). Markdown and LaTeX round values (3 decimals; rank
distance 1), set the best value of each column (per cell for pairs) in bold and
append the markers, with a legend below (Markdown) or in the caption (LaTeX).
Best = highest (lowest for rank distance) among runs not flagged as contaminated.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hybriddash.reports import tables
from hybriddash.reports.significance import (
    HEADLINE_SETTINGS,
    compare_runs,
    marker_legend,
)

TABLES = ("headline", "pairs", "shares", "queries", "bitext", "probe")
FORMATS = ("csv", "md", "latex", "parquet")
SUFFIXES = {".csv": "csv", ".md": "md", ".markdown": "md", ".tex": "latex", ".parquet": "parquet"}

HEADLINE_LABELS = {
    "monolingual": "Mono",
    "crosslingual": "Cross",
    "multilingual": "Multi",
    "rank_distance": "Rank dist.",
    "ndcg_at_10": "nDCG@10",
    "recall_at_100": "R@100",
}


@dataclass
class Cell:
    """One cell of a rendered (Markdown/LaTeX) table."""

    text: str
    bold: bool = False
    marker: str = ""
    numeric: bool = False


@dataclass
class ExportTable:
    """A table ready to write: ``data`` for CSV/Parquet, ``header``/``rows`` for text."""

    name: str
    data: pd.DataFrame
    header: list[str]
    rows: list[list[Cell]]
    caption: str
    notes: list[str] = field(default_factory=list)
    midrules: list[int] = field(default_factory=list)  # row indices preceded by \midrule


# ---- building tables ----------------------------------------------------------------


def _fmt(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def _labels(model_ids: Sequence[str], store: object | None) -> dict[str, str]:
    """Model id -> the human label every page shows (strategy, α, seed, training data,
    correction): what a paper's table names; the ids stay in the ``model_id`` column."""
    from hybriddash.reports.labels import model_label

    models = tables.models_table(store=store)  # type: ignore[arg-type]
    return {m: model_label(m, models) for m in dict.fromkeys(model_ids)}


def _with_labels(data: pd.DataFrame, store: object | None) -> dict[str, str]:
    """Add a ``label`` column after ``model_id``; return the labels."""
    labels = _labels(list(data["model_id"].astype(str)), store)
    if "label" not in data.columns:
        data.insert(data.columns.get_loc("model_id") + 1, "label", data["model_id"].map(labels))
    return labels


def _runs(corpus: str, model_ids: Sequence[str], store: object | None) -> pd.DataFrame:
    runs = tables.latest_runs(corpus, list(model_ids), store=store)  # type: ignore[arg-type]
    missing = [m for m in model_ids if m not in set(runs["model_id"])]
    if missing:
        raise LookupError(
            f"no run of model(s) {missing} on corpus {corpus!r}; evaluate them first "
            f"(python -m hybriddash evaluate --dataset {corpus} --model {missing[0]})"
        )
    return runs


def _significance(
    runs: pd.DataFrame,
    baseline: str | None,
    store: object | None,
    *,
    pairs: bool,
    n_resamples: int,
    seed: int,
) -> pd.DataFrame:
    """Tests of every model against the baseline (rows of :func:`compare_runs`)."""
    if baseline is None or len(runs) < 2:
        return pd.DataFrame()
    base_run = runs.loc[runs["model_id"] == baseline, "run_id"]
    if base_run.empty:
        raise LookupError(f"baseline {baseline!r} has no run on this corpus")
    parts = []
    for model, run in zip(runs["model_id"], runs["run_id"], strict=True):
        if model == baseline:
            continue
        res = compare_runs(
            run, base_run.iloc[0], pairs=pairs, n_resamples=n_resamples, seed=seed, store=store
        )
        res.insert(0, "model_id", model)
        parts.append(res)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def headline_export(
    corpus: str,
    model_ids: Sequence[str],
    *,
    baseline: str | None = None,
    significance: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
    store: object | None = None,
) -> ExportTable:
    """The headline table (see the module docstring); ``baseline`` defaults to the first model."""
    runs = _runs(corpus, model_ids, store)
    baseline = baseline or model_ids[0]
    head = tables.headline_table(corpus, list(model_ids), baseline, store=store)  # type: ignore[arg-type]
    measures = list(tables.HEADLINE_METRICS)
    data = head[["model_id", "run_id", "contaminated", *measures]].copy()
    # a corrected encoder ("<model> + <correction>") is a row; say which correction of what
    for column in ("correction", "correction_of", "correction_fit"):
        data[column] = head[column].to_numpy() if column in head else None
    sig = (
        _significance(runs, baseline, store, pairs=False, n_resamples=n_resamples, seed=seed)
        if significance
        else pd.DataFrame()
    )
    for m in HEADLINE_SETTINGS:
        data[f"p_{m}"] = np.nan
        data[f"sig_{m}"] = ""
        if sig.empty:
            continue
        rows = sig[sig["setting"] == m].set_index("model_id")
        data[f"p_{m}"] = [float(rows["p_perm_holm"].get(x, np.nan)) for x in data["model_id"]]
        data[f"sig_{m}"] = [str(rows["marker"].get(x, "")) for x in data["model_id"]]
    labels = _with_labels(data, store)
    header = ["Model", *(HEADLINE_LABELS[m] for m in measures)]
    body = []
    for i, row in data.iterrows():
        label = labels[str(row["model_id"])] + (
            " (contaminated)" if bool(row["contaminated"]) else ""
        )
        cells = [Cell(label)]
        for m in measures:
            digits = 1 if m == "rank_distance" else 3
            cells.append(
                Cell(
                    _fmt(row[m], digits),
                    bold=bool(head.loc[i, f"best_{m}"]),
                    marker=str(row.get(f"sig_{m}", "") or ""),
                    numeric=True,
                )
            )
        body.append(cells)
    notes = ["Bold: best per column among uncontaminated runs. Rank distance: lower is better."]
    if significance and len(model_ids) > 1:
        notes.append(
            f"Markers compare each model with {baseline}: "
            + marker_legend(
                "paired randomization test over queries, Holm-corrected across the 4 settings"
            )
        )
        p_columns = [f"p_{m}" for m in HEADLINE_SETTINGS]
        untested = [
            str(row["model_id"])
            for _, row in data.iterrows()
            if row["model_id"] != baseline and row[p_columns].isna().all()
        ]
        if untested:
            notes.append(
                f"No p-values for {', '.join(untested)}: the paired test needs per-query "
                f"results of the same queries in both runs, and these runs share none with "
                f"{baseline}'s (another subset of the corpus, or per-query rows not stored)."
            )
    return ExportTable(
        "headline",
        data,
        header,
        body,
        f"Headline results on {corpus} (mAP; rank distance in ranks).",
        notes,
    )


def pairs_export(
    corpus: str,
    model_ids: Sequence[str],
    *,
    baseline: str | None = None,
    significance: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
    store: object | None = None,
) -> ExportTable:
    """mAP per language pair for each model (pooled ``all`` column included)."""
    runs = _runs(corpus, model_ids, store)
    baseline = baseline or model_ids[0]
    parts = []
    for model, run in zip(runs["model_id"], runs["run_id"], strict=True):
        frame = tables.pair_matrix(run, include_pooled=True, store=store)  # type: ignore[arg-type]
        frame.insert(0, "run_id", run)
        frame.insert(0, "model_id", model)
        parts.append(frame)
    data = pd.concat(parts, ignore_index=True)
    sig = (
        _significance(runs, baseline, store, pairs=True, n_resamples=n_resamples, seed=seed)
        if significance
        else pd.DataFrame()
    )
    data["p_map"] = np.nan
    data["sig_map"] = ""
    if not sig.empty:
        sig = sig[sig["family"] == "pair"].set_index(["model_id", "query_lang", "cand_lang"])
        keys = list(zip(data["model_id"], data["query_lang"], data["cand_lang"], strict=True))
        data["p_map"] = [float(sig["p_perm_holm"].get(k, np.nan)) for k in keys]
        data["sig_map"] = [str(sig["marker"].get(k, "")) for k in keys]
    # best per (query_lang, cand_lang) cell among uncontaminated runs
    clean = set(runs.loc[~runs["contaminated"].fillna(False).astype(bool), "model_id"])
    best = data[data["model_id"].isin(clean)].groupby(["query_lang", "cand_lang"])["map"].max()
    single = len(model_ids) == 1
    langs = sorted(set(data["query_lang"]) | (set(data["cand_lang"]) - {"all"}))
    cols = [*langs, "all"]
    labels = _with_labels(data, store)
    header = ["Model", "Query", *cols]
    body, midrules = [], []
    for model in model_ids:
        block = data[data["model_id"] == model].set_index(["query_lang", "cand_lang"])
        if body:
            midrules.append(len(body))
        for q in langs:
            cells = [Cell(labels[model]), Cell(q)]
            for c in cols:
                if (q, c) not in block.index:
                    cells.append(Cell("–", numeric=True))
                    continue
                value = block.loc[(q, c), "map"]
                is_best = (
                    not single
                    and model in clean
                    and not pd.isna(value)
                    and value == best.get((q, c), np.nan)
                )
                cells.append(
                    Cell(
                        _fmt(value),
                        bold=bool(is_best),
                        marker=str(block.loc[(q, c), "sig_map"]),
                        numeric=True,
                    )
                )
            body.append(cells)
    notes = ["Rows: query language; columns: candidate language ('all' = pooled, multilingual)."]
    if not single:
        notes.append("Bold: best model per language pair among uncontaminated runs.")
    if significance and not single:
        notes.append(
            f"Markers compare each model with {baseline}: "
            + marker_legend(
                "paired randomization test over queries, Holm-corrected across the pairs"
            )
        )
    return ExportTable(
        "pairs", data, header, body, f"mAP per language pair on {corpus}.", notes, midrules
    )


def shares_export(
    corpus: str, model_ids: Sequence[str], *, k: int = 10, store: object | None = None
) -> ExportTable:
    """Top-``k`` language shares per model and query language, with the ideal share."""
    runs = _runs(corpus, model_ids, store)
    parts, unstored = [], []
    for model, run in zip(runs["model_id"], runs["run_id"], strict=True):
        frame = tables.lang_share_table(run, k, store=store)  # type: ignore[arg-type]
        if frame.empty:
            unstored.append(model)
            continue
        frame.insert(0, "k", k)
        frame.insert(0, "run_id", run)
        frame.insert(0, "model_id", model)
        parts.append(frame)
    if not parts:
        raise ValueError(
            f"top-{k} language shares are not stored for {', '.join(unstored)} on {corpus} "
            "(reference runs at the 'verdicts' detail level keep per-query AP only)"
        )
    data = pd.concat(parts, ignore_index=True)
    langs = sorted(set(data["query_lang"]) | set(data["cand_lang"]))
    labels = _with_labels(data, store)
    header = ["Model", "Query", *langs]
    body, midrules = [], []
    for model in [m for m in model_ids if m not in unstored]:
        block = data[data["model_id"] == model].set_index(["query_lang", "cand_lang"])
        if body:
            midrules.append(len(body))
        for q in sorted(set(block.index.get_level_values(0))):
            cells = [Cell(labels[model]), Cell(q)]
            for c in langs:
                value = block["share"].get((q, c), np.nan)
                # the query's own language is the cell that shows language bias
                cells.append(Cell(_fmt(value), bold=(q == c), numeric=True))
            body.append(cells)
    notes = [
        f"Share of the pooled top-{k} slots held by each candidate language, averaged over "
        "the queries of each query language; bold: the query's own language. "
        "The ideal (bias-free) share is in the CSV/Parquet column ideal_share."
    ]
    if unstored:
        notes.append(f"Not stored (left out): {', '.join(unstored)}.")
    return ExportTable(
        "shares", data, header, body, f"Top-{k} language shares on {corpus}.", notes, midrules
    )


def query_results_table(run_id: str, *, store: object | None = None) -> pd.DataFrame:
    """One row per query of a run: the per-query values behind the headline.

    NOTE: defined here because :mod:`hybriddash.reports.tables` has no all-queries
    query; it reads ``query_metrics``, ``query_bias`` and ``corpus_queries`` only.
    Columns: ``query_id, query_lang, group_id, text, ap_monolingual,
    ap_crosslingual`` (mean over the other candidate languages), ``ap_multilingual,
    ndcg_at_10, recall_at_100, first_relevant_rank`` (pooled), ``rank_distance``.
    """
    return tables._frame(  # noqa: SLF001 - the module's own query helper
        store,  # type: ignore[arg-type]
        """
        SELECT m.query_id, m.query_lang, any_value(m.group_id) AS group_id,
               any_value(q.text) AS text,
               avg(m.ap) FILTER (WHERE m.setting = 'monolingual') AS ap_monolingual,
               avg(m.ap) FILTER (WHERE m.setting = 'crosslingual') AS ap_crosslingual,
               avg(m.ap) FILTER (WHERE m.setting = 'multilingual') AS ap_multilingual,
               avg(m.ndcg_at_10) FILTER (WHERE m.cand_lang = 'all') AS ndcg_at_10,
               avg(m.recall_at_100) FILTER (WHERE m.cand_lang = 'all') AS recall_at_100,
               min(m.first_relevant_rank) FILTER (WHERE m.cand_lang = 'all') AS first_relevant_rank,
               any_value(b.rank_distance) AS rank_distance
        FROM query_metrics m
        JOIN runs r ON r.run_id = m.run_id
        LEFT JOIN corpus_queries q ON q.corpus_fp = r.corpus_fp AND q.query_id = m.query_id
        LEFT JOIN query_bias b ON b.run_id = m.run_id AND b.query_id = m.query_id
        WHERE m.run_id = ?
        GROUP BY m.query_id, m.query_lang
        ORDER BY m.query_lang, m.query_id
        """,
        [run_id],
    )


def queries_export(
    corpus: str, model_ids: Sequence[str], *, store: object | None = None
) -> ExportTable:
    """Per-query results of every model (see :func:`query_results_table`)."""
    runs = _runs(corpus, model_ids, store)
    parts = []
    for model, run in zip(runs["model_id"], runs["run_id"], strict=True):
        frame = query_results_table(run, store=store)
        frame.insert(0, "run_id", run)
        frame.insert(0, "model_id", model)
        parts.append(frame)
    data = pd.concat(parts, ignore_index=True)
    measures = [
        ("ap_monolingual", "AP mono", 3),
        ("ap_crosslingual", "AP cross", 3),
        ("ap_multilingual", "AP multi", 3),
        ("rank_distance", "Rank dist.", 0),
    ]
    labels = _with_labels(data, store)
    header = ["Model", "Query", "Lang", *(label for _, label, _ in measures)]
    body = [
        [Cell(labels[str(r["model_id"])]), Cell(str(r["query_id"])), Cell(str(r["query_lang"]))]
        + [Cell(_fmt(r[col], d), numeric=True) for col, _, d in measures]
        for _, r in data.iterrows()
    ]
    notes = ["AP cross: mean over the other candidate languages; multi: pooled candidates."]
    slim = ["ndcg_at_10", "recall_at_100", "first_relevant_rank"]
    blank = [m for m, part in data.groupby("model_id", sort=False) if part[slim].isna().all().all()]
    if blank:
        notes.append(
            f"nDCG@10, recall@100 and first relevant rank are not stored for the runs of "
            f"{', '.join(blank)} (a reference bundle keeps them for uncorrected runs only): "
            "their cells are empty, not zero."
        )
    return ExportTable("queries", data, header, body, f"Per-query results on {corpus}.", notes)


def _per_run(read, corpus: str, model_ids: Sequence[str], store: object | None) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``read(run_id)`` of each model's latest run on ``corpus``, with model and run ids."""
    runs = _runs(corpus, model_ids, store)
    parts = []
    for model, run in zip(runs["model_id"], runs["run_id"], strict=True):
        frame = read(run, store=store)
        frame.insert(0, "run_id", run)
        frame.insert(0, "model_id", model)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def bitext_export(
    corpus: str, model_ids: Sequence[str], *, store: object | None = None
) -> ExportTable:
    """Bitext accuracy (P@1) per directed language pair for each model (issue 23)."""
    data = _per_run(tables.bitext_pairs, corpus, model_ids, store)
    labels = _with_labels(data, store) if len(data) else {}
    header = ["Model", "Query", "Cand.", "Accuracy", "Queries"]
    body = [
        [
            Cell(labels[str(r["model_id"])]),
            Cell(str(r["query_lang"])),
            Cell(str(r["cand_lang"])),
            Cell(_fmt(r["accuracy"]), numeric=True),
            Cell(str(int(r["n_queries"])), numeric=True),
        ]
        for _, r in data.iterrows()
    ]
    notes = [
        "Accuracy: share of queries whose nearest candidate of that language is relevant (P@1)."
    ]
    if data.empty:
        notes.append("No bitext rows: these runs were stored before schema 5.")
    return ExportTable("bitext", data, header, body, f"Bitext accuracy on {corpus}.", notes)


def probe_export(
    corpus: str, model_ids: Sequence[str], *, store: object | None = None
) -> ExportTable:
    """Language-ID probe accuracy per model and language, with CC-100 sizes (issue 23)."""
    data = _per_run(tables.language_probe, corpus, model_ids, store)
    labels = _with_labels(data, store) if len(data) else {}
    header = ["Model", "Lang", "Probe acc.", "Chance", "Items", "CC-100 GiB", "Level"]
    body = [
        [
            Cell(labels[str(r["model_id"])]),
            Cell(str(r["lang"])),
            Cell(_fmt(r["accuracy"]), numeric=True),
            Cell(_fmt(r["chance"]), numeric=True),
            Cell(str(int(r["n_samples"])), numeric=True),
            Cell(
                ""
                if r["cc100_gib"] is None or r["cc100_gib"] != r["cc100_gib"]
                else f"{r['cc100_gib']:.1f}",
                numeric=True,
            ),
            Cell(str(r["level"])),
        ]
        for _, r in data.iterrows()
    ]
    notes = [
        "Cross-validated linear language-ID probe on the candidate embeddings (Libovicky et "
        "al. 2020); lower = more language-agnostic; a language's row is its recall.",
        "CC-100 sizes: Conneau et al. 2020 (XLM-R), Appendix A Table 6.",
    ]
    return ExportTable("probe", data, header, body, f"Language-ID probe on {corpus}.", notes)


def build_export(
    table: str,
    corpus: str,
    model_ids: Sequence[str],
    *,
    baseline: str | None = None,
    k: int = 10,
    significance: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
    store: object | None = None,
) -> ExportTable:
    """Build one of :data:`TABLES` for ``model_ids`` on ``corpus`` (name or fingerprint,
    see :func:`hybriddash.reports.tables.resolve_corpus`)."""
    if not model_ids:
        raise ValueError("no model given: pass at least one model id")
    corpus_fp, label = tables.resolve_corpus(corpus, store=store)  # type: ignore[arg-type]
    exported = _build(
        table, corpus_fp, model_ids, baseline, k, significance, n_resamples, seed, store
    )
    exported.caption = exported.caption.replace(corpus_fp, label)
    return exported


def _build(
    table: str,
    corpus: str,
    model_ids: Sequence[str],
    baseline: str | None,
    k: int,
    significance: bool,
    n_resamples: int,
    seed: int,
    store: object | None,
) -> ExportTable:
    if table == "bitext":
        return bitext_export(corpus, model_ids, store=store)
    if table == "probe":
        return probe_export(corpus, model_ids, store=store)
    if table == "headline":
        return headline_export(
            corpus,
            model_ids,
            baseline=baseline,
            significance=significance,
            n_resamples=n_resamples,
            seed=seed,
            store=store,
        )
    if table == "pairs":
        return pairs_export(
            corpus,
            model_ids,
            baseline=baseline,
            significance=significance,
            n_resamples=n_resamples,
            seed=seed,
            store=store,
        )
    if table == "shares":
        return shares_export(corpus, model_ids, k=k, store=store)
    if table == "queries":
        return queries_export(corpus, model_ids, store=store)
    raise ValueError(f"unknown table {table!r}: expected one of {TABLES}")


# ---- rendering ------------------------------------------------------------------------


def to_csv(table: ExportTable) -> bytes:
    """Raw values, full precision (``float_format=None`` writes round-trip reprs)."""
    return table.data.to_csv(index=False).encode("utf-8")


def to_parquet(table: ExportTable) -> bytes:
    buf = io.BytesIO()
    table.data.to_parquet(buf, index=False)
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def to_markdown(table: ExportTable) -> bytes:
    """A GitHub-flavoured pipe table; bold ``**x**``, markers escaped (``\\*``)."""

    def cell(c: Cell) -> str:
        text = _md_escape(c.text)
        if c.bold:
            text = f"**{text}**"
        return text + _md_escape(c.marker)

    aligns = [" ---: " if _numeric_column(table, j) else " --- " for j in range(len(table.header))]
    lines = [
        "| " + " | ".join(_md_escape(h) for h in table.header) + " |",
        "|" + "|".join(aligns) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    out = f"**{_md_escape(table.caption)}**\n\n" + "\n".join(lines) + "\n"
    if table.notes:
        out += "\n" + "\n".join(f"{_md_escape(n)}  " for n in table.notes) + "\n"
    return out.encode("utf-8")


def _numeric_column(table: ExportTable, j: int) -> bool:
    return bool(table.rows) and all(r[j].numeric for r in table.rows)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # with the default OT1 font encoding "<" and ">" print as inverted marks
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


# Above this many rows a table is a ``longtable`` (it breaks across pages); a ``table``
# float of 252 per-query rows runs off the page.
LONGTABLE_ROWS = 40


def to_latex(table: ExportTable) -> bytes:
    """A booktabs table: a ``table`` float with a ``tabular``, or a ``longtable``.

    Tables longer than :data:`LONGTABLE_ROWS` rows are a ``longtable`` whose header
    repeats on every page (needs ``\\usepackage{longtable}``); all need
    ``\\usepackage{booktabs}``. Best values in ``\\textbf``; markers as
    ``\\textsuperscript``; the legend and notes are in the caption.
    """
    spec = "".join("r" if _numeric_column(table, j) else "l" for j in range(len(table.header)))

    def cell(c: Cell) -> str:
        text = latex_escape(c.text)
        if c.bold:
            text = f"\\textbf{{{text}}}"
        if c.marker:
            text += f"\\textsuperscript{{{latex_escape(c.marker)}}}"
        return text

    header = " & ".join(latex_escape(h) for h in table.header) + " \\\\"
    caption = "\\caption{" + latex_escape(" ".join([table.caption, *table.notes])) + "}"
    label = f"\\label{{tab:hybriddash-{table.name}}}"
    body = []
    for i, row in enumerate(table.rows):
        if i in table.midrules:
            body.append("\\midrule")
        body.append(" & ".join(cell(c) for c in row) + " \\\\")
    if len(table.rows) > LONGTABLE_ROWS:
        lines = [
            "% generated by hybriddash (python -m hybriddash export); "
            "needs \\usepackage{booktabs,longtable}",
            f"\\begin{{longtable}}{{{spec}}}",
            caption + label + " \\\\",
            "\\toprule",
            header,
            "\\midrule",
            "\\endfirsthead",
            "\\toprule",
            header,
            "\\midrule",
            "\\endhead",
            "\\bottomrule",
            "\\endfoot",
            *body,
            "\\end{longtable}",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")
    lines = [
        "% generated by hybriddash (python -m hybriddash export); needs \\usepackage{booktabs}",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        header,
        "\\midrule",
        *body,
        "\\bottomrule",
        "\\end{tabular}",
        caption,
        label,
        "\\end{table}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


RENDERERS = {"csv": to_csv, "md": to_markdown, "latex": to_latex, "parquet": to_parquet}
MIME_TYPES = {
    "csv": "text/csv",
    "md": "text/markdown",
    "latex": "application/x-tex",
    "parquet": "application/vnd.apache.parquet",
}
EXTENSIONS = {"csv": ".csv", "md": ".md", "latex": ".tex", "parquet": ".parquet"}


def render(table: ExportTable, fmt: str) -> bytes:
    """The file content of ``table`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {FORMATS}")
    return RENDERERS[fmt](table)


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """``fmt`` if given, else the format implied by the file suffix."""
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{path}: cannot tell the export format from {suffix!r}; pass --format {{{','.join(FORMATS)}}}"
        )
    return SUFFIXES[suffix]


def write_export(table: ExportTable, fmt: str, out: str | Path) -> Path:
    """Write atomically (temporary file + rename) so a failed export leaves no half file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    content = render(table, fmt)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(out)
    return out
