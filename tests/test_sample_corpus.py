"""The built-in sample corpus: size, languages, distractors, parallel structure, speed."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from importlib import resources

from hybriddash.data import sample
from hybriddash.languages import script_of


def test_sample_file_is_package_data() -> None:
    path = resources.files("hybriddash.data").joinpath("sample", sample.SAMPLE_FILE)
    assert path.is_file()


def test_sample_loads_from_scratch_in_under_a_second() -> None:
    sample._load.cache_clear()
    start = time.perf_counter()
    corpus = sample.load_sample()
    assert time.perf_counter() - start < 1.0
    assert corpus.dataset_id == "sample"


def test_sample_has_at_least_40_groups_in_at_least_5_languages(sample_corpus) -> None:
    langs_of_group: dict[str, set[str]] = defaultdict(set)
    for q in sample_corpus.queries:
        langs_of_group[q.group].add(q.lang)
    assert len(langs_of_group) >= 40
    assert all(len(langs) >= 5 for langs in langs_of_group.values())
    scripts = {script_of(lang) for lang in sample_corpus.languages}
    assert {"Latin", "Han", "Arabic", "Cyrillic"} <= scripts


def test_every_query_is_relevant_to_its_group_answer_in_every_language(sample_corpus) -> None:
    by_id = {c.id: c for c in sample_corpus.candidates}
    langs_of_group: dict[str, set[str]] = defaultdict(set)
    for c in sample_corpus.candidates:
        for g in c.groups:
            langs_of_group[g].add(c.lang)
    for q in sample_corpus.queries:
        rel = [by_id[cid] for cid in sample_corpus.relevant[q.id]]
        assert {c.lang for c in rel} == langs_of_group[q.group]
        assert q.lang in {c.lang for c in rel}
        assert all(c.groups == (q.group,) and c.article == q.article for c in rel)
        assert len(rel) == len({c.lang for c in rel})  # one answer per language


def test_distractors_per_language_and_article(sample_corpus) -> None:
    distractors = [c for c in sample_corpus.candidates if not c.groups]
    relevant_ids = set().union(*sample_corpus.relevant.values())
    assert distractors and not relevant_ids & {c.id for c in distractors}
    per = defaultdict(int)
    for c in distractors:
        per[(c.article, c.lang)] += 1
    articles = sample_corpus.articles()
    assert len(articles) >= 3
    for article in articles:
        for lang in sample_corpus.languages:
            assert per[(article, lang)] >= 2, (article, lang)


def test_texts_are_distinct_and_questions_differ_from_answers(sample_corpus) -> None:
    for lang in sample_corpus.languages:
        texts = [c.text for c in sample_corpus.candidates if c.lang == lang]
        assert len(texts) == len(set(texts)), lang
        questions = [q.text for q in sample_corpus.queries if q.lang == lang]
        assert len(questions) == len(set(questions)), lang
    answers = {c.id: c.text for c in sample_corpus.candidates}
    for q in sample_corpus.queries:
        assert q.text != answers[q.id]


_YEAR = re.compile(r"(?<!\d)(1\d{3}|20\d{2})(?!\d)")


def test_years_in_english_answers_appear_in_every_translation(sample_corpus) -> None:
    """A cheap translation check: a year stated in English is stated in every language."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    for c in sample_corpus.candidates:
        key = c.groups[0] if c.groups else "d:" + c.id.split(":", 1)[1].rsplit("/", 1)[0]
        answers[key][c.lang] = c.text
    checked = 0
    for per_lang in answers.values():
        years = set(_YEAR.findall(per_lang["en"]))
        for lang, text in per_lang.items():
            assert years <= set(_YEAR.findall(text)), (lang, text)
        checked += bool(years)
    assert checked >= 10
