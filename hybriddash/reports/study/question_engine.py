"""The machinery of the research questions' verdicts (issue 24): per-query values from
the store, the resampling engine every row of one decision shares, one comparison row
decided, and composite (intersection-union) verdicts. The questions themselves are
:mod:`~hybriddash.reports.study.question_verdicts`.

**Statistic and resampling.** For model M, seed s, suite S and measure σ, ``H_σ(M, s, S)``
is the suite's headline statistic: the macro mean over cells c (``X>Y`` language pairs,
``X>all`` for the pooled pool) of the mean per-query value in c. One resample b draws the
suite's groups with replacement (weights ``W_b``, shared by every model on that suite:
paired) and, per trained model, its k seeds with replacement (one draw per model per
resample, shared by every suite the comparison uses, so a model's seed s is the same
model on every suite); the base is deterministic. A pooled statistic over suites (Q1's
out-of-domain mean, Q3's biomedical mean) is the mean over suites of ``H`` on each suite,
each suite drawing its own groups (the suites share no groups: a TICO-19 segment has one
domain). A comparison's ``Δ* = mean_{drawn s} H*(A, s) - mean_{drawn s} H*(B, s)``.

**Per-language gains (Q5, and the TyDi chart).** ``H_L(M, s)`` = macro mean over the
cells of language L; groups are drawn within each language (the third level, languages
drawn with replacement, is :func:`hybriddash.reports.questions.long_tail_interval`).

**Family.** m_Q = 23 rows (:data:`M_Q`), each at ``α' = 0.05 / 23``, interval
``1 - 2α'`` (99.57%); the family is fixed by the rules, whatever is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hybriddash.reports import questions as Q
from hybriddash.reports.study import hierarchical_bootstrap as hb
from hybriddash.reports.study.question_runs import (
    ROLE_LABELS,
    SUITE_LABELS,
    TICO_SUITES,
    lost_runs,
)

ALPHA = 0.05
#: The questions' family size (docs/results.md: Q1 4, Q2 4, Q3 3, Q4 4, Q5 8).
M_Q = 23
ALPHA_Q = ALPHA / M_Q
#: Equivalence / non-inferiority margin (mAP or accuracy).
DELTA = 0.02
#: Margin of the retention difference (Q1).
RETENTION_MARGIN = 0.10
#: Q3's XQuAD-R margin: the standard study's ±0.01.
XQUAD_MARGIN = 0.01
MIN_SEEDS = 3
NOT_RUN = "not run yet"
MEASURE_LABELS = {
    "monolingual": "monolingual mAP",
    "crosslingual": "cross-lingual mAP",
    "multilingual": "multilingual mAP",
    "bitext": "bitext accuracy (P@1)",
    "probe": "language-ID probe accuracy (agnosticism)",
}

#: ``(run_id, measure) -> frame(group_id, cell, value)`` (one row per query and cell).
ValueSource = Callable[[str, str], pd.DataFrame]
#: ``run_id -> accuracy of the language-ID probe`` (NaN when not stored).
ProbeSource = Callable[[str], float]


def store_values(store: Any = None) -> ValueSource:
    """Per-query values of a run from the store: AP of ``query_metrics`` in a headline
    setting (cell ``query_lang>cand_lang``), ``probe``: the language-ID probe's items
    (value = out-of-fold hit, one cell ``all``), or ``bitext``: ``[first_relevant_rank == 1]``
    of the cross-lingual rows (P@1 in the target language's pool; ``[AP == 1]`` where the
    run was stored without ranks, the same with the bitext suites' one relevant
    candidate per pool). Cached per call."""
    from hybriddash.store import reads

    cache: dict[tuple[str, str], pd.DataFrame] = {}

    def values(run_id: str, measure: str) -> pd.DataFrame:
        key = (run_id, measure)
        if key not in cache and measure == "probe":
            # one cell: the mean of the items' out-of-fold hits is the stored accuracy
            items = reads.language_probe_items(run_id, store=store)
            cache[key] = pd.DataFrame(
                {
                    "group_id": items["group_id"].astype(str).to_numpy(),
                    "cell": np.full(len(items), "all", dtype=object),
                    "value": items["correct"].astype(float).to_numpy(),
                }
            )
        if key not in cache:
            setting = "crosslingual" if measure == "bitext" else measure
            qm = reads.query_metrics(run_id, setting=setting, store=store)
            if measure == "bitext":
                rank = pd.to_numeric(qm["first_relevant_rank"], errors="coerce")
                # a run stored at 'verdicts' detail keeps AP, not ranks; with one relevant
                # candidate in the target pool (the bitext suites: a row's translation,
                # a Tatoeba pair) AP = 1 / rank, so P@1 = [AP = 1] exactly
                top = np.isclose(qm["ap"].astype(float).to_numpy(), 1.0, rtol=0, atol=1e-12)
                value = np.where(rank.notna(), (rank == 1).astype(float), top.astype(float))
                value = np.where(qm["ap"].isna() & rank.isna(), np.nan, value)
            else:
                value = qm["ap"].astype(float).to_numpy()
            frame = pd.DataFrame(
                {
                    "group_id": qm["group_id"].astype(str).to_numpy(),
                    "cell": (
                        qm["query_lang"].astype(str) + ">" + qm["cand_lang"].astype(str)
                    ).to_numpy(),
                    "value": value,
                }
            )
            cache[key] = frame[frame["value"].notna()].reset_index(drop=True)
        return cache[key]

    return values


def store_probe(store: Any = None) -> ProbeSource:
    """The overall accuracy (``lang = 'all'``) of a run's language-ID probe."""
    from hybriddash.store import reads

    def probe(run_id: str) -> float:
        rows = reads.language_probe(run_id, store=store)
        rows = rows[rows["lang"] == "all"]
        return float(rows["accuracy"].iloc[0]) if len(rows) else math.nan

    return probe


@dataclass(frozen=True)
class QuestionRow:
    """One comparison of a question, decided.

    ``effect`` = A minus B (mean over seeds) in ``unit``; ``ci_low``/``ci_high`` the
    ``level`` percentile interval of the hierarchical bootstrap (``level = 1 - 2 alpha``);
    ``p`` the one-sided bootstrap p of "A better" (share of ``direction · Δ* <= 0``),
    ``p_equivalence`` TOST's (``max(share(Δ* <= -m), share(Δ* >= m))``) and
    ``p_noninferiority`` (share of ``direction · Δ* <= -m``) at the row's margin ``m``;
    ``mde`` the smallest effect (better, non-inferiority) or margin (three-way, TOST)
    detectable at 80% power; ``reading`` better | worse | unchanged | non-inferior |
    inconclusive | not run yet.
    """

    question: str
    row: int
    suite: str
    model_a: str
    model_b: str
    measure: str
    unit: str
    kind: str  # better | three-way | non-inferiority | TOST
    direction: int
    margin: float
    effect: float
    ci_low: float
    ci_high: float
    level: float
    p: float
    p_equivalence: float
    p_noninferiority: float
    alpha: float
    test: str
    se: float
    mde: float
    n_seeds_a: int
    n_seeds_b: int
    n_groups: int
    seed_diffs: tuple[float, ...]
    reading: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.model_a} vs {self.model_b}, {self.measure}, {self.suite}"

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["label"] = self.label
        return out


@dataclass(frozen=True)
class QuestionVerdict:
    """One question's verdict (``not run yet`` while its runs are missing, naming the
    pieces), the sentence that states it, its rows, and what deviates from the plan.
    ``points``: the per-language gains behind Q5 (empty for the other questions)."""

    question: str
    title: str
    verdict: str
    summary: str
    rows: tuple[QuestionRow, ...]
    missing: tuple[str, ...] = ()
    deviations: tuple[str, ...] = ()
    points: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)


# ---- resampling state -------------------------------------------------------------------

#: the measures each suite's rows read (its group index is their union)
SUITE_MEASURES = {
    **{s: ("multilingual",) for s in TICO_SUITES},
    "xnli": ("crosslingual", "multilingual", "probe"),
    "xnli-bitext": ("bitext",),
    "tatoeba": ("bitext",),
    "tydiqa-goldp": ("monolingual", "multilingual"),
    "xquad-r": ("multilingual",),
}


class _Engine:
    """Runs, values and random streams of one decision of the questions (computed once,
    shared by every row)."""

    def __init__(
        self, runs: pd.DataFrame, values: ValueSource, probe: ProbeSource, n_resamples: int
    ):
        self.runs = runs
        self.values = values
        self.probe = probe
        self.B = n_resamples
        self._groups: dict[str, pd.Index] = {}
        self._weights: dict[str, np.ndarray] = {}
        self._stats: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._draws: dict[tuple, np.ndarray] = {}

    # -- runs and seeds
    def runs_of(self, role: str, suite: str) -> pd.DataFrame:
        r = self.runs
        return r[(r["role"] == role) & (r["suite"] == suite)].sort_values("seed")

    def has(self, role: str, suites: Sequence[str]) -> bool:
        return all(len(self.runs_of(role, s)) for s in suites)

    def seeds(self, role: str, suites: Sequence[str]) -> tuple[int, ...]:
        """The seeds of ``role`` with a run on every suite of ``suites``."""
        sets = [set(int(s) for s in self.runs_of(role, x)["seed"]) for x in suites]
        return tuple(sorted(set.intersection(*sets))) if sets else ()

    def draws(self, role: str, seeds: tuple[int, ...]) -> np.ndarray:
        """``(B, k)`` seed indices, one stream per (model, seed set): the same draw on
        every suite and measure."""
        key = (role, seeds)
        if key not in self._draws:
            if role == "base":
                self._draws[key] = np.zeros((self.B, len(seeds)), dtype=np.int64)
            else:
                rng = hb.stream("questions", "seeds", role, ",".join(map(str, seeds)))
                self._draws[key] = hb.seed_draws(len(seeds), self.B, rng)
        return self._draws[key]

    # -- group index and weights of a suite
    def groups(self, suite: str) -> pd.Index:
        if suite not in self._groups:
            found: set[str] = set()
            for run_id in self.runs.loc[self.runs["suite"] == suite, "run_id"]:
                for measure in SUITE_MEASURES[suite]:
                    found.update(self.values(str(run_id), measure)["group_id"])
            self._groups[suite] = pd.Index(sorted(found))
        return self._groups[suite]

    def weights(self, suite: str) -> np.ndarray:
        if suite not in self._weights:
            n = len(self.groups(suite))
            self._weights[suite] = hb.group_weights(n, self.B, hb.stream("questions", suite))
        return self._weights[suite]

    # -- headlines
    def per_seed(
        self, role: str, suite: str, measure: str, seeds: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(point (k,), star (B, k))``: the headline of each seed, unresampled and on
        each resample of the suite's groups."""
        key = (role, suite, measure, seeds)
        if key not in self._stats:
            runs = self.runs_of(role, suite)
            runs = runs[runs["seed"].isin(seeds)]
            frames = [self.values(str(r), measure) for r in runs["run_id"]]
            groups = self.groups(suite)
            cells = pd.Index(sorted({c for f in frames for c in f["cell"]}))
            parts = [
                (
                    groups.get_indexer(f["group_id"]),
                    cells.get_indexer(f["cell"]),
                    f["value"].to_numpy(np.float64),
                )
                for f in frames
            ]
            table = hb.cell_table_from_codes(parts, len(groups), len(cells), list(runs["seed"]))
            point = hb.headlines(table)
            if not np.isfinite(point).all():
                raise ValueError(
                    f"{SUITE_LABELS[suite]}: no per-query {measure} rows stored for "
                    f"{ROLE_LABELS[role]} (runs {list(runs['run_id'])}); the rule needs them"
                )
            weights = self.weights(suite)
            star = np.concatenate(
                [hb.headlines(table, weights[i : i + 2000]) for i in range(0, self.B, 2000)]
            )
            self._stats[key] = (point, star)
        return self._stats[key]

    def model(
        self, role: str, suites: Sequence[str], measure: str, seeds: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(per-seed point (k,), seed-mean star (B,))`` of the mean over ``suites``."""
        parts = [self.per_seed(role, s, measure, seeds) for s in suites]
        point = np.mean([p for p, _ in parts], axis=0)
        star = np.mean([s for _, s in parts], axis=0)
        mean_star = np.take_along_axis(star, self.draws(role, seeds), axis=1).mean(axis=1)
        return point, mean_star

    def n_groups(self, suites: Sequence[str]) -> int:
        return int(sum(len(self.groups(s)) for s in suites))


# ---- one row ------------------------------------------------------------------------------


def _test_text(kind: str, direction: int, margin: float, level: float) -> str:
    pct = f"{100 * level:.2f}".rstrip("0").rstrip(".")
    side = "> 0" if direction > 0 else "< 0"
    return {
        "better": f"hierarchical bootstrap, {pct}% interval {side}",
        "three-way": f"hierarchical bootstrap, {pct}% interval {side} (better), "
        f"or within ±{margin:g} (TOST: unchanged)",
        "non-inferiority": f"hierarchical bootstrap, {pct}% interval's worst end above "
        f"-{margin:g} (non-inferiority; TOST ±{margin:g} beside it)",
        "TOST": f"hierarchical bootstrap, {pct}% interval within ±{margin:g} (TOST), "
        f"non-inferiority beside it",
    }[kind]


def _empty_row(
    question: str, row: int, suite: str, a: str, b: str, measure: str, unit: str, kind: str,
    direction: int, margin: float, reading: str, reason: str, *, effect: float = math.nan,
    seed_diffs: Sequence[float] = (), n_a: int = 0, n_b: int = 0,
) -> QuestionRow:  # fmt: skip
    nan = math.nan
    return QuestionRow(
        question, row, suite, a, b, measure, unit, kind, direction, margin, effect, nan, nan,
        1 - 2 * ALPHA_Q, nan, nan, nan, ALPHA_Q, _test_text(kind, direction, margin, 1 - 2 * ALPHA_Q),
        nan, nan, n_a, n_b, 0, tuple(float(x) for x in seed_diffs), reading, reason,
    )  # fmt: skip


def decide_row(
    question: str,
    row: int,
    suite: str,
    a: str,
    b: str,
    measure: str,
    unit: str,
    kind: str,
    effect: float,
    delta_star: np.ndarray,
    *,
    direction: int = 1,
    margin: float = math.nan,
    seed_diffs: Sequence[float] = (),
    n_seeds: tuple[int, int] = (0, 0),
    trained: tuple[bool, bool] = (True, True),
    n_groups: int = 0,
    alpha: float = ALPHA_Q,
    interval: hb.Interval | None = None,
) -> QuestionRow:
    """A :class:`QuestionRow` from a comparison's effect and resampled differences.

    Readings (``docs/results.md``): ``better`` rows: better / worse / inconclusive
    (interval clear of 0 or not); ``three-way``: adds ``unchanged`` (interval within
    ±margin); ``TOST``: the three-way reading at its own margin; ``non-inferiority``:
    ``non-inferior`` when the worst end > -margin, ``worse`` when the whole interval lies
    below -margin, else inconclusive. A trained model with fewer than :data:`MIN_SEEDS`
    seeds makes the row inconclusive whatever the interval.
    """
    d = np.asarray(delta_star, dtype=np.float64)
    d = d[np.isfinite(d)]
    iv = interval or hb.summarise(
        effect, d, alpha, kind="superiority", direction=direction, seed_diffs=seed_diffs
    )
    m = margin if math.isfinite(margin) else math.nan
    p_eq = max(float(np.mean(d <= -m)), float(np.mean(d >= m))) if math.isfinite(m) else math.nan
    p_ni = float(np.mean(direction * d <= -m)) if math.isfinite(m) else math.nan
    if kind == "better":
        reading = Q.three_way(iv, margin=0.0, direction=direction)
    elif kind in ("three-way", "TOST"):
        reading = Q.three_way(iv, margin=m, direction=direction)
    elif kind == "non-inferiority":
        best = max(direction * iv.low, direction * iv.high)
        reading = (
            "non-inferior"
            if Q.non_inferior(iv, margin=m, direction=direction)
            else Q.WORSE
            if best < -m
            else Q.INCONCLUSIVE
        )
    else:
        raise ValueError(f"kind must be better, three-way, non-inferiority or TOST, got {kind!r}")
    mde_kind = "equivalence" if kind in ("three-way", "TOST") else "superiority"
    mde = hb.minimum_detectable(iv.se, alpha, kind=mde_kind)
    reason = _reason(reading, kind, direction, m, unit)
    if kind == "non-inferiority":
        tost = "within" if (-m < iv.low and iv.high < m) else "not within"
        reason += f"; TOST: interval {tost} ±{m:g}"
    if kind == "TOST":
        reason += "; non-inferior" if Q.non_inferior(iv, margin=m, direction=direction) else ""
    if math.isfinite(m) and math.isfinite(mde) and mde > m:
        reason += f"; MDE {mde:.3g} exceeds the margin {m:g} (too small to see)"
    few = [
        f"{name}: {n} < {MIN_SEEDS}"
        for name, n, t in zip((a, b), n_seeds, trained, strict=True)
        if t and n < MIN_SEEDS
    ]
    if few:
        reading, reason = Q.INCONCLUSIVE, "too few seeds (" + ", ".join(few) + ")"
    return QuestionRow(
        question=question,
        row=row,
        suite=suite,
        model_a=a,
        model_b=b,
        measure=measure,
        unit=unit,
        kind=kind,
        direction=direction,
        margin=m,
        effect=float(effect),
        ci_low=iv.low,
        ci_high=iv.high,
        level=iv.level,
        p=iv.p,
        p_equivalence=p_eq,
        p_noninferiority=p_ni,
        alpha=alpha,
        test=_test_text(kind, direction, m, iv.level),
        se=iv.se,
        mde=mde,
        n_seeds_a=n_seeds[0],
        n_seeds_b=n_seeds[1],
        n_groups=n_groups,
        seed_diffs=iv.seed_diffs or tuple(float(x) for x in seed_diffs),
        reading=reading,
        reason=reason,
    )


def _reason(reading: str, kind: str, direction: int, margin: float, unit: str) -> str:
    higher = "higher" if direction > 0 else "lower"
    return {
        Q.BETTER: f"A is {higher}: the interval excludes 0",
        Q.WORSE: (
            f"A is worse by more than {margin:g} {unit}"
            if kind == "non-inferiority"
            else f"A is {'lower' if direction > 0 else 'higher'}: the interval excludes 0"
        ),
        Q.UNCHANGED: f"the interval lies within ±{margin:g} {unit}",
        "non-inferior": f"the worst end of the interval lies above -{margin:g} {unit}",
        Q.INCONCLUSIVE: (
            "the interval includes 0"
            if kind == "better"
            else f"the interval includes 0 and reaches beyond ±{margin:g} {unit}"
            if kind in ("three-way", "TOST")
            else f"the interval reaches below -{margin:g} {unit}"
        ),
    }[reading]


def _compare(
    eng: _Engine,
    question: str,
    row: int,
    a: str,
    b: str,
    suites: Sequence[str],
    measure: str,
    kind: str,
    *,
    margin: float = math.nan,
    suite_label: str | None = None,
    unit: str = "mAP",
    direction: int = 1,
) -> QuestionRow:
    """Role ``a`` vs role ``b`` on the mean over ``suites`` of ``measure`` (``direction``
    -1: lower is better)."""
    label = suite_label or ", ".join(SUITE_LABELS[s] for s in suites)
    name = MEASURE_LABELS[measure]
    lost = lost_runs(eng.runs, (a, b), suites)
    common = (
        question, row, label, ROLE_LABELS[a], ROLE_LABELS[b], name, unit, kind, direction, margin
    )  # fmt: skip
    if lost:
        return _empty_row(*common, NOT_RUN, lost)
    sa, sb = eng.seeds(a, suites), eng.seeds(b, suites)
    if not sa or not sb:
        return _empty_row(*common, NOT_RUN, "no seed with a run on every suite of the row")
    pa, ma = eng.model(a, suites, measure, sa)
    pb, mb = eng.model(b, suites, measure, sb)
    return decide_row(
        *common[:8],
        float(pa.mean() - pb.mean()),
        ma - mb,
        direction=direction,
        margin=margin,
        seed_diffs=pa - pb.mean(),
        n_seeds=(len(sa), len(sb)),
        trained=(a != "base", b != "base"),
        n_groups=eng.n_groups(suites),
    )


def _combined(
    rows: Sequence[QuestionRow],
    deciding: Sequence[QuestionRow],
    *,
    good: str,
    yes: str,
    no: str,
    same: str | None = None,
) -> str:
    """A composite verdict (intersection-union): ``not run yet`` while any row of the
    question lacks runs; ``yes`` when every deciding row reads ``good``; ``no`` when any
    reads worse; ``same`` (if given) when every one reads unchanged; else inconclusive."""
    readings = [r.reading for r in deciding]
    if any(r.reading == NOT_RUN for r in rows):
        return NOT_RUN
    if all(x == good for x in readings):
        return yes
    if Q.WORSE in readings:
        return no
    if same is not None and all(x == Q.UNCHANGED for x in readings):
        return same
    return Q.INCONCLUSIVE


def _replace(row: QuestionRow, **changes: Any) -> QuestionRow:
    from dataclasses import replace

    return replace(row, **changes)


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(x) else f"{x:+.{digits}f}"


def _sentence(verdict: str, parts: Sequence[str]) -> str:
    """``"verdict: part; part"``; a question not run yet is just that (its parts have no
    numbers)."""
    if verdict == NOT_RUN:
        parts = [p for p in parts if NOT_RUN not in p and "–" not in p]
    return f"{verdict}: " + "; ".join(parts) if parts else verdict
