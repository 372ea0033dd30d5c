"""Custom corpus upload: every format round-trips, accepted uploads are listed and
stored atomically, the CLI imports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hybriddash.data.upload import (
    UploadRejected,
    read_corpus_json,
    validate_upload,
)
from hybriddash.data.upload.importer import relevance_key
from hybriddash.data.upload.writers import (
    NotParallelError,
    write_beir,
    write_squad,
    write_table,
)
from hybriddash.store.uploads import import_upload


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


FORMATS = [
    "csv",
    "tsv",
    "jsonl",
    "parquet",
    "beir-folder",
    "beir-zip",
    "squad-sentences",
    "squad-paragraphs",
]


def _zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"mycorpus/{p.relative_to(folder).as_posix()}")
    return archive


def export_in_format(corpus, fmt: str, where: Path) -> list[Path]:
    """The sample corpus written as a user would upload it in ``fmt``."""
    where.mkdir(parents=True, exist_ok=True)
    if fmt in ("csv", "tsv", "jsonl", "parquet"):
        return [write_table(corpus, where / f"corpus.{fmt}")]
    if fmt == "beir-folder":
        return [write_beir(corpus, where / "beir")]
    if fmt == "beir-zip":
        return [_zip_folder(write_beir(corpus, where / "beir"), where / "beir.zip")]
    if fmt == "squad-sentences":
        files = write_squad(corpus, where / "squad", sentences=True)
        with zipfile.ZipFile(where / "squad.zip", "w") as zf:
            for f in files:
                zf.write(f, f.name)
        return [where / "squad.zip"]
    return write_squad(corpus, where / "squad", sentences=False)  # several files


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_round_trips_through_every_format(
    fmt: str, sample_corpus, tmp_artifacts: Path, tmp_path: Path
) -> None:
    from hybriddash.data.datasets import load_dataset

    sources = export_in_format(sample_corpus, fmt, tmp_path / "export")
    result = import_upload(sources, f"rt-{fmt}")
    loaded = load_dataset(f"upload:rt-{fmt}")
    assert loaded.fingerprint == result.fingerprint
    assert (len(loaded.queries), len(loaded.candidates)) == (
        len(sample_corpus.queries),
        len(sample_corpus.candidates),
    )
    assert loaded.languages == sample_corpus.languages
    # texts, languages, groups and relevance judgements are all preserved
    assert relevance_key(loaded) == relevance_key(sample_corpus)
    assert result.stored_as == "corpus.jsonl"
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == result.fingerprint and manifest["files"]


def test_round_trip_evaluates_to_the_same_numbers_in_every_format(
    sample_corpus, tiny_model_spec, tmp_artifacts: Path, tmp_path: Path
) -> None:
    evaluation = pytest.importorskip("hybriddash.evaluation")
    from hybriddash.store import reads

    headlines = {}
    pairs = {}
    for fmt in FORMATS:
        sources = export_in_format(sample_corpus, fmt, tmp_path / fmt)
        import_upload(sources, f"ev-{fmt}")
        summary = evaluation.evaluate(tiny_model_spec, f"upload:ev-{fmt}", progress=False)
        run_id = summary.run_id
        head = reads.headline([run_id])
        headlines[fmt] = (
            head[["monolingual", "crosslingual", "multilingual", "rank_distance"]]
            .iloc[0]
            .to_numpy()
        )
        pm = reads.pair_metrics(run_id)
        pairs[fmt] = pm.set_index(["query_lang", "cand_lang"])["map"].sort_index()
    reference = headlines[FORMATS[0]]
    for fmt in FORMATS[1:]:
        assert (headlines[fmt] == reference).all(), (fmt, headlines[fmt], reference)
        assert (pairs[fmt].to_numpy() == pairs[FORMATS[0]].to_numpy()).all(), fmt


def test_accepted_upload_is_listed_and_registered(
    sample_corpus, tmp_artifacts: Path, tmp_path: Path
) -> None:
    from hybriddash.data.datasets import list_datasets
    from hybriddash.store import reads

    result = import_upload(export_in_format(sample_corpus, "csv", tmp_path), "listed")
    ids = {i.id: i for i in list_datasets()}
    assert "upload:listed" in ids and ids["upload:listed"].kind == "upload"
    assert ids["upload:listed"].n_queries == len(sample_corpus.queries)
    corpora = reads.list_corpora()
    assert result.fingerprint in set(corpora["corpus_fp"])
    assert result.registered


def test_bom_and_language_names_are_accepted_with_notices(
    tmp_artifacts: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bom.csv"
    text = (
        "group_id,lang,question,answer\n"
        "g1,English,What is the capital of France?,Paris is the capital of France.\n"
        "g1,deu,Was ist die Hauptstadt Frankreichs?,Paris ist die Hauptstadt Frankreichs.\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    checked = validate_upload([path], "bom")
    assert checked.corpus.languages == ["de", "en"]
    assert any("normalised" in n and "'deu' -> 'de'" in n for n in checked.notices)


def test_single_language_is_allowed_with_a_notice(tmp_artifacts: Path, tmp_path: Path) -> None:
    path = tmp_path / "mono.jsonl"
    path.write_text(
        json.dumps({"group_id": "g1", "lang": "en", "question": "Q1?", "answer": "A1."})
        + "\n"
        + json.dumps({"group_id": "g2", "lang": "en", "question": "Q2?", "answer": "A2."})
        + "\n",
        encoding="utf-8",
    )
    result = import_upload([path], "mono")
    assert result.languages == ["en"]
    assert any("cross-lingual views will be empty" in n for n in result.notices)


def test_squad_paragraph_mode_makes_paragraphs_the_candidates(
    tmp_artifacts: Path, tmp_path: Path
) -> None:
    def doc(context: str, question: str) -> dict:
        return {
            "data": [
                {
                    "title": "T",
                    "paragraphs": [
                        {
                            "context": context,
                            "qas": [
                                {
                                    "id": "q1",
                                    "question": question,
                                    "answers": [{"answer_start": 0, "text": ""}],
                                }
                            ],
                        },
                        {"context": context + " (2)", "qas": []},
                    ],
                }
            ]
        }

    (tmp_path / "en.json").write_text(
        json.dumps(doc("Paris is in France.", "Where is Paris?")), "utf-8"
    )
    (tmp_path / "de.json").write_text(
        json.dumps(doc("Paris liegt in Frankreich.", "Wo liegt Paris?")), "utf-8"
    )
    corpus = validate_upload([tmp_path / "en.json", tmp_path / "de.json"], "para").corpus
    assert len(corpus.candidates) == 4 and len(corpus.queries) == 2
    texts = {c.id: c.text for c in corpus.candidates}
    assert sorted(texts[c] for c in corpus.relevant["q1/en"]) == [
        "Paris is in France.",
        "Paris liegt in Frankreich.",
    ]


def test_lareqa_sentence_relevance_follows_answer_start(
    tmp_artifacts: Path, tmp_path: Path
) -> None:
    context = "Paris is the capital. It lies on the Seine."
    para = {
        "context": context,
        "sentences": ["Paris is the capital.", "It lies on the Seine."],
        "sentence_breaks": [[0, 21], [22, 43]],
        "qas": [
            {
                "id": "q",
                "question": "Which river?",
                "answers": [{"answer_start": 37, "text": "Seine"}],
            }
        ],
    }
    (tmp_path / "xquad.en.json").write_text(
        json.dumps({"data": [{"title": "P", "paragraphs": [para]}]}), "utf-8"
    )
    corpus = validate_upload([tmp_path / "xquad.en.json"], "lareqa").corpus
    (rel,) = corpus.relevant["q/en"]
    assert {c.id: c.text for c in corpus.candidates}[rel] == "It lies on the Seine."


def test_non_parallel_beir_is_stored_as_full_corpus(tmp_artifacts: Path, tmp_path: Path) -> None:
    # q1 has two relevant documents in English: no parallel table can say that
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"_id": "d1", "text": "Paris is the capital of France.", "lang": "en"},
                {"_id": "d2", "text": "France's capital city is Paris.", "lang": "en"},
                {"_id": "d3", "text": "Paris ist die Hauptstadt.", "lang": "de"},
            ]
        ),
        "utf-8",
    )
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "Capital of France?", "lang": "en"}) + "\n", "utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t1\nq1\td2\t2\nq1\td3\t1\n", "utf-8")
    result = import_upload([folder], "nonpar")
    assert result.stored_as == "corpus.json"
    stored = read_corpus_json(result.path / "corpus.json", "upload:nonpar")
    assert stored.relevant["q1"] == frozenset({"d1", "d2", "d3"})
    assert stored.fingerprint == result.fingerprint
    with pytest.raises(NotParallelError):
        write_table(stored, tmp_path / "x.csv")


def test_overwrite_replaces_and_failed_registration_leaves_nothing(
    tmp_artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "a.csv"
    first.write_text("group_id,lang,question,answer\ng1,en,Q?,A.\n", "utf-8")
    second = tmp_path / "b.csv"
    second.write_text("group_id,lang,question,answer\ng1,en,Q?,B.\ng1,de,F?,B.\n", "utf-8")
    r1 = import_upload([first], "same")
    r2 = import_upload([second], "same", overwrite=True)
    assert r1.fingerprint != r2.fingerprint and r2.languages == ["de", "en"]
    assert [p.name for p in (tmp_artifacts / "uploads").iterdir()] == ["same"]

    import hybriddash.store.writes as writes

    def broken(*_a, **_k):
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(writes, "register_corpus", broken)
    before = snapshot(tmp_artifacts)
    with pytest.raises(RuntimeError, match="store unavailable"):
        import_upload([first], "other")
    assert snapshot(tmp_artifacts) == before


def test_cli_import_and_check(
    sample_corpus, tmp_artifacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from hybriddash.cli import main

    table = write_table(sample_corpus, tmp_path / "s.tsv")
    assert main(["import", str(table), "--name", "cli", "--check"]) == 0
    assert not (tmp_artifacts / "uploads" / "cli").exists()
    assert main(["import", str(table), "--name", "cli", "--json"]) == 0
    out = capsys.readouterr().out
    assert "valid table upload (nothing stored)" in out
    payload = json.loads(out[out.index("{") :])
    assert payload["dataset_id"] == "upload:cli" and payload["stored_as"] == "corpus.jsonl"
    assert (tmp_artifacts / "uploads" / "cli" / "corpus.jsonl").is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("group_id,lang,question\ng1,en,Q?\n", "utf-8")
    assert main(["import", str(bad), "--name", "bad"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 1, field 'answer': missing required column" in err


def test_rejection_lists_every_problem_in_its_message(tmp_artifacts: Path, tmp_path: Path) -> None:
    bad = tmp_path / "two.csv"
    bad.write_text("group_id,lang,question,answer\ng1,zz,Q?,A.\ng2,en,Q?,\n", "utf-8")
    with pytest.raises(UploadRejected) as caught:
        validate_upload([bad], "two")
    message = str(caught.value)
    assert (
        "two.csv, line 2, field 'lang'" in message and "two.csv, line 3, field 'answer'" in message
    )


def test_an_empty_name_defaults_to_the_file_stem(tmp_artifacts: Path, tmp_path: Path) -> None:
    table = tmp_path / "My QA (v2).csv"
    table.write_text("group_id,lang,question,answer\ng1,en,Q?,A.\ng1,de,F?,A.\n", "utf-8")
    for empty in ("", "  ", None):
        checked = validate_upload([table], empty)
        assert checked.name == "My-QA-v2"
        assert any("no dataset name given" in n for n in checked.notices)
    result = import_upload([table], "")
    assert result.dataset_id == "upload:My-QA-v2"
    assert (tmp_artifacts / "uploads" / "My-QA-v2" / "manifest.json").is_file()


def test_an_invalid_name_is_reported_as_the_dataset_name_not_a_file(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("group_id,lang,question,answer\ng1,en,Q?,A.\n", "utf-8")
    with pytest.raises(UploadRejected) as caught:
        validate_upload([table], "../bad")
    (problem,) = [p for p in caught.value.problems if p.field == "name"]
    assert problem.file == "dataset name" and problem.line is None


def test_identical_content_under_a_new_name_says_which_upload_it_equals(
    tmp_artifacts: Path, tmp_path: Path
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("group_id,lang,question,answer\ng1,en,Q?,A.\ng1,de,F?,A.\n", "utf-8")
    first = import_upload([table], "myqa")
    second = import_upload([table], "myqa2")
    assert first.fingerprint == second.fingerprint
    assert not any("same content" in n for n in first.notices)
    assert any("same content as upload:myqa " in n for n in second.notices)
    assert second.registered is False  # one corpus row per content, already there
