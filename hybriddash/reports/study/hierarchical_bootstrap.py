"""Hierarchical bootstrap of a headline difference: translation groups and seeds.

The decision rule of ``docs/results.md`` ("Decision rule"), as pure numpy functions.

**Statistic.** A model's headline number in one measure is a *macro average over cells*:
a cell is a (query language, candidate language) pair for mAP (monolingual: X->X,
cross-lingual: X->Y with X != Y, multilingual: X->all) or a query language for rank
distance. With per-query values ``v_q`` (AP or rank distance), per-query weight ``w_q``::

    cell mean  m_c = sum_{q in c} w_q v_q / sum_{q in c} w_q
    headline   H   = mean over cells c with sum_{q in c} w_q > 0 of m_c

With every ``w_q = 1`` this is exactly the headline table's number
(:func:`hybriddash.metrics.settings.headline_table`).

**Resampling.** Queries are nested in translation groups (a question and its
translations), so a resample draws *groups* with replacement: ``w_q`` = multiplicity of
q's group. Precomputing per (seed, group, cell) the sums ``S[s, g, c] = sum_{q in g, c}
v_q`` and counts ``N[s, g, c]`` turns a resample into a weighted sum: ``W @ S``, with
``W`` the (B, G) matrix of group multiplicities (multinomial(G, 1/G) rows). Seeds
resample within each model: ``k`` draws with replacement out of its ``k`` seeds.

**Comparison.** ``Δ = mean_s H(A, s) - mean_s H(B, s)``; ``Δ*_b`` the same on resample
b, A and B sharing the group weights (paired) and drawing their seeds independently.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Resamples per comparison (docs/results.md, "Decision rule").
N_RESAMPLES = 10_000
#: Root of every random stream of the rule.
ROOT_SEED = 0
#: Power at which the minimum detectable effect is stated.
POWER = 0.80
# resamples per matrix product: bounds memory at CHUNK x groups float64 weights
_CHUNK = 2_000


@dataclass(frozen=True)
class CellTable:
    """Per-seed group sums of one model in one measure.

    ``sums``/``counts``: shape ``(n_seeds, n_groups, n_cells)``; ``sums[s, g, c]`` =
    sum of the values of the queries of group ``g`` in cell ``c`` on seed ``s``,
    ``counts`` how many there are. ``seeds`` names the seeds (one entry ``-1`` for a
    deterministic model: the untrained base).
    """

    sums: np.ndarray
    counts: np.ndarray
    seeds: tuple[int, ...]

    @property
    def n_seeds(self) -> int:
        return int(self.sums.shape[0])


def cell_table(
    frames: Sequence[pd.DataFrame],
    groups: pd.Index,
    cells: pd.Index,
    seeds: Sequence[int],
) -> CellTable:
    """A :class:`CellTable` from one frame per seed with columns ``group_id, cell,
    value`` (one row per query and cell; NaN values are left out, as the headline does).

    ``groups`` / ``cells``: the benchmark's group ids and cell keys (the table's axes);
    a row whose group or cell is not in them is an error naming it.
    """
    parts = []
    for seed, frame in zip(seeds, frames, strict=True):
        frame = frame[frame["value"].notna()]
        g = groups.get_indexer(frame["group_id"])
        c = cells.get_indexer(frame["cell"])
        if (g < 0).any() or (c < 0).any():
            bad = frame[(g < 0) | (c < 0)].iloc[0]
            raise ValueError(
                f"seed {seed}: row with group_id={bad['group_id']!r}, cell={bad['cell']!r} "
                "is outside the benchmark's groups / cells"
            )
        parts.append((g, c, frame["value"].to_numpy(np.float64)))
    return cell_table_from_codes(parts, len(groups), len(cells), seeds)


def cell_table_from_codes(
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_groups: int,
    n_cells: int,
    seeds: Sequence[int],
) -> CellTable:
    """A :class:`CellTable` from one ``(group index, cell index, value)`` triple of
    arrays per seed (no NaN values)."""
    if len(parts) != len(seeds):
        raise ValueError(f"{len(parts)} value sets for {len(seeds)} seeds")
    size = n_groups * n_cells
    sums = np.zeros((len(parts), n_groups, n_cells))
    counts = np.zeros((len(parts), n_groups, n_cells))
    for i, (g, c, v) in enumerate(parts):
        flat = np.asarray(g, dtype=np.int64) * n_cells + np.asarray(c, dtype=np.int64)
        sums[i] = np.bincount(flat, weights=v, minlength=size).reshape(n_groups, n_cells)
        counts[i] = np.bincount(flat, minlength=size).reshape(n_groups, n_cells)
    return CellTable(sums, counts, tuple(int(s) for s in seeds))


def headlines(table: CellTable, weights: np.ndarray | None = None) -> np.ndarray:
    """Headline per seed: ``(n_seeds,)`` without ``weights``; ``(B, n_seeds)`` with
    group weights ``(B, n_groups)`` (module docstring: macro mean over the cells with a
    positive weighted count)."""
    k, n_g, n_c = table.sums.shape
    if weights is None:
        num = table.sums.sum(axis=1)  # (k, C)
        den = table.counts.sum(axis=1)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != n_g:
            raise ValueError(f"weights must be (B, {n_g}), got {w.shape}")
        s = table.sums.transpose(1, 0, 2).reshape(n_g, k * n_c)
        n = table.counts.transpose(1, 0, 2).reshape(n_g, k * n_c)
        num = (w @ s).reshape(-1, k, n_c)
        den = (w @ n).reshape(-1, k, n_c)
    present = den > 0
    means = np.divide(num, den, out=np.zeros_like(num), where=present)
    n_present = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_present > 0, means.sum(axis=-1) / n_present, np.nan)


def stream(*keys: str) -> np.random.Generator:
    """A generator seeded by :data:`ROOT_SEED` and the CRC32 of each key (a benchmark,
    a model), so a stream does not depend on which other models exist."""
    return np.random.default_rng([ROOT_SEED, *(zlib.crc32(k.encode()) for k in keys)])


def group_weights(n_groups: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n_groups)`` float64 group multiplicities: each row counts G
    groups drawn uniformly with replacement (a multinomial(G, 1/G) row)."""
    out = np.empty((n_resamples, n_groups))
    for start in range(0, n_resamples, _CHUNK):
        stop = min(start + _CHUNK, n_resamples)
        draws = rng.integers(0, n_groups, size=(stop - start, n_groups))
        flat = draws + (np.arange(stop - start) * n_groups)[:, None]
        out[start:stop] = np.bincount(flat.ravel(), minlength=(stop - start) * n_groups).reshape(
            stop - start, n_groups
        )
    return out


def seed_draws(n_seeds: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n_seeds)`` seed indices drawn with replacement."""
    return rng.integers(0, n_seeds, size=(n_resamples, n_seeds))


def resampled_mean(table: CellTable, weights: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``(B,)``: on each resample, the mean over the drawn seeds of the model's headline
    under that resample's group weights (chunked over resamples)."""
    out = np.empty(weights.shape[0])
    for start in range(0, weights.shape[0], _CHUNK):
        stop = min(start + _CHUNK, weights.shape[0])
        h = headlines(table, weights[start:stop])  # (b, k)
        out[start:stop] = np.take_along_axis(h, draws[start:stop], axis=1).mean(axis=1)
    return out


@dataclass(frozen=True)
class Interval:
    """A comparison's bootstrap summary: effect Δ, percentile interval at ``level``,
    bootstrap standard error, and the per-seed differences (each seed of A minus the
    mean of B's seeds)."""

    effect: float
    low: float
    high: float
    level: float
    se: float
    p: float
    seed_diffs: tuple[float, ...]


def summarise(
    effect: float,
    delta_star: np.ndarray,
    alpha: float,
    *,
    kind: str,
    direction: int = 1,
    margin: float = math.nan,
    seed_diffs: Sequence[float] = (),
) -> Interval:
    """Effect, ``1 - 2 alpha`` percentile interval and bootstrap p of ``delta_star``.

    ``kind="equivalence"``: ``p = max(share(Δ* <= -margin), share(Δ* >= margin))``;
    ``kind="superiority"``: ``p = share(direction * Δ* <= 0)`` (one-sided). The test
    passes iff ``p < alpha``, the same event as the interval clearing its bound (up to
    quantile interpolation).
    """
    d = np.asarray(delta_star, dtype=np.float64)
    lo, hi = np.quantile(d, [alpha, 1 - alpha])
    if kind == "equivalence":
        p = max(float(np.mean(d <= -margin)), float(np.mean(d >= margin)))
    elif kind == "superiority":
        p = float(np.mean(direction * d <= 0))
    else:
        raise ValueError(f"kind must be 'equivalence' or 'superiority', got {kind!r}")
    return Interval(
        effect=float(effect),
        low=float(lo),
        high=float(hi),
        level=1 - 2 * alpha,
        se=float(d.std(ddof=1)),
        p=p,
        seed_diffs=tuple(float(x) for x in seed_diffs),
    )


SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


def decide(iv: Interval, *, kind: str, direction: int = 1, margin: float = math.nan) -> str:
    """Verdict of one comparison from its interval.

    equivalence: supported iff ``-margin < low`` and ``high < margin``; contradicted iff
    ``low >= margin`` or ``high <= -margin``. superiority (``direction`` +1: A higher is
    better, -1: lower): supported iff the interval excludes 0 on the claimed side,
    contradicted iff it excludes 0 on the other side.
    """
    if kind == "equivalence":
        if -margin < iv.low and iv.high < margin:
            return SUPPORTED
        if iv.low >= margin or iv.high <= -margin:
            return CONTRADICTED
        return INCONCLUSIVE
    lo, hi = sorted((direction * iv.low, direction * iv.high))
    if lo > 0:
        return SUPPORTED
    if hi < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def minimum_detectable(se: float, alpha: float, *, kind: str, power: float = POWER) -> float:
    """Smallest difference detectable at ``power`` (normal approximation).

    superiority: ``(z_{1-alpha} + z_{power}) * se`` (one-sided test at ``alpha``);
    equivalence: the smallest margin "matches" could be shown with at ``power`` when the
    true difference is 0, ``(z_{1-alpha} + z_{(1+power)/2}) * se`` (both one-sided tests
    must pass: power = 1 - 2 Phi(z_{1-alpha} - margin/se)).
    """
    z = stats.norm.ppf
    if kind == "equivalence":
        return float((z(1 - alpha) + z((1 + power) / 2)) * se)
    return float((z(1 - alpha) + z(power)) * se)
