"""Contamination guard: does an evaluation corpus share parallel groups with training data?

A model trained on some parallel groups (question ids) and evaluated on a corpus that
holds the same groups, or the same question texts under other ids, is not zero-shot.
The guard compares two things:

- **group ids**: the corpus's ``Query.group`` values against the model's training
  groups;
- **question texts**: ``sha1(normalize_text(text))`` of every corpus query against the
  hashes of the training questions (catches the same question under a new id, e.g. an
  uploaded copy of a benchmark).

The store keeps a model's training groups in ``model_training_groups(model_id, group_id,
text_hash)``; :func:`training_groups_of` builds those rows from a training corpus and
:func:`check_contamination` is the pure comparison the evaluation step calls.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from hybriddash.data.corpus import Corpus

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Canonical form of a question for hashing.

    Unicode NFKC, case-folded, runs of whitespace collapsed to one space, stripped.
    Punctuation is kept: "Who?" and "Who" are different questions only in tone, but a
    looser rule would merge genuinely different short questions.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(text: str) -> str:
    """sha1 hex digest (40 chars) of :func:`normalize_text` of ``text`` (UTF-8)."""
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrainingGroup:
    """One row of ``model_training_groups``: a parallel group and one question text hash."""

    group_id: str
    text_hash: str


def training_groups_of(corpus: Corpus, groups: Iterable[str] | None = None) -> list[TrainingGroup]:
    """Rows for ``model_training_groups``: every (group, question-text hash) of ``corpus``.

    ``groups`` restricts to those group ids (e.g. the groups a run actually used);
    ``None`` keeps all. One row per distinct (group, hash); sorted for stable storage.
    """
    keep = set(groups) if groups is not None else None
    rows = {
        TrainingGroup(q.group, text_hash(q.text))
        for q in corpus.queries
        if keep is None or q.group in keep
    }
    return sorted(rows, key=lambda r: (r.group_id, r.text_hash))


@dataclass
class ContaminationReport:
    """Overlap between a model's training data and an evaluation corpus.

    ``shared_groups``: corpus group ids that were training groups;
    ``shared_text_queries``: ids of corpus queries whose normalised text was a training
    question (whatever their group); ``contaminated_queries``: union of the queries hit
    by either rule; ``fraction``: that union over all corpus queries (0 for an empty corpus).
    """

    n_queries: int
    n_groups: int
    shared_groups: list[str] = field(default_factory=list)
    shared_text_queries: list[str] = field(default_factory=list)
    contaminated_queries: list[str] = field(default_factory=list)

    @property
    def contaminated(self) -> bool:
        return bool(self.contaminated_queries)

    @property
    def fraction(self) -> float:
        return len(self.contaminated_queries) / self.n_queries if self.n_queries else 0.0

    def note(self) -> str:
        """One line for the CLI, the store's ``runs.contamination_note`` and the UI."""
        if not self.contaminated:
            return ""
        return (
            f"contaminated: {len(self.contaminated_queries)} of {self.n_queries} queries "
            f"({self.fraction:.1%}) overlap the model's training data "
            f"({len(self.shared_groups)} of {self.n_groups} parallel groups shared by id, "
            f"{len(self.shared_text_queries)} queries by question text)"
        )


def check_contamination(
    corpus: Corpus,
    training_groups: Iterable[TrainingGroup | tuple[str, str | None]],
) -> ContaminationReport:
    """Compare an evaluation ``corpus`` with a model's training groups.

    ``training_groups`` are :class:`TrainingGroup` rows or ``(group_id, text_hash)``
    tuples as read from the store (``text_hash`` may be None). A model with no training
    groups (a base model) gives a clean report.
    """
    train_group_ids: set[str] = set()
    train_hashes: set[str] = set()
    for row in training_groups:
        gid, h = (row.group_id, row.text_hash) if isinstance(row, TrainingGroup) else row
        train_group_ids.add(gid)
        if h:
            train_hashes.add(h)
    corpus_groups = {q.group for q in corpus.queries}
    shared_groups = sorted(corpus_groups & train_group_ids)
    shared_set = set(shared_groups)
    by_text = [q.id for q in corpus.queries if train_hashes and text_hash(q.text) in train_hashes]
    by_group = [q.id for q in corpus.queries if q.group in shared_set]
    return ContaminationReport(
        n_queries=len(corpus.queries),
        n_groups=len(corpus_groups),
        shared_groups=shared_groups,
        shared_text_queries=by_text,
        contaminated_queries=sorted(set(by_text) | set(by_group)),
    )
