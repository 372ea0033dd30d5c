"""Grouped top-k shares for charts with many languages (Tatoeba's 112)."""

from __future__ import annotations

import pandas as pd
import pytest

from hybriddash.palette import group_colors
from hybriddash.reports.tables import group_shares


@pytest.fixture
def shares() -> pd.DataFrame:
    rows = [  # query language, candidate language, share, ideal share
        ("ru", "ru", 0.5, 0.25),
        ("ru", "uk", 0.2, 0.25),
        ("ru", "en", 0.2, 0.25),
        ("ru", "ar", 0.1, 0.25),
        ("en", "en", 0.7, 0.25),
        ("en", "ru", 0.1, 0.25),
        ("en", "uk", 0.1, 0.25),
        ("en", "ar", 0.1, 0.25),
    ]
    frame = pd.DataFrame(rows, columns=["query_lang", "cand_lang", "share", "ideal_share"])
    return frame.assign(excess=frame["share"] - frame["ideal_share"])


def test_scripts_sum_their_languages(shares):
    out = group_shares(shares, "script").set_index(["query_lang", "cand_lang"])
    assert out.loc[("ru", "Cyrillic"), "share"] == pytest.approx(0.7)
    assert out.loc[("ru", "Cyrillic"), "ideal_share"] == pytest.approx(0.5)
    assert out.loc[("ru", "Cyrillic"), "languages"] == "ru, uk"
    assert out.loc[("en", "Latin"), "excess"] == pytest.approx(0.45)
    assert out.groupby("query_lang")["share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_own_language_against_the_rest(shares):
    out = group_shares(shares, "own").set_index(["query_lang", "cand_lang"])
    assert out.loc[("ru", "own language"), "share"] == pytest.approx(0.5)
    assert out.loc[("ru", "other languages"), "share"] == pytest.approx(0.5)
    assert out.loc[("en", "other languages"), "ideal_share"] == pytest.approx(0.75)


def test_language_grouping_keeps_the_rows_and_unknown_groupings_are_refused(shares):
    assert len(group_shares(shares, "language")) == len(shares)
    with pytest.raises(ValueError, match="family"):
        group_shares(shares, "family")


def test_group_colours_are_fixed_and_distinct():
    a = group_colors(["Latin", "Cyrillic", "Arabic", "own language", "other languages"])
    b = group_colors(["Arabic", "Latin"])
    assert a["Latin"] == b["Latin"] and a["Arabic"] == b["Arabic"]
    assert len(set(a.values())) == len(a)
