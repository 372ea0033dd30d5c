"""Claims -> comparisons -> verdicts, under the decision rule of ``docs/results.md``.

A *claim* (the paper's (a)-(e), this project's (f)) is a list of *comparisons* "A vs B
on one measure" planned by a function of one benchmark's study runs
(:data:`CLAIMS`, :func:`register_claim`). Each comparison becomes one
:class:`ComparisonRow` (effect = the headline difference, hierarchical-bootstrap
interval, p, verdict, per-seed differences); a claim's :class:`ClaimRow` is built from
its comparison rows (intersection-union). Another study question plugs in with
:func:`register_claim`; nothing else here needs to change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from hybriddash.reports.study import hierarchical_bootstrap as hb
from hybriddash.reports.study.roles import HYBRID_ALPHA, Loader, role_runs

ALPHA = 0.05
#: Equivalence margin of "matches" claims, in mAP.
MARGIN = 0.01
#: Seeds per trained model needed before a verdict other than inconclusive.
MIN_SEEDS = 3
SUPPORTED, CONTRADICTED, INCONCLUSIVE = hb.SUPPORTED, hb.CONTRADICTED, hb.INCONCLUSIVE
MEASURES = {
    "monolingual": ("monolingual mAP", "mAP"),
    "crosslingual": ("cross-lingual mAP", "mAP"),
    "multilingual": ("multilingual mAP", "mAP"),
    "rank_distance": ("rank distance", "rank positions"),
}


@dataclass(frozen=True)
class Planned:
    """One comparison a claim asks for on one benchmark: the runs of A and of B (one per
    seed; empty when the model is missing), the measure, the kind of claim."""

    claim: str
    a: pd.DataFrame
    b: pd.DataFrame
    measure: str
    kind: str  # "equivalence" ("matches") | "superiority" ("better")
    direction: int = 1  # +1: A higher is better; -1: A lower is better (rank distance)
    missing: str = ""
    # what A / B stand for when they have no runs (a row names what is missing, never "?")
    name_a: str = "Hybrid"
    name_b: str = ""


@dataclass(frozen=True)
class ComparisonRow:
    """One comparison "A vs B" on one benchmark and one measure, decided.

    ``effect`` = mean over A's seeds of its headline minus B's (the headline table's
    difference), in ``unit``; ``ci_low``/``ci_high`` the ``level`` percentile interval
    of the hierarchical bootstrap; ``p`` the bootstrap p of the deciding ``test``,
    compared with ``alpha`` (0.05 / number of comparisons); ``seed_diffs`` each seed of
    A minus the mean of B's seeds; ``mde`` the smallest difference (superiority) or
    margin (equivalence) detectable at 80% power.
    """

    claim: str
    eval_dataset: str
    model_a: str
    model_b: str
    measure: str
    unit: str
    kind: str
    direction: int
    margin: float
    effect: float
    ci_low: float
    ci_high: float
    level: float
    p: float
    alpha: float
    test: str
    se: float
    mde: float
    n_seeds_a: int
    n_seeds_b: int
    n_groups: int
    seed_diffs: tuple[float, ...]
    verdict: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.model_a} vs {self.model_b}, {MEASURES[self.measure][0]}"

    def row(self) -> dict[str, object]:
        out = asdict(self)
        out["label"] = self.label
        return out


@dataclass(frozen=True)
class ClaimRow:
    """A claim on one benchmark, decided from its comparison rows: supported when every
    one is, contradicted when any is, otherwise inconclusive. ``deciding`` is the row
    that decided (the first contradicting one; else the weakest, largest p, of those that
    kept the claim from support; for a supported claim the weakest of all)."""

    claim: str
    text: str
    eval_dataset: str
    verdict: str
    reason: str
    comparisons: tuple[ComparisonRow, ...]
    deciding: ComparisonRow | None = field(default=None)

    def mde(self, unit: str) -> float:
        """The largest minimum detectable effect of the comparisons in ``unit`` (NaN: none)."""
        values = [c.mde for c in self.comparisons if c.unit == unit and math.isfinite(c.mde)]
        return max(values) if values else math.nan


# ---- the claims ------------------------------------------------------------------------

Planner = Callable[[pd.DataFrame], list[Planned]]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    plan: Planner


def _missing(study: pd.DataFrame, role: pd.DataFrame, name: str) -> str:
    return "" if len(role) else f"no {name} runs on {study['study'].iloc[0]}"


def _plan_vs(
    claim: str, other: str, other_name: str, measures: Sequence[str], kind: str
) -> Planner:
    def plan(study: pd.DataFrame) -> list[Planned]:
        hyb, b = role_runs(study, "hybrid"), role_runs(study, other)
        miss = _missing(study, hyb, "hybrid (alpha 0.5)") or _missing(study, b, other_name)
        return [
            Planned(
                claim,
                hyb,
                b,
                m,
                kind,
                -1 if m == "rank_distance" else 1,
                miss,
                name_b=other_name,
            )
            for m in measures
        ]

    return plan


def _plan_c(study: pd.DataFrame) -> list[Planned]:
    return [
        *_plan_vs("c", "mono", "X-X-mono", ["multilingual"], "superiority")(study),
        *_plan_vs("c", "cross", "X-Y", ["multilingual"], "superiority")(study),
    ]


def _plan_e(study: pd.DataFrame) -> list[Planned]:
    """Hybrid alphas in [0.4, 0.6] other than 0.5; without any, the nearest swept alpha
    on each side brackets the interval (stated in the decision rule)."""
    hyb = role_runs(study, "hybrid")
    sweep = study[(study["strategy"] == "hybrid") & (study["correction"] == "")]
    alphas = sorted({float(x) for x in sweep["alpha"]} - {HYBRID_ALPHA})
    inside = [x for x in alphas if 0.4 <= x <= 0.6]
    if not inside:
        below = [x for x in alphas if x < HYBRID_ALPHA]
        above = [x for x in alphas if x > HYBRID_ALPHA]
        inside = ([max(below)] if below else []) + ([min(above)] if above else [])
    miss = _missing(study, hyb, "hybrid (alpha 0.5)")
    if not inside:
        name = study["study"].iloc[0]
        no_sweep = f"no alpha sweep (hybrid runs with alpha != 0.5) on {name}"
        return [
            Planned(
                "e",
                hyb.iloc[0:0],
                hyb,
                "multilingual",
                "equivalence",
                1,
                no_sweep,
                name_a="Hybrid α in [0.4, 0.6] (not run)",
            )
        ]
    return [
        Planned(
            "e", role_runs(study, "hybrid", alpha=x), hyb, "multilingual", "equivalence", 1, miss
        )
        for x in inside
    ]


def _plan_f(study: pd.DataFrame) -> list[Planned]:
    """Hybrid vs the base's best correction, and hybrid + that correction vs hybrid."""
    hyb = role_runs(study, "hybrid")
    miss_h = _missing(study, hyb, "hybrid (alpha 0.5)")
    corrected_base = study[(study["strategy"] == "base") & (study["correction"] != "")]
    out = []
    if corrected_base.empty:
        no_corr = f"no corrected runs in the store for {study['study'].iloc[0]}"
        base = role_runs(study, "base")
        return [
            Planned(
                "f",
                hyb,
                base,
                "multilingual",
                "superiority",
                1,
                no_corr,
                name_b="base (no training) + a correction (not run)",
            )
        ]
    best = str(corrected_base.sort_values("multilingual", ascending=False)["correction"].iloc[0])
    best_base = role_runs(study, "base", correction=best)
    corrected_hyb = role_runs(study, "hybrid", correction=best)
    miss_ch = miss_h or ("" if len(corrected_hyb) else f"no hybrid + {best} runs")
    for measure, direction in (("multilingual", 1), ("rank_distance", -1)):
        out.append(Planned("f", hyb, best_base, measure, "superiority", direction, miss_h))
    for measure, direction in (("multilingual", 1), ("rank_distance", -1)):
        out.append(
            Planned(
                "f",
                corrected_hyb,
                hyb,
                measure,
                "superiority",
                direction,
                miss_ch,
                name_a=f"Hybrid + {best}",
            )
        )
    return out


#: The claims, in the order of the issue; (f) is not tested by the paper.
CLAIMS: dict[str, Claim] = {}


def register_claim(claim_id: str, text: str, plan: Planner) -> None:
    """Add (or replace) a claim: ``plan(study_runs_of_one_benchmark)`` returns its
    :class:`Planned` comparisons; the rule decides them with every other claim's."""
    CLAIMS[claim_id] = Claim(claim_id, text, plan)


register_claim(
    "a",
    "hybrid matches X-X-mono on monolingual mAP",
    _plan_vs("a", "mono", "X-X-mono", ["monolingual"], "equivalence"),
)
register_claim(
    "b",
    "hybrid matches X-Y on cross-lingual mAP",
    _plan_vs("b", "cross", "X-Y", ["crosslingual"], "equivalence"),
)
register_claim("c", "hybrid is best on multilingual mAP (better than X-X-mono and X-Y)", _plan_c)
register_claim(
    "d",
    "hybrid has less language bias (rank distance) than X-X-mono",
    _plan_vs("d", "mono", "X-X-mono", ["rank_distance"], "superiority"),
)
register_claim("e", "results are stable for alpha between 0.4 and 0.6 (multilingual mAP)", _plan_e)
register_claim(
    "f",
    "hybrid training beats the best training-free correction of the base (multilingual "
    "mAP and rank distance), and a correction on top of hybrid adds to it",
    _plan_f,
)


# ---- per-query rows -> cell tables -------------------------------------------------------


def cell_rows(qm: pd.DataFrame, qb: pd.DataFrame | None, measure: str) -> pd.DataFrame:
    """``group_id, cell, value`` rows of one run in ``measure``: AP per (query, pool) with
    cell ``"X>Y"`` for mAP measures; rank distance per query with cell ``X`` (the group id
    from the run's per-query metrics)."""
    cols = ["group_id", "cell", "value"]
    if measure == "rank_distance":
        if qb is None or qb.empty or qm is None or qm.empty:
            return pd.DataFrame(columns=cols)
        groups = qm.drop_duplicates("query_id").set_index("query_id")["group_id"]
        return pd.DataFrame(
            {
                "group_id": groups.reindex(qb["query_id"]).to_numpy(),
                "cell": qb["query_lang"].astype(str).to_numpy(),
                "value": qb["rank_distance"].astype(float).to_numpy(),
            }
        )
    if qm is None or qm.empty:
        return pd.DataFrame(columns=cols)
    rows = qm[qm["setting"] == measure]
    return pd.DataFrame(
        {
            "group_id": rows["group_id"].to_numpy(),
            "cell": (
                rows["query_lang"].astype(str) + ">" + rows["cand_lang"].astype(str)
            ).to_numpy(),
            "value": rows["ap"].astype(float).to_numpy(),
        }
    )


def _is_deterministic(runs: pd.DataFrame) -> bool:
    return bool(len(runs)) and bool((runs["strategy"] == "base").all())


#: ``(run_ids, measure) -> (groups, cells, [(group idx, cell idx, value) per run])``
CodeSource = Callable[[Sequence[str], str], tuple[list, list, list]]


def loader_source(loader: Loader) -> CodeSource:
    """A :data:`CodeSource` over per-run frames (:func:`cell_rows` of ``loader(run)``)."""

    def source(run_ids: Sequence[str], measure: str) -> tuple[list, list, list]:
        frames = [cell_rows(*loader(r), measure) for r in run_ids]
        frames = [f[f["value"].notna() & f["group_id"].notna()] for f in frames]
        groups = sorted({g for f in frames for g in f["group_id"]})
        cells = sorted({x for f in frames for x in f["cell"]})
        gi, ci = pd.Index(groups), pd.Index(cells)
        parts = [
            (
                gi.get_indexer(f["group_id"]),
                ci.get_indexer(f["cell"]),
                f["value"].to_numpy(np.float64),
            )
            for f in frames
        ]
        return groups, cells, parts

    return source


def _source(loader: Loader) -> CodeSource:
    """The store's own reader when ``loader`` is :func:`store_loader`'s (numbers only
    cross from DuckDB), else per-run frames."""
    store = getattr(loader, "store", _NO_STORE)
    if store is _NO_STORE:
        return loader_source(loader)
    from hybriddash.store import reads

    return lambda run_ids, measure: reads.query_cell_values(run_ids, measure, store=store)


_NO_STORE = object()


class _Benchmark:
    """One benchmark's resampling state: its groups, the shared group weights, and each
    model's seed draws and cell tables (computed once, reused by every comparison)."""

    def __init__(self, name: str, source: CodeSource, n_resamples: int):
        self.name = name
        self.source = source
        self.n_resamples = n_resamples
        self._parts: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cells: dict[str, int] = {}
        self._tables: dict[tuple[str, str], hb.CellTable] = {}
        self._means: dict[tuple[str, str], np.ndarray] = {}
        self._draws: dict[str, np.ndarray] = {}
        self.groups: pd.Index = pd.Index([])
        self.weights: np.ndarray = np.zeros((0, 0))

    def prepare(self, plans: Sequence[Planned]) -> None:
        """Read the compared runs' values per measure; the benchmark's groups are every
        group met, shared by all measures."""
        needed: dict[str, list[str]] = {}
        for p in plans:
            ids = needed.setdefault(p.measure, [])
            ids += [r for r in [*p.a["run_id"], *p.b["run_id"]] if r not in ids]
        read = {m: self.source(ids, m) for m, ids in needed.items()}
        self.groups = pd.Index(sorted({g for groups, _, _ in read.values() for g in groups}))
        for measure, (groups, cells, parts) in read.items():
            remap = self.groups.get_indexer(pd.Index(groups))
            self._cells[measure] = len(cells)
            for run_id, (g, c, v) in zip(needed[measure], parts, strict=True):
                self._parts[(run_id, measure)] = (remap[g], c, v)
        if len(self.groups):
            self.weights = hb.group_weights(
                len(self.groups), self.n_resamples, hb.stream(self.name)
            )

    def table(self, runs: pd.DataFrame, measure: str) -> hb.CellTable:
        key = (str(runs["label"].iloc[0]), measure)
        if key not in self._tables:
            self._tables[key] = hb.cell_table_from_codes(
                [self._parts[(r, measure)] for r in runs["run_id"]],
                len(self.groups),
                self._cells[measure],
                [int(s) for s in runs["seed"]],
            )
        return self._tables[key]

    def resampled(self, runs: pd.DataFrame, measure: str) -> np.ndarray:
        model = str(runs["label"].iloc[0])
        key = (model, measure)
        if key not in self._means:
            table = self.table(runs, measure)
            if model not in self._draws:
                self._draws[model] = hb.seed_draws(
                    table.n_seeds, self.n_resamples, hb.stream(self.name, model)
                )
            self._means[key] = hb.resampled_mean(table, self.weights, self._draws[model])
        return self._means[key]


def _test_name(kind: str, direction: int, level: float, margin: float) -> str:
    pct = f"{100 * level:.2f}".rstrip("0").rstrip(".")
    if kind == "equivalence":
        return f"hierarchical bootstrap: {pct}% interval within ±{margin:g}"
    return f"hierarchical bootstrap: {pct}% interval {'> 0' if direction > 0 else '< 0'}"


def _reason(verdict: str, kind: str, direction: int, margin: float, unit: str) -> str:
    if kind == "equivalence":
        return {
            SUPPORTED: f"equivalent within ±{margin:g} {unit}",
            CONTRADICTED: f"the difference lies beyond ±{margin:g} {unit}",
            INCONCLUSIVE: f"the interval reaches beyond ±{margin:g} {unit}",
        }[verdict]
    better = "higher" if direction > 0 else "lower"
    return {
        SUPPORTED: f"A is {better} (interval excludes 0)",
        CONTRADICTED: f"A is {'lower' if direction > 0 else 'higher'}, against the claim",
        INCONCLUSIVE: "the interval includes 0",
    }[verdict]


def decide_study(
    study: pd.DataFrame,
    loader: Loader,
    *,
    margin: float = MARGIN,
    min_seeds: int = MIN_SEEDS,
    alpha: float = ALPHA,
    n_resamples: int = hb.N_RESAMPLES,
    claims: Sequence[str] | None = None,
) -> tuple[list[ClaimRow], list[ComparisonRow]]:
    """Every claim on every benchmark of ``study`` (``study_runs`` rows), decided.

    Bonferroni over the comparisons with data (both benchmarks together): each is tested
    at ``alpha / m`` with the ``1 - 2 alpha / m`` interval (docs/results.md).
    """
    chosen = [CLAIMS[c] for c in (claims or CLAIMS)]
    planned: list[tuple[str, Planned]] = []
    source = _source(loader)
    benches: dict[str, _Benchmark] = {}
    for _fp, runs in study.groupby("corpus_fp", sort=False):
        name = str(runs["study"].iloc[0])
        plans = [_undefined(p, runs, name) for c in chosen for p in c.plan(runs)]
        bench = _Benchmark(name, source, n_resamples)
        bench.prepare([p for p in plans if not p.missing])
        benches[name] = bench
        planned += [(name, p) for p in plans]
    m = sum(1 for _, p in planned if not p.missing)
    alpha_c = alpha / max(m, 1)
    rows: list[ComparisonRow] = []
    for name, p in planned:
        unit = MEASURES[p.measure][1]
        label_a = str(p.a["label"].iloc[0]) if len(p.a) else p.name_a
        label_b = str(p.b["label"].iloc[0]) if len(p.b) else (p.name_b or "its baseline")
        eq_margin = margin if p.kind == "equivalence" else math.nan
        common = {
            "claim": p.claim,
            "eval_dataset": name,
            "model_a": label_a,
            "model_b": label_b,
            "measure": p.measure,
            "unit": unit,
            "kind": p.kind,
            "direction": p.direction,
            "margin": eq_margin,
            "alpha": alpha_c,
            "level": 1 - 2 * alpha_c,
            "test": _test_name(p.kind, p.direction, 1 - 2 * alpha_c, margin),
        }
        if p.missing:
            rows.append(
                ComparisonRow(
                    **common,
                    effect=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    p=math.nan,
                    se=math.nan,
                    mde=math.nan,
                    n_seeds_a=len(p.a),
                    n_seeds_b=len(p.b),
                    n_groups=0,
                    seed_diffs=(),
                    verdict=INCONCLUSIVE,
                    reason=p.missing,
                )
            )
            continue
        bench = benches[name]
        ta, tb = bench.table(p.a, p.measure), bench.table(p.b, p.measure)
        ha, hbv = hb.headlines(ta), hb.headlines(tb)
        empty = [
            f"{lab} seed {s}"
            for lab, t, h in ((label_a, ta, ha), (label_b, tb, hbv))
            for s, x in zip(t.seeds, h, strict=True)
            if not math.isfinite(x)
        ]
        if empty:
            raise ValueError(
                f"{name}, claim ({p.claim}): no per-query {p.measure} rows stored for "
                + ", ".join(empty)
                + " (the bundle kept only its headline; the rule needs per-query rows)"
            )
        effect = float(ha.mean() - hbv.mean())
        delta = bench.resampled(p.a, p.measure) - bench.resampled(p.b, p.measure)
        iv = hb.summarise(
            effect,
            delta,
            alpha_c,
            kind=p.kind,
            direction=p.direction,
            margin=margin,
            seed_diffs=ha - hbv.mean(),
        )
        verdict = hb.decide(iv, kind=p.kind, direction=p.direction, margin=margin)
        reason = _reason(verdict, p.kind, p.direction, margin, unit)
        few = [
            (lab, t.n_seeds)
            for lab, t, runs in ((label_a, ta, p.a), (label_b, tb, p.b))
            if not _is_deterministic(runs) and t.n_seeds < min_seeds
        ]
        if few:
            verdict = INCONCLUSIVE
            reason = (
                "too few seeds (" + ", ".join(f"{lab}: {n} < {min_seeds}" for lab, n in few) + ")"
            )
        rows.append(
            ComparisonRow(
                **common,
                effect=effect,
                ci_low=iv.low,
                ci_high=iv.high,
                p=iv.p,
                se=iv.se,
                mde=hb.minimum_detectable(iv.se, alpha_c, kind=p.kind),
                n_seeds_a=ta.n_seeds,
                n_seeds_b=tb.n_seeds,
                n_groups=len(bench.groups) if bench.groups is not None else 0,
                seed_diffs=iv.seed_diffs,
                verdict=verdict,
                reason=reason,
            )
        )
    claim_rows = []
    for claim in chosen:
        for name in benches:
            group = tuple(r for r in rows if r.claim == claim.id and r.eval_dataset == name)
            claim_rows.append(combine(claim, name, group))
    return claim_rows, rows


def _undefined(p: Planned, runs: pd.DataFrame, name: str) -> Planned:
    """``p`` marked missing when its measure is undefined on the corpus: every compared
    run's stored headline in it is empty (a translation-pool suite has no monolingual
    pool, issue 24's suites), so no per-query rows can exist; an inconclusive row saying
    so, not an error."""
    if p.missing or p.measure not in runs:
        return p
    values = runs.loc[runs["run_id"].isin({*p.a["run_id"], *p.b["run_id"]}), p.measure]
    if len(values) and values.isna().all():
        from dataclasses import replace

        return replace(p, missing=f"{MEASURES[p.measure][0]} is not defined on {name}")
    return p


def combine(claim: Claim, eval_dataset: str, group: Sequence[ComparisonRow]) -> ClaimRow:
    """The claim's row from its comparison rows (intersection-union; docstring of
    :class:`ClaimRow`)."""
    group = tuple(group)
    if not group:
        return ClaimRow(claim.id, claim.text, eval_dataset, INCONCLUSIVE, "no comparison", ())
    kinds = [r.verdict for r in group]

    def weakest(rows: Sequence[ComparisonRow]) -> ComparisonRow:
        return max(rows, key=lambda r: -1.0 if math.isnan(r.p) else r.p)

    if CONTRADICTED in kinds:
        verdict = CONTRADICTED
        named = [r for r in group if r.verdict == CONTRADICTED]
        deciding = named[0]
    elif all(k == SUPPORTED for k in kinds):
        verdict, named = SUPPORTED, list(group)
        deciding = weakest(named)
    else:
        verdict = INCONCLUSIVE
        named = [r for r in group if r.verdict != SUPPORTED]
        deciding = weakest(named)
    reason = "; ".join(f"{r.label}: {r.reason}" for r in named)
    return ClaimRow(claim.id, claim.text, eval_dataset, verdict, reason, group, deciding)


def comparison_frame(rows: Sequence[ComparisonRow]) -> pd.DataFrame:
    """One row per comparison (the :class:`ComparisonRow` fields and ``label``)."""
    return pd.DataFrame([r.row() for r in rows])


def claim_frame(rows: Sequence[ClaimRow]) -> pd.DataFrame:
    """One row per (claim, benchmark): verdict, reason, the deciding comparison's label,
    measure, unit, effect, interval and p, the claim's comparison count, and its largest
    minimum detectable effect per unit (``mde_map`` in mAP, ``mde_rank`` in rank
    positions)."""
    out = []
    for r in rows:
        d = r.deciding
        out.append(
            {
                "claim": r.claim,
                "text": r.text,
                "eval_dataset": r.eval_dataset,
                "verdict": r.verdict,
                "label": d.label if d else "",
                "measure": d.measure if d else "",
                "unit": d.unit if d else "",
                "effect": d.effect if d else math.nan,
                "ci_low": d.ci_low if d else math.nan,
                "ci_high": d.ci_high if d else math.nan,
                "p": d.p if d else math.nan,
                "n_comparisons": len(r.comparisons),
                "n_seeds": d.n_seeds_a if d else 0,
                "mde_map": r.mde("mAP"),
                "mde_rank": r.mde("rank positions"),
                "reason": r.reason,
            }
        )
    return pd.DataFrame(out)


def study_verdicts(
    study: pd.DataFrame,
    loader: Loader,
    *,
    margin: float = MARGIN,
    min_seeds: int = MIN_SEEDS,
    n_resamples: int = hb.N_RESAMPLES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(claims, comparisons)`` frames of :func:`decide_study` (:func:`claim_frame`,
    :func:`comparison_frame`)."""
    claims, comps = decide_study(
        study, loader, margin=margin, min_seeds=min_seeds, n_resamples=n_resamples
    )
    return claim_frame(claims), comparison_frame(comps)
