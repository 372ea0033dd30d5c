"""The study's *previous* decision rule (issue 12), superseded by issue 22's.

The verdicts published at commit b847989 (``hybriddash/reports/study/
published_b847989.json``, shown beside the new ones in ``docs/results.md``) were decided
by these functions; they stay so that table can be recomputed and checked. The rule in
force is :mod:`hybriddash.reports.study.comparisons` (hierarchical bootstrap over
translation groups and seeds, ``docs/results.md`` "Decision rule"). :func:`mean_ci` is
also the alpha curve's t-interval.

Inputs of one comparison "A against B" on one evaluation corpus:

- ``d``: per-query paired differences ``d_i = mean_s a_{i,s} - mean_s b_{i,s}``; each
  model's per-query value (AP in a headline setting, or rank distance) is first
  averaged over its seeds ``s``, then the queries are paired on query id;
- ``seeds_a``, ``seeds_b``: one headline value per seed of each model (macro-averaged
  as in the paper), for the across-seed test.

Tests (alpha = :data:`ALPHA` = 0.05 throughout):

- **Effect and CI**: ``effect = mean(d)``; 95% CI ``mean(d) +- t_{0.975, n-1} *
  sd(d) / sqrt(n)`` (sd with ddof=1).
- **"matches"** (equivalence, two one-sided tests, Schuirmann 1987) with margin
  ``delta`` (:data:`MARGIN` = 0.01 mAP): ``p_TOST = max(P(T >= (mean + delta)/se),
  P(T <= (mean - delta)/se))`` with ``T ~ t_{n-1}``; equivalence is shown when
  ``p_TOST`` (Holm-adjusted) < alpha. The claim is *contradicted* when non-equivalence
  is shown: ``p_out = P(T >= (|mean| - delta)/se)`` (Holm-adjusted) < alpha, i.e. the
  difference lies beyond the margin.
- **"better"** (superiority): across queries, the paired sign-flip randomization test
  of :func:`hybriddash.reports.significance.paired_permutation_test` (two-sided,
  ``p_perm``); across seeds, Almost Stochastic Order (Dror et al. 2019; del Barrio et
  al. 2018) as implemented by ``deepsig.aso`` at confidence 0.95 with deepsig's
  Bonferroni correction over the number of superiority comparisons; it returns the
  violation ratio ``eps_min`` and A is taken to dominate B when ``eps_min <``
  :data:`ASO_THRESHOLD` (0.5, deepsig's recommended threshold). *Supported*: Holm-
  adjusted ``p_perm < alpha``, effect in the claimed direction and ASO(A over B)
  ``< 0.5``. *Contradicted*: Holm-adjusted ``p_perm < alpha``, effect in the opposite
  direction and ASO(B over A) ``< 0.5``. For a lower-is-better measure (rank distance)
  the seed scores are negated before ASO and the claimed direction is ``effect < 0``.
- **Holm** over every test of every claim and evaluation corpus at once (one family for
  the "support" p-values, one for the "contradiction" p-values;
  :func:`hybriddash.reports.significance.holm`).
- Fewer than :data:`MIN_SEEDS` seeds on either side: *inconclusive* ("too few seeds"),
  whatever the p-values; a missing model: *inconclusive* naming it. An untrained B (the
  base, with or without a correction) is deterministic: only A's seeds count, and ASO
  compares A's seed scores with B's single score.
- ASO is run only where it decides (after a significant query-level test, in the
  direction of the observed effect); elsewhere ``aso_ab`` / ``aso_ba`` are NaN.
- Anything else: *inconclusive*. A composite claim (several comparisons, e.g. "best" =
  better than X-X-mono and better than X-Y) is supported when all its comparisons are,
  contradicted when any is, otherwise inconclusive.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from hybriddash.reports.significance import holm, paired_permutation_test

ALPHA = 0.05
#: Equivalence margin of "matches" claims, in mAP.
MARGIN = 0.01
#: ASO violation ratio below which A is taken to dominate B (deepsig's recommendation).
ASO_THRESHOLD = 0.5
#: Seeds per model needed before a verdict other than inconclusive.
MIN_SEEDS = 3
SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


@dataclass(frozen=True)
class Comparison:
    """Raw result of one comparison "A against B" (before Holm and the verdict).

    ``kind`` is ``equivalence`` or ``superiority``; ``direction`` +1 when the claim is
    "A higher", -1 when "A lower" (rank distance); ``p_support`` / ``p_contra`` are the
    unadjusted p-values of the two families (see the module docstring); ``aso_ab`` /
    ``aso_ba`` the ASO violation ratios of A over B and B over A (NaN: not computed).
    """

    claim: str
    eval_dataset: str
    label: str  # e.g. "Hybrid vs X-X-mono, monolingual mAP"
    kind: str
    direction: int
    n_queries: int
    n_seeds_a: int
    n_seeds_b: int
    effect: float
    ci_low: float
    ci_high: float
    p_support: float
    p_contra: float
    aso_ab: float = math.nan
    aso_ba: float = math.nan
    margin: float = math.nan
    missing: str = ""  # what is missing for a verdict (empty: nothing)
    # B is deterministic (the untrained base, with or without a correction): it has no
    # seed distribution, so only A's seeds count towards MIN_SEEDS
    b_deterministic: bool = False


@dataclass(frozen=True)
class Verdict:
    """One decided comparison: the :class:`Comparison` plus Holm p-values and verdict."""

    comparison: Comparison
    p_support_holm: float
    p_contra_holm: float
    verdict: str
    reason: str

    def row(self) -> dict[str, object]:
        out = asdict(self.comparison)
        out.update(
            p_support_holm=self.p_support_holm,
            p_contra_holm=self.p_contra_holm,
            verdict=self.verdict,
            reason=self.reason,
        )
        return out


#: A comparison with its seed scores (A's, B's), as :func:`compare` returns it.
Tested = tuple[Comparison, tuple[np.ndarray, np.ndarray]]


# ---- the tests ---------------------------------------------------------------------


def mean_ci(d: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of ``mean(d) +- t_{(1+level)/2, n-1} * sd(d)/sqrt(n)``.

    One value: the CI is ``(mean, mean)`` only when it is exactly zero-width by data
    (n >= 2, sd = 0); with n < 2 it is ``(-inf, inf)``. Empty: all NaN.
    """
    arr = np.asarray(d, dtype=np.float64)
    n = arr.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if n < 2:
        return mean, -math.inf, math.inf
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * se
    return mean, mean - half, mean + half


def tost(d: Sequence[float], margin: float) -> tuple[float, float]:
    """Two one-sided tests of equivalence of ``mean(d)`` to 0 within ``+-margin``.

    Returns ``(p_tost, p_out)``: ``p_tost = max(p_lower, p_upper)`` with ``p_lower =
    P(T >= (mean + margin)/se)`` (H0: mean <= -margin) and ``p_upper = P(T <= (mean -
    margin)/se)`` (H0: mean >= margin), ``T ~ t_{n-1}``; ``p_out = P(T >= (|mean| -
    margin)/se)``, the one-sided p of "the difference lies beyond the margin" on the
    side of the observed mean. With ``sd = 0`` the tests are decided exactly (p 0 or 1).
    """
    if margin <= 0:
        raise ValueError(f"equivalence margin must be > 0, got {margin}")
    arr = np.asarray(d, dtype=np.float64)
    n = arr.size
    if n < 2:
        return 1.0, 1.0
    mean = float(arr.mean())
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        inside = abs(mean) < margin
        return (0.0, 1.0) if inside else (1.0, 0.0 if abs(mean) > margin else 1.0)
    df = n - 1
    p_lower = float(stats.t.sf((mean + margin) / se, df))
    p_upper = float(stats.t.cdf((mean - margin) / se, df))
    p_out = float(stats.t.sf((abs(mean) - margin) / se, df))
    return max(p_lower, p_upper), p_out


def aso_violation(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    *,
    num_comparisons: int = 1,
    iterations: int = 1000,
    seed: int = 0,
) -> float:
    """ASO violation ratio ``eps_min`` of "A stochastically dominates B" (deepsig.aso).

    Higher scores are better; ``eps_min < 0.5`` means A is better (Dror et al. 2019).
    ``num_comparisons`` applies deepsig's Bonferroni correction of the confidence level.
    """
    a = tuple(float(x) for x in scores_a)
    b = tuple(float(x) for x in scores_b)
    if not a or not b:
        return math.nan
    return _aso(a, b, max(1, int(num_comparisons)), int(iterations), int(seed))


@functools.lru_cache(maxsize=4096)
def _aso(
    a: tuple[float, ...], b: tuple[float, ...], comparisons: int, iterations: int, seed: int
) -> float:
    # deepsig's ASO takes ~3 s per 1,000 iterations (pure Python); it is deterministic
    # for a seed, so a page re-drawn for a changed store recomputes only new comparisons
    from deepsig import aso

    return float(
        aso(
            np.asarray(a),
            np.asarray(b),
            confidence_level=1 - ALPHA,
            num_comparisons=comparisons,
            num_bootstrap_iterations=iterations,
            num_jobs=1,
            show_progress=False,
            seed=seed,
        )
    )


def compare(
    claim: str,
    eval_dataset: str,
    label: str,
    kind: str,
    d: Sequence[float],
    seeds_a: Sequence[float],
    seeds_b: Sequence[float],
    *,
    direction: int = 1,
    margin: float = MARGIN,
    missing: str = "",
    b_deterministic: bool = False,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Tested:
    """The raw tests of one comparison, with its seed scores (ASO comes in :func:`decide`)."""
    if kind not in ("equivalence", "superiority"):
        raise ValueError(f"kind must be 'equivalence' or 'superiority', got {kind!r}")
    arr = np.asarray(d, dtype=np.float64)
    effect, lo, hi = mean_ci(arr)
    if missing or arr.size < 2:
        p_s = p_c = math.nan
    elif kind == "equivalence":
        p_s, p_c = tost(arr, margin)
    else:
        p, _exact, _n = paired_permutation_test(
            arr, np.zeros_like(arr), n_resamples=n_resamples, seed=seed
        )
        p_s = p_c = p
    return Comparison(
        claim=claim,
        eval_dataset=eval_dataset,
        label=label,
        kind=kind,
        direction=1 if direction >= 0 else -1,
        n_queries=int(arr.size),
        n_seeds_a=len(seeds_a),
        n_seeds_b=len(seeds_b),
        effect=effect,
        ci_low=lo,
        ci_high=hi,
        p_support=p_s,
        p_contra=p_c,
        margin=margin if kind == "equivalence" else math.nan,
        missing=missing or ("no paired queries" if arr.size < 2 else ""),
        b_deterministic=b_deterministic,
    ), (np.asarray(seeds_a, dtype=np.float64), np.asarray(seeds_b, dtype=np.float64))


def decide(
    comparisons: Sequence[Tested],
    *,
    min_seeds: int = MIN_SEEDS,
    aso_iterations: int = 1000,
) -> list[Verdict]:
    """Holm over all comparisons, ASO across seeds for superiority, and the verdicts."""
    comps = [c for c, _ in comparisons]
    p_s = holm([c.p_support for c in comps])
    p_c = holm([c.p_contra for c in comps])
    n_sup = sum(1 for c in comps if c.kind == "superiority" and not c.missing)
    out: list[Verdict] = []
    for (comp, (sa, sb)), ps, pc in zip(comparisons, p_s, p_c, strict=True):
        if comp.missing:
            out.append(Verdict(comp, ps, pc, INCONCLUSIVE, comp.missing))
            continue
        n_seeds = comp.n_seeds_a if comp.b_deterministic else min(comp.n_seeds_a, comp.n_seeds_b)
        if n_seeds < min_seeds:
            out.append(
                Verdict(comp, ps, pc, INCONCLUSIVE, f"too few seeds ({n_seeds} < {min_seeds})")
            )
            continue
        if comp.kind == "equivalence":
            if ps < ALPHA:
                verdict, reason = SUPPORTED, f"equivalent within ±{comp.margin:g} (TOST)"
            elif pc < ALPHA:
                side = "higher" if comp.effect > 0 else "lower"
                verdict = CONTRADICTED
                reason = f"A is {side} by more than the margin ±{comp.margin:g}"
            else:
                verdict, reason = (
                    INCONCLUSIVE,
                    "neither equivalence nor a difference beyond the margin shown",
                )
            out.append(Verdict(comp, ps, pc, verdict, reason))
            continue
        signed = comp.direction * comp.effect
        a, b = comp.direction * sa, comp.direction * sb
        # ASO (seconds per call) only where it decides: after a significant query-level
        # test, in the direction of the observed effect
        if ps < ALPHA and signed > 0:
            comp = replace(
                comp, aso_ab=aso_violation(a, b, num_comparisons=n_sup, iterations=aso_iterations)
            )
        elif pc < ALPHA and signed < 0:
            comp = replace(
                comp, aso_ba=aso_violation(b, a, num_comparisons=n_sup, iterations=aso_iterations)
            )
        if ps < ALPHA and signed > 0 and comp.aso_ab < ASO_THRESHOLD:
            verdict, reason = SUPPORTED, "better across queries and across seeds (ASO)"
        elif pc < ALPHA and signed < 0 and comp.aso_ba < ASO_THRESHOLD:
            verdict, reason = CONTRADICTED, "worse across queries and across seeds (ASO)"
        elif ps < ALPHA or (pc < ALPHA and signed < 0):
            verdict = INCONCLUSIVE
            way = "better" if signed > 0 else "worse"
            reason = (
                f"A {way} across queries (significant) but not across seeds (ASO eps_min >= 0.5)"
            )
        else:
            verdict, reason = INCONCLUSIVE, "no significant difference across queries"
        out.append(Verdict(comp, ps, pc, verdict, reason))
    return out


def combine(verdicts: Sequence[Verdict]) -> tuple[str, str]:
    """Verdict of a claim made of several comparisons, with a one-line reason.

    Supported when all are, contradicted when any is, otherwise inconclusive; an empty
    list is inconclusive.
    """
    if not verdicts:
        return INCONCLUSIVE, "no comparison could be made"
    kinds = [v.verdict for v in verdicts]
    if CONTRADICTED in kinds:
        bad = [v for v in verdicts if v.verdict == CONTRADICTED]
        return CONTRADICTED, "; ".join(f"{v.comparison.label}: {v.reason}" for v in bad)
    if all(k == SUPPORTED for k in kinds):
        return SUPPORTED, "; ".join(f"{v.comparison.label}: {v.reason}" for v in verdicts)
    weak = [v for v in verdicts if v.verdict != SUPPORTED]
    return INCONCLUSIVE, "; ".join(f"{v.comparison.label}: {v.reason}" for v in weak)


def verdict_frame(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """One row per decided comparison (the :class:`Comparison` fields, Holm p, verdict)."""
    return pd.DataFrame([v.row() for v in verdicts])
