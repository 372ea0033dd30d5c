"""The five research questions (issue 24) decided from stored runs, by the rules of
``docs/results.md`` ("Research questions: decision rules").

Runs come sorted into roles and suites (:mod:`~hybriddash.reports.study.question_runs`);
each question's comparisons become :class:`QuestionRow` rows (measure, unit, effect,
interval at the Bonferroni level, deciding test, per-seed values, MDE) and one
:class:`QuestionVerdict` row per question. The pure reading helpers are
:mod:`hybriddash.reports.questions`; the resampling is issue 22's
(:mod:`~hybriddash.reports.study.hierarchical_bootstrap`).

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
    missing_pieces,
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
IN_DOMAIN = ("tico-19:wikipedia",)
OUT_OF_DOMAIN = ("tico-19:pubmed", "tico-19:cmu", "tico-19:wikivoyage", "tico-19:wikinews")
BIOMEDICAL = ("tico-19:pubmed", "tico-19:cmu")
NON_BIOMEDICAL = (
    "tico-19:wikipedia",
    "tico-19:wikivoyage",
    "tico-19:wikinews",
    "tico-19:wikisource",
)
QUESTION_TITLES = {
    "Q1": "Domain shift: does hybrid training degrade or improve robustness?",
    "Q2": "Semantic alignment on XNLI: does hybrid align languages better than X-X-mono?",
    "Q3": "Domain-specific parallel data in the hybrid batches",
    "Q4": "Reasoning in cross-lingual QA: does simultaneous optimisation degrade "
    "question -> passage matching?",
    "Q5": "Long-tail languages: does hybrid help low-resource languages more than X-Y or X-X-mono?",
}
MEASURE_LABELS = {
    "monolingual": "monolingual mAP",
    "crosslingual": "cross-lingual mAP",
    "multilingual": "multilingual mAP",
    "bitext": "bitext accuracy (P@1)",
}

#: ``(run_id, measure) -> frame(group_id, cell, value)`` (one row per query and cell).
ValueSource = Callable[[str, str], pd.DataFrame]
#: ``run_id -> accuracy of the language-ID probe`` (NaN when not stored).
ProbeSource = Callable[[str], float]


def store_values(store: Any = None) -> ValueSource:
    """Per-query values of a run from the store: AP of ``query_metrics`` in a headline
    setting (cell ``query_lang>cand_lang``), or ``bitext``: ``[first_relevant_rank == 1]``
    of the cross-lingual rows (P@1 in the target language's pool). Cached per call."""
    from hybriddash.store import reads

    cache: dict[tuple[str, str], pd.DataFrame] = {}

    def values(run_id: str, measure: str) -> pd.DataFrame:
        key = (run_id, measure)
        if key not in cache:
            setting = "crosslingual" if measure == "bitext" else measure
            qm = reads.query_metrics(run_id, setting=setting, store=store)
            if measure == "bitext":
                rank = pd.to_numeric(qm["first_relevant_rank"], errors="coerce")
                value = np.where(rank.notna(), (rank == 1).astype(float), np.nan)
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
    "xnli": ("crosslingual", "multilingual"),
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
) -> QuestionRow:
    """Role ``a`` vs role ``b`` on the mean over ``suites`` of ``measure``."""
    label = suite_label or ", ".join(SUITE_LABELS[s] for s in suites)
    name = MEASURE_LABELS[measure]
    lost = lost_runs(eng.runs, (a, b), suites)
    common = (question, row, label, ROLE_LABELS[a], ROLE_LABELS[b], name, unit, kind, 1, margin)
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
        margin=margin,
        seed_diffs=pa - pb.mean(),
        n_seeds=(len(sa), len(sb)),
        trained=(a != "base", b != "base"),
        n_groups=eng.n_groups(suites),
    )


# ---- the questions --------------------------------------------------------------------------


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


def _q1(eng: _Engine) -> QuestionVerdict:
    suites = (*IN_DOMAIN, *OUT_OF_DOMAIN)
    rows: list[QuestionRow] = []
    for i, other in enumerate(("mono", "cross")):
        rows.append(
            _compare(
                eng, "Q1", 1 + i, "hybrid", other, OUT_OF_DOMAIN, "multilingual", "three-way",
                margin=DELTA, suite_label="TICO-19 out-of-domain (pubmed, cmu, wikivoyage, wikinews)",
            )
        )  # fmt: skip
    for i, other in enumerate(("mono", "cross")):
        rows.append(_retention_row(eng, 3 + i, other, suites))
    missing = missing_pieces(eng.runs, {r: suites for r in ("base", "mono", "cross", "hybrid")})
    verdict = _combined(
        rows, rows[:2], good=Q.BETTER, yes="improves", no="degrades", same="no change"
    )
    summary = _sentence(
        verdict,
        [f"out-of-domain mAP vs {r.model_b} {_fmt(r.effect)} ({r.reading})" for r in rows[:2]]
        + [f"retention vs {r.model_b} {_fmt(r.effect, 2)} ({r.reading})" for r in rows[2:]],
    )
    return QuestionVerdict(
        "Q1", QUESTION_TITLES["Q1"], verdict, summary, tuple(rows), tuple(missing)
    )


def _retention_row(eng: _Engine, row: int, other: str, suites: Sequence[str]) -> QuestionRow:
    """ΔR = R(hybrid) - R(other), ``R(M) = (OOD(M) - OOD(base)) / (IN(M) - IN(base))``
    recomputed on every resample; undefined (inconclusive) when either model's in-domain
    gain over the base has an interval that includes 0."""
    label = "TICO-19 out-of-domain / in-domain (wikipedia)"
    common = ("Q1", row, label, "Hybrid", ROLE_LABELS[other], "retention of the gain over the base",
              "ratio", "three-way", 1, RETENTION_MARGIN)  # fmt: skip
    lost = lost_runs(eng.runs, ("hybrid", other, "base"), suites)
    if lost or not all(eng.seeds(r, suites) for r in ("hybrid", other, "base")):
        return _empty_row(*common, NOT_RUN, lost or "no seed with a run on every suite of the row")
    base = eng.seeds("base", suites)
    ood_b, ood_b_star = eng.model("base", OUT_OF_DOMAIN, "multilingual", base)
    in_b, in_b_star = eng.model("base", IN_DOMAIN, "multilingual", base)
    r_point, r_star, undefined, n_seeds, seed_r = {}, {}, [], {}, {}
    for role in ("hybrid", other):
        seeds = eng.seeds(role, suites)
        ood, ood_star = eng.model(role, OUT_OF_DOMAIN, "multilingual", seeds)
        ind, in_star = eng.model(role, IN_DOMAIN, "multilingual", seeds)
        r_point[role] = float(Q.retention(ood.mean(), ind.mean(), ood_b.mean(), in_b.mean()))
        seed_r[role] = Q.retention(ood, ind, ood_b.mean(), in_b.mean())
        r_star[role] = Q.retention(ood_star, in_star, ood_b_star, in_b_star)
        lo, hi = np.quantile(in_star - in_b_star, [ALPHA_Q, 1 - ALPHA_Q])
        if lo <= 0 <= hi:
            undefined.append(ROLE_LABELS[role])
        n_seeds[role] = len(seeds)
    effect = r_point["hybrid"] - r_point[other]
    out = decide_row(
        *common[:8],
        effect,
        r_star["hybrid"] - r_star[other],
        margin=RETENTION_MARGIN,
        seed_diffs=seed_r["hybrid"] - r_point[other],
        n_seeds=(n_seeds["hybrid"], n_seeds[other]),
        n_groups=eng.n_groups(suites),
    )
    if undefined:
        why = (
            "R undefined: the in-domain gain over the base of "
            + " and ".join(undefined)
            + " has an interval that includes 0"
        )
        out = _replace(out, reading=Q.INCONCLUSIVE, reason=why)
    return out


def _replace(row: QuestionRow, **changes: Any) -> QuestionRow:
    from dataclasses import replace

    return replace(row, **changes)


def _q2(eng: _Engine) -> QuestionVerdict:
    rows = [
        _compare(eng, "Q2", 1, "hybrid", "mono", ("xnli",), "crosslingual", "better"),
        _compare(eng, "Q2", 2, "hybrid", "mono", ("xnli",), "multilingual", "better"),
        _compare(
            eng, "Q2", 3, "hybrid", "mono", ("xnli-bitext",), "bitext", "better", unit="accuracy"
        ),  # fmt: skip
        _agnosticism_row(eng, 4),
    ]
    missing = missing_pieces(eng.runs, {r: ("xnli", "xnli-bitext") for r in ("mono", "hybrid")})
    verdict = _combined(
        rows, [rows[0], rows[2], rows[3]], good=Q.BETTER, yes="aligns better", no="aligns worse"
    )
    summary = _sentence(
        verdict,
        [f"{r.measure} {_fmt(r.effect)} ({r.reading})" for r in rows],
    )
    deviations = (
        [f"language-agnosticism row: {rows[3].reason}"] if "not stored" in rows[3].reason else []
    )
    return QuestionVerdict(
        "Q2", QUESTION_TITLES["Q2"], verdict, summary, tuple(rows), tuple(missing),
        tuple(deviations),
    )  # fmt: skip


def _agnosticism_row(eng: _Engine, row: int) -> QuestionRow:
    """Hybrid vs X-X-mono on the language-ID probe's accuracy over XNLI's aligned rows
    (lower: more agnostic). The rule resamples per-row out-of-fold probe results; the
    store keeps the probe's accuracy per language only, so the row reports the effect and
    its per-seed values and stays inconclusive, saying why."""
    common = ("Q2", row, SUITE_LABELS["xnli"], "Hybrid", "X-X-mono",
              "language-ID probe accuracy (agnosticism)", "accuracy", "better", -1, math.nan)  # fmt: skip
    lost = lost_runs(eng.runs, ("hybrid", "mono"), ("xnli",))
    if lost:
        return _empty_row(*common, NOT_RUN, lost)
    acc = {
        r: np.array([eng.probe(str(x)) for x in eng.runs_of(r, "xnli")["run_id"]])
        for r in ("hybrid", "mono")
    }
    if not all(np.isfinite(v).all() and len(v) for v in acc.values()):
        return _empty_row(*common, NOT_RUN, "no language-ID probe stored for these runs")
    return _empty_row(
        *common,
        Q.INCONCLUSIVE,
        "per-row out-of-fold probe results are not stored (run_language_probe keeps the "
        "accuracy per language), so the rule's group resampling cannot be done: no interval "
        "(deviation)",
        effect=float(acc["hybrid"].mean() - acc["mono"].mean()),
        seed_diffs=acc["hybrid"] - acc["mono"].mean(),
        n_a=len(acc["hybrid"]),
        n_b=len(acc["mono"]),
    )


def _q3(eng: _Engine) -> QuestionVerdict:
    tico = (*BIOMEDICAL, *NON_BIOMEDICAL)
    rows = [
        _compare(eng, "Q3", 1, "hybrid+pairs", "hybrid", BIOMEDICAL, "multilingual", "better",
                 suite_label="TICO-19 biomedical (pubmed, cmu; test split)"),
        _compare(eng, "Q3", 2, "hybrid+pairs", "hybrid", NON_BIOMEDICAL, "multilingual",
                 "three-way", margin=DELTA,
                 suite_label="TICO-19 other domains (wikipedia, wikivoyage, wikinews, wikisource)"),
        _compare(eng, "Q3", 3, "hybrid+pairs", "hybrid", ("xquad-r",), "multilingual", "TOST",
                 margin=XQUAD_MARGIN),
    ]  # fmt: skip
    missing = missing_pieces(
        eng.runs, {"hybrid": (*tico, "xquad-r"), "hybrid+pairs": (*tico, "xquad-r")}
    )
    pairs = eng.runs[eng.runs["role"] == "hybrid+pairs"]
    dirty = (
        pairs[pairs["contaminated"].fillna(False).astype(bool)]
        if "contaminated" in pairs
        else pairs.iloc[0:0]
    )
    deviations = [
        f"contamination: {r.model_id} on {SUITE_LABELS[r.suite]} shares training groups or "
        f"texts ({r.contamination_note or 'flagged'}); the Q3 verdict is withheld"
        for r in dirty.itertuples()
    ]
    r1, r2, r3 = (r.reading for r in rows)
    if NOT_RUN in (r1, r2, r3):
        verdict = NOT_RUN
    elif deviations:
        verdict = "withheld (contamination)"
    elif r3 == Q.WORSE:
        verdict = "costs general retrieval"
    elif r1 == Q.BETTER and r3 == Q.UNCHANGED:
        verdict = "helps the biomedical domain at no general cost"
    elif r1 == Q.BETTER:
        verdict = "helps the biomedical domain (general cost not settled)"
    elif r1 == Q.WORSE:
        verdict = "hurts the biomedical domain"
    else:
        verdict = Q.INCONCLUSIVE
    names = {Q.UNCHANGED: "unchanged", Q.BETTER: "better", Q.WORSE: "worse"}
    summary = _sentence(
        verdict,
        [
            f"biomedical {_fmt(rows[0].effect)} ({rows[0].reading})",
            f"other domains {_fmt(rows[1].effect)} ({names.get(r2, r2)})",
            f"XQuAD-R {_fmt(rows[2].effect)} ({names.get(r3, r3)}, TOST ±{XQUAD_MARGIN:g})",
        ],
    )
    return QuestionVerdict(
        "Q3",
        QUESTION_TITLES["Q3"],
        verdict,
        summary,
        tuple(rows),
        tuple(missing),
        tuple(deviations),
    )


def _q4(eng: _Engine) -> QuestionVerdict:
    rows = []
    for other in ("base", "mono"):
        for measure in ("monolingual", "multilingual"):
            rows.append(
                _compare(eng, "Q4", len(rows) + 1, "hybrid", other, ("tydiqa-goldp",), measure,
                         "non-inferiority", margin=DELTA)
            )  # fmt: skip
    missing = missing_pieces(eng.runs, {r: ("tydiqa-goldp",) for r in ("base", "mono", "hybrid")})
    verdict = _combined(rows, rows, good="non-inferior", yes="does not degrade", no="degrades")
    summary = _sentence(
        verdict,
        [f"vs {r.model_b}, {r.measure} {_fmt(r.effect)} ({r.reading})" for r in rows],
    )
    return QuestionVerdict(
        "Q4", QUESTION_TITLES["Q4"], verdict, summary, tuple(rows), tuple(missing)
    )


# ---- per-language gains --------------------------------------------------------------------


def cell_language(cell: str) -> str:
    """The language a cell counts for: ``X>all`` and ``X>Y`` -> X, except queries in
    English searched in a Tatoeba pair's other side (``en>X``) -> X."""
    query, _, cand = cell.partition(">")
    return cand if query == "en" and cand not in ("all", "en") else query


def per_language(
    eng: _Engine, roles: Sequence[str], suites: Sequence[str], measure: str, key: str
) -> dict[str, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """role -> ``(languages, point (L,), star (B, L), per-seed point (k, L))``:
    ``H_L`` (macro mean over the cells of language L, :func:`cell_language`) on each
    resample. Groups are drawn within each language (shared by the roles: paired), seeds
    per role (the same draw for every language). Languages: those every role has."""
    data: dict[str, tuple[tuple[int, ...], pd.DataFrame]] = {}
    for role in roles:
        seeds = eng.seeds(role, suites)
        frames = []
        for suite in suites:
            runs = eng.runs_of(role, suite)
            for run_id, seed in zip(runs["run_id"], runs["seed"], strict=True):
                if int(seed) not in seeds:
                    continue
                f = eng.values(str(run_id), measure).copy()
                f["group_id"] = suite + "|" + f["group_id"]
                f["seed"] = int(seed)
                frames.append(f)
        frame = pd.concat(frames, ignore_index=True)
        frame["lang"] = frame["cell"].map(cell_language)
        data[role] = (seeds, frame)
    langs = sorted(set.intersection(*(set(f["lang"]) for _, f in data.values())))
    out: dict[str, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]] = {}
    points = {r: np.empty(len(langs)) for r in roles}
    stars = {r: np.empty((eng.B, len(langs))) for r in roles}
    seeds_pt = {r: np.empty((len(data[r][0]), len(langs))) for r in roles}
    for j, lang in enumerate(langs):
        subsets = {r: f[f["lang"] == lang] for r, (_, f) in data.items()}
        groups = pd.Index(sorted({g for f in subsets.values() for g in f["group_id"]}))
        weights = hb.group_weights(len(groups), eng.B, hb.stream("questions", key, lang))
        for role, f in subsets.items():
            seeds = data[role][0]
            cells = pd.Index(sorted(set(f["cell"])))
            parts = []
            for s in seeds:
                part = f[f["seed"] == s]
                parts.append(
                    (
                        groups.get_indexer(part["group_id"]),
                        cells.get_indexer(part["cell"]),
                        part["value"].to_numpy(np.float64),
                    )
                )
            table = hb.cell_table_from_codes(parts, len(groups), len(cells), seeds)
            pt = hb.headlines(table)
            star = hb.headlines(table, weights)
            seeds_pt[role][:, j] = pt
            points[role][j] = pt.mean()
            stars[role][:, j] = np.take_along_axis(star, eng.draws(role, seeds), axis=1).mean(1)
    for role in roles:
        out[role] = (langs, points[role], stars[role], seeds_pt[role])
    return out


def _q5(eng: _Engine) -> QuestionVerdict:
    from hybriddash.data.resources import cc100_gib

    suites = {"tatoeba": ("tatoeba",), "tico-19": TICO_SUITES}
    measures = {"tatoeba": ("bitext", "accuracy"), "tico-19": ("multilingual", "mAP")}
    labels = {"tatoeba": "Tatoeba", "tico-19": "TICO-19 (test split, all domains)"}
    rows: list[QuestionRow] = []
    points = []
    deviations = []
    for suite_key, suite_list in suites.items():
        measure, unit = measures[suite_key]
        lost = lost_runs(eng.runs, ("hybrid", "cross", "mono"), suite_list) or "; ".join(
            f"no {ROLE_LABELS[r]} seed with runs on every suite"
            for r in ("hybrid", "cross", "mono")
            if not eng.seeds(r, suite_list)
        )
        data = (
            {}
            if lost
            else per_language(
                eng, ("hybrid", "cross", "mono"), suite_list, measure, f"long-tail:{suite_key}"
            )
        )
        for other in ("cross", "mono"):
            for statistic in ("slope", "tercile"):
                rows.append(
                    _long_tail_row(eng, len(rows) + 1, labels[suite_key], other, statistic, unit,
                                   data, lost, suite_key, cc100_gib)
                )  # fmt: skip
            if data:
                langs, hyb, hyb_star, _ = data["hybrid"]
                _, comp, comp_star, _ = data[other]
                star = hyb_star - comp_star
                lo, hi = np.quantile(star, [0.025, 0.975], axis=0)
                for j, lang in enumerate(langs):
                    size = cc100_gib(lang)
                    points.append(
                        {
                            "suite": labels[suite_key],
                            "comparator": ROLE_LABELS[other],
                            "lang": lang,
                            "cc100_gib": size,
                            "log10_size": math.log10(size) if size else math.nan,
                            "gain": float(hyb[j] - comp[j]),
                            "ci_low": float(lo[j]),
                            "ci_high": float(hi[j]),
                            "unit": unit,
                        }
                    )
        if data:
            outside = [x for x in data["hybrid"][0] if cc100_gib(x) is None]
            if outside:
                deviations.append(
                    f"{labels[suite_key]}: {len(outside)} language(s) without a CC-100 entry "
                    "left out of the fit: " + ", ".join(outside)
                )
    frame = pd.DataFrame(points)
    missing = missing_pieces(
        eng.runs, {r: ("tatoeba", *TICO_SUITES) for r in ("cross", "mono", "hybrid")}
    )
    per_comp = {}
    for other in ("cross", "mono"):
        mine = [r for r in rows if r.model_b == ROLE_LABELS[other]]
        per_comp[other] = _combined(
            mine, mine, good=Q.BETTER, yes="helps the long tail more", no="contradicted"
        )
    values = set(per_comp.values())
    if NOT_RUN in values:
        verdict = NOT_RUN
    elif values == {"helps the long tail more"}:
        verdict = "helps the long tail more than X-Y and X-X-mono"
    elif len(values) == 1:
        verdict = values.pop()
    else:
        verdict = "; ".join(f"vs {ROLE_LABELS[o]}: {v}" for o, v in per_comp.items())
    parts = [f"vs {ROLE_LABELS[o]}: {v}" for o, v in per_comp.items()]
    if not frame.empty:
        for (suite, comp), grp in frame.groupby(["suite", "comparator"], sort=False):
            gain = ", ".join(grp.loc[grp["ci_low"] > 0, "lang"]) or "none"
            lose = ", ".join(grp.loc[grp["ci_high"] < 0, "lang"]) or "none"
            parts.append(f"{suite} vs {comp}: gaining {gain}; losing {lose}")
    summary = _sentence(verdict, parts)
    return QuestionVerdict(
        "Q5", QUESTION_TITLES["Q5"], verdict, summary, tuple(rows), tuple(missing),
        tuple(deviations), frame,
    )  # fmt: skip


def _long_tail_row(
    eng: _Engine,
    row: int,
    suite: str,
    other: str,
    statistic: str,
    unit: str,
    data: dict,
    lost: str,
    key: str,
    size_of: Callable[[str], float | None],
) -> QuestionRow:
    """Slope (per decade of CC-100 GiB) or low-minus-high tercile difference of the
    per-language gain of hybrid over ``other``; "better" = more help for the long tail
    (slope < 0, tercile difference > 0)."""
    direction = -1 if statistic == "slope" else 1
    measure = (
        "slope of gain on log10 CC-100 size"
        if statistic == "slope"
        else "tercile difference of gain (low - high resource)"
    )
    row_unit = f"{unit} per decade" if statistic == "slope" else unit
    common = ("Q5", row, suite, "Hybrid", ROLE_LABELS[other], measure, row_unit, "better",
              direction, math.nan)  # fmt: skip
    if lost:
        return _empty_row(*common, NOT_RUN, lost)
    langs, hyb, hyb_star, hyb_seeds = data["hybrid"]
    _, comp, comp_star, _ = data[other]
    keep = np.array([size_of(x) is not None for x in langs])
    x = np.log10([size_of(x) or 1.0 for x in langs])[keep]
    gain = (hyb - comp)[keep]
    star = (hyb_star - comp_star)[:, keep]
    iv = Q.long_tail_interval(
        gain, star, x, statistic=statistic, alpha=ALPHA_Q, key=f"{key}:{other}"
    )
    fn = Q.resource_slope if statistic == "slope" else Q.tercile_difference
    seed_stats = [fn(s[keep] - comp[keep], x) for s in hyb_seeds]
    iv = hb.Interval(iv.effect, iv.low, iv.high, iv.level, iv.se, iv.p, tuple(seed_stats))
    return decide_row(
        *common[:8],
        iv.effect,
        np.array([]),
        direction=direction,
        n_seeds=(len(hyb_seeds), len(data[other][3])),
        n_groups=int(keep.sum()),  # languages in the fit: the level this row resamples
        interval=iv,
    )


# ---- all of them ------------------------------------------------------------------------------


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(x) else f"{x:+.{digits}f}"


def _sentence(verdict: str, parts: Sequence[str]) -> str:
    """``"verdict: part; part"``; a question not run yet is just that (its parts have no
    numbers)."""
    if verdict == NOT_RUN:
        parts = [p for p in parts if NOT_RUN not in p and "–" not in p]
    return f"{verdict}: " + "; ".join(parts) if parts else verdict


QUESTIONS: dict[str, Callable[[_Engine], QuestionVerdict]] = {
    "Q1": _q1,
    "Q2": _q2,
    "Q3": _q3,
    "Q4": _q4,
    "Q5": _q5,
}


def decide_questions(
    runs: pd.DataFrame,
    values: ValueSource,
    probe: ProbeSource | None = None,
    *,
    n_resamples: int = hb.N_RESAMPLES,
    questions: Sequence[str] | None = None,
) -> list[QuestionVerdict]:
    """Each question's verdict from ``runs`` (:func:`question_runs_from` rows), per the
    rules; a question without its runs is ``not run yet`` and names the missing pieces."""
    eng = _Engine(runs, values, probe or (lambda _run: math.nan), n_resamples)
    return [QUESTIONS[q](eng) for q in (questions or QUESTIONS)]


def question_verdicts(
    *,
    store: Any = None,
    n_resamples: int = hb.N_RESAMPLES,
    questions: Sequence[str] | None = None,
) -> list[QuestionVerdict]:
    """:func:`decide_questions` of the store's questions runs (``questions``: only those)."""
    from hybriddash.reports.study.question_runs import question_runs

    return decide_questions(
        question_runs(store=store),
        store_values(store),
        store_probe(store),
        n_resamples=n_resamples,
        questions=questions,
    )


def rows_frame(verdicts: Sequence[QuestionVerdict]) -> pd.DataFrame:
    """One row per comparison of every question (:class:`QuestionRow` fields, ``label``)."""
    return pd.DataFrame([r.as_dict() for v in verdicts for r in v.rows])


def verdicts_frame(verdicts: Sequence[QuestionVerdict]) -> pd.DataFrame:
    """One row per question: question, title, verdict, summary, missing, deviations."""
    return pd.DataFrame(
        [
            {
                "question": v.question,
                "title": v.title,
                "verdict": v.verdict,
                "summary": v.summary,
                "n_rows": len(v.rows),
                "missing": "; ".join(v.missing),
                "deviations": "; ".join(v.deviations),
            }
            for v in verdicts
        ]
    )
