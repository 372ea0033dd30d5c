"""Regenerate the malformed upload fixtures and ``EXPECTED.json`` (run from anywhere).

Each fixture breaks one rule of one upload format; ``EXPECTED.json`` records where
the problem must be reported: ``file`` (the fixture name or a path inside it),
``line`` (1-based, or null when the format has no line for it), ``field`` (column,
JSON key or JSON path, or null) and a ``contains`` snippet of the message.
``tests/test_upload_malformed.py`` uploads every fixture alone and checks that it is
refused with that place named and that the store and uploads folder are unchanged.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
EXPECTED: dict[str, dict[str, object]] = {}

GOOD_ROWS = [
    ("g1", "en", "What is the capital of France?", "Paris is the capital of France."),
    ("g1", "de", "Was ist die Hauptstadt Frankreichs?", "Paris ist die Hauptstadt Frankreichs."),
    ("g2", "en", "How many legs does a spider have?", "A spider has eight legs."),
    ("g2", "de", "Wie viele Beine hat eine Spinne?", "Eine Spinne hat acht Beine."),
]


def expect(name: str, file: str | None, line: int | None, field: str | None, contains: str) -> None:
    EXPECTED[name] = {"file": file or name, "line": line, "field": field, "contains": contains}


def csv_text(rows: list[tuple[str, ...]], header: str = "group_id,lang,question,answer") -> str:
    return header + "\n" + "".join(",".join(r) + "\n" for r in rows)


def write(name: str, data: str | bytes) -> None:
    path = HERE / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def squad(lang_field: str | None = None, **para_overrides: object) -> dict:
    para = {
        "context": "Paris is the capital of France. It lies on the Seine.",
        "sentences": ["Paris is the capital of France.", "It lies on the Seine."],
        "sentence_breaks": [[0, 31], [32, 53]],
        "qas": [
            {
                "id": "q1",
                "question": "Was ist die Hauptstadt?",
                "answers": [{"answer_start": 0, "text": "Paris"}],
            },
            {
                "id": "q2",
                "question": "An welchem Fluss?",
                "answers": [{"answer_start": 47, "text": "Seine"}],
            },
        ],
    }
    para.update(para_overrides)
    doc: dict = {"version": "1.1", "data": [{"title": "Paris", "paragraphs": [para]}]}
    if lang_field is not None:
        doc["language"] = lang_field
    return doc


def beir(
    corpus: list[dict] | None = None, queries: list[dict] | None = None, qrels: str | None = None
) -> dict[str, str]:
    corpus = (
        corpus
        if corpus is not None
        else [
            {"_id": "d1", "text": "Paris is the capital of France.", "lang": "en"},
            {"_id": "d2", "text": "Paris ist die Hauptstadt Frankreichs.", "lang": "de"},
            {"_id": "d3", "text": "A spider has eight legs.", "lang": "en"},
        ]
    )
    queries = (
        queries
        if queries is not None
        else [
            {"_id": "q1", "text": "What is the capital of France?", "lang": "en"},
            {"_id": "q2", "text": "How many legs does a spider have?", "lang": "en"},
        ]
    )
    qrels = (
        qrels
        if qrels is not None
        else "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1\nq2\td3\t1\n"
    )
    files = {
        "corpus.jsonl": "".join(json.dumps(r) + "\n" for r in corpus),
        "queries.jsonl": "".join(json.dumps(r) + "\n" for r in queries),
    }
    if qrels:
        files["qrels/test.tsv"] = qrels
    return files


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("_generate.py", "__pycache__"):
            old.unlink()

    # ---- parallel tables: CSV / TSV ---------------------------------------------
    write(
        "csv-latin1.csv",
        csv_text(
            GOOD_ROWS[:1]
            + [("g1", "fr", "Quelle est la capitale?", "Paris est la capitale de la République.")]
        ).encode("latin-1"),
    )
    expect("csv-latin1.csv", None, 3, None, "not valid UTF-8")
    write("csv-utf16.csv", csv_text(GOOD_ROWS).encode("utf-16"))
    expect("csv-utf16.csv", None, 1, None, "UTF-16")
    write("csv-missing-answer-column.csv", "group_id,lang,question\ng1,en,What?\n")
    expect("csv-missing-answer-column.csv", None, 1, "answer", "missing required column")
    write("csv-missing-lang-column.csv", "group_id,question,answer\ng1,What?,That.\n")
    expect("csv-missing-lang-column.csv", None, 1, "lang", "missing required column")
    write(
        "csv-unclosed-quote.csv",
        csv_text(GOOD_ROWS[:2]) + 'g2,en,"How many legs,A spider has eight legs.\n',
    )
    expect("csv-unclosed-quote.csv", None, 4, None, "malformed CSV")
    write(
        "csv-extra-field.csv",
        csv_text(GOOD_ROWS[:2] + [("g2", "en", "How many?", "Eight.", "surplus")]),
    )
    expect("csv-extra-field.csv", None, 4, None, "expected 4 fields")
    write(
        "csv-duplicate-group-lang.csv",
        csv_text(GOOD_ROWS + [("g1", "en", "Capital of France?", "Paris.")]),
    )
    expect("csv-duplicate-group-lang.csv", None, 6, "lang", "duplicate (group_id, lang)")
    write(
        "csv-unknown-language.csv",
        csv_text(GOOD_ROWS[:1] + [("g1", "xx", "Qu?", "Qa.")] + GOOD_ROWS[2:]),
    )
    expect("csv-unknown-language.csv", None, 3, "lang", "unknown language")
    write("csv-empty-answer.csv", csv_text(GOOD_ROWS[:2] + [("g2", "en", "How many legs?", " ")]))
    expect("csv-empty-answer.csv", None, 4, "answer", "empty text")
    write("csv-empty-group-id.csv", csv_text(GOOD_ROWS[:3] + [("", "de", "Wie viele?", "Acht.")]))
    expect("csv-empty-group-id.csv", None, 5, "group_id", "empty group id")
    write(
        "csv-bad-distractor-flag.csv",
        "group_id,lang,question,answer,distractor\ng1,en,Q?,A.,\nd1,en,,Noise.,maybe\n",
    )
    expect("csv-bad-distractor-flag.csv", None, 3, "distractor", "expected true/false")
    write(
        "csv-distractor-with-question.csv",
        "group_id,lang,question,answer,distractor\ng1,en,Q?,A.,\nd1,en,Why?,Noise.,yes\n",
    )
    expect(
        "csv-distractor-with-question.csv",
        None,
        3,
        "question",
        "distractor row must have an empty question",
    )
    write(
        "csv-same-language-two-spellings.csv",
        csv_text([GOOD_ROWS[0], GOOD_ROWS[1], ("g1", "German", "Hauptstadt?", "Paris.")]),
    )
    expect("csv-same-language-two-spellings.csv", None, 4, "lang", "duplicate (group_id, lang)")
    write("csv-empty.csv", "")
    expect("csv-empty.csv", None, 1, None, "empty")
    write("csv-header-only.csv", "group_id,lang,question,answer\n")
    expect("csv-header-only.csv", None, None, None, "no rows")
    write(
        "csv-group-mixes-distractor.csv",
        "group_id,lang,question,answer,distractor\ng1,en,Q?,A.,no\ng1,de,,Rauschen.,yes\n",
    )
    expect(
        "csv-group-mixes-distractor.csv",
        None,
        3,
        "distractor",
        "mixes distractor and question rows",
    )
    write(
        "csv-article-mismatch.csv",
        "group_id,lang,question,answer,article\ng1,en,Q?,A.,geo\ng1,de,F?,A.,history\n",
    )
    expect("csv-article-mismatch.csv", None, 3, "article", "article")
    write(
        "csv-only-distractors.csv",
        "group_id,lang,question,answer,distractor\nd1,en,,Noise one.,yes\nd2,de,,Rauschen.,yes\n",
    )
    expect("csv-only-distractors.csv", None, None, "question", "no row has a question")
    write("tsv-comma-separated.tsv", csv_text(GOOD_ROWS))
    expect("tsv-comma-separated.tsv", None, 1, "group_id", "missing required column")
    write("csv-bad-bytes-late.csv", csv_text(GOOD_ROWS).encode("utf-8") + b"g3,en,Caf\xe9?,Yes.\n")
    expect("csv-bad-bytes-late.csv", None, 6, None, "not valid UTF-8")

    # ---- parallel tables: JSONL / Parquet ---------------------------------------
    good_jsonl = "".join(
        json.dumps(dict(zip(("group_id", "lang", "question", "answer"), r, strict=True))) + "\n"
        for r in GOOD_ROWS
    )
    lines = good_jsonl.splitlines(keepends=True)
    write(
        "table-bad-json-line.jsonl",
        "".join(lines[:2]) + '{"group_id": "g2", "lang": "en",\n' + lines[3],
    )
    expect("table-bad-json-line.jsonl", None, 3, None, "malformed JSON")
    write("table-array-line.jsonl", lines[0] + '["g1", "de", "Q?", "A."]\n')
    expect("table-array-line.jsonl", None, 2, None, "expected a JSON object")
    write(
        "table-missing-question.jsonl",
        "".join(
            json.dumps({"group_id": r[0], "lang": r[1], "answer": r[3]}) + "\n" for r in GOOD_ROWS
        ),
    )
    expect("table-missing-question.jsonl", None, None, "question", "missing required column")
    write("table-corrupt.parquet", b"PAR1 this is not really parquet PAR1")
    expect("table-corrupt.parquet", None, None, None, "not a readable Parquet file")
    buf = io.BytesIO()
    pq.write_table(pa.table({"group_id": ["g1"], "lang": ["en"], "question": ["Q?"]}), buf)
    write("table-missing-answer.parquet", buf.getvalue())
    expect("table-missing-answer.parquet", None, None, "answer", "missing required column")
    buf = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "group_id": ["g1", "g1"],
                "lang": ["en", "de"],
                "question": ["Q?", ""],
                "answer": ["A.", ""],
            }
        ),
        buf,
    )
    write("table-empty-answer.parquet", buf.getvalue())
    expect("table-empty-answer.parquet", None, 2, "answer", "empty text")

    # ---- SQuAD / LAReQA JSON ----------------------------------------------------
    text = json.dumps(squad(), indent=1)
    write("squad-truncated.de.json", text[: len(text) // 2])
    expect("squad-truncated.de.json", None, None, None, "malformed JSON")  # line checked loosely
    write("squad-no-data.de.json", json.dumps({"version": "1.1", "articles": []}))
    expect("squad-no-data.de.json", None, None, "data", '"data" list')
    doc = squad()
    doc["data"][0]["paragraphs"][0]["qas"][1]["question"] = "  "
    write("squad-empty-question.de.json", json.dumps(doc))
    expect(
        "squad-empty-question.de.json",
        None,
        None,
        "data[0].paragraphs[0].qas[1].question",
        "empty text",
    )
    doc = squad()
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 31
    write("squad-answer-between-sentences.de.json", json.dumps(doc))
    expect(
        "squad-answer-between-sentences.de.json",
        None,
        None,
        "data[0].paragraphs[0].qas[0].answers[0].answer_start",
        "no relevant candidate",
    )
    doc = squad()
    del doc["data"][0]["paragraphs"][0]["sentence_breaks"]
    write("squad-breaks-missing.de.json", json.dumps(doc))
    expect(
        "squad-breaks-missing.de.json",
        None,
        None,
        "data[0].paragraphs[0].sentence_breaks",
        "missing",
    )
    write(
        "squad-break-out-of-range.de.json", json.dumps(squad(sentence_breaks=[[0, 31], [32, 99]]))
    )
    expect(
        "squad-break-out-of-range.de.json",
        None,
        None,
        "data[0].paragraphs[0].sentence_breaks[1]",
        "offsets",
    )
    doc = squad()
    doc["data"][0]["paragraphs"][0]["qas"][1]["id"] = "q1"
    write("squad-duplicate-id.de.json", json.dumps(doc))
    expect(
        "squad-duplicate-id.de.json",
        None,
        None,
        "data[0].paragraphs[0].qas[1].id",
        "duplicate question id",
    )
    write("squad-klingon.json", json.dumps(squad(lang_field="klingon")))
    expect("squad-klingon.json", None, None, "language", "unknown language")
    write("squad-nolang.json", json.dumps(squad()))
    expect("squad-nolang.json", None, None, "language", "cannot tell this file's language")
    write("squad-conflict.de.json", json.dumps(squad(lang_field="fr")))
    expect("squad-conflict.de.json", None, None, "language", "inconsistent language")
    write("squad-empty-context.de.json", json.dumps(squad(context="")))
    expect("squad-empty-context.de.json", None, None, "data[0].paragraphs[0].context", "empty text")
    write(
        "squad-latin1.de.json",
        json.dumps(squad(), ensure_ascii=False)
        .replace("Hauptstadt", "Hauptstädt")
        .encode("latin-1"),
    )
    expect("squad-latin1.de.json", None, 1, None, "not valid UTF-8")
    doc = squad()
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"] = []
    write("squad-no-answer.de.json", json.dumps(doc))
    expect(
        "squad-no-answer.de.json",
        None,
        None,
        "data[0].paragraphs[0].qas[0].answers",
        "no relevant sentence",
    )

    # ---- BEIR (zipped folders) --------------------------------------------------
    write(
        "beir-unknown-corpus-id.zip",
        zip_of(beir(qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td9\t1\n")),
    )
    expect(
        "beir-unknown-corpus-id.zip",
        "beir-unknown-corpus-id.zip/qrels/test.tsv",
        3,
        "corpus-id",
        "unknown corpus id",
    )
    c = beir()
    c["corpus.jsonl"] += json.dumps({"_id": "d1", "text": "Again.", "lang": "en"}) + "\n"
    write("beir-duplicate-id.zip", zip_of(c))
    expect("beir-duplicate-id.zip", "beir-duplicate-id.zip/corpus.jsonl", 4, "_id", "duplicate id")
    write(
        "beir-query-without-relevant.zip",
        zip_of(beir(qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t0\n")),
    )
    expect(
        "beir-query-without-relevant.zip",
        "beir-query-without-relevant.zip/queries.jsonl",
        2,
        "_id",
        "no relevant document",
    )
    write(
        "beir-missing-lang.zip",
        zip_of(
            beir(
                corpus=[
                    {"_id": "d1", "text": "Paris.", "lang": "en"},
                    {"_id": "d2", "text": "Paris ist."},
                    {"_id": "d3", "text": "Spider.", "lang": "en"},
                ]
            )
        ),
    )
    expect(
        "beir-missing-lang.zip", "beir-missing-lang.zip/corpus.jsonl", 2, "lang", "missing field"
    )
    write("beir-no-qrels.zip", zip_of(beir(qrels="")))
    expect("beir-no-qrels.zip", "qrels/*.tsv", None, None, "no qrels")
    write(
        "beir-bad-score.zip",
        zip_of(beir(qrels="query-id\tcorpus-id\tscore\nq1\td1\thigh\nq2\td3\t1\n")),
    )
    expect(
        "beir-bad-score.zip", "beir-bad-score.zip/qrels/test.tsv", 2, "score", "expected a number"
    )
    write(
        "beir-empty-query.zip",
        zip_of(
            beir(
                queries=[
                    {"_id": "q1", "text": "What is the capital of France?", "lang": "en"},
                    {"_id": "q2", "text": "", "lang": "en"},
                ]
            )
        ),
    )
    expect("beir-empty-query.zip", "beir-empty-query.zip/queries.jsonl", 2, "text", "empty text")
    write(
        "beir-unknown-query-lang.zip",
        zip_of(
            beir(
                queries=[
                    {"_id": "q1", "text": "Capital?", "lang": "Elvish"},
                    {"_id": "q2", "text": "Legs?", "lang": "en"},
                ]
            )
        ),
    )
    expect(
        "beir-unknown-query-lang.zip",
        "beir-unknown-query-lang.zip/queries.jsonl",
        1,
        "lang",
        "unknown language",
    )

    # ---- containers and unknown formats ---------------------------------------------
    write("not-a-zip.zip", b"PK\x03\x04 definitely not a zip archive")
    expect("not-a-zip.zip", None, None, None, "not a readable zip archive")
    write("notes.txt", "group_id lang question answer\n")
    expect("notes.txt", None, None, None, "cannot tell the upload format")

    (HERE / "EXPECTED.json").write_text(
        json.dumps(EXPECTED, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{len(EXPECTED)} fixtures written to {HERE}")


if __name__ == "__main__":
    main()
