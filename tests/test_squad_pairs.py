"""mlqa-train style SQuAD files -> question -> paragraph corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hybriddash.data.datasets import MLQA_TRAIN_SIZE
from hybriddash.data.squad_pairs import SquadPairsFormatError, file_languages, load_squad_pairs


def _write(folder: Path, c: str, q: str, paras: list[tuple[str, list[tuple[str, str]]]]) -> None:
    folder.mkdir(exist_ok=True)
    data = [
        {
            "paragraphs": [
                {
                    "context": ctx,
                    "qas": [
                        {"id": qid, "question": text, "answers": [{"answer_start": 0, "text": ""}]}
                        for qid, text in qas
                    ],
                }
            ]
        }
        for ctx, qas in paras
    ]
    name = f"test-context-{c}-question-{q}.json"
    (folder / name).write_text(json.dumps({"data": data, "version": "1.0"}), "utf-8")


@pytest.fixture
def tiny_pairs(tmp_path: Path) -> Path:
    folder = tmp_path / "pairs"
    # q1 and q2 share one German paragraph; q1 also has a Spanish paragraph
    _write(folder, "de", "ar", [("Absatz eins.", [("q1", "سؤال 1"), ("q2", "سؤال 2")])])
    _write(folder, "es", "ar", [("Párrafo uno.", [("q1", "سؤال 1")])])
    _write(
        folder, "de", "hi", [("Absatz eins.", [("q1", "प्रश्न 1")]), ("Anderer.", [("q3", "प्रश्न 3")])]
    )
    return folder


def test_file_names_give_context_and_question_languages() -> None:
    assert file_languages(Path("test-context-zh-question-de.json")) == ("zh", "de")
    assert file_languages(Path("en.json")) == ("en", "en")


def test_pairs_join_parallel_versions_on_question_id(tiny_pairs: Path) -> None:
    corpus = load_squad_pairs(tiny_pairs)
    assert corpus.dataset_id == "mlqa-train"
    assert {q.id for q in corpus.queries} == {"ar:q1", "ar:q2", "hi:q1", "hi:q3"}
    assert [c.id for c in corpus.candidates if c.lang == "de"] == ["de:p0", "de:p1"]
    assert corpus.relevant["hi:q1"] == {"de:p0", "es:p0"} == corpus.relevant["ar:q1"]
    assert corpus.relevant["ar:q2"] == {"de:p0"}
    shared = next(c for c in corpus.candidates if c.id == "de:p0")
    assert shared.groups == ("q1", "q2") and shared.context == shared.text == "Absatz eins."
    assert any("every answer in these files is empty" in n for n in corpus.notes)
    # q1/q2 paragraphs form one article, q3's another; "first article" keeps q1/q2 whole
    assert len(corpus.articles()) == 2
    first = corpus.subset_by(articles=1)
    assert {q.group for q in first.queries} == {"q1", "q2"}
    assert first.relevant["hi:q1"] == corpus.relevant["hi:q1"]


def test_conflicting_question_text_across_files_is_an_error(tiny_pairs: Path) -> None:
    _write(tiny_pairs, "zh", "ar", [("段落。", [("q1", "سؤال آخر")])])
    with pytest.raises(SquadPairsFormatError, match=r"question 'q1' \(ar\) differs"):
        load_squad_pairs(tiny_pairs)


@pytest.mark.slow
def test_real_mlqa_train_pairs(data_dir: Path) -> None:
    folder = data_dir / "mlqa-train"
    if not folder.is_dir():
        pytest.skip("mlqa-train not in the data folder")
    corpus = load_squad_pairs(folder)
    assert len({q.group for q in corpus.queries}) == 9677
    assert (len(corpus.queries), len(corpus.candidates)) == MLQA_TRAIN_SIZE
    counts = corpus.counts()
    assert {lang for lang, c in counts.items() if c["candidates"]} == {"de", "es", "vi", "zh"}
    assert {lang for lang, c in counts.items() if c["queries"]} == {
        "ar",
        "de",
        "es",
        "hi",
        "vi",
        "zh",
    }
    lang_of = {c.id: c.lang for c in corpus.candidates}
    same = Counter(
        q.lang in {lang_of[cid] for cid in corpus.relevant[q.id]} for q in corpus.queries
    )
    # no file has context == question language; the join on question id adds some
    assert same[False] > 0 and same[True] > 0
    assert Counter(len(c.groups) > 1 for c in corpus.candidates)[True] > 100
    assert any("empty" in n for n in corpus.notes)
