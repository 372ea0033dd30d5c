"""Evaluate one model on one corpus and store the run: the orchestration step.

``evaluate(model, dataset)`` runs, in order:

1. resolve the model (:func:`hybriddash.encoders.registry.resolve_model`) and load the
   corpus (:func:`hybriddash.data.datasets.load_dataset`, optionally a subset);
2. ``run_id = sha256(model fp, corpus fp, encode mode, k, METRICS_VERSION[, index])[:16]``
   (the top-k index kind enters only when approximate, so exact runs keep their ids); when
   the store already holds that run (and ``force`` is off) its stored summary is
   returned and nothing is encoded, ranked or computed. With a ``correction``
   (:mod:`hybriddash.encoders.corrections`) the model is the corrected encoder
   ``"<model> + <correction>"`` and its fingerprint (model fp, method, fit corpus fp)
   replaces the model's, so a corrected run is cached like any other and a change of
   method or fit corpus gives a new run;
3. encode queries and candidates (:func:`hybriddash.encoders.encode.encode_corpus`:
   embeddings come from the on-disk cache when present, so ``force`` re-ranks but does
   not re-encode); then, with a correction, fit it (encoding the fit corpus's texts it
   needs, cached the same way) and transform the embeddings;
4. exact ranks of every relevant candidate, per language and pooled
   (:func:`hybriddash.retrieval.exact_ranks.corpus_relevant_ranks`), and from them all
   metric tables (:func:`hybriddash.metrics.settings.compute_corpus_metrics`);
5. pooled top-k lists: exact ones (index ``flat``) from the score blocks of step 4
   (``top_k=k``: no second score matrix), approximate ones from faiss HNSW/IVF for large
   pools (:func:`hybriddash.retrieval.search.topk_with_report`, with recall@k vs exact
   measured on a sample of queries); then the language share of the top-k for k = 1..K
   (:func:`hybriddash.metrics.settings.topk_frames`);
6. the contamination guard: the model's training groups and question-text hashes
   (store table ``model_training_groups``) against the corpus's query groups and
   normalised question texts (:func:`hybriddash.training.contamination.check_contamination`);
7. ONE write transaction: model row, corpus row + texts, run row and all its tables.
   An interrupted run leaves nothing in the store; the embedding cache keeps what was
   encoded, so a restart resumes from there.

No store connection is held while encoding or ranking (see ``hybriddash.store.db``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hybriddash import timings
from hybriddash.data.corpus import Corpus
from hybriddash.encoders.encode import (
    effective_mode,
    mode_key,
    resolve_devices,
)
from hybriddash.encoders.registry import ModelSpec
from hybriddash.store import reads, writes
from hybriddash.store.db import Store
from hybriddash.timings import RateMeter

# Bump whenever a change in ranking or metric code changes any stored number: the
# version is part of every run_id, so old runs are recomputed instead of reused.
METRICS_VERSION = "1"

# progress_callback(stage, fraction): fraction is the overall progress in [0, 1].
ProgressCallback = Callable[[str, float], None]
# Overall fraction at which each stage starts (encoding dominates a fresh run).
_STAGES = {"load": 0.0, "encode": 0.05, "rank": 0.75, "topk": 0.85, "store": 0.95, "done": 1.0}


@dataclass
class RunSummary:
    """What an evaluation produced (or what the store holds for it).

    ``headline``: ``monolingual``, ``crosslingual``, ``multilingual`` (mAP in [0, 1]),
    ``rank_distance`` (ranks), ``ndcg_at_10``, ``recall_at_100`` (pooled), macro-averaged
    as documented in :mod:`hybriddash.metrics.settings`. ``pairs``: mAP per
    ``"<query lang>-<candidate lang>"`` (``"en-en"`` monolingual, ``"en-de"`` cross-lingual);
    ``multilingual_by_lang``: mAP(X -> all) per query language X. ``reused``: True when
    the run came from the store and nothing was recomputed. ``n_encoded``/``n_cached``:
    distinct texts run through the model / read from the embedding cache (both 0 when
    reused). ``index_kind``: the faiss index of the top-k lists (flat, hnsw, ivf; None
    when unknown); ``index_recall_at_k``: recall@k of those lists vs exact search, over
    ``index_recall_queries`` sampled queries (1.0 for flat; None when not measured, e.g. a
    reused approximate run: the store has no column for it). Metrics never depend on it.
    ``correction``: the post-hoc correction (``center-docs``, ``center``, ``shift``;
    None: none), ``correction_of`` the uncorrected model's id (``model_id`` is then
    ``"<correction_of> + <label>"``), ``correction_fit`` its fit corpus and
    ``correction_info`` what it was fitted on.
    """

    run_id: str
    model_id: str
    model_fp: str
    dataset_id: str
    corpus_name: str
    corpus_fp: str
    mode: str
    k: int
    languages: list[str]
    headline: dict[str, float]
    pairs: dict[str, float]
    multilingual_by_lang: dict[str, float]
    n_queries: int
    n_candidates: int
    n_encoded: int = 0
    n_cached: int = 0
    contaminated: bool = False
    contamination_note: str = ""
    reused: bool = False
    wall_seconds: float = 0.0
    metrics_version: str = METRICS_VERSION
    index_kind: str | None = None
    index_recall_at_k: float | None = None
    index_recall_queries: int = 0
    correction: str | None = None
    correction_of: str | None = None
    correction_fit: str | None = None
    correction_info: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document; NaN becomes null.

        Required keys: ``monolingual``, ``crosslingual``, ``multilingual``,
        ``rank_distance``, ``pairs`` (``{"en-de": mAP, ...}``), ``n_queries``,
        ``n_candidates``; the rest describe the run.
        """
        doc: dict[str, Any] = {
            "monolingual": self.headline.get("monolingual"),
            "crosslingual": self.headline.get("crosslingual"),
            "multilingual": self.headline.get("multilingual"),
            "rank_distance": self.headline.get("rank_distance"),
            "pairs": dict(self.pairs),
            "n_queries": self.n_queries,
            "n_candidates": self.n_candidates,
            "multilingual_by_lang": dict(self.multilingual_by_lang),
            "ndcg_at_10": self.headline.get("ndcg_at_10"),
            "recall_at_100": self.headline.get("recall_at_100"),
            "run_id": self.run_id,
            "model": self.model_id,
            "model_fp": self.model_fp,
            "dataset": self.dataset_id,
            "corpus": self.corpus_name,
            "corpus_fp": self.corpus_fp,
            "languages": list(self.languages),
            "mode": self.mode,
            "k": self.k,
            "metrics_version": self.metrics_version,
            "contaminated": self.contaminated,
            "contamination_note": self.contamination_note,
            "reused": self.reused,
            "n_encoded": self.n_encoded,
            "n_cached": self.n_cached,
            "index": self.index_kind,
            "index_recall_at_k": self.index_recall_at_k,
            "index_recall_queries": self.index_recall_queries,
            "correction": self.correction,
            "correction_of": self.correction_of,
            "correction_fit": self.correction_fit,
            "correction_info": dict(self.correction_info),
        }
        return _nan_to_none(doc)


def make_run_id(model_fp: str, corpus_fp: str, mode: str, k: int, index: str = "flat") -> str:
    """16 hex chars of sha256 over (model fp, corpus fp, mode key, k, METRICS_VERSION),
    plus the top-k index kind when it is approximate (its lists differ from exact ones).
    The mode key carries a mode's recipe version (:func:`~hybriddash.encoders.encode.mode_key`)."""
    parts: list[object] = [model_fp, corpus_fp, mode_key(mode), int(k), METRICS_VERSION]
    if index != "flat":
        parts.append(index)
    key = json.dumps(parts)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def evaluate(
    model: str | ModelSpec,
    dataset: str | Corpus,
    *,
    langs: Sequence[str] | None = None,
    articles: int | None = None,
    k: int = 100,
    mode: str | None = None,
    store: Store | None = None,
    force: bool = False,
    batch_size: int = 64,
    progress_callback: ProgressCallback | None = None,
    progress: bool = True,
    index: str = "auto",
    devices: str | Sequence[str] | None = None,
    correction: str | None = None,
    fit_on: str | None = None,
) -> RunSummary:
    """Evaluate ``model`` on ``dataset`` and store the run (see the module docstring).

    Args:
        model: a model name/path for :func:`~hybriddash.encoders.registry.resolve_model`,
            or a :class:`ModelSpec`.
        dataset: a dataset id (``xquad-r``, ``sample``, ``upload:<name>`` …) or a Corpus.
        langs, articles: restrict the corpus (parallel structure kept).
        k: length of the stored pooled top-k lists and of the share@k curves.
        mode: encode mode (one of :data:`~hybriddash.encoders.encode.ENCODE_MODES`;
            None: the fastest measured on this machine among the modes within 0.005 mAP
            of float32, float32 on GPUs;
            :func:`~hybriddash.encoders.tuning.select_encode_mode`).
        store: the store (default: the configured one).
        force: recompute (ranks, metrics, top-k) and replace a run already stored.
        progress_callback: ``(stage, fraction)`` with stage in load, encode, rank,
            topk, store, done, and fraction the overall progress in [0, 1].
        progress: show tqdm bars while encoding.
        index: faiss index of the top-k lists: ``auto`` (exact up to
            :func:`~hybriddash.retrieval.ann.ann_threshold` candidates, HNSW above),
            ``flat``, ``hnsw`` or ``ivf``. Metrics are exact whatever the index.
        devices: where to encode (``cpu``, ``auto`` = all GPUs if any, ``cuda:0,cuda:1``;
            :func:`~hybriddash.encoders.encode.resolve_devices`).
        correction: post-hoc correction of the embeddings: ``center-docs``, ``center``
            or ``shift`` (:mod:`hybriddash.encoders.corrections`); None: none.
        fit_on: the corpus ``center``/``shift`` are fitted on (``DATASET``,
            ``DATASET[articles=N]`` or ``DATASET[articles=A-B]``).
    """
    from hybriddash.encoders import corrections as corr
    from hybriddash.retrieval.ann import validate_index_kind

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    validate_index_kind(index)
    started = time.perf_counter()
    store = store if store is not None else Store()

    def report(stage: str, within: float = 0.0) -> None:
        if progress_callback is None:
            return
        names = list(_STAGES)
        start = _STAGES[stage]
        end = _STAGES[names[min(names.index(stage) + 1, len(names) - 1)]]
        progress_callback(stage, start + (end - start) * min(max(within, 0.0), 1.0))

    report("load")
    key = _run_key(model, dataset, langs, articles, k, mode, index, devices, correction, fit_on)
    spec, corpus, request, fit_corpus = key.spec, key.corpus, key.request, key.fit_corpus
    index_kind, where, mode = key.index_kind, key.devices, key.mode
    model_id, model_fp, run_id = key.model_id, key.model_fp, key.run_id

    if not force:
        stored = stored_summary(run_id, store=store)
        if stored is not None:
            # the run_id encodes the index kind; an approximate run's recall is not stored
            stored.index_kind = index_kind
            stored.index_recall_at_k = 1.0 if index_kind == "flat" else None
            report("done")
            return stored

    from hybriddash.encoders.encode import encode_corpus, encode_texts
    from hybriddash.metrics.settings import (
        bitext_accuracy_table,
        compute_corpus_metrics,
        run_language_preference,
        topk_frames,
    )
    from hybriddash.retrieval.exact_ranks import corpus_relevant_ranks, relevance_csr
    from hybriddash.retrieval.search import TopK, topk_with_report

    report("encode")
    meter = RateMeter()
    encode_started = time.perf_counter()

    def on_encode(done: int, total: int) -> None:
        meter.add(time.perf_counter() - encode_started, done)
        report("encode", done / total if total else 1.0)

    encoded = encode_corpus(
        spec,
        corpus,
        mode=mode,
        batch_size=batch_size,
        progress=progress,
        devices=where,
        progress_callback=on_encode,
    )
    encode_seconds = time.perf_counter() - encode_started

    q_emb, c_emb = encoded.queries, encoded.candidates
    fitted = None
    if request is not None:
        fitted = corr.fit_correction(
            request,
            corpus,
            c_emb,
            fit_corpus=fit_corpus,
            encode=lambda texts, kind: encode_texts(
                spec,
                texts,
                kind,
                mode=mode,
                batch_size=batch_size,
                progress=progress,
                devices=where,
            ),
        )
        q_emb, c_emb = fitted.apply(q_emb, corpus.query_langs, c_emb, corpus.candidate_langs)

    report("rank")
    # Exact top-k lists come out of the rank pass's own score blocks (one matmul, the
    # tie rule of the ranks); faiss builds a second index only when one is approximate.
    exact_topk = k if index_kind == "flat" else 0
    ranks = corpus_relevant_ranks(corpus, q_emb, c_emb, top_k=exact_topk)
    metrics = compute_corpus_metrics(corpus, ranks)

    report("topk")
    if exact_topk:
        assert ranks.topk_scores is not None and ranks.topk_indices is not None
        lists = TopK(ranks.topk_scores, ranks.topk_indices, "flat", ranks.topk_scores.shape[1], 1.0)
    else:
        lists = topk_with_report(q_emb, c_emb, k, index=index_kind)
    scores, indices = lists.scores, lists.indices
    rel_indptr, rel_indices = relevance_csr(corpus)
    hits, shares = topk_frames(
        [q.id for q in corpus.queries],
        [q.lang for q in corpus.queries],
        [c.id for c in corpus.candidates],
        [c.lang for c in corpus.candidates],
        rel_indptr,
        rel_indices,
        scores,
        indices,
    )

    preference = run_language_preference(corpus, ranks, indices, rel_indptr, rel_indices)
    bitext = bitext_accuracy_table(metrics.per_query)
    probe, probe_items = run_language_probe(
        c_emb,
        corpus.candidate_langs,
        [c.id for c in corpus.candidates],
        [candidate_group(c) for c in corpus.candidates],
    )

    contaminated, note = contamination(spec, corpus, store=store)
    info: dict[str, Any] = {}
    if request is not None and fitted is not None:
        fit_dirty, fit_note = correction_contamination(request, fit_corpus, corpus)
        if fit_dirty:
            contaminated = True
            note = "; ".join(x for x in (note, fit_note) if x)
        info = dict(fitted.record)
        info["contamination"] = fit_note

    report("store")
    run_row = {
        "run_id": run_id,
        "model_id": model_id,
        "model_fp": model_fp,
        "corpus_fp": corpus.fingerprint,
        "dataset_id": corpus.dataset_id,
        "corpus_name": corpus.name,
        "encode_mode": mode,
        "top_k": int(k),
        "metrics_version": METRICS_VERSION,
        "languages": list(corpus.languages),
        "n_queries": len(corpus.queries),
        "n_candidates": len(corpus.candidates),
        "n_encoded": encoded.stats.n_encoded,
        "n_cached": encoded.stats.n_cached,
        "contaminated": contaminated,
        "contamination_note": note,
        "wall_seconds": round(time.perf_counter() - started, 3),
        "correction": request.method if request else None,
        "correction_of": spec.model_id if request else None,
        "correction_fit": request.fit_on if request else None,
        "correction_info": json.dumps(info, ensure_ascii=False, default=str) if request else None,
    }
    frames = {
        "run_headline": metrics.headline,
        "run_pair_metrics": metrics.pairs,
        "query_metrics": metrics.per_query,
        "query_relevant_ranks": metrics.relevant_ranks,
        "query_bias": metrics.bias,
        "topk_hits": hits,
        "run_lang_share": shares,
        "run_language_preference": preference,
        "run_bitext_accuracy": bitext,
        "run_language_probe": probe,
        "run_language_probe_items": probe_items,
    }
    with store.write() as con:
        writes.register_model(con, spec)
        if request is not None:
            writes.register_corrected_model(con, spec, model_id, model_fp, request)
        writes.register_corpus(con, corpus)
        writes.write_run(con, run_row, frames)
    if encoded.stats.n_encoded:
        _record_timing(spec, mode, corpus, encoded.stats.n_encoded, encode_seconds, meter, started)
    report("done")

    pairs, by_lang = _pair_dicts(metrics.pairs)
    return RunSummary(
        run_id=run_id,
        model_id=model_id,
        model_fp=model_fp,
        dataset_id=corpus.dataset_id,
        corpus_name=corpus.name,
        corpus_fp=corpus.fingerprint,
        mode=mode,
        k=int(k),
        languages=list(corpus.languages),
        headline=metrics.headline_dict(),
        pairs=pairs,
        multilingual_by_lang=by_lang,
        n_queries=len(corpus.queries),
        n_candidates=len(corpus.candidates),
        n_encoded=encoded.stats.n_encoded,
        n_cached=encoded.stats.n_cached,
        contaminated=contaminated,
        contamination_note=note,
        reused=False,
        wall_seconds=float(run_row["wall_seconds"]),
        index_kind=lists.index_kind,
        index_recall_at_k=lists.recall_at_k,
        index_recall_queries=lists.n_recall_queries,
        correction=run_row["correction"],
        correction_of=run_row["correction_of"],
        correction_fit=run_row["correction_fit"],
        correction_info=info,
    )


def run_language_probe(
    cand_emb: Any,
    cand_langs: Any,
    cand_ids: Sequence[str] | None = None,
    cand_groups: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``run_language_probe`` and ``run_language_probe_items`` rows of a run's candidate
    embeddings; both empty with one language (items empty without ids and groups).

    (:func:`hybriddash.metrics.language_probe.language_probe_accuracy`: cross-validated
    linear language-ID probe, lower = more language-agnostic.)
    """
    from hybriddash.metrics.language_probe import language_probe_accuracy
    from hybriddash.metrics.settings import (
        PROBE_COLUMNS,
        PROBE_ITEM_COLUMNS,
        language_probe_items,
        language_probe_table,
    )

    try:
        result = language_probe_accuracy(cand_emb, cand_langs)
    except ValueError:  # one language, or a language with a single candidate
        return pd.DataFrame(columns=PROBE_COLUMNS), pd.DataFrame(columns=PROBE_ITEM_COLUMNS)
    items = (
        language_probe_items(result, cand_ids, cand_langs, cand_groups)
        if cand_ids is not None and cand_groups is not None
        else pd.DataFrame(columns=PROBE_ITEM_COLUMNS)
    )
    return language_probe_table(result), items


def candidate_group(candidate: Any) -> str:
    """The parallel group of a candidate: its first relevance group, else its article
    (XNLI's non-entailed hypotheses: their premise), else its id."""
    if candidate.groups:
        return str(candidate.groups[0])
    return str(candidate.article) if candidate.article else str(candidate.id)


@dataclass
class RunKey:
    """What identifies a run, resolved without encoding anything (see :func:`evaluate`)."""

    spec: ModelSpec
    corpus: Corpus
    request: Any  # hybriddash.encoders.corrections.CorrectionRequest | None
    fit_corpus: Corpus | None
    index_kind: str
    devices: list[str]
    mode: str
    model_id: str  # "<model> + <correction label>" for a corrected encoder
    model_fp: str
    run_id: str


def _run_key(
    model: str | ModelSpec,
    dataset: str | Corpus,
    langs: Sequence[str] | None,
    articles: int | None,
    k: int,
    mode: str | None,
    index: str,
    devices: str | Sequence[str] | None,
    correction: str | None,
    fit_on: str | None,
) -> RunKey:
    from hybriddash.encoders import corrections as corr
    from hybriddash.retrieval.ann import resolve_index_kind

    request = corr.parse_correction(correction, fit_on)
    spec = _resolve(model)
    corpus = _load(dataset, langs, articles)
    if not corpus.queries or not corpus.candidates:
        raise ValueError(f"{corpus.name}: nothing to evaluate (no queries or no candidates)")
    fit_corpus = (
        corr.load_fit_corpus(request.fit_on) if request is not None and request.fit_on else None
    )
    index_kind = resolve_index_kind(index, len(corpus.candidates))
    if index_kind != "flat" and (corpus.excluded or corpus.has_pools):
        if index != "auto":
            raise ValueError(
                f"{corpus.name}: index {index!r} cannot honour the corpus's excluded candidates "
                "or per-pair pools; use index 'flat' (or 'auto')"
            )
        index_kind = "flat"  # the exact lists come from the rank pass, which honours both
    where = resolve_devices(devices)
    # --mode > HYBRIDDASH_ENCODE_MODE > tuned on this machine (first use tunes) > CPU flags
    if mode is None:
        from hybriddash.encoders.tuning import select_encode_mode

        # a small corpus runs untuned rather than pay for building every mode first
        mode, _why = select_encode_mode(
            None, where, n_texts=len(corpus.queries) + len(corpus.candidates)
        )
    # a fallback is stored as what ran
    mode = effective_mode(mode, spec, where)
    if request is None:
        model_id, model_fp = spec.model_id, spec.fingerprint
    else:
        model_id = corr.corrected_model_id(spec.model_id, request)
        model_fp = corr.corrected_fingerprint(
            spec.fingerprint, request, fit_corpus.fingerprint if fit_corpus else None
        )
    run_id = make_run_id(model_fp, corpus.fingerprint, mode, k, index_kind)
    return RunKey(
        spec, corpus, request, fit_corpus, index_kind, where, mode, model_id, model_fp, run_id
    )


def find_stored_run(
    model: str | ModelSpec,
    dataset: str | Corpus,
    *,
    langs: Sequence[str] | None = None,
    articles: int | None = None,
    k: int = 100,
    mode: str | None = None,
    index: str = "auto",
    devices: str | Sequence[str] | None = None,
    correction: str | None = None,
    fit_on: str | None = None,
    store: Store | None = None,
) -> RunSummary | None:
    """The stored run :func:`evaluate` would reuse for these arguments, or None.

    Resolves the same key (model, corpus, correction and fit corpus, mode, k, index)
    without encoding or ranking anything.
    """
    key = _run_key(model, dataset, langs, articles, k, mode, index, devices, correction, fit_on)
    return stored_summary(key.run_id, store=store)


def stored_summary(run_id: str, *, store: Store | None = None) -> RunSummary | None:
    """The :class:`RunSummary` of a stored run (``reused=True``), or None."""
    run = reads.get_run(run_id, store=store)
    if run is None:
        return None
    pairs, by_lang = _pair_dicts(reads.pair_metrics(run_id, store=store))
    headline = {c: _float(run.get(c)) for c in reads.HEADLINE_COLUMNS}
    languages = run.get("languages")
    return RunSummary(
        run_id=run_id,
        model_id=str(run["model_id"]),
        model_fp=str(run["model_fp"]),
        dataset_id=str(run["dataset_id"]),
        corpus_name=str(run["corpus_name"]),
        corpus_fp=str(run["corpus_fp"]),
        mode=str(run["encode_mode"]),
        k=int(run["top_k"]),
        languages=[str(x) for x in languages] if languages is not None else [],
        headline=headline,
        pairs=pairs,
        multilingual_by_lang=by_lang,
        n_queries=int(run["n_queries"]),
        n_candidates=int(run["n_candidates"]),
        n_encoded=0,
        n_cached=0,
        contaminated=bool(run["contaminated"]),
        contamination_note=str(run["contamination_note"] or ""),
        reused=True,
        wall_seconds=_float(run.get("wall_seconds")),
        metrics_version=str(run.get("metrics_version") or METRICS_VERSION),
        correction=_str_or_none(run.get("correction")),
        correction_of=_str_or_none(run.get("correction_of")),
        correction_fit=_str_or_none(run.get("correction_fit")),
        correction_info=_json_dict(run.get("correction_info")),
    )


def contamination(
    spec: ModelSpec, corpus: Corpus, *, store: Store | None = None
) -> tuple[bool, str]:
    """(contaminated, note) for evaluating ``spec`` on ``corpus``.

    Compares the model's registered training groups and question-text hashes with the
    corpus (:func:`~hybriddash.training.contamination.check_contamination`). A trained
    model whose groups were never registered in this store but whose training card names
    the same dataset is flagged too: its overlap cannot be ruled out.
    """
    from hybriddash.training.contamination import check_contamination

    groups = reads.training_groups(spec.model_id, store=store)
    rows = [
        (str(g), h if isinstance(h, str) else None)
        for g, h in zip(groups["group_id"], groups["text_hash"], strict=True)
    ]
    if rows:
        report = check_contamination(corpus, rows)
        return report.contaminated, report.note()
    card = spec.training_card or {}
    trained_on = str(card.get("train_dataset") or "").split("[", 1)[0]
    if trained_on and trained_on == corpus.dataset_id:
        return True, (
            f"contaminated: {spec.model_id} was trained on {card.get('train_dataset')} and its "
            f"training groups are not registered in this store, so overlap with "
            f"{corpus.name} cannot be ruled out"
        )
    return False, ""


def correction_contamination(
    request: Any, fit_corpus: Corpus | None, corpus: Corpus
) -> tuple[bool, str]:
    """(contaminated, note) for a correction fitted on ``fit_corpus`` and evaluated on ``corpus``.

    Flags a correction whose fit saw evaluation queries (same normalised question text)
    or their parallel groups (:func:`hybriddash.encoders.corrections.fit_contamination_rows`).
    ``center-docs`` is never flagged: it sees the unlabelled candidates being indexed only.
    """
    from hybriddash.encoders.corrections import fit_contamination_rows
    from hybriddash.training.contamination import check_contamination

    rows = fit_contamination_rows(request, fit_corpus)
    if not rows:
        return False, ""
    report = check_contamination(corpus, rows)
    if not report.contaminated:
        return False, ""
    return True, (
        f"correction {request.label} contaminated: fitted on {fit_corpus.name if fit_corpus else '?'}, "
        f"which shares {len(report.contaminated_queries)} of {report.n_queries} evaluation "
        f"queries ({report.fraction:.1%}) by parallel group ({len(report.shared_groups)} groups) "
        f"or question text ({len(report.shared_text_queries)} queries)"
    )


# ---- helpers -----------------------------------------------------------------
def _record_timing(
    spec: ModelSpec,
    mode: str,
    corpus: Corpus,
    n_encoded: int,
    encode_seconds: float,
    meter: RateMeter,
    started: float,
) -> None:
    """Keep this run's throughput for the UI's estimates (:mod:`hybriddash.timings`)."""
    # a read-only artifacts folder must not fail a stored run
    with contextlib.suppress(OSError):
        timings.record(
            model_id=spec.model_id,
            model_fp=spec.fingerprint,
            mode=mode,
            n_texts=len(corpus.queries) + len(corpus.candidates),
            n_encoded=n_encoded,
            encode_s=encode_seconds,
            rate=meter.rate(n_encoded),
            total_s=time.perf_counter() - started,
        )


def _str_or_none(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _json_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _resolve(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    from hybriddash.encoders.registry import resolve_model

    return resolve_model(model)


def _load(dataset: str | Corpus, langs: Sequence[str] | None, articles: int | None) -> Corpus:
    if isinstance(dataset, Corpus):
        if langs is None and articles is None:
            return dataset
        from hybriddash.languages import normalize_language

        norm = [normalize_language(x) for x in langs] if langs is not None else None
        return dataset.subset_by(langs=norm, articles=articles)
    from hybriddash.data.datasets import load_dataset

    return load_dataset(dataset, langs=langs, articles=articles)


def _pair_dicts(pairs: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """``run_pair_metrics`` rows -> ({"q-c": mAP}, {q: mAP(q -> all)})."""
    by_pair: dict[str, float] = {}
    by_lang: dict[str, float] = {}
    for q, c, value in zip(pairs["query_lang"], pairs["cand_lang"], pairs["map"], strict=True):
        if c == "all":
            by_lang[str(q)] = _float(value)
        else:
            by_pair[f"{q}-{c}"] = _float(value)
    return by_pair, by_lang


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
