"""LAReQA loader: exact published counts, one relevant sentence per language, parallel subsets."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from hybriddash.data.lareqa import LareqaFormatError, load_lareqa

# ../shared/data/README.md (LAReQA paper, Table 1): questions / candidate sentences
XQUAD_R = {
    "ar": (1190, 1222), "de": (1190, 1276), "el": (1190, 1234), "en": (1190, 1180),
    "es": (1190, 1215), "hi": (1190, 1244), "ru": (1190, 1219), "th": (1190, 852),
    "tr": (1190, 1167), "vi": (1190, 1209), "zh": (1190, 1196),
}  # fmt: skip
MLQA_R = {
    "ar": (517, 2545), "de": (512, 2362), "en": (1148, 6264), "es": (500, 1787),
    "hi": (507, 2426), "vi": (511, 2828), "zh": (504, 2322),
}  # fmt: skip


# ---- synthetic folder (fast) -------------------------------------------------------


def _para(sentences: list[str], qas: list[tuple[str, str, int]]) -> dict:
    context, breaks, pos = "", [], 0
    for s in sentences:
        if context:
            context += " "
            pos += 1
        breaks.append([pos, pos + len(s)])
        context += s
        pos += len(s)
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [
            {"id": qid, "question": q, "answers": [{"answer_start": start, "text": "x"}]}
            for qid, q, start in qas
        ],
    }


def _write(folder: Path, lang: str, articles: list[tuple[str, list[dict]]]) -> None:
    folder.mkdir(exist_ok=True)
    data = [{"title": t, "paragraphs": ps} for t, ps in articles]
    (folder / f"{lang}.json").write_text(json.dumps({"data": data, "version": "1.1"}), "utf-8")


@pytest.fixture
def tiny_lareqa(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    _write(folder, "en", [
        ("A", [_para(["One.", "Two.", "One."], [("q1", "first?", 0), ("q2", "second?", 5)])]),
        ("B", [_para(["Three."], [("q3", "third?", 0)])]),
    ])  # fmt: skip
    # German holds only article B and q1 (in another article order), like MLQA-R
    _write(folder, "de", [
        ("Bee", [_para(["Drei."], [("q3", "dritte?", 0)])]),
        ("Ah", [_para(["Eins.", "Zwei."], [("q1", "erste?", 1)])]),
    ])  # fmt: skip
    return folder


def test_candidates_are_every_sentence_even_repeated_ones(tiny_lareqa: Path) -> None:
    corpus = load_lareqa(tiny_lareqa, "tiny")
    assert corpus.counts() == {
        "de": {"queries": 2, "candidates": 3},
        "en": {"queries": 3, "candidates": 4},
    }
    assert [c.text for c in corpus.candidates if c.lang == "en"].count("One.") == 2
    assert any("repeated sentence texts" in n for n in corpus.notes)


def test_relevance_is_the_sentence_holding_answer_start_in_each_language(tiny_lareqa: Path) -> None:
    corpus = load_lareqa(tiny_lareqa, "tiny")
    assert corpus.relevant["en:q1"] == {"en:0:0:0", "de:1:0:0"}
    assert corpus.relevant["de:q1"] == corpus.relevant["en:q1"]
    assert corpus.relevant["en:q2"] == {"en:0:0:1"}
    by_id = {c.id: c for c in corpus.candidates}
    assert by_id["de:1:0:0"].groups == ("q1",) and by_id["de:1:0:0"].article == "A"
    assert by_id["en:0:0:0"].context == "One. Two. One."


def test_articles_follow_the_english_file(tiny_lareqa: Path) -> None:
    corpus = load_lareqa(tiny_lareqa, "tiny")
    assert corpus.articles() == ["A", "B"]
    first = corpus.subset_by(articles=1)
    assert {q.id for q in first.queries} == {"en:q1", "en:q2", "de:q1"}
    assert first.relevant["de:q1"] == corpus.relevant["de:q1"]


def test_answer_outside_every_sentence_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    para = _para(["One.", "Two."], [("q1", "?", 4)])  # offset 4 is the space between
    _write(folder, "en", [("A", [para])])
    with pytest.raises(
        LareqaFormatError, match=r"en.json: article 0, paragraph 0, qas\[0\] \(q1\)"
    ):
        load_lareqa(folder, "bad")


def test_question_missing_from_english_is_an_error(tiny_lareqa: Path) -> None:
    _write(tiny_lareqa, "es", [("X", [_para(["Uno."], [("q9", "¿?", 0)])])])
    with pytest.raises(LareqaFormatError, match="'q9' is not in en.json"):
        load_lareqa(tiny_lareqa, "tiny")


# ---- real benchmarks (slow, skipped without data) ------------------------------------


def _check_published_counts(corpus, expected: dict[str, tuple[int, int]]) -> None:
    counts = corpus.counts()
    assert {lang: (c["queries"], c["candidates"]) for lang, c in counts.items()} == expected
    assert len(corpus.queries) == sum(q for q, _ in expected.values())
    assert len(corpus.candidates) == sum(c for _, c in expected.values())


def _check_one_relevant_per_language(corpus) -> None:
    by_id = {c.id: c for c in corpus.candidates}
    langs_of_group = defaultdict(set)
    for q in corpus.queries:
        langs_of_group[q.group].add(q.lang)
    for q in corpus.queries:
        rel = [by_id[cid] for cid in corpus.relevant[q.id]]
        assert sorted(c.lang for c in rel) == sorted(langs_of_group[q.group]), q.id
        assert all(q.group in c.groups and c.article == q.article for c in rel), q.id


@pytest.mark.slow
def test_xquad_r_matches_the_published_table(data_dir: Path) -> None:
    corpus = load_lareqa(data_dir / "xquad-r", "xquad-r")
    _check_published_counts(corpus, XQUAD_R)
    _check_one_relevant_per_language(corpus)
    assert Counter(len(r) for r in corpus.relevant.values()) == {11: 13090}
    assert len(corpus.articles()) == 48


@pytest.mark.slow
def test_mlqa_r_matches_the_published_table(data_dir: Path) -> None:
    if not (data_dir / "mlqa-r").is_dir():
        pytest.skip("mlqa-r not in the data folder")
    corpus = load_lareqa(data_dir / "mlqa-r", "mlqa-r")
    _check_published_counts(corpus, MLQA_R)
    _check_one_relevant_per_language(corpus)
    assert set(Counter(len(r) for r in corpus.relevant.values())) == {2, 3, 4}
    assert len({q.group for q in corpus.queries}) == 1148


@pytest.mark.slow
@pytest.mark.parametrize("dataset_id", ["xquad-r", "mlqa-r"])
def test_article_subsets_keep_parallel_structure(data_dir: Path, dataset_id: str) -> None:
    from hybriddash.data.datasets import load_dataset

    full = load_dataset(dataset_id)
    sub = load_dataset(dataset_id, articles=5)
    kept_groups = {q.group for q in sub.queries}
    assert len(sub.articles()) == 5 and kept_groups
    # every query of a kept group is kept, in every language, with all its relevant sentences
    assert {q.id for q in full.queries if q.group in kept_groups} == {q.id for q in sub.queries}
    for q in sub.queries:
        assert sub.relevant[q.id] == full.relevant[q.id]
    if dataset_id == "xquad-r":
        assert (
            len({c["queries"] for c in sub.counts().values()}) == 1
        )  # same questions per language
    two = load_dataset(dataset_id, langs=["en", "de"], articles=5)
    for q in two.queries:
        assert {cid.split(":", 1)[0] for cid in two.relevant[q.id]} == {"en", "de"} & {
            cid.split(":", 1)[0] for cid in full.relevant[q.id]
        }
