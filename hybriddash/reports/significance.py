"""Paired significance tests between two models evaluated on the same queries.

The unit of observation is the *query*: both runs must have scored the same
corpus (same ``corpus_fp``), so every query has one value per run and the two
samples are paired. Per-query values come from the store's ``query_metrics``
table (AP, nDCG@10, Recall@100 per query and candidate pool) and ``query_bias``
(rank distance per query).

Conventions
-----------
- ``d_i = a_i - b_i`` is the paired difference of query ``i`` (model A minus
  model B). For measures where lower is better (rank distance) a *win* of A is
  ``d_i < 0``; :data:`LOWER_IS_BETTER` lists them.
- Headline settings pair one value per query:

  - ``monolingual``: the query's AP against candidates in its own language;
  - ``crosslingual``: the mean of the query's AP over every other candidate
    language ``Y != X`` (so each query counts once);
  - ``multilingual``: the query's AP against the pooled candidates (``'all'``);
  - ``rank_distance``: the query's rank distance in the pooled setting.

  The tests' mean difference is therefore a *micro* average over queries; the
  headline table macro-averages over languages. Both are reported
  (``mean_a``/``mean_b`` are micro means).
- Language pairs ``(X, Y)`` (``Y`` may be ``'all'``) pair the AP of every query
  in ``X`` against the candidates in ``Y``.

Tests (two-sided)
-----------------
- Paired t-test: ``t = mean(d) / (sd(d) / sqrt(n))`` with ``sd`` the sample
  standard deviation (ddof=1), ``n - 1`` degrees of freedom; identical to
  ``scipy.stats.ttest_rel``. When every ``d_i`` is 0 the test is undefined
  (scipy gives NaN); we report ``t = 0, p = 1`` (no evidence of a difference) so
  Holm's procedure stays defined.
- Paired randomization (sign-flip permutation) test of ``mean(d)``: under H0 the
  sign of each ``d_i`` is exchangeable. Exact (all ``2**n`` sign vectors) when
  ``2**n <= n_resamples``; otherwise ``n_resamples`` random sign vectors with
  ``p = (count + 1) / (n_resamples + 1)``. Two-sided ``p = min(1, 2 *
  min(P(T <= t), P(T >= t)))`` with a relative tolerance of ``100 * eps * |t|``
  for ties — the definition of ``scipy.stats.permutation_test(...,
  permutation_type='samples')``.
- Holm–Bonferroni: within one family of ``m`` tests sorted by p ascending,
  ``p_holm_(j) = max_{i <= j} min(1, (m - i + 1) * p_(i))``. The headline settings
  form one family, the language pairs another.

Effect sizes: ``mean_diff = mean(d)``; Cohen's ``d_z = mean(d) / sd(d)``
(ddof=1; 0 when all ``d_i`` are equal to 0, ``±inf`` when all are equal and
non-zero). Win/tie/loss counts use a tolerance of :data:`TIE_TOLERANCE`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: |d_i| at or below this counts as a tie (AP values are floats in [0, 1]).
TIE_TOLERANCE = 1e-12
#: Per-query measures where a lower value is better.
LOWER_IS_BETTER = frozenset({"rank_distance"})
#: Per-query measures available in ``query_metrics``.
QUERY_MEASURES = ("ap", "ndcg_at_10", "recall_at_100")
HEADLINE_SETTINGS = ("monolingual", "crosslingual", "multilingual", "rank_distance")
#: Significance markers of exports, strictest first: (threshold, marker).
MARKERS: tuple[tuple[float, str], ...] = ((0.001, "***"), (0.01, "**"), (0.05, "*"))

# Above this many queries the exact test would enumerate too many sign vectors
# even when n_resamples is huge; guards memory in _sign_matrix.
_MAX_EXACT_N = 20


@dataclass(frozen=True)
class PairedTest:
    """Result of the paired tests on one sample of differences ``d = a - b``."""

    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    cohen_dz: float
    wins: int  # queries where A is better
    ties: int
    losses: int  # queries where B is better
    t_stat: float
    p_ttest: float
    p_perm: float
    perm_exact: bool
    n_resamples: int


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test; returns ``(t, p)`` (see the module docstring)."""
    d = _diffs(a, b)
    n = d.size
    if n < 2:
        return 0.0, 1.0
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        if mean == 0.0:
            return 0.0, 1.0
        return math.copysign(math.inf, mean), 0.0
    t = mean / (sd / math.sqrt(n))
    p = float(2.0 * stats.t.sf(abs(t), df=n - 1))
    return t, min(p, 1.0)


def paired_permutation_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, bool, int]:
    """Two-sided sign-flip randomization test of ``mean(a - b)``.

    Returns ``(p, exact, n_null)`` where ``n_null`` is the size of the null
    distribution used (``2**n`` when exact). ``seed`` fixes the random signs of
    the Monte-Carlo version so a report is reproducible.
    """
    d = _diffs(a, b)
    n = d.size
    if n == 0:
        return 1.0, True, 0
    observed = float(d.mean())
    exact = n <= _MAX_EXACT_N and 2**n <= n_resamples
    if exact:
        null = _sign_matrix(n) @ d / n
        adjustment = 0
        n_null = 2**n
    else:
        rng = np.random.default_rng(seed)
        null = np.empty(n_resamples, dtype=np.float64)
        # chunks keep the sign matrix at ~8 MB whatever n and n_resamples are
        chunk = max(1, 1_000_000 // n)
        for start in range(0, n_resamples, chunk):
            stop = min(start + chunk, n_resamples)
            signs = rng.integers(0, 2, size=(stop - start, n), dtype=np.int8) * 2 - 1
            null[start:stop] = signs @ d / n
        adjustment = 1
        n_null = n_resamples
    gamma = abs(np.finfo(np.float64).eps * 100 * observed)
    less = (np.count_nonzero(null <= observed + gamma) + adjustment) / (n_null + adjustment)
    greater = (np.count_nonzero(null >= observed - gamma) + adjustment) / (n_null + adjustment)
    return float(min(1.0, 2.0 * min(less, greater))), exact, n_null


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values, in the input order (NaN stays NaN)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    higher_is_better: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedTest:
    """Both tests, effect sizes and win/tie/loss counts for paired samples ``a``, ``b``."""
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    d = _diffs(a_arr, b_arr)
    n = d.size
    mean_diff = float(d.mean()) if n else math.nan
    if n >= 2:
        sd = float(d.std(ddof=1))
        if sd > 0:
            dz = mean_diff / sd
        else:
            dz = 0.0 if mean_diff == 0 else math.copysign(math.inf, mean_diff)
    else:
        dz = math.nan
    better = d if higher_is_better else -d
    wins = int(np.count_nonzero(better > TIE_TOLERANCE))
    losses = int(np.count_nonzero(better < -TIE_TOLERANCE))
    t, p_t = paired_ttest(a_arr, b_arr)
    p_perm, exact, n_null = paired_permutation_test(
        a_arr, b_arr, n_resamples=n_resamples, seed=seed
    )
    return PairedTest(
        n=n,
        mean_a=float(a_arr.mean()) if n else math.nan,
        mean_b=float(b_arr.mean()) if n else math.nan,
        mean_diff=mean_diff,
        cohen_dz=dz,
        wins=wins,
        ties=n - wins - losses,
        losses=losses,
        t_stat=t,
        p_ttest=p_t,
        p_perm=p_perm,
        perm_exact=exact,
        n_resamples=n_null,
    )


def significance_marker(p: float | None) -> str:
    """``***`` / ``**`` / ``*`` for p < .001 / .01 / .05, else ``""`` (see :data:`MARKERS`)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    for threshold, marker in MARKERS:
        if p < threshold:
            return marker
    return ""


def marker_legend(test: str = "paired randomization test, Holm-corrected") -> str:
    """One-line legend for :func:`significance_marker` markers."""
    parts = [f"{m} p < {t:g}" for t, m in MARKERS]
    return f"{'; '.join(parts)} ({test})"


# ---- per-query frames -> paired samples -------------------------------------------


def headline_samples(
    query_metrics: pd.DataFrame,
    query_bias: pd.DataFrame | None = None,
    *,
    measure: str = "ap",
) -> pd.DataFrame:
    """Per-query values of one run in each headline setting.

    ``query_metrics`` has the store's ``query_metrics`` columns for ONE run;
    ``query_bias`` (optional) its ``query_bias`` rows. Returns a long frame with
    columns ``setting, query_id, query_lang, value``.
    """
    if measure not in QUERY_MEASURES:
        raise ValueError(f"measure must be one of {QUERY_MEASURES}, got {measure!r}")
    qm = query_metrics
    parts = []
    for setting in ("monolingual", "crosslingual", "multilingual"):
        rows = qm[qm["setting"] == setting]
        if rows.empty:
            continue
        per_query = (
            rows.groupby(["query_id", "query_lang"], sort=True)[measure]
            .mean()
            .reset_index()
            .rename(columns={measure: "value"})
        )
        per_query.insert(0, "setting", setting)
        parts.append(per_query)
    if query_bias is not None and not query_bias.empty:
        rd = query_bias[["query_id", "query_lang", "rank_distance"]].rename(
            columns={"rank_distance": "value"}
        )
        rd = rd.astype({"value": "float64"})
        rd.insert(0, "setting", "rank_distance")
        parts.append(rd)
    if not parts:
        return pd.DataFrame(columns=["setting", "query_id", "query_lang", "value"])
    return pd.concat(parts, ignore_index=True)


def compare_query_frames(
    a_metrics: pd.DataFrame,
    b_metrics: pd.DataFrame,
    a_bias: pd.DataFrame | None = None,
    b_bias: pd.DataFrame | None = None,
    *,
    measure: str = "ap",
    n_resamples: int = 10_000,
    seed: int = 0,
    pairs: bool = True,
) -> pd.DataFrame:
    """Paired tests of run A against run B, per headline setting and per language pair.

    Inputs are the ``query_metrics`` (and optionally ``query_bias``) rows of each
    run. Queries are paired on ``query_id`` (and ``cand_lang`` for pairs); a query
    present in only one run is dropped, and ``n`` says how many were paired.

    Returns one row per test: ``family`` (``headline`` | ``pair``), ``setting``,
    ``query_lang``, ``cand_lang`` (empty for headline rows), ``measure``, the
    :class:`PairedTest` fields and ``p_ttest_holm``, ``p_perm_holm`` (Holm within
    the family), ``marker`` (:func:`significance_marker` of ``p_perm_holm``).
    """
    rows: list[dict[str, object]] = []
    ha = headline_samples(a_metrics, a_bias, measure=measure)
    hb = headline_samples(b_metrics, b_bias, measure=measure)
    for setting in HEADLINE_SETTINGS:
        joined = ha[ha["setting"] == setting].merge(
            hb[hb["setting"] == setting], on=["query_id", "query_lang"], suffixes=("_a", "_b")
        )
        if joined.empty:
            continue
        test = paired_test(
            joined["value_a"].to_numpy(),
            joined["value_b"].to_numpy(),
            higher_is_better=setting not in LOWER_IS_BETTER,
            n_resamples=n_resamples,
            seed=seed,
        )
        rows.append(
            {
                "family": "headline",
                "setting": setting,
                "query_lang": "",
                "cand_lang": "",
                "measure": "rank_distance" if setting == "rank_distance" else measure,
                **asdict(test),
            }
        )
    if pairs:
        cols = ["query_id", "query_lang", "cand_lang", "setting", measure]
        joined = a_metrics[cols].merge(
            b_metrics[cols],
            on=["query_id", "query_lang", "cand_lang", "setting"],
            suffixes=("_a", "_b"),
        )
        for (qlang, clang, setting), grp in joined.groupby(
            ["query_lang", "cand_lang", "setting"], sort=True
        ):
            test = paired_test(
                grp[f"{measure}_a"].to_numpy(),
                grp[f"{measure}_b"].to_numpy(),
                n_resamples=n_resamples,
                seed=seed,
            )
            rows.append(
                {
                    "family": "pair",
                    "setting": setting,
                    "query_lang": qlang,
                    "cand_lang": clang,
                    "measure": measure,
                    **asdict(test),
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_ttest_holm"] = np.nan
    out["p_perm_holm"] = np.nan
    for _, idx in out.groupby("family").groups.items():
        out.loc[idx, "p_ttest_holm"] = holm(out.loc[idx, "p_ttest"].to_numpy())
        out.loc[idx, "p_perm_holm"] = holm(out.loc[idx, "p_perm"].to_numpy())
    out["marker"] = [significance_marker(p) for p in out["p_perm_holm"]]
    return out


def _diffs(a: Iterable[float], b: Iterable[float]) -> np.ndarray:
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
        raise ValueError(
            f"paired samples must be 1-D and of equal length, got shapes {a_arr.shape} and {b_arr.shape}"
        )
    if np.isnan(a_arr).any() or np.isnan(b_arr).any():
        raise ValueError("paired samples contain NaN; drop unscored queries before testing")
    return a_arr - b_arr


def _sign_matrix(n: int) -> np.ndarray:
    """All ``2**n`` sign vectors as a (2**n, n) float matrix of ±1."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (codes >> np.arange(n, dtype=np.int64)) & 1
    return (bits * 2 - 1).astype(np.float64)


# ---- store-backed comparisons ------------------------------------------------------


def compare_runs(
    run_a: str,
    run_b: str,
    *,
    measure: str = "ap",
    n_resamples: int = 10_000,
    seed: int = 0,
    pairs: bool = True,
    store: object | None = None,
) -> pd.DataFrame:
    """:func:`compare_query_frames` on two stored runs (``query_metrics``, ``query_bias``).

    Raises ``ValueError`` when the runs scored different corpora: their queries are
    not paired.
    """
    from hybriddash.store import reads

    infos = {run: reads.get_run(run, store=store) for run in (run_a, run_b)}  # type: ignore[arg-type]
    for run, info in infos.items():
        if info is None:
            raise ValueError(f"run {run!r} is not in the store (table runs)")
    if infos[run_a]["corpus_fp"] != infos[run_b]["corpus_fp"]:  # type: ignore[index]
        raise ValueError(
            f"runs {run_a!r} and {run_b!r} scored different corpora "
            f"({infos[run_a]['corpus_name']} vs {infos[run_b]['corpus_name']}); "  # type: ignore[index]
            "paired tests need the same queries"
        )
    frames = {
        run: (
            reads.query_metrics(run, store=store),  # type: ignore[arg-type]
            reads.query_bias(run, store=store),  # type: ignore[arg-type]
        )
        for run in (run_a, run_b)
    }
    out = compare_query_frames(
        frames[run_a][0],
        frames[run_b][0],
        frames[run_a][1],
        frames[run_b][1],
        measure=measure,
        n_resamples=n_resamples,
        seed=seed,
        pairs=pairs,
    )
    if not out.empty:
        out.insert(0, "run_a", run_a)
        out.insert(1, "run_b", run_b)
    return out


def compare_models(
    corpus: str,
    model_a: str,
    model_b: str,
    *,
    measure: str = "ap",
    n_resamples: int = 10_000,
    seed: int = 0,
    pairs: bool = True,
    store: object | None = None,
) -> pd.DataFrame:
    """Paired tests of the newest runs of ``model_a`` and ``model_b`` on ``corpus``.

    ``corpus`` is a corpus name (``sample``, ``upload:x``, ``xquad-r[en,de]``) or
    fingerprint, as in :mod:`hybriddash.reports.tables`. Adds ``model_a``/``model_b``
    columns. Raises ``LookupError`` naming a model without a run on the corpus.
    """
    from hybriddash.reports.tables import latest_runs, resolve_corpus

    corpus_fp, _name = resolve_corpus(corpus, store=store)
    runs = latest_runs(corpus_fp, [model_a, model_b], store=store)  # type: ignore[arg-type]
    by_model = dict(zip(runs["model_id"], runs["run_id"], strict=True))
    for model in (model_a, model_b):
        if model not in by_model:
            raise LookupError(
                f"model {model!r} has no run on corpus {corpus!r}; run `python -m hybriddash "
                f"evaluate --model {model} --dataset {corpus}` first"
            )
    out = compare_runs(
        by_model[model_a],
        by_model[model_b],
        measure=measure,
        n_resamples=n_resamples,
        seed=seed,
        pairs=pairs,
        store=store,
    )
    if not out.empty:
        out.insert(0, "model_a", model_a)
        out.insert(1, "model_b", model_b)
    return out
