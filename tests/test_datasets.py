"""Parallel-table format, the dataset registry, uploads and the `data` CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hybriddash.data import datasets
from hybriddash.data.datasets import DatasetNotAvailableError, list_datasets, load_dataset
from hybriddash.data.parallel_table import CorpusFormatError, corpus_from_parallel_rows


def _rows() -> list[dict]:
    return [
        {"group_id": "g1", "lang": "en", "question": "Where?", "answer": "Here.", "article": "a"},
        {"group_id": "g1", "lang": "German", "question": "Wo?", "answer": "Hier.", "article": "a"},
        {"group_id": "g1", "lang": "zh-CN", "question": "", "answer": "这里。", "article": "a"},
        {"group_id": "g2", "lang": "en", "question": "When?", "answer": "Now.", "article": "b"},
        {
            "group_id": "x1",
            "lang": "en",
            "answer": "Elsewhere.",
            "article": "a",
            "distractor": "yes",
        },
        {"group_id": "x1", "lang": "de", "answer": "Anderswo.", "article": "a", "distractor": 1},
    ]


# ---- parallel table --------------------------------------------------------------


def test_parallel_rows_build_ids_relevance_and_groups() -> None:
    corpus = corpus_from_parallel_rows(_rows(), "t", "rows.jsonl")
    assert [q.id for q in corpus.queries] == ["g1/en", "g1/de", "g2/en"]
    assert corpus.relevant["g1/de"] == {"g1/en", "g1/de", "g1/zh"}  # answer-only zh row counts
    assert corpus.relevant["g2/en"] == {"g2/en"}
    by_id = {c.id: c for c in corpus.candidates}
    assert by_id["g1/zh"].groups == ("g1",) and by_id["g1/zh"].lang == "zh"
    assert by_id["d:x1/en"].groups == () and by_id["d:x1/de"].article == "a"
    assert corpus.articles() == ["a", "b"]
    assert corpus.subset_by(articles=1).counts()["en"] == {"queries": 1, "candidates": 2}


def test_article_defaults_to_group_id() -> None:
    rows = [{"group_id": "g", "lang": "en", "question": "Q?", "answer": "A."}]
    assert corpus_from_parallel_rows(rows, "t", "s").candidates[0].article == "g"


@pytest.mark.parametrize(
    ("index", "change", "field", "needle"),
    [
        (1, {"answer": "  "}, "answer", "empty answer"),
        (1, {"lang": "en"}, "lang", "duplicate (group_id, lang)"),
        (1, {"lang": "klingon"}, "lang", "unknown language"),
        (1, {"group_id": ""}, "group_id", "empty group id"),
        (1, {"article": "b"}, "article", "translations must share"),
        (4, {"question": "Why?"}, "question", "distractor row must have an empty question"),
        (4, {"distractor": "maybe"}, "distractor", "expected true/false"),
        (5, {"group_id": "g1", "lang": "es"}, "distractor", "mixes distractor and question"),
    ],
)
def test_parallel_rows_errors_name_source_row_and_field(index, change, field, needle) -> None:
    rows = _rows()
    rows[index] = {**rows[index], **change}
    with pytest.raises(CorpusFormatError) as info:
        corpus_from_parallel_rows(rows, "t", "my.csv", first_row=2)
    err = info.value
    assert (err.source, err.row, err.field) == ("my.csv", index + 2, field)
    assert needle in str(err) and "my.csv, row" in str(err)


def test_parallel_rows_missing_field_and_explicit_row_numbers() -> None:
    rows = _rows()
    del rows[2]["answer"]
    with pytest.raises(CorpusFormatError) as info:
        corpus_from_parallel_rows(rows, "t", "f.jsonl", row_numbers=[3, 5, 8, 9, 10, 11])
    assert (info.value.row, info.value.field) == (8, "answer")


def test_parallel_rows_need_rows_and_a_question() -> None:
    with pytest.raises(CorpusFormatError, match="no rows"):
        corpus_from_parallel_rows([], "t", "f")
    with pytest.raises(CorpusFormatError, match="no row has a question"):
        corpus_from_parallel_rows([_rows()[4]], "t", "f")


# ---- registry --------------------------------------------------------------------


def test_registry_lists_every_builtin_id_and_sample_counts(tmp_artifacts: Path) -> None:
    infos = {i.id: i for i in list_datasets()}
    assert {"xquad-r", "mlqa-r", "mlqa-train", "sample"} <= set(infos)
    sample = infos["sample"]
    assert sample.available and sample.kind == "sample"
    assert sample.n_queries == sum(c["queries"] for c in sample.counts.values())
    assert infos["xquad-r"].n_candidates == 13014 and infos["mlqa-r"].n_candidates == 20534


def test_load_dataset_subsets_with_language_names(tmp_artifacts: Path) -> None:
    corpus = load_dataset("sample", langs=["English", "zho"], articles=2)
    assert corpus.languages == ["en", "zh"]
    assert corpus.subset == {"langs": ["en", "zh"], "articles": 2}
    assert load_dataset("sample") is load_dataset("sample")  # cached


def test_unknown_and_missing_datasets_give_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        load_dataset("nope")
    monkeypatch.setenv("HYBRIDDASH_DATA", str(tmp_path / "empty"))
    with pytest.raises(DatasetNotAvailableError) as info:
        load_dataset("mlqa-r")
    message = str(info.value)
    assert str(tmp_path / "empty" / "mlqa-r") in message
    assert "data download mlqa-r" in message and "HYBRIDDASH_DATA" in message
    assert not {i.id: i for i in list_datasets()}["mlqa-r"].available


def _write_upload(artifacts: Path, name: str, rows: list[dict]) -> Path:
    path = artifacts / "uploads" / name / "corpus.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_uploads_are_listed_loaded_and_reloaded_when_changed(tmp_artifacts: Path) -> None:
    path = _write_upload(tmp_artifacts, "mine", _rows())
    infos = {i.id: i for i in list_datasets()}
    assert infos["upload:mine"].available and infos["upload:mine"].n_queries == 3
    assert len(load_dataset("upload:mine").queries) == 3
    _write_upload(tmp_artifacts, "mine", _rows()[:4])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert len(load_dataset("upload:mine").candidates) == 4


def test_broken_upload_is_listed_as_unavailable_and_names_the_line(tmp_artifacts: Path) -> None:
    rows = _rows()
    rows[3]["lang"] = "??"
    path = _write_upload(tmp_artifacts, "bad", rows)
    info = {i.id: i for i in list_datasets()}["upload:bad"]
    assert not info.available and f"{path}, row 4" in info.note
    with pytest.raises(DatasetNotAvailableError, match="no uploaded corpus 'other'"):
        load_dataset("upload:other")
    with pytest.raises(ValueError, match="invalid upload name"):
        load_dataset("upload:../x")


# ---- CLI -------------------------------------------------------------------------


def test_cli_data_list_json_and_show(
    tmp_artifacts: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash import cli
    from hybriddash.cli import main

    # only the `data` group: importing every command group pulls in torch (slow)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("data",))

    assert main(["data", "list", "--json"]) == 0
    listed = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed["sample"]["available"] and listed["sample"]["counts"]["ru"]["queries"] == 42
    assert main(["data", "show", "sample", "--langs", "en,ar", "--articles", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dataset"] == "sample[ar,en;articles=1]" and set(shown["counts"]) == {"ar", "en"}
    assert main(["data", "show", "sample", "--langs", "xx"]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def test_full_format_upload_is_preferred_over_the_table(tmp_artifacts: Path) -> None:
    from hybriddash.data.upload.importer import write_corpus_json

    full = corpus_from_parallel_rows(_rows(), "x", "rows")
    folder = tmp_artifacts / "uploads" / "both"
    folder.mkdir(parents=True)
    write_corpus_json(full, folder / "corpus.json")
    _write_upload(tmp_artifacts, "both", _rows()[:1])
    loaded = load_dataset("upload:both")
    assert loaded.dataset_id == "upload:both" and len(loaded.candidates) == len(full.candidates)
    assert "upload:both" in {i.id for i in list_datasets()}
