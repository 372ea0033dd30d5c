"""Parallel segments -> a pooled translation-retrieval corpus (TICO-19, XNLI test).

Every segment is both a query and a candidate. For the segment of parallel group ``g``
in language ``X``:

- query id = candidate id = ``f"{g}/{X}"``, ``Query.group`` = ``g``,
  ``Candidate.groups`` = ``(g,)``, ``article`` = the segment's document key;
- relevant: the segments of ``g`` in every *other* language (its translations);
- excluded: its own segment. The pool is every segment in every language except the
  query's own text, so same-language non-translations compete with translations: the
  language bias of the encoder shows directly, and the cross-lingual pools X -> Y give
  bitext retrieval accuracy per pair.

A group present in one language only adds a candidate but no query (nothing to find).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from hybriddash.data.corpus import Candidate, Corpus, Query


@dataclass(frozen=True)
class Segment:
    """One language version of a parallel unit: ``group`` ties the translations."""

    group: str
    lang: str
    text: str
    article: str | None = None


def translation_pool_corpus(
    segments: Iterable[Segment], dataset_id: str, notes: list[str] | None = None
) -> Corpus:
    """The pooled translation-retrieval corpus of ``segments`` (see the module docstring).

    Raises ValueError naming the group when a (group, language) occurs twice.
    """
    candidates: list[Candidate] = []
    langs_of: dict[str, list[str]] = defaultdict(list)
    for seg in segments:
        if seg.lang in langs_of[seg.group]:
            raise ValueError(f"{dataset_id}: segment {seg.group!r} occurs twice in {seg.lang!r}")
        langs_of[seg.group].append(seg.lang)
        candidates.append(
            Candidate(
                f"{seg.group}/{seg.lang}", seg.lang, seg.text, None, seg.article, (seg.group,)
            )
        )
    ids_of = {g: frozenset(f"{g}/{lang}" for lang in langs) for g, langs in langs_of.items()}
    queries: list[Query] = []
    relevant: dict[str, frozenset[str]] = {}
    excluded: dict[str, frozenset[str]] = {}
    for cand in candidates:
        group = cand.groups[0]
        if len(langs_of[group]) < 2:
            continue
        own = frozenset([cand.id])
        queries.append(Query(cand.id, cand.lang, cand.text, group, cand.article))
        relevant[cand.id] = ids_of[group] - own
        excluded[cand.id] = own
    return Corpus(
        dataset_id,
        candidates,
        queries,
        relevant,
        notes=list(notes or []),
        excluded=excluded,
        symmetric=True,
    )
