"""Verdict computations of the research questions (issue 24), as pure functions.

The rules are in docs/results.md ("Research questions: decision rules"). They reuse issue
22's hierarchical bootstrap (:mod:`hybriddash.reports.study.hierarchical_bootstrap`):
the functions here take its resampled statistics (arrays of B resamples) and add what
the questions need beyond a difference of two headlines:

- the three-way reading (better / worse / unchanged) and non-inferiority
  (:func:`three_way`, :func:`non_inferior`);
- the retention ratio of out-of-domain to in-domain gain (:func:`retention`);
- the long-tail statistics over languages: the OLS slope of per-language gain on log
  pre-training size and the low-minus-high tercile difference
  (:func:`resource_slope`, :func:`tercile_difference`), with languages as a third
  bootstrap level (:func:`long_tail_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from hybriddash.reports.study.hierarchical_bootstrap import Interval, stream, summarise

BETTER, WORSE, UNCHANGED, INCONCLUSIVE = "better", "worse", "unchanged", "inconclusive"


def three_way(iv: Interval, *, margin: float, direction: int = 1) -> str:
    """``better`` when the interval excludes 0 on the side ``direction`` calls better
    (+1: higher), ``worse`` when it excludes 0 on the other side, ``unchanged`` when it
    lies within (-margin, +margin) (TOST at the interval's level), else ``inconclusive``.
    An interval that is both within the margin and clear of 0 reads as better/worse."""
    lo, hi = sorted((direction * iv.low, direction * iv.high))
    if lo > 0:
        return BETTER
    if hi < 0:
        return WORSE
    if -margin < iv.low and iv.high < margin:
        return UNCHANGED
    return INCONCLUSIVE


def non_inferior(iv: Interval, *, margin: float, direction: int = 1) -> bool:
    """Non-inferiority at the interval's level: the worst end lies above ``-margin``
    (``direction`` +1: higher is better; the interval is ``A - B``)."""
    worst = min(direction * iv.low, direction * iv.high)
    return bool(worst > -margin)


def retention(
    ood: np.ndarray | float,
    in_domain: np.ndarray | float,
    ood_base: np.ndarray | float,
    in_base: np.ndarray | float,
) -> np.ndarray:
    """``R = (OOD(M) - OOD(base)) / (IN(M) - IN(base))``: the share of the in-domain gain
    over the base that a model keeps out of domain; elementwise (one value per resample).
    NaN where the in-domain gain is 0."""
    gain_in = np.asarray(in_domain, dtype=np.float64) - np.asarray(in_base, dtype=np.float64)
    gain_ood = np.asarray(ood, dtype=np.float64) - np.asarray(ood_base, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gain_in == 0, np.nan, gain_ood / gain_in)


def resource_slope(
    gain: Sequence[float] | np.ndarray, log_size: Sequence[float] | np.ndarray
) -> float:
    """OLS slope of per-language gain on log resource size:
    ``b = sum_L (x_L - x̄)(g_L - ḡ) / sum_L (x_L - x̄)^2`` (gain units per unit of
    ``log_size``, e.g. per decade of CC-100 data). NaN with fewer than 2 distinct x."""
    g = np.asarray(gain, dtype=np.float64)
    x = np.asarray(log_size, dtype=np.float64)
    dx = x - x.mean()
    den = float(np.sum(dx * dx))
    return float(np.sum(dx * (g - g.mean())) / den) if den > 0 else math.nan


def tercile_difference(
    gain: Sequence[float] | np.ndarray, log_size: Sequence[float] | np.ndarray
) -> float:
    """``mean(g | lowest third of x) - mean(g | highest third of x)``.

    Terciles by rank of x (``scipy.stats.rankdata(method="min")``, 1-based, so tied
    sizes share the lower rank and fall to the lower tercile): low = rank <= n/3, high =
    rank > 2n/3. NaN when either tercile is empty (n < 3)."""
    g = np.asarray(gain, dtype=np.float64)
    rank = stats.rankdata(np.asarray(log_size, dtype=np.float64), method="min")
    n = len(g)
    low, high = rank <= n / 3, rank > 2 * n / 3
    if not low.any() or not high.any():
        return math.nan
    return float(g[low].mean() - g[high].mean())


def batch_slope(gain: np.ndarray, log_size: np.ndarray) -> np.ndarray:
    """:func:`resource_slope` of every row of ``(B, L)`` gains and sizes at once
    (``b = sum (x - x̄)(g - ḡ) / sum (x - x̄)^2`` per row; NaN where all x are equal)."""
    g = np.asarray(gain, dtype=np.float64)
    x = np.asarray(log_size, dtype=np.float64)
    dx = x - x.mean(axis=1, keepdims=True)
    den = np.sum(dx * dx, axis=1)
    num = np.sum(dx * (g - g.mean(axis=1, keepdims=True)), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def batch_tercile(gain: np.ndarray, log_size: np.ndarray) -> np.ndarray:
    """:func:`tercile_difference` of every row of ``(B, L)`` gains and sizes at once: the
    "min" rank of x_i is ``1 + #{j: x_j < x_i}`` (ties share the lower rank), low =
    rank <= L/3, high = rank > 2L/3; NaN where either tercile is empty."""
    g = np.asarray(gain, dtype=np.float64)
    x = np.asarray(log_size, dtype=np.float64)
    n = g.shape[1]
    rank = 1 + (x[:, None, :] < x[:, :, None]).sum(axis=2)
    low, high = rank <= n / 3, rank > 2 * n / 3
    n_low, n_high = low.sum(axis=1), high.sum(axis=1)
    ok = (n_low > 0) & (n_high > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (g * low).sum(axis=1) / n_low - (g * high).sum(axis=1) / n_high
    return np.where(ok, diff, np.nan)


def long_tail_interval(
    gain: Sequence[float] | np.ndarray,
    gain_star: np.ndarray,
    log_size: Sequence[float] | np.ndarray,
    *,
    statistic: str,
    alpha: float,
    key: str = "long-tail",
) -> Interval:
    """Interval of the slope or tercile difference with languages as a bootstrap level.

    ``gain``: per-language point gains (L,); ``gain_star``: (B, L) per-language gains on
    each resample of groups and seeds (issue 22's hierarchical bootstrap, run per
    language); ``log_size``: (L,). Resample b draws L languages with replacement and
    evaluates ``statistic`` (``"slope"`` or ``"tercile"``) on their gains at resample b.
    The "better" direction of both is the claim "more help for the long tail": slope
    below 0, tercile difference above 0; ``p`` here is ``summarise``'s superiority p for
    the sign that claim needs.
    """
    fn = {"slope": resource_slope, "tercile": tercile_difference}.get(statistic)
    if fn is None:
        raise ValueError(f"statistic must be 'slope' or 'tercile', got {statistic!r}")
    g = np.asarray(gain, dtype=np.float64)
    x = np.asarray(log_size, dtype=np.float64)
    star = np.asarray(gain_star, dtype=np.float64)
    if star.ndim != 2 or star.shape[1] != len(g) or len(x) != len(g):
        raise ValueError(
            f"gain_star must be (B, {len(g)}) and log_size ({len(g)},); got "
            f"{star.shape} and {x.shape}"
        )
    rng = stream("questions", key, statistic)
    picks = rng.integers(0, len(g), size=star.shape)
    batch = {"slope": batch_slope, "tercile": batch_tercile}[statistic]
    rows = np.arange(star.shape[0])[:, None]
    # the resamples in chunks: the tercile's rank comparison holds chunk x L x L booleans
    chunk = max(1, 20_000_000 // max(1, len(g) ** 2))
    delta = np.concatenate(
        [
            batch(star[rows[i : i + chunk], picks[i : i + chunk]], x[picks[i : i + chunk]])
            for i in range(0, star.shape[0], chunk)
        ]
    )
    delta = delta[np.isfinite(delta)]
    direction = -1 if statistic == "slope" else 1
    return summarise(fn(g, x), delta, alpha, kind="superiority", direction=direction)
