"""One fixed, distinct colour per language (hybriddash.palette)."""

from __future__ import annotations

import itertools

import pytest

from hybriddash.languages import LANGUAGES
from hybriddash.palette import language_color, language_colors

XQUAD_R = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _distance(a: str, b: str) -> float:
    return sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True)) ** 0.5


def test_no_two_languages_of_any_dataset_share_a_colour(sample_corpus) -> None:
    from hybriddash.data.datasets import list_datasets

    language_sets = {"sample corpus": list(sample_corpus.languages), "xquad-r": XQUAD_R}
    for info in list_datasets():
        if info.languages:
            language_sets[info.id] = list(info.languages)
    language_sets["every known language"] = list(LANGUAGES)
    assert len(LANGUAGES) >= 20
    for name, langs in language_sets.items():
        colours = language_colors(langs)
        assert len(set(colours.values())) == len(set(langs)), name


def test_arabic_and_chinese_are_far_apart_and_xquad_colours_are_distinct() -> None:
    # the newcomer's complaint: ar and zh looked the same in the 11-language charts
    assert _distance(language_color("ar"), language_color("zh")) > 100
    closest = min(
        _distance(language_color(a), language_color(b))
        for a, b in itertools.combinations(XQUAD_R, 2)
    )
    assert closest > 60


def test_a_language_keeps_its_colour_whatever_the_other_languages() -> None:
    alone = language_colors(["zh"])
    with_others = language_colors(XQUAD_R + ["sw", "yo"])
    assert alone["zh"] == with_others["zh"] == language_color("zh")
    assert language_colors(["de", "en"])["en"] == with_others["en"]


def test_unknown_codes_get_distinct_colours_unused_by_known_languages() -> None:
    colours = language_colors(["xx", "yy", "en", "all"])
    assert len(set(colours.values())) == 4
    known = {language_color(c) for c in LANGUAGES}
    assert not {colours["xx"], colours["yy"], colours["all"]} & known
    with pytest.raises(KeyError, match="'xx'"):
        language_color("xx")
