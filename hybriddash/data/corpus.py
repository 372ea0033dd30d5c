"""The one in-memory corpus type for LAReQA-style multilingual retrieval.

A :class:`Corpus` holds

- candidates: ``(id, lang, text, context, article)`` — the retrievable sentences
  (or paragraphs);
- queries: ``(id, lang, text, group, article)`` — questions; ``group`` is the
  *parallel group*: every translation of the same question shares it;
- relevance: query id -> the candidate ids that answer it, in every language
  (LAReQA: one answer sentence per language that has the group).

Candidates answering a group carry that group in ``Candidate.groups``, which ties
translated answers together (UMAP lines, contamination checks).

Two optional restrictions of the candidate pool, both empty for LAReQA corpora:

- ``excluded``: query id -> candidate ids that query must not see (neither ranked nor
  counted). A pooled translation-retrieval corpus (TICO-19, XNLI test) has every
  segment both as a query and as a candidate: the query's own segment is excluded, so it
  can neither answer itself nor push its translations down.
- ``Candidate.pool`` / ``Query.pool``: when set, a query sees only the candidates of its
  own pool (Tatoeba: each language pair is a pool of its X side and its English side, as
  in XTREME's and MTEB's per-pair evaluation). Pools must be set on all records or none.

``symmetric``: queries and candidates are the same kind of text (translations of
one another), so an encoder embeds both sides alike: with e5 the ``query: `` prefix on
both, as its model card prescribes for symmetric tasks such as bitext mining (and as
MTEB ran it). Then a query and its own segment get the same embedding, which is why
those corpora exclude it.

Conventions: ids are unique strings; ``lang`` is a canonical code from
:mod:`hybriddash.languages`; ``article`` orders articles for the "first N articles"
subset (the same article key in every language of a parallel corpus).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Candidate:
    id: str
    lang: str
    text: str
    context: str | None = None
    article: str | None = None
    groups: tuple[str, ...] = ()
    pool: str | None = None


@dataclass(frozen=True)
class Query:
    id: str
    lang: str
    text: str
    group: str
    article: str | None = None
    pool: str | None = None


@dataclass
class Corpus:
    """Candidates, queries and relevance judgements of one dataset (or subset).

    ``dataset_id`` names the source (``xquad-r``, ``mlqa-r``, ``sample``,
    ``upload:<name>``); ``subset`` describes a restriction (``{"langs": [...],
    "articles": N}``) and is part of the fingerprint.
    """

    dataset_id: str
    candidates: list[Candidate]
    queries: list[Query]
    relevant: dict[str, frozenset[str]]
    subset: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, frozenset[str]] = field(default_factory=dict)
    symmetric: bool = False

    def __post_init__(self) -> None:
        self.validate()

    # ---- integrity ---------------------------------------------------------
    def validate(self) -> None:
        """Raise ValueError naming the first broken invariant."""
        cand_ids = [c.id for c in self.candidates]
        if len(set(cand_ids)) != len(cand_ids):
            dup = _first_duplicate(cand_ids)
            raise ValueError(f"{self.dataset_id}: duplicate candidate id {dup!r}")
        query_ids = [q.id for q in self.queries]
        if len(set(query_ids)) != len(query_ids):
            dup = _first_duplicate(query_ids)
            raise ValueError(f"{self.dataset_id}: duplicate query id {dup!r}")
        known = set(cand_ids)
        for q in self.queries:
            rel = self.relevant.get(q.id)
            if not rel:
                raise ValueError(f"{self.dataset_id}: query {q.id!r} has no relevant candidate")
            missing = rel - known
            if missing:
                raise ValueError(
                    f"{self.dataset_id}: query {q.id!r} judged relevant to unknown "
                    f"candidate(s) {sorted(missing)[:3]}"
                )
            both = rel & self.excluded.get(q.id, frozenset())
            if both:
                raise ValueError(
                    f"{self.dataset_id}: query {q.id!r} excludes candidate(s) it is judged "
                    f"relevant to: {sorted(both)[:3]}"
                )
        pooled = {c.pool is not None for c in self.candidates} | {
            q.pool is not None for q in self.queries
        }
        if len(pooled) > 1:
            raise ValueError(f"{self.dataset_id}: pools are set on some records but not on others")
        if pooled == {True}:
            pool_of = {c.id: c.pool for c in self.candidates}
            for q in self.queries:
                outside = [c for c in self.relevant[q.id] if pool_of[c] != q.pool]
                if outside:
                    raise ValueError(
                        f"{self.dataset_id}: query {q.id!r} (pool {q.pool!r}) judged relevant "
                        f"to candidate {outside[0]!r} of another pool"
                    )

    # ---- identity ----------------------------------------------------------
    @cached_property
    def fingerprint(self) -> str:
        """sha256 (hex, 16 chars) of every candidate, query and judgement.

        Any change of text, language, id or relevance changes it; the order of
        records does not.
        """
        h = hashlib.sha256()
        for c in sorted(self.candidates, key=lambda c: c.id):
            h.update(json.dumps([c.id, c.lang, c.text, c.context], ensure_ascii=False).encode())
        for q in sorted(self.queries, key=lambda q: q.id):
            h.update(json.dumps([q.id, q.lang, q.text, q.group], ensure_ascii=False).encode())
            h.update(json.dumps(sorted(self.relevant[q.id])).encode())
        # Only corpora that use them hash exclusions and pools: LAReQA fingerprints stay.
        for qid in sorted(self.excluded):
            h.update(json.dumps(["excluded", qid, sorted(self.excluded[qid])]).encode())
        if self.symmetric:
            h.update(b"symmetric")
        if self.has_pools:
            for c in sorted(self.candidates, key=lambda c: c.id):
                h.update(json.dumps(["pool", c.id, c.pool]).encode())
            for q in sorted(self.queries, key=lambda q: q.id):
                h.update(json.dumps(["pool", q.id, q.pool]).encode())
        return h.hexdigest()[:16]

    @property
    def has_pools(self) -> bool:
        """Whether queries see only the candidates of their own pool (see the module doc)."""
        return bool(self.candidates) and self.candidates[0].pool is not None

    @property
    def name(self) -> str:
        """Human-readable id including the subset, e.g. ``xquad-r[en,de;articles=4]``."""
        parts = []
        if self.subset.get("langs"):
            parts.append(",".join(self.subset["langs"]))  # type: ignore[arg-type]
        if self.subset.get("articles"):
            parts.append(f"articles={self.subset['articles']}")
        # dataset-specific selectors (domain=, split=, ...) after those, in key order
        for key in sorted(set(self.subset) - {"langs", "articles"}):
            parts.append(f"{key}={self.subset[key]}")
        return f"{self.dataset_id}[{';'.join(parts)}]" if parts else self.dataset_id

    # ---- views -------------------------------------------------------------
    @cached_property
    def languages(self) -> list[str]:
        """Sorted languages present among candidates or queries."""
        return sorted({c.lang for c in self.candidates} | {q.lang for q in self.queries})

    @cached_property
    def candidate_index(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.candidates)}

    @cached_property
    def candidate_langs(self) -> np.ndarray:
        """Array (n_candidates,) of language codes (dtype object)."""
        return np.array([c.lang for c in self.candidates], dtype=object)

    @cached_property
    def query_langs(self) -> np.ndarray:
        return np.array([q.lang for q in self.queries], dtype=object)

    @cached_property
    def relevance_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Judgements as CSR ``(indptr (nq+1,), indices (nnz,))`` over candidate rows.

        Queries in corpus order; each query's relevant candidates sorted by row index.
        """
        index = self.candidate_index
        lists = [self.relevant[q.id] for q in self.queries]
        indptr = np.zeros(len(lists) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(x) for x in lists])
        indices = np.fromiter(
            (index[c] for x in lists for c in x), dtype=np.int64, count=int(indptr[-1])
        )
        query_of = np.repeat(np.arange(len(lists), dtype=np.int64), np.diff(indptr))
        indices = indices[np.lexsort((indices, query_of))]
        indices.flags.writeable = False  # shared by every caller
        indptr.flags.writeable = False
        return indptr, indices

    def relevant_indices(self, query_id: str) -> np.ndarray:
        """Sorted candidate row indices judged relevant for ``query_id``."""
        idx = self.candidate_index
        return np.array(sorted(idx[c] for c in self.relevant[query_id]), dtype=np.int64)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{lang: {"queries": n, "candidates": m}}``."""
        out: dict[str, dict[str, int]] = {
            lang: {"queries": 0, "candidates": 0} for lang in self.languages
        }
        for c in self.candidates:
            out[c.lang]["candidates"] += 1
        for q in self.queries:
            out[q.lang]["queries"] += 1
        return out

    def articles(self) -> list[str]:
        """Article keys in corpus order (first appearance)."""
        seen: dict[str, None] = {}
        for c in self.candidates:
            if c.article is not None:
                seen.setdefault(c.article, None)
        return list(seen)

    # ---- subsets that keep the parallel structure ----------------------------
    def subset_by(self, langs: Sequence[str] | None = None, articles: int | None = None) -> Corpus:
        """Restrict to ``langs`` and/or the first ``articles`` articles.

        Relevance is restricted to the kept candidates; queries left with no
        relevant candidate are dropped (cannot happen in a parallel corpus, where
        each kept query keeps its own-language answer).
        """
        if langs is not None:
            unknown = sorted(set(langs) - set(self.languages))
            if unknown:
                raise ValueError(
                    f"{self.dataset_id}: language(s) {unknown} not in this corpus "
                    f"(it has {self.languages})"
                )
        keep_lang = set(langs) if langs else None
        keep_article: set[str] | None = None
        if articles is not None:
            all_articles = self.articles()
            if articles < 1:
                raise ValueError(f"articles must be >= 1, got {articles}")
            keep_article = set(all_articles[:articles])

        def kept(lang: str, article: str | None) -> bool:
            if keep_lang is not None and lang not in keep_lang:
                return False
            return keep_article is None or article in keep_article

        subset: dict[str, object] = {}
        if langs:
            subset["langs"] = sorted(keep_lang)  # type: ignore[arg-type]
        if articles is not None:
            subset["articles"] = articles
        return self.restrict(
            lambda c: kept(c.lang, c.article), lambda q: kept(q.lang, q.article), subset
        )

    def restrict(
        self,
        keep_candidate: Callable[[Candidate], bool],
        keep_query: Callable[[Query], bool],
        subset: dict[str, object],
    ) -> Corpus:
        """The corpus of the kept candidates and queries; ``subset`` is merged into its own.

        Relevance and exclusions are restricted to the kept candidates; a query left with
        no relevant candidate is dropped.
        """
        candidates = [c for c in self.candidates if keep_candidate(c)]
        cand_ids = {c.id for c in candidates}
        queries, relevant, excluded = [], {}, {}
        for q in self.queries:
            if not keep_query(q):
                continue
            rel = self.relevant[q.id] & cand_ids
            if rel:
                queries.append(q)
                relevant[q.id] = frozenset(rel)
                gone = self.excluded.get(q.id, frozenset()) & cand_ids
                if gone:
                    excluded[q.id] = frozenset(gone)
        return Corpus(
            self.dataset_id,
            candidates,
            queries,
            relevant,
            {**self.subset, **subset},
            list(self.notes),
            excluded,
            self.symmetric,
        )


def _first_duplicate(values: Iterable[str]) -> str:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return ""
