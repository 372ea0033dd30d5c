"""Training-free language-bias corrections: post-hoc transforms of a model's embeddings.

A correction sits between encoding and retrieval: :func:`hybriddash.evaluation.evaluate`
encodes with the model (embedding cache as usual), fits the correction, transforms the
query and candidate embeddings, then ranks. The corrected encoder is a model of its own:
its id is ``"<model id> + <label>"`` (e.g. ``trained/hyb + center-docs``), its
fingerprint hashes the model's fingerprint, the method, :data:`CORRECTION_VERSION` and
the fit corpus's fingerprint (:func:`corrected_fingerprint`), so a run is reused only for
the same model, method and fit data, and any change gives a new run.

Every method subtracts a per-language offset ``o_L`` and renormalises (the retrieval is
cosine on unit vectors)::

    x' = normalize(x - o_lang(x))

``center-docs``
    Candidates only, fitted on the candidates being indexed (no labels, no queries):
    ``o_L = mean(candidates of L) - mean(all candidates)``, i.e.
    ``c' = normalize(c - mean_L + mean_all)``. Queries are unchanged.
``center``
    Candidates as ``center-docs``; queries too, with the means fitted on the queries of a
    stated corpus ``F`` (``--fit-on``): ``o_L = mean(F's queries in L) - mean(F's queries
    in the evaluated languages)``. A query language ``F`` lacks falls back to its
    candidates' offset (recorded as ``query_fallback_langs``).
``shift``
    Shift (Jang, Hong, Moon & Lim 2026, *Semantic Harmonization via Index-side Feature
    Transformation for Multilingual Information Retrieval*, arXiv 2606.18801): a relative
    language vector per language, estimated from parallel translation pairs of a stated
    corpus, subtracted from the document embeddings at indexing time. Our reading: the
    pairs are the parallel relevant candidates of ``F`` (the answers of one parallel
    group in two languages, encoded as passages); with a source language ``s`` (``en``
    when ``F`` has it, else ``F``'s most frequent pair language),
    ``o_L = mean over groups with both L and s of (e(c_g,L) - e(c_g,s))``, ``o_s = 0``.
    Languages without pairs in ``F`` get no offset (recorded as ``unfitted_langs``).
    Renormalising after the subtraction is our choice (the paper's vectors feed a cosine
    retriever); queries are unchanged.

Fit corpora are dataset references for :func:`hybriddash.data.datasets.load_dataset`:
``DATASET``, ``DATASET[articles=N]`` (first N articles) or ``DATASET[articles=A-B]``
(articles A to B, 1-based, inclusive: ``xquad-r[articles=9-16]`` is articles 8-15 counted
from 0). The contamination guard (:func:`fit_contamination_rows`) flags a correction
fitted on the evaluation queries or on their parallel groups.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybriddash.data.corpus import Corpus

METHODS = ("center-docs", "center", "shift")
# Bump whenever a change here changes corrected embeddings: it is part of the fingerprint.
CORRECTION_VERSION = "1"
METHOD_HELP = {
    "center-docs": "centre each language's candidates on the mean of all candidates "
    "(fitted on the candidates being indexed, no labels)",
    "center": "center-docs plus queries centred with language means fitted on --fit-on",
    "shift": "Shift (arXiv 2606.18801): subtract per-language offsets fitted on parallel "
    "pairs of --fit-on from the candidates",
}
_REF = re.compile(r"^(?P<dataset>[^\[\]]+?)(?:\[articles=(?P<a>\d+)(?:-(?P<b>\d+))?\])?$")


@dataclass(frozen=True)
class CorrectionRequest:
    """A correction to apply: ``method`` and, for ``center``/``shift``, the fit corpus."""

    method: str
    fit_on: str | None = None

    @property
    def label(self) -> str:
        """How the correction is named in model ids and tables: ``center-docs``,
        ``center(fit=mlqa-r)``, ``shift(fit=xquad-r[articles=9-16])``."""
        return self.method if self.fit_on is None else f"{self.method}(fit={self.fit_on})"


def parse_correction(method: str | None, fit_on: str | None = None) -> CorrectionRequest | None:
    """Validate a correction request; None when ``method`` is None/""/"none".

    Raises ValueError for an unknown method, ``center-docs`` with a fit corpus (it fits on
    the candidates being indexed), ``center``/``shift`` without one, or a fit reference
    that is not ``DATASET``/``DATASET[articles=N]``/``DATASET[articles=A-B]``.
    """
    if method in (None, "", "none"):
        if fit_on:
            raise ValueError("--fit-on needs --correction center or shift")
        return None
    if method not in METHODS:
        raise ValueError(f"unknown correction {method!r}; expected one of {', '.join(METHODS)}")
    if method == "center-docs":
        if fit_on:
            raise ValueError(
                "center-docs is fitted on the candidates being indexed; --fit-on applies to "
                "center and shift"
            )
        return CorrectionRequest(method)
    if not fit_on:
        raise ValueError(
            f"correction {method} needs --fit-on DATASET (the corpus its "
            f"{'query means' if method == 'center' else 'parallel pairs'} are fitted on)"
        )
    return CorrectionRequest(method, canonical_fit_ref(fit_on))


def canonical_fit_ref(ref: str) -> str:
    """``ref`` in canonical form (spaces removed, ``[articles=1-N]`` written ``[articles=N]``)."""
    dataset, first, last = _parse_ref(ref)
    if first is None:
        return dataset
    if first == 1:
        return f"{dataset}[articles={last}]"
    return f"{dataset}[articles={first}-{last}]"


def _parse_ref(ref: str) -> tuple[str, int | None, int | None]:
    m = _REF.match(ref.replace(" ", ""))
    if not m:
        raise ValueError(
            f"fit corpus {ref!r}: expected DATASET, DATASET[articles=N] or DATASET[articles=A-B]"
        )
    dataset = m.group("dataset")
    if m.group("a") is None:
        return dataset, None, None
    a = int(m.group("a"))
    if m.group("b") is None:
        first, last = 1, a
    else:
        first, last = a, int(m.group("b"))
    if first < 1 or last < first:
        raise ValueError(f"fit corpus {ref!r}: article range must satisfy 1 <= A <= B")
    return dataset, first, last


def load_fit_corpus(ref: str) -> Corpus:
    """The corpus a ``center``/``shift`` correction is fitted on (see the module docstring)."""
    from hybriddash.data.datasets import load_dataset

    dataset, first, last = _parse_ref(ref)
    full = load_dataset(dataset)
    if first is None:
        return full
    return article_range(full, first, last)  # type: ignore[arg-type]


def article_range(corpus: Corpus, first: int, last: int) -> Corpus:
    """Articles ``first``..``last`` (1-based, inclusive, in corpus order) of ``corpus``."""
    articles = corpus.articles()
    if first > len(articles):
        raise ValueError(f"{corpus.name}: has {len(articles)} articles, asked from article {first}")
    keep = set(articles[first - 1 : last])
    candidates = [c for c in corpus.candidates if c.article in keep]
    cand_ids = {c.id for c in candidates}
    queries, relevant = [], {}
    for q in corpus.queries:
        if q.article not in keep:
            continue
        rel = corpus.relevant[q.id] & cand_ids
        if rel:
            queries.append(q)
            relevant[q.id] = frozenset(rel)
    subset = dict(corpus.subset)
    subset["articles"] = last if first == 1 else f"{first}-{last}"
    return Corpus(corpus.dataset_id, candidates, queries, relevant, subset, list(corpus.notes))


def corrected_model_id(model_id: str, request: CorrectionRequest) -> str:
    """The corrected encoder's id: ``"<model id> + <label>"``."""
    return f"{model_id} + {request.label}"


def corrected_fingerprint(
    model_fp: str, request: CorrectionRequest, fit_corpus_fp: str | None
) -> str:
    """16 hex chars of sha256 over (model fp, method, version, fit corpus fp)."""
    key = json.dumps([model_fp, request.method, CORRECTION_VERSION, fit_corpus_fp])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# ---- pure fitting and application ------------------------------------------------
def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32; an all-zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def language_mean_offsets(
    vectors: np.ndarray, langs: Sequence[str] | np.ndarray
) -> dict[str, np.ndarray]:
    """``o_L = mean(rows of L) - mean(all rows)`` per language (float64 means)."""
    x = np.asarray(vectors, dtype=np.float64)
    langs = np.asarray(langs, dtype=object)
    if x.shape[0] != langs.shape[0]:
        raise ValueError(f"{x.shape[0]} vectors but {langs.shape[0]} languages")
    if x.shape[0] == 0:
        return {}
    overall = x.mean(axis=0)
    return {str(lang): x[langs == lang].mean(axis=0) - overall for lang in sorted(set(langs))}


def parallel_offsets(
    vectors: np.ndarray,
    langs: Sequence[str] | np.ndarray,
    groups: Sequence[str] | np.ndarray,
    source: str,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Shift's relative language vectors from parallel rows.

    Rows sharing a group are translations of each other. For each language ``L`` and
    each group holding both ``L`` and ``source`` (several rows of one language in a group
    are averaged first), the difference ``e_L - e_source``; ``o_L`` is the mean of those
    differences, ``o_source = 0``. Returns ``(offsets, pairs per language)``; languages
    without a pair with ``source`` are absent.
    """
    x = np.asarray(vectors, dtype=np.float64)
    langs = np.asarray(langs, dtype=object)
    groups = np.asarray(groups, dtype=object)
    if not (x.shape[0] == langs.shape[0] == groups.shape[0]):
        raise ValueError("vectors, langs and groups need one entry per row")
    per_group: dict[Any, dict[str, list[int]]] = {}
    for i, (g, lang) in enumerate(zip(groups, langs, strict=True)):
        per_group.setdefault(g, {}).setdefault(str(lang), []).append(i)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for by_lang in per_group.values():
        if source not in by_lang or len(by_lang) < 2:
            continue
        src = x[by_lang[source]].mean(axis=0)
        for lang, rows in by_lang.items():
            if lang == source:
                continue
            diff = x[rows].mean(axis=0) - src
            sums[lang] = sums.get(lang, 0) + diff
            counts[lang] = counts.get(lang, 0) + 1
    offsets = {lang: sums[lang] / counts[lang] for lang in sums}
    if counts:
        offsets[source] = np.zeros(x.shape[1])
        counts[source] = max(counts.values())
    return offsets, counts


def apply_offsets(
    vectors: np.ndarray, langs: Sequence[str] | np.ndarray, offsets: dict[str, np.ndarray]
) -> np.ndarray:
    """``normalize(x - o_lang(x))`` row by row; languages without an offset: ``normalize(x)``."""
    x = np.asarray(vectors, dtype=np.float64).copy()
    langs = np.asarray(langs, dtype=object)
    for lang, offset in offsets.items():
        mask = langs == lang
        if mask.any():
            x[mask] -= np.asarray(offset, dtype=np.float64)
    return unit(x)


@dataclass
class FittedCorrection:
    """Offsets ready to apply, and the record of what they were fitted on (JSON-able)."""

    request: CorrectionRequest
    doc_offsets: dict[str, np.ndarray] = field(default_factory=dict)
    query_offsets: dict[str, np.ndarray] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)

    def apply(
        self,
        queries: np.ndarray,
        query_langs: Sequence[str] | np.ndarray,
        candidates: np.ndarray,
        cand_langs: Sequence[str] | np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The corrected (queries, candidates), float32, unit rows."""
        q = (
            apply_offsets(queries, query_langs, self.query_offsets)
            if self.query_offsets
            else queries
        )
        c = (
            apply_offsets(candidates, cand_langs, self.doc_offsets)
            if self.doc_offsets
            else candidates
        )
        return np.asarray(q, dtype=np.float32), np.asarray(c, dtype=np.float32)


# (texts, kind) -> unit embeddings of those texts with the model being corrected
EncodeFn = Callable[[list[str], str], np.ndarray]


def fit_correction(
    request: CorrectionRequest,
    corpus: Corpus,
    candidate_vectors: np.ndarray,
    *,
    encode: EncodeFn | None = None,
    fit_corpus: Corpus | None = None,
) -> FittedCorrection:
    """Fit ``request`` for evaluating on ``corpus`` (whose candidates are ``candidate_vectors``).

    ``encode(texts, kind)`` embeds fit-corpus texts (``kind`` ``"query"``/``"passage"``)
    with the model being corrected; needed with ``fit_corpus`` for ``center``/``shift``.
    """
    cand_langs = [c.lang for c in corpus.candidates]
    record: dict[str, Any] = {
        "method": request.method,
        "label": request.label,
        "version": CORRECTION_VERSION,
    }
    if request.method in ("center-docs", "center"):
        doc_offsets = language_mean_offsets(candidate_vectors, cand_langs)
        record["documents_fitted_on"] = (
            f"the {len(cand_langs)} candidates being indexed ({corpus.name}), no labels"
        )
        record["documents_per_lang"] = _counts(cand_langs)
        record["doc_offset_norms"] = _norms(doc_offsets)
        if request.method == "center-docs":
            return FittedCorrection(request, doc_offsets=doc_offsets, record=record)
        fit = _need_fit(request, fit_corpus, encode)
        eval_langs = sorted({q.lang for q in corpus.queries})
        fit_queries = [q for q in fit.queries if q.lang in eval_langs]
        vectors = (
            encode([q.text for q in fit_queries], "query") if fit_queries else np.zeros((0, 0))
        )
        fit_langs = [q.lang for q in fit_queries]
        query_offsets = language_mean_offsets(vectors, fit_langs)
        fallback = [lang for lang in eval_langs if lang not in query_offsets]
        for lang in fallback:
            if lang in doc_offsets:
                query_offsets[lang] = doc_offsets[lang]
        record.update(_fit_identity(fit))
        record["queries_fitted_on"] = f"{len(fit_queries)} queries of {fit.name}"
        record["queries_per_lang"] = _counts(fit_langs)
        record["query_fallback_langs"] = fallback
        record["query_offset_norms"] = _norms(query_offsets)
        return FittedCorrection(request, doc_offsets, query_offsets, record)
    if request.method == "shift":
        fit = _need_fit(request, fit_corpus, encode)
        ids, langs, groups = parallel_candidates(fit)
        if not ids:
            raise ValueError(f"shift: {fit.name} has no parallel relevant candidates to fit on")
        source = _source_language(langs, groups)
        index = fit.candidate_index
        vectors = encode([fit.candidates[index[c]].text for c in ids], "passage")
        doc_offsets, pairs = parallel_offsets(vectors, langs, groups, source)
        eval_langs = sorted(set(cand_langs))
        record.update(_fit_identity(fit))
        record["documents_fitted_on"] = (
            f"{len(ids)} parallel relevant candidates of {fit.name} "
            f"({len(set(groups))} groups), pairs with source language {source}"
        )
        record["source_lang"] = source
        record["pairs_per_lang"] = {k: int(v) for k, v in sorted(pairs.items())}
        record["unfitted_langs"] = [lang for lang in eval_langs if lang not in doc_offsets]
        doc_offsets = {k: v for k, v in doc_offsets.items() if k in eval_langs}
        record["doc_offset_norms"] = _norms(doc_offsets)
        return FittedCorrection(request, doc_offsets=doc_offsets, record=record)
    raise ValueError(f"unknown correction {request.method!r}")


def parallel_candidates(corpus: Corpus) -> tuple[list[str], list[str], list[str]]:
    """(candidate ids, languages, groups): the relevant candidates of every parallel group
    present in at least two languages, one row per (group, candidate)."""
    by_group: dict[str, set[str]] = {}
    for q in corpus.queries:
        by_group.setdefault(q.group, set()).update(corpus.relevant[q.id])
    index = corpus.candidate_index
    ids, langs, groups = [], [], []
    for g in sorted(by_group):
        cands = sorted(by_group[g])
        cand_langs = [corpus.candidates[index[c]].lang for c in cands]
        if len(set(cand_langs)) < 2:
            continue
        ids += cands
        langs += cand_langs
        groups += [g] * len(cands)
    return ids, langs, groups


def fit_contamination_rows(
    request: CorrectionRequest, fit_corpus: Corpus | None
) -> list[tuple[str, str | None]]:
    """What a fitted correction saw, as ``(group_id, question-text hash)`` rows for
    :func:`hybriddash.training.contamination.check_contamination`: the fit queries' groups
    and texts (``center``), the parallel groups of the fit pairs (``shift``); nothing for
    ``center-docs`` (unlabelled candidates being indexed, no query)."""
    if request.method == "center-docs" or fit_corpus is None:
        return []
    from hybriddash.training.contamination import training_groups_of

    if request.method == "center":
        return [(r.group_id, r.text_hash) for r in training_groups_of(fit_corpus)]
    _, _, groups = parallel_candidates(fit_corpus)
    return [(g, None) for g in sorted(set(groups))]


# ---- helpers -----------------------------------------------------------------------
def _need_fit(request: CorrectionRequest, fit: Corpus | None, encode: EncodeFn | None) -> Corpus:
    if fit is None or encode is None:
        raise ValueError(f"correction {request.method} needs a fit corpus and an encoder")
    return fit


def _source_language(langs: Sequence[str], groups: Sequence[str]) -> str:
    """``en`` when present, else the language in the most groups (ties: alphabetical)."""
    present = set(langs)
    if "en" in present:
        return "en"
    per_lang: dict[str, set[str]] = {}
    for lang, g in zip(langs, groups, strict=True):
        per_lang.setdefault(lang, set()).add(g)
    return sorted(per_lang, key=lambda x: (-len(per_lang[x]), x))[0]


def _fit_identity(fit: Corpus) -> dict[str, Any]:
    return {
        "fit_corpus": fit.name,
        "fit_corpus_fp": fit.fingerprint,
        "fit_corpus_size": {"queries": len(fit.queries), "candidates": len(fit.candidates)},
    }


def _counts(langs: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for lang in langs:
        out[lang] = out.get(lang, 0) + 1
    return dict(sorted(out.items()))


def _norms(offsets: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: round(float(np.linalg.norm(v)), 5) for k, v in sorted(offsets.items())}
