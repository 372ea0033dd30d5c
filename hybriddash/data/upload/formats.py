"""Parsers of the three upload formats; each collects every problem it finds.

Formats (``FORMATS``):

``squad``
    LAReQA/SQuAD v1.1 JSON, one file per language: ``{"data": [{"title",
    "paragraphs": [{"context", "qas": [{"id", "question", "answers":
    [{"answer_start", "text"}]}], "sentences", "sentence_breaks"}]}]}``. The
    language comes from a top-level ``"language"`` (or ``"lang"``) field, else from
    the file name (``de.json``, ``xquad.de.json``). The same question ``id`` in
    several files = translations (one parallel group).

    - with ``sentences``/``sentence_breaks`` (LAReQA): candidates are the sentences;
      the relevant candidate of a question in each language that has its id is the
      sentence whose ``[start, end)`` contains the first answer's ``answer_start``;
    - without them: candidates are the paragraphs (``context``); the relevant
      candidate in each language is the paragraph holding the question.

    Ids: query ``f"{qid}/{lang}"`` (group ``qid``), candidate
    ``f"{lang}/{article}/{paragraph}[/{sentence}]"`` (0-based indices); article key =
    ``title`` (else ``article-{i}``), the same in every language.

``beir``
    ``corpus.jsonl`` (``_id``, ``text``, ``lang``; optional ``context``,
    ``article``, ``title`` — a title becomes the context when there is no context),
    ``queries.jsonl`` (``_id``, ``text``, ``lang``; optional ``group_id`` naming the
    parallel group, default the query id; optional ``article``) and ``qrels/*.tsv``
    (``query-id``, ``corpus-id``, ``score``; header optional; score > 0 = relevant;
    several qrels files are merged).

``table``
    A parallel table (CSV, TSV, JSONL or Parquet) with columns ``group_id``,
    ``lang``, ``question``, ``answer`` (+ optional ``context``, ``article``,
    ``distractor``); see :mod:`hybriddash.data.parallel_table`, which turns the
    validated rows into the corpus. Several table files are concatenated.

Line numbers are 1-based physical lines (JSON, JSONL, CSV/TSV; a CSV header is
line 1); Parquet problems name the 1-based row. JSON problems below the syntax
level name the JSON path as the field (``data[0].paragraphs[1].qas[2].id``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.data.parallel_table import (
    COLUMNS as TABLE_COLUMNS,
)
from hybriddash.data.parallel_table import (
    CorpusFormatError,
    corpus_from_parallel_rows,
    parse_flag,
)
from hybriddash.data.upload.problems import ProblemLog
from hybriddash.data.upload.sources import UploadFile, decode_text
from hybriddash.languages import UnknownLanguageError, normalize_language

FORMATS = ("squad", "beir", "table")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
#: Columns a parallel table must have (the issue's contract; ``question`` may be
#: empty on distractor and answer-only rows, but the column must exist).
TABLE_REQUIRED = ("group_id", "lang", "question", "answer")


# ---- language codes ------------------------------------------------------------


@dataclass
class LanguageNormaliser:
    """Normalises language values and remembers which spellings were seen."""

    seen: dict[str, set[str]] = field(default_factory=dict)  # canonical -> raw spellings

    def __call__(
        self, value: object, log: ProblemLog, file: str, line: int | None, fld: str
    ) -> str | None:
        raw = "" if value is None else str(value).strip()
        if not raw:
            log.add(file, line, fld, "empty language code", "language")
            return None
        try:
            code = normalize_language(raw)
        except UnknownLanguageError as exc:
            log.add(file, line, fld, str(exc), "language")
            return None
        self.seen.setdefault(code, set()).add(raw)
        return code

    def notices(self, log: ProblemLog) -> None:
        renamed = sorted(
            f"{', '.join(repr(r) for r in sorted(raws))} -> {code!r}"
            for code, raws in self.seen.items()
            if raws != {code}
        )
        if renamed:
            log.notice("language codes normalised: " + "; ".join(renamed))
        mixed = sorted(code for code, raws in self.seen.items() if len(raws) > 1)
        if mixed:
            log.notice(
                "the same language is spelled in several ways (" + ", ".join(mixed) + "); "
                "they were merged"
            )


def language_from_filename(name: str) -> str | None:
    """Language named by a file name: the whole stem, else its last token, else the
    only token that is a language.

    ``de.json``, ``German.json``, ``xquad.de.json``, ``squad-no-answer.de.json`` (the
    last token wins over words like "no" or "id" that are language codes too) -> the
    code; None when no token, or several tokens but not the last, name a language.
    """
    stem = PurePosixPath(name).name
    for suffix in (".json", ".jsonl"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    tokens = [t for t in re.split(r"[-_.\s]+", stem) if t.isalpha()]
    for candidate in (stem, tokens[-1] if tokens else ""):
        try:
            return normalize_language(candidate)
        except UnknownLanguageError:
            continue
    found: set[str] = set()
    for token in tokens:
        try:
            found.add(normalize_language(token))
        except UnknownLanguageError:
            continue
    return found.pop() if len(found) == 1 else None


# ---- format detection ------------------------------------------------------------


def detect_format(files: list[UploadFile], log: ProblemLog) -> str | None:
    """``squad`` | ``beir`` | ``table`` from the file names (None + a problem if unclear)."""
    names = {f.basename.lower() for f in files}
    if not files:
        log.add("upload", None, None, "no files were uploaded", "missing")
        return None
    suffixes = {f.suffix for f in files}
    # a lone corpus.jsonl may be a parallel table; with queries or qrels it is BEIR
    if "queries.jsonl" in names or (
        "corpus.jsonl" in names and ".tsv" in suffixes and len(files) > 1
    ):
        return "beir"
    if suffixes == {".json"}:
        return "squad"
    if suffixes <= set(TABLE_SUFFIXES):
        return "table"
    odd = sorted(f.name for f in files if f.suffix not in (".json", *TABLE_SUFFIXES))
    log.add(
        odd[0] if odd else files[0].name,
        None,
        None,
        "cannot tell the upload format: expected SQuAD/LAReQA .json files (one per "
        "language), a BEIR folder (corpus.jsonl, queries.jsonl, qrels/*.tsv), or a "
        f"parallel table (.csv, .tsv, .jsonl, .parquet); got {sorted(f.name for f in files)}",
        "format",
    )
    return None


# ---- helpers -----------------------------------------------------------------------


def _load_json(file: UploadFile, log: ProblemLog) -> object | None:
    text = decode_text(file, log)
    if text is None:
        return None
    if not text.strip():
        log.add(file.name, 1, None, "the file is empty", "empty")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        log.add(
            file.name, exc.lineno, None, f"malformed JSON: {exc.msg} (column {exc.colno})", "json"
        )
        return None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _id(value: object) -> str:
    """Ids may be strings or integers in the wild; anything else is invalid."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


# ---- SQuAD / LAReQA ------------------------------------------------------------------


@dataclass
class _SquadQuestion:
    qid: str
    lang: str
    text: str
    article: str
    candidate: str  # id of the relevant candidate in this language
    file: str
    path: str


def parse_squad(files: list[UploadFile], dataset_id: str, log: ProblemLog) -> Corpus | None:
    """SQuAD/LAReQA JSON files (one per language) -> Corpus; problems go to ``log``."""
    norm = LanguageNormaliser()
    candidates: list[Candidate] = []
    questions: list[_SquadQuestion] = []
    seen_qid: dict[tuple[str, str], str] = {}  # (lang, qid) -> "file: path"
    lang_files: dict[str, str] = {}
    modes: dict[str, str] = {}  # mode -> first file using it

    for file in files:
        doc = _load_json(file, log)
        if doc is None:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            log.add(
                file.name,
                None,
                "data",
                'expected an object with a "data" list (SQuAD v1.1)',
                "missing-column",
            )
            continue
        from_name = language_from_filename(file.name)
        declared = doc.get("language", doc.get("lang"))
        if declared is not None:
            lang = norm(declared, log, file.name, None, "language")
            if lang is not None and from_name is not None and from_name != lang:
                log.add(
                    file.name,
                    None,
                    "language",
                    f"inconsistent language: the file declares {declared!r} ({lang}) but its "
                    f"name says {from_name!r}",
                    "language",
                )
                continue
        elif from_name is not None:
            lang = norm(from_name, log, file.name, None, "file name")
        else:
            log.add(
                file.name,
                None,
                "language",
                "cannot tell this file's language: name it after the language (de.json) or "
                'add a top-level "language" field',
                "language",
            )
            continue
        if lang is None:
            continue
        if lang in lang_files:
            log.add(
                file.name,
                None,
                "language",
                f"a second file for language {lang!r} (first: {lang_files[lang]}); give one file "
                "per language",
                "language",
            )
            continue
        lang_files[lang] = file.name

        for i, article in enumerate(doc["data"]):
            apath = f"data[{i}]"
            if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
                log.add(
                    file.name,
                    None,
                    f"{apath}.paragraphs",
                    "expected a list of paragraphs",
                    "missing-column",
                )
                continue
            title = _text(article.get("title")) or f"article-{i}"
            for j, para in enumerate(article["paragraphs"]):
                ppath = f"{apath}.paragraphs[{j}]"
                if not isinstance(para, dict):
                    log.add(file.name, None, ppath, "expected an object", "invalid")
                    continue
                _squad_paragraph(
                    file,
                    lang,
                    title,
                    i,
                    j,
                    ppath,
                    para,
                    candidates,
                    questions,
                    seen_qid,
                    modes,
                    log,
                )

    if len(modes) > 1:
        log.add(
            modes["paragraph"],
            None,
            "sentences",
            f"some paragraphs have sentences/sentence_breaks (e.g. {modes['sentence']}) and some "
            "do not; give them for every paragraph or for none",
            "inconsistent",
        )
    if not lang_files and not log:
        log.add("upload", None, None, "no SQuAD file could be read", "empty")
    if log:
        return None

    # relevance: the question's answer candidate in every language that has its id
    by_group: dict[str, list[_SquadQuestion]] = {}
    for q in questions:
        by_group.setdefault(q.qid, []).append(q)
    queries = [Query(f"{q.qid}/{q.lang}", q.lang, q.text, q.qid, q.article) for q in questions]
    relevant = {
        f"{q.qid}/{q.lang}": frozenset(o.candidate for o in by_group[q.qid]) for q in questions
    }
    cand_groups: dict[str, list[str]] = {}
    for q in questions:
        cand_groups.setdefault(q.candidate, []).append(q.qid)
    candidates = [
        Candidate(
            c.id,
            c.lang,
            c.text,
            c.context,
            c.article,
            tuple(sorted(set(cand_groups.get(c.id, ())))),
        )
        for c in candidates
    ]
    if not queries:
        log.add("upload", None, "qas", "no question in any file: nothing to retrieve for", "empty")
        return None
    norm.notices(log)
    mode = next(iter(modes), "paragraph")
    log.notice(
        f"SQuAD/LAReQA JSON, {len(lang_files)} language file(s); candidates are "
        + (
            "sentences (sentence_breaks)"
            if mode == "sentence"
            else "paragraphs (no sentence breaks)"
        )
    )
    return Corpus(dataset_id, candidates, queries, relevant)


def _squad_paragraph(
    file: UploadFile,
    lang: str,
    title: str,
    i: int,
    j: int,
    ppath: str,
    para: dict,
    candidates: list[Candidate],
    questions: list[_SquadQuestion],
    seen_qid: dict[tuple[str, str], str],
    modes: dict[str, str],
    log: ProblemLog,
) -> None:
    context = para.get("context")
    if not isinstance(context, str):
        log.add(file.name, None, f"{ppath}.context", "missing or not a string", "missing-column")
        return
    if not context.strip():
        log.add(file.name, None, f"{ppath}.context", "empty text", "empty")
        return
    has_sent, has_breaks = "sentences" in para, "sentence_breaks" in para
    if has_sent != has_breaks:
        missing = "sentence_breaks" if has_sent else "sentences"
        log.add(
            file.name,
            None,
            f"{ppath}.{missing}",
            "missing (sentences and sentence_breaks go together)",
            "missing-column",
        )
        return
    mode = "sentence" if has_sent else "paragraph"
    modes.setdefault(mode, f"{file.name}: {ppath}")
    spans: list[tuple[int, int, str]] = []  # (start, end, candidate id)
    base = f"{lang}/{i}/{j}"  # indices, not the title: titles need not be unique
    if mode == "sentence":
        sentences, breaks = para["sentences"], para["sentence_breaks"]
        if (
            not isinstance(sentences, list)
            or not isinstance(breaks, list)
            or len(sentences) != len(breaks)
        ):
            log.add(
                file.name,
                None,
                f"{ppath}.sentence_breaks",
                "sentences and sentence_breaks must be lists of the same length",
                "invalid",
            )
            return
        ok = True
        for k, (sentence, brk) in enumerate(zip(sentences, breaks, strict=False)):
            if not isinstance(sentence, str) or not sentence.strip():
                log.add(file.name, None, f"{ppath}.sentences[{k}]", "empty text", "empty")
                ok = False
                continue
            if (
                not isinstance(brk, list)
                or len(brk) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in brk)
                or not 0 <= brk[0] < brk[1] <= len(context)
            ):
                log.add(
                    file.name,
                    None,
                    f"{ppath}.sentence_breaks[{k}]",
                    f"expected [start, end) character offsets within the context (0..{len(context)}), got {brk!r}",
                    "invalid",
                )
                ok = False
                continue
            spans.append((brk[0], brk[1], f"{base}/{k}"))
        if not ok:
            return
        for _start, _end, cid in spans:
            k = int(cid.rsplit("/", 1)[1])
            candidates.append(Candidate(cid, lang, sentences[k].strip(), context, title))
    else:
        candidates.append(Candidate(base, lang, context.strip(), None, title))
        spans.append((0, len(context), base))

    qas = para.get("qas", [])
    if not isinstance(qas, list):
        log.add(file.name, None, f"{ppath}.qas", "expected a list", "invalid")
        return
    for k, qa in enumerate(qas):
        qpath = f"{ppath}.qas[{k}]"
        if not isinstance(qa, dict):
            log.add(file.name, None, qpath, "expected an object", "invalid")
            continue
        qid = _id(qa.get("id"))
        if not qid:
            log.add(
                file.name, None, f"{qpath}.id", "missing or empty question id", "missing-column"
            )
            continue
        question = _text(qa.get("question"))
        if not question:
            log.add(file.name, None, f"{qpath}.question", "empty text", "empty")
            continue
        where = f"{file.name}: {qpath}"
        if (lang, qid) in seen_qid:
            log.add(
                file.name,
                None,
                f"{qpath}.id",
                f"duplicate question id {qid!r} in language {lang!r} (first at {seen_qid[(lang, qid)]})",
                "duplicate",
            )
            continue
        seen_qid[(lang, qid)] = where
        if mode == "paragraph":
            target = base
        else:
            answers = qa.get("answers")
            starts = [a.get("answer_start") for a in answers or [] if isinstance(a, dict)]
            if not starts or not isinstance(starts[0], int) or isinstance(starts[0], bool):
                log.add(
                    file.name,
                    None,
                    f"{qpath}.answers",
                    "no answer with an integer answer_start: the question has no relevant sentence",
                    "no-relevant",
                )
                continue
            start = starts[0]
            hit = [cid for s, e, cid in spans if s <= start < e]
            if not hit:
                log.add(
                    file.name,
                    None,
                    f"{qpath}.answers[0].answer_start",
                    f"answer_start {start} lies in no sentence: the question has no relevant candidate",
                    "no-relevant",
                )
                continue
            target = hit[0]
        questions.append(_SquadQuestion(qid, lang, question, title, target, file.name, qpath))


# ---- BEIR --------------------------------------------------------------------------------


def _jsonl_records(file: UploadFile, log: ProblemLog) -> list[tuple[int, dict]]:
    """(line number, object) of every non-blank line; problems for bad lines."""
    text = decode_text(file, log)
    if text is None:
        return []
    out = []
    n_bad = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        n_bad += 1  # undone below when the line parses
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            log.add(
                file.name, number, None, f"malformed JSON: {exc.msg} (column {exc.colno})", "json"
            )
            continue
        if not isinstance(obj, dict):
            log.add(
                file.name, number, None, f"expected a JSON object, got {type(obj).__name__}", "json"
            )
            continue
        n_bad -= 1
        out.append((number, obj))
    if not out and not n_bad:
        log.add(file.name, None, None, "the file holds no records", "empty")
    return out


def parse_beir(files: list[UploadFile], dataset_id: str, log: ProblemLog) -> Corpus | None:
    """BEIR-style corpus.jsonl + queries.jsonl + qrels/*.tsv -> Corpus."""
    norm = LanguageNormaliser()
    by_name: dict[str, list[UploadFile]] = {}
    for f in files:
        by_name.setdefault(f.basename.lower(), []).append(f)
    qrels_files = [f for f in files if f.suffix == ".tsv"]
    for required in ("corpus.jsonl", "queries.jsonl"):
        if required not in by_name:
            log.add(
                required,
                None,
                None,
                "missing: a BEIR upload needs corpus.jsonl, queries.jsonl and qrels/*.tsv",
                "missing",
            )
        elif len(by_name[required]) > 1:
            log.add(by_name[required][1].name, None, None, f"more than one {required}", "duplicate")
    if not qrels_files:
        log.add(
            "qrels/*.tsv",
            None,
            None,
            "missing: no qrels .tsv file (query-id, corpus-id, score)",
            "missing",
        )
    others = [
        f.name
        for f in files
        if f.suffix not in (".tsv",) and f.basename.lower() not in ("corpus.jsonl", "queries.jsonl")
    ]
    if others:
        log.notice(
            f"ignored file(s) that are not part of a BEIR upload: {', '.join(sorted(others))}"
        )
    if log:
        return None
    corpus_file, queries_file = by_name["corpus.jsonl"][0], by_name["queries.jsonl"][0]

    cand_rows = _beir_records(corpus_file, "document", log, norm)
    query_rows = _beir_records(queries_file, "query", log, norm)

    relevant: dict[str, set[str]] = {}
    for qf in qrels_files:
        text = decode_text(qf, log)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            cells = line.split("\t")
            if number == 1 and len(cells) >= 3 and not _is_number(cells[-1]):
                continue  # header line: query-id, corpus-id, score
            if len(cells) not in (3, 4):
                log.add(
                    qf.name,
                    number,
                    None,
                    f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(cells)}",
                    "csv",
                )
                continue
            qid, cid, score = cells[0].strip(), cells[-2].strip(), cells[-1].strip()
            if not _is_number(score):
                log.add(qf.name, number, "score", f"expected a number, got {score!r}", "invalid")
                continue
            bad = False
            if qid not in query_rows:
                log.add(
                    qf.name,
                    number,
                    "query-id",
                    f"unknown query id {qid!r} (not in {queries_file.name})",
                    "unknown-id",
                )
                bad = True
            if cid not in cand_rows:
                log.add(
                    qf.name,
                    number,
                    "corpus-id",
                    f"unknown corpus id {cid!r} (not in {corpus_file.name})",
                    "unknown-id",
                )
                bad = True
            if bad or float(score) <= 0:
                continue
            relevant.setdefault(qid, set()).add(cid)

    for qid, (number, _rec, _lang) in query_rows.items():
        if qid not in relevant:
            log.add(
                queries_file.name,
                number,
                "_id",
                f"query {qid!r} has no relevant document (score > 0) in the qrels",
                "no-relevant",
            )
    if log:
        return None
    if not query_rows:
        log.add(queries_file.name, None, None, "no queries", "empty")
        return None

    group_of: dict[str, str] = {}
    queries = []
    for qid, (_number, rec, lang) in query_rows.items():
        group = _id(rec.get("group_id", rec.get("group"))) or qid
        group_of[qid] = group
        queries.append(Query(qid, lang, _text(rec["text"]), group, _id(rec.get("article")) or None))
    cand_groups: dict[str, set[str]] = {}
    for qid, cids in relevant.items():
        for cid in cids:
            cand_groups.setdefault(cid, set()).add(group_of[qid])
    candidates = []
    for cid, (_number, rec, lang) in cand_rows.items():
        context = _text(rec.get("context")) or _text(rec.get("title")) or None
        candidates.append(
            Candidate(
                cid,
                lang,
                _text(rec["text"]),
                context,
                _id(rec.get("article")) or None,
                tuple(sorted(cand_groups.get(cid, ()))),
            )
        )
    norm.notices(log)
    log.notice(
        f"BEIR upload: {len(candidates)} documents, {len(queries)} queries, {len(qrels_files)} qrels file(s)"
    )
    return Corpus(dataset_id, candidates, queries, {q: frozenset(c) for q, c in relevant.items()})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---- parallel table ----------------------------------------------------------------------


def _table_rows(
    file: UploadFile, log: ProblemLog
) -> tuple[list[str], list[tuple[int, dict]]] | None:
    """(columns, [(line or row number, record)]) of one table file."""
    if file.suffix == ".parquet":
        return _parquet_rows(file, log)
    if file.suffix == ".jsonl":
        records = _jsonl_records(file, log)
        columns: list[str] = []
        for _n, rec in records:
            for key in rec:
                if key not in columns:
                    columns.append(key)
        return columns, records
    text = decode_text(file, log)
    if text is None:
        return None
    if not text.strip():
        log.add(file.name, 1, None, "the file is empty", "empty")
        return None
    delimiter = "\t" if file.suffix == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, dict]] = []
    try:
        header = next(reader)
    except csv.Error as exc:
        log.add(file.name, 1, None, f"malformed header: {exc}", "csv")
        return None
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        log.add(file.name, 1, dupes[0], "column named twice in the header", "duplicate")
        return None
    if len(header) == 1 and delimiter == "," and "\t" in text.splitlines()[0]:
        log.add(
            file.name,
            1,
            None,
            "the header has one column; is this a TSV file saved as .csv?",
            "csv",
        )
        return None
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # report the line where the broken record starts (an unclosed quote runs on)
            log.add(
                file.name,
                start_line,
                None,
                f"malformed CSV in the record starting here: {exc}",
                "csv",
            )
            break  # the reader cannot resynchronise after a quoting error
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            log.add(
                file.name,
                start_line,
                None,
                f"expected {len(header)} fields (as the header), got {len(cells)}",
                "csv",
            )
            continue
        rows.append((start_line, dict(zip(header, cells, strict=False))))
    return header, rows


def _parquet_rows(
    file: UploadFile, log: ProblemLog
) -> tuple[list[str], list[tuple[int, dict]]] | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(file.data))
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        log.add(file.name, None, None, f"not a readable Parquet file ({exc})", "parquet")
        return None
    columns = list(table.column_names)
    for name in columns:
        typ = table.schema.field(name).type
        if name in TABLE_COLUMNS and not (
            pa.types.is_string(typ)
            or pa.types.is_large_string(typ)
            or pa.types.is_integer(typ)
            or pa.types.is_boolean(typ)
            or pa.types.is_null(typ)
        ):
            log.add(
                file.name, None, name, f"unsupported column type {typ} (expected text)", "invalid"
            )
    if log:
        return None
    return columns, list(enumerate(table.to_pylist(), start=1))


def parse_table(
    files: list[UploadFile], dataset_id: str, log: ProblemLog
) -> tuple[Corpus | None, list[dict]]:
    """Parallel-table files -> (Corpus, normalised rows); problems go to ``log``."""
    norm = LanguageNormaliser()
    all_rows: list[dict] = []
    seen: dict[tuple[str, str], str] = {}  # (group, lang) -> "file line n"
    group_kind: dict[str, tuple[bool, str, str]] = {}  # group -> (distractor, article, where)
    for file in files:
        parsed = _table_rows(file, log)
        if parsed is None:
            continue
        columns, rows = parsed
        missing = [c for c in TABLE_REQUIRED if c not in columns]
        if missing:
            # CSV/TSV name their columns on line 1; JSONL and Parquet have no header line
            header_line = 1 if file.suffix in (".csv", ".tsv") else None
            for column in missing:
                log.add(
                    file.name,
                    header_line,
                    column,
                    f"missing required column (a parallel table needs {', '.join(TABLE_REQUIRED)})",
                    "missing-column",
                )
            continue
        extra = [c for c in columns if c not in TABLE_COLUMNS]
        if extra:
            log.notice(f"{file.name}: ignored column(s) {', '.join(extra)}")
        if not rows:
            log.add(file.name, None, None, "the table has no rows", "empty")
            continue
        for number, rec in rows:
            _table_row(file.name, number, rec, norm, seen, group_kind, all_rows, log)
    if log:
        return None, []
    if not any(r["question"] for r in all_rows):
        log.add(
            files[0].name,
            None,
            "question",
            "no row has a question: nothing to retrieve for",
            "no-relevant",
        )
        return None, []
    try:
        corpus = corpus_from_parallel_rows(all_rows, dataset_id, ", ".join(f.name for f in files))
    except CorpusFormatError as exc:  # validation above should have caught it; report, don't crash
        log.add(exc.source, exc.row, exc.field, exc.message, "invalid")
        return None, []
    norm.notices(log)
    return corpus, all_rows


def _cell(rec: Mapping[str, object], key: str) -> str:
    value = rec.get(key)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _table_row(
    fname: str,
    number: int,
    rec: dict,
    norm: Callable[..., str | None],
    seen: dict[tuple[str, str], str],
    group_kind: dict[str, tuple[bool, str, str]],
    out: list[dict],
    log: ProblemLog,
) -> None:
    ok = True
    where = f"{fname} line {number}"
    group = _cell(rec, "group_id")
    if not group:
        log.add(fname, number, "group_id", "empty group id", "empty")
        ok = False
    lang = norm(rec.get("lang"), log, fname, number, "lang")
    ok = ok and lang is not None
    flag = parse_flag(rec.get("distractor"))
    if flag is None:
        log.add(
            fname,
            number,
            "distractor",
            f"expected true/false (1/0, yes/no), got {rec.get('distractor')!r}",
            "invalid",
        )
        ok = False
    question, answer = _cell(rec, "question"), _cell(rec, "answer")
    if not answer:
        log.add(
            fname,
            number,
            "answer",
            "empty text (every row needs its answer/candidate text)",
            "empty",
        )
        ok = False
    if flag and question:
        log.add(
            fname, number, "question", "a distractor row must have an empty question", "invalid"
        )
        ok = False
    if not ok:
        return
    assert lang is not None
    key = (group, lang)
    if key in seen:
        log.add(
            fname,
            number,
            "lang",
            f"duplicate (group_id, lang) = ({group!r}, {lang!r}); first at {seen[key]}",
            "duplicate",
        )
        return
    seen[key] = where
    article = _cell(rec, "article") or group
    if group in group_kind:
        was_distractor, was_article, first = group_kind[group]
        if was_distractor != bool(flag):
            log.add(
                fname,
                number,
                "distractor",
                f"group {group!r} mixes distractor and question rows (see {first}); use a separate group_id for distractors",
                "inconsistent",
            )
            return
        if was_article != article:
            log.add(
                fname,
                number,
                "article",
                f"group {group!r} is in article {was_article!r} at {first} but {article!r} here",
                "inconsistent",
            )
            return
    else:
        group_kind[group] = (bool(flag), article, where)
    out.append(
        {
            "group_id": group,
            "lang": lang,
            "question": question,
            "answer": answer,
            "context": _cell(rec, "context"),
            "article": _cell(rec, "article"),
            "distractor": bool(flag),
        }
    )


def _beir_records(
    path: UploadFile, what: str, log: ProblemLog, norm: LanguageNormaliser
) -> dict[str, tuple[int, dict, str]]:
    """``{_id: (line, record, lang)}`` of a BEIR JSONL file; every bad record is logged.

    A record needs a unique non-empty ``_id``, a non-empty ``text`` and a ``lang``
    that normalises; ``what`` ("document" / "query") names it in the messages.
    """
    rows: dict[str, tuple[int, dict, str]] = {}
    for number, rec in _jsonl_records(path, log):
        rid = _id(rec.get("_id"))
        if not rid:
            log.add(path.name, number, "_id", "missing or empty id", "missing-column")
            continue
        if rid in rows:
            log.add(
                path.name,
                number,
                "_id",
                f"duplicate id {rid!r} (first on line {rows[rid][0]})",
                "duplicate",
            )
            continue
        if "text" not in rec:
            log.add(path.name, number, "text", "missing field", "missing-column")
            continue
        if not _text(rec.get("text")):
            log.add(path.name, number, "text", "empty text", "empty")
            continue
        if "lang" not in rec:
            log.add(
                path.name,
                number,
                "lang",
                f"missing field (every {what} needs its language)",
                "missing-column",
            )
            continue
        lang = norm(rec.get("lang"), log, path.name, number, "lang")
        if lang is not None:
            rows[rid] = (number, rec, lang)
    return rows
