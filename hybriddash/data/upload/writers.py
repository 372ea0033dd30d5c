"""Write a :class:`Corpus` in each upload format (templates, round-trip tests, storage).

- :func:`corpus_to_parallel_rows` / :func:`write_table`: the parallel table (CSV,
  TSV, JSONL, Parquet). Possible when the corpus has the parallel structure of
  :mod:`hybriddash.data.parallel_table`: each (group, language) has one answer
  candidate, every non-answer candidate is relevant to nothing (a distractor), at
  most one query per (group, language), and a query's relevant set is its group's
  answer in every language that has the group. Otherwise :class:`NotParallelError`.
- :func:`write_squad`: LAReQA/SQuAD JSON, one file per language. With
  ``sentences=True`` each paragraph lists its sentences and their ``sentence_breaks``;
  a question's answer offset points at its answer sentence. Needs the parallel
  structure and a query for every answer (SQuAD has no answer-only rows).
- :func:`write_beir`: ``corpus.jsonl``, ``queries.jsonl`` (with ``group_id``),
  ``qrels/test.tsv``; represents any corpus.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hybriddash.data.corpus import Corpus
from hybriddash.data.parallel_table import COLUMNS as TABLE_COLUMNS


class NotParallelError(ValueError):
    """The corpus cannot be written as a parallel table (or SQuAD files)."""


def corpus_to_parallel_rows(corpus: Corpus) -> list[dict[str, object]]:
    """Parallel-table rows (one per answer or distractor candidate) of ``corpus``.

    Candidate and query ids are *not* kept (the table derives them from
    ``group_id``/``lang``); texts, languages, contexts, articles and relevance are.
    Raises :class:`NotParallelError` naming the first candidate/query that breaks the
    parallel structure.
    """
    answer_of: dict[tuple[str, str], str] = {}  # (group, lang) -> candidate id
    for c in corpus.candidates:
        if len(c.groups) > 1:
            raise NotParallelError(
                f"candidate {c.id!r} answers several groups {list(c.groups)[:3]}"
            )
        if c.groups:
            key = (c.groups[0], c.lang)
            if key in answer_of:
                raise NotParallelError(
                    f"group {key[0]!r} has two answers in {key[1]!r}: {answer_of[key]!r} and {c.id!r}"
                )
            answer_of[key] = c.id
    langs_of: dict[str, set[str]] = {}
    for group, lang in answer_of:
        langs_of.setdefault(group, set()).add(lang)
    query_of: dict[tuple[str, str], str] = {}
    for q in corpus.queries:
        key = (q.group, q.lang)
        if key in query_of:
            raise NotParallelError(f"group {q.group!r} has two queries in {q.lang!r}")
        if key not in answer_of:
            raise NotParallelError(f"query {q.id!r} has no answer candidate in its own language")
        expected = {answer_of[(q.group, lang)] for lang in langs_of[q.group]}
        if set(corpus.relevant[q.id]) != expected:
            raise NotParallelError(
                f"query {q.id!r}: relevant candidates are not exactly its group's answers"
            )
        query_of[key] = q.id
    queries = {q.id: q for q in corpus.queries}
    rows: list[dict[str, object]] = []
    n_distractor: dict[tuple[str, str], int] = {}
    for c in corpus.candidates:
        if c.groups:
            group = c.groups[0]
            qid = query_of.get((group, c.lang))
            question = queries[qid].text if qid else ""
            distractor = False
        else:
            # distractors need their own group ids (a group is all-distractor or none)
            base = c.article or "d"
            n = n_distractor.get((base, c.lang), 0)
            n_distractor[(base, c.lang)] = n + 1
            group = f"distractor:{base}:{n}"
            question = ""
            distractor = True
        rows.append(
            {
                "group_id": group,
                "lang": c.lang,
                "question": question,
                "answer": c.text,
                "context": c.context or "",
                "article": c.article or "",
                "distractor": distractor,
            }
        )
    return rows


def write_table(corpus: Corpus, path: str | Path) -> Path:
    """Write the parallel table; the format follows the suffix (.csv .tsv .jsonl .parquet)."""
    path = Path(path)
    rows = corpus_to_parallel_rows(corpus)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif suffix in (".csv", ".tsv"):
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(
                fh, fieldnames=list(TABLE_COLUMNS), delimiter="\t" if suffix == ".tsv" else ","
            )
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "distractor": "true" if row["distractor"] else ""})
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        raise ValueError(f"{path}: expected a .csv, .tsv, .jsonl or .parquet file name")
    return path


def write_beir(corpus: Corpus, folder: str | Path) -> Path:
    """``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` under ``folder``."""
    folder = Path(folder)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for c in corpus.candidates:
            rec = {"_id": c.id, "text": c.text, "lang": c.lang}
            if c.context:
                rec["context"] = c.context
            if c.article:
                rec["article"] = c.article
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for q in corpus.queries:
            rec = {"_id": q.id, "text": q.text, "lang": q.lang, "group_id": q.group}
            if q.article:
                rec["article"] = q.article
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in corpus.queries:
            for cid in sorted(corpus.relevant[q.id]):
                fh.write(f"{q.id}\t{cid}\t1\n")
    return folder


def write_squad(corpus: Corpus, folder: str | Path, *, sentences: bool = True) -> list[Path]:
    """One SQuAD/LAReQA JSON file per language (``<lang>.json``) under ``folder``.

    Articles follow ``Candidate.article`` (first appearance order). With
    ``sentences=True`` each paragraph holds the candidates that share a context
    (or, without contexts, all candidates of the article) as sentences joined by a
    space; ``sentence_breaks`` are their offsets. With ``sentences=False`` every
    candidate is its own paragraph. Question ids are the group ids.
    """
    rows = corpus_to_parallel_rows(corpus)  # checks the parallel structure
    answer_only = [r for r in rows if not r["distractor"] and not r["question"]]
    if answer_only:
        r = answer_only[0]
        raise NotParallelError(
            f"group {r['group_id']!r} has an answer in {r['lang']!r} but no question there; "
            "SQuAD files cannot hold answer-only rows"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in corpus.languages:
        articles: dict[str, dict[str, list[dict[str, object]]]] = {}
        for r in rows:
            if r["lang"] != lang:
                continue
            article = str(r["article"] or "untitled")
            key = str(r["context"]) if sentences else f"{len(articles.get(article, {}))}"
            articles.setdefault(article, {}).setdefault(key, []).append(r)
        data = []
        for title, paragraphs in articles.items():
            out_paragraphs = []
            for members in paragraphs.values():
                texts = [str(m["answer"]) for m in members]
                context = " ".join(texts)
                breaks, pos = [], 0
                for t in texts:
                    breaks.append([pos, pos + len(t)])
                    pos += len(t) + 1
                qas = [
                    {
                        "id": str(m["group_id"]),
                        "question": str(m["question"]),
                        "answers": [{"answer_start": b[0], "text": str(m["answer"])}],
                    }
                    for m, b in zip(members, breaks, strict=False)
                    if m["question"]
                ]
                para: dict[str, object] = {"context": context, "qas": qas}
                if sentences:
                    para["sentences"] = texts
                    para["sentence_breaks"] = breaks
                out_paragraphs.append(para)
            data.append({"title": title, "paragraphs": out_paragraphs})
        path = folder / f"{lang}.json"
        path.write_text(json.dumps({"version": "1.1", "data": data}, ensure_ascii=False), "utf-8")
        written.append(path)
    return written
