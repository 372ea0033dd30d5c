"""The questions' verdict computations on constructed data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybriddash.reports.questions import (
    BETTER,
    INCONCLUSIVE,
    UNCHANGED,
    WORSE,
    long_tail_interval,
    non_inferior,
    resource_slope,
    retention,
    tercile_difference,
    three_way,
)
from hybriddash.reports.study.hierarchical_bootstrap import Interval


def iv(low: float, high: float) -> Interval:
    return Interval((low + high) / 2, low, high, 0.99, 0.01, 0.01, ())


def test_three_way_and_non_inferiority_readings():
    assert three_way(iv(0.001, 0.03), margin=0.02) == BETTER
    assert three_way(iv(-0.03, -0.001), margin=0.02) == WORSE
    assert three_way(iv(-0.01, 0.015), margin=0.02) == UNCHANGED
    assert three_way(iv(-0.03, 0.015), margin=0.02) == INCONCLUSIVE
    # lower is better (rank distance): the same interval reads the other way
    assert three_way(iv(-3.0, -1.0), margin=0.5, direction=-1) == BETTER
    assert non_inferior(iv(-0.015, 0.01), margin=0.02)
    assert not non_inferior(iv(-0.025, 0.01), margin=0.02)
    assert non_inferior(iv(-1.0, 1.5), margin=2.0, direction=-1)
    assert not non_inferior(iv(-1.0, 2.5), margin=2.0, direction=-1)


def test_retention_is_the_share_of_the_in_domain_gain_kept_out_of_domain():
    assert retention(0.35, 0.60, 0.30, 0.40) == pytest.approx(0.25)
    r = retention(np.array([0.5, 0.4]), np.array([0.7, 0.4]), 0.3, 0.4)
    assert r[0] == pytest.approx(2 / 3) and math.isnan(r[1])


def test_slope_and_tercile_difference_on_known_lines():
    x = np.log10([0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000])
    g = 0.05 - 0.01 * x
    assert resource_slope(g, x) == pytest.approx(-0.01)
    # terciles: the 3 smallest and the 3 largest sizes
    assert tercile_difference(g, x) == pytest.approx(g[:3].mean() - g[-3:].mean())
    assert tercile_difference(g, x) > 0
    assert math.isnan(resource_slope([1, 2], [3, 3]))
    assert math.isnan(tercile_difference([1.0, 2.0], [1.0, 2.0]))
    # tied sizes share the lower rank: both ties land in the low tercile
    assert tercile_difference([1, 1, 0, 0, 0, 5], [0, 0, 1, 2, 3, 4]) == pytest.approx(1 - 2.5)


def _long_tail(slope: float, n_lang: int = 60, b: int = 2000, noise: float = 0.004):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 3, n_lang)  # log10 GiB of CC-100 data
    g = 0.02 + slope * x + rng.normal(0, noise, n_lang)
    star = g + rng.normal(0, noise, (b, n_lang))  # group and seed noise per language
    return g, star, x


def test_a_steeper_gain_for_small_languages_is_found_with_its_interval():
    g, star, x = _long_tail(-0.01)
    slope = long_tail_interval(g, star, x, statistic="slope", alpha=0.0022)
    assert slope.low < -0.01 < slope.high and slope.high < 0  # contains the truth, excludes 0
    assert slope.p < 0.0022
    terc = long_tail_interval(g, star, x, statistic="tercile", alpha=0.0022)
    assert terc.low > 0 and terc.effect == pytest.approx(tercile_difference(g, x))


def test_no_relation_gives_an_interval_around_zero():
    g, star, x = _long_tail(0.0)
    slope = long_tail_interval(g, star, x, statistic="slope", alpha=0.0022)
    assert slope.low < 0 < slope.high and slope.p > 0.0022
    with pytest.raises(ValueError, match="slope' or 'tercile"):
        long_tail_interval(g, star, x, statistic="median", alpha=0.05)
    with pytest.raises(ValueError, match="gain_star must be"):
        long_tail_interval(g, star[:, :5], x, statistic="slope", alpha=0.05)


def test_batch_statistics_equal_the_scalar_ones_row_by_row():
    """The resamples' slope and tercile difference are computed for all rows at once;
    each row must equal the scalar function on that row, ties and degenerate rows
    included."""
    from hybriddash.reports.questions import (
        batch_slope,
        batch_tercile,
        resource_slope,
        tercile_difference,
    )

    rng = np.random.default_rng(7)
    g = rng.normal(size=(200, 9))
    x = np.round(rng.uniform(-1, 2.5, size=(200, 9)), 1)  # rounded: many ties
    x[0] = 1.0  # all sizes equal: slope undefined
    x[1, :] = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    slopes, terciles = batch_slope(g, x), batch_tercile(g, x)
    for b in range(len(g)):
        np.testing.assert_allclose(slopes[b], resource_slope(g[b], x[b]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            terciles[b], tercile_difference(g[b], x[b]), rtol=1e-12, atol=1e-12
        )
    assert np.isnan(slopes[0])
    two = batch_tercile(g[:, :2], x[:, :2])  # n = 2: the low tercile is empty
    assert np.isnan(two).all()
