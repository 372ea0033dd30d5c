"""The "parallel table" corpus format: one row per (group, language).

This is the format of the built-in sample corpus and of uploaded corpora, and
:func:`corpus_from_parallel_rows` is the single place where such rows become a
:class:`~hybriddash.data.corpus.Corpus` (file parsing and encodings live with the
callers; this module only sees dicts).

Columns (keys of each row dict):

``group_id`` (required)
    Rows sharing a ``group_id`` are translations of each other.
``lang`` (required)
    Any code or name :func:`hybriddash.languages.normalize_language` accepts.
``question``
    The query text. Empty on distractor rows. A non-distractor row with an empty
    question is an *answer-only* row: its answer is a candidate (and relevant to the
    group's questions in other languages) but the row adds no query.
``answer`` (required)
    The candidate sentence. For a question row it answers the question; for a
    distractor row it is a non-relevant candidate.
``context`` (optional)
    The paragraph the answer comes from (shown in the UI, not retrieved).
``article`` (optional)
    Topic key used by ``Corpus.subset_by(articles=N)``; it must be the same in every
    row of a group. Defaults to the ``group_id`` (each group its own article).
``distractor`` (optional)
    Truthy (``true``/``1``/``yes``/``y``/``x``, a true bool or a non-zero number)
    marks the row's ``answer`` as a distractor candidate.

Ids (``lang`` is the canonical code):

- query ``f"{group_id}/{lang}"`` with ``Query.group == group_id``;
- answer candidate ``f"{group_id}/{lang}"`` with ``Candidate.groups == (group_id,)``;
- distractor candidate ``f"d:{group_id}/{lang}"`` with ``Candidate.groups == ()``
  (it answers nothing).

Relevance: ``relevant[f"{g}/{lang}"]`` is the answer candidate of group ``g`` in
every language that has ``g``, the query's own language included.

Errors are :class:`CorpusFormatError` naming the source, the row number and the
field at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.languages import UnknownLanguageError, normalize_language

#: Every column the format knows, in the order files should write them.
COLUMNS: tuple[str, ...] = (
    "group_id",
    "lang",
    "question",
    "answer",
    "context",
    "article",
    "distractor",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("group_id", "lang", "answer")

_TRUE = {"1", "true", "yes", "y", "x", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


class CorpusFormatError(ValueError):
    """A row that cannot become part of a corpus.

    ``source`` names the file (or other origin), ``row`` is the row number as the
    caller counts it (see ``first_row`` of :func:`corpus_from_parallel_rows`),
    ``field`` is the column at fault (None for row-level problems).
    """

    def __init__(self, source: str, row: int | None, field: str | None, message: str) -> None:
        self.source = source
        self.row = row
        self.field = field
        self.message = message
        where = source
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


@dataclass
class _Group:
    article: str
    first_row: int
    answer_langs: list[str]
    is_distractor: bool


def parse_flag(value: object) -> bool | None:
    """Interpret a ``distractor`` cell; None when the value is not a recognised flag."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _cell(row: Mapping[str, object], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    # float NaN is what pandas gives for empty CSV cells
    if isinstance(value, float) and value != value:
        return ""
    return str(value).strip()


def corpus_from_parallel_rows(
    rows: Iterable[Mapping[str, object]],
    dataset_id: str,
    source: str,
    *,
    first_row: int = 1,
    row_numbers: Iterable[int] | None = None,
    notes: list[str] | None = None,
) -> Corpus:
    """Build a :class:`Corpus` from parallel-table rows (see the module docstring).

    ``first_row`` is the number reported for the first row in errors (e.g. 2 for a
    CSV file whose line 1 is the header); ``row_numbers``, when given, numbers every
    row explicitly instead (e.g. file line numbers when blank lines were skipped). Raises :class:`CorpusFormatError` on the
    first problem: missing required field, empty text, unknown language, bad
    ``distractor`` flag, duplicate ``(group_id, lang)``, a group mixing distractor
    and question rows, a group whose rows disagree on ``article``, a distractor row
    with a question, or an empty table.
    """
    candidates: list[Candidate] = []
    queries: list[Query] = []
    groups: dict[str, _Group] = {}
    seen: dict[tuple[str, str], int] = {}
    n_rows = 0

    numbered = (
        zip(row_numbers, rows, strict=True)
        if row_numbers is not None
        else enumerate(rows, first_row)
    )
    for number, row in numbered:
        n_rows += 1
        if not isinstance(row, Mapping):
            raise CorpusFormatError(
                source, number, None, f"expected a record, got {type(row).__name__}"
            )
        for key in REQUIRED_COLUMNS:
            if key not in row:
                raise CorpusFormatError(source, number, key, "missing required field")
        group_id = _cell(row, "group_id")
        if not group_id:
            raise CorpusFormatError(source, number, "group_id", "empty group id")
        raw_lang = _cell(row, "lang")
        try:
            lang = normalize_language(raw_lang)
        except UnknownLanguageError as exc:
            raise CorpusFormatError(source, number, "lang", str(exc)) from None
        flag = parse_flag(row.get("distractor"))
        if flag is None:
            raise CorpusFormatError(
                source,
                number,
                "distractor",
                f"expected true/false (1/0, yes/no), got {row.get('distractor')!r}",
            )
        question = _cell(row, "question")
        answer = _cell(row, "answer")
        context = _cell(row, "context") or None
        article = _cell(row, "article") or group_id

        if (group_id, lang) in seen:
            raise CorpusFormatError(
                source,
                number,
                "lang",
                f"duplicate (group_id, lang) = ({group_id!r}, {lang!r}); "
                f"first seen in row {seen[(group_id, lang)]}",
            )
        seen[(group_id, lang)] = number
        if not answer:
            what = "distractor row" if flag else ("question row" if question else "row")
            raise CorpusFormatError(source, number, "answer", f"empty answer text in {what}")
        if flag and question:
            raise CorpusFormatError(
                source, number, "question", "a distractor row must have an empty question"
            )

        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = _Group(article, number, [], bool(flag))
        else:
            if group.is_distractor != bool(flag):
                raise CorpusFormatError(
                    source,
                    number,
                    "distractor",
                    f"group {group_id!r} mixes distractor and question rows "
                    f"(row {group.first_row} is {'a' if group.is_distractor else 'not a'} "
                    "distractor); use a separate group_id for distractors",
                )
            if group.article != article:
                raise CorpusFormatError(
                    source,
                    number,
                    "article",
                    f"group {group_id!r} is in article {group.article!r} in row "
                    f"{group.first_row} but {article!r} here; translations must share "
                    "one article",
                )

        if flag:
            candidates.append(Candidate(f"d:{group_id}/{lang}", lang, answer, context, article, ()))
            continue
        candidates.append(
            Candidate(f"{group_id}/{lang}", lang, answer, context, article, (group_id,))
        )
        group.answer_langs.append(lang)
        if question:
            queries.append(Query(f"{group_id}/{lang}", lang, question, group_id, article))

    if n_rows == 0:
        raise CorpusFormatError(source, None, None, "no rows")
    if not queries:
        raise CorpusFormatError(
            source, None, "question", "no row has a question: nothing to retrieve for"
        )

    relevant = {
        q.id: frozenset(f"{q.group}/{lang}" for lang in groups[q.group].answer_langs)
        for q in queries
    }
    n_distractors = sum(1 for c in candidates if not c.groups)
    all_notes = list(notes or [])
    all_notes.append(
        f"{source}: {len(queries)} queries in {sum(1 for g in groups.values() if not g.is_distractor)} "
        f"parallel groups, {len(candidates)} candidates ({n_distractors} distractors)"
    )
    return Corpus(dataset_id, candidates, queries, relevant, notes=all_notes)
