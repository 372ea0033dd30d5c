"""The frames behind the research questions' charts on the Findings page (issue 24).

Each is read from stored runs (:func:`~hybriddash.reports.study.question_runs.question_runs`
rows and the store's per-run tables); the page only draws them. Means are over seeds
(``mean_s H(M, s)``, the verdicts' statistic); ``sd`` is the sample standard deviation
over seeds (NaN with one seed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from hybriddash.reports.study.question_runs import (
    ROLE_LABELS,
    SUITE_LABELS,
    TICO_DOMAINS,
    TICO_SUITES,
)
from hybriddash.reports.study.question_verdicts import BIOMEDICAL, NON_BIOMEDICAL, ValueSource


def domain_bars(runs: pd.DataFrame) -> pd.DataFrame:
    """Q1: multilingual mAP per TICO-19 domain (test split) and model: ``domain, model,
    mean, sd, n_seeds`` (mean over seeds of the run's headline)."""
    part = runs[
        runs["suite"].isin(TICO_SUITES) & runs["role"].isin(["base", "mono", "cross", "hybrid"])
    ]
    if part.empty:
        return pd.DataFrame(columns=["domain", "model", "mean", "sd", "n_seeds"])
    out = (
        part.groupby(["suite", "role"], sort=False)["multilingual"]
        .agg(mean="mean", sd="std", n_seeds="size")
        .reset_index()
    )
    out["domain"] = out["suite"].str.split(":").str[1]
    out["model"] = out["role"].map(ROLE_LABELS)
    order = {d: i for i, d in enumerate(TICO_DOMAINS)}
    roles = {r: i for i, r in enumerate(ROLE_LABELS)}
    out = out.assign(o1=out["domain"].map(order), o2=out["role"].map(roles))
    return out.sort_values(["o1", "o2"])[["domain", "model", "mean", "sd", "n_seeds"]].reset_index(
        drop=True
    )


def bitext_heatmap(runs: pd.DataFrame, *, store: Any = None) -> pd.DataFrame:
    """Q2: bitext accuracy (P@1) of XNLI's aligned rows per ordered language pair, mean
    over seeds, for hybrid and X-X-mono: ``model, query_lang, cand_lang, accuracy``."""
    from hybriddash.store import reads

    part = runs[(runs["suite"] == "xnli-bitext") & runs["role"].isin(["mono", "hybrid"])]
    frames = []
    for run in part.itertuples():
        acc = reads.bitext_accuracy(str(run.run_id), store=store)
        if len(acc):
            frames.append(acc.assign(model=ROLE_LABELS[run.role]))
    if not frames:
        return pd.DataFrame(columns=["model", "query_lang", "cand_lang", "accuracy"])
    both = pd.concat(frames, ignore_index=True)
    return both.groupby(["model", "query_lang", "cand_lang"], as_index=False)["accuracy"].mean()


def before_after(runs: pd.DataFrame) -> pd.DataFrame:
    """Q3: hybrid vs hybrid + domain pairs on the biomedical TICO-19 domains, the other
    TICO-19 domains and XQuAD-R: ``set, model, mean, sd, n_seeds``, where a seed's value on
    a set is the mean of its multilingual mAP over the set's suites (a seed missing a
    suite of the set is left out of it)."""
    sets = {
        "TICO-19 biomedical (pubmed, cmu)": BIOMEDICAL,
        "TICO-19 other domains": NON_BIOMEDICAL,
        SUITE_LABELS["xquad-r"]: ("xquad-r",),
    }
    rows = []
    for name, suites in sets.items():
        for role in ("hybrid", "hybrid+pairs"):
            part = runs[(runs["role"] == role) & runs["suite"].isin(suites)]
            per_seed = part.groupby("seed")["multilingual"].agg(["mean", "size"])
            per_seed = per_seed[per_seed["size"] == len(suites)]["mean"]
            if per_seed.empty:
                continue
            rows.append(
                {
                    "set": name,
                    "model": ROLE_LABELS[role],
                    "mean": float(per_seed.mean()),
                    "sd": float(per_seed.std()) if len(per_seed) > 1 else math.nan,
                    "n_seeds": int(len(per_seed)),
                }
            )
    return pd.DataFrame(rows, columns=["set", "model", "mean", "sd", "n_seeds"])


def tydi_languages(
    runs: pd.DataFrame, values: ValueSource, *, n_resamples: int = 2000
) -> pd.DataFrame:
    """Q4: TyDi QA GoldP monolingual mAP per language and model (base, X-X-mono,
    hybrid), mean over seeds, with a descriptive 95% interval (groups and seeds
    resampled as the verdicts do): ``model, lang, map, ci_low, ci_high``."""
    from hybriddash.reports.study.question_verdicts import _Engine, per_language

    roles = [
        r
        for r in ("base", "mono", "hybrid")
        if len(runs[(runs["role"] == r) & (runs["suite"] == "tydiqa-goldp")])
    ]
    cols = ["model", "lang", "map", "ci_low", "ci_high"]
    if not roles:
        return pd.DataFrame(columns=cols)
    eng = _Engine(runs, values, lambda _r: math.nan, n_resamples)
    data = per_language(eng, roles, ("tydiqa-goldp",), "monolingual", "tydi-chart")
    rows = []
    for role, (langs, point, star, _seeds) in data.items():
        lo, hi = np.quantile(star, [0.025, 0.975], axis=0)
        for j, lang in enumerate(langs):
            rows.append([ROLE_LABELS[role], lang, float(point[j]), float(lo[j]), float(hi[j])])
    return pd.DataFrame(rows, columns=cols)


def long_tail_fit(points: pd.DataFrame, rows: pd.DataFrame, *, n: int = 25) -> pd.DataFrame:
    """Q5: the fitted line of per-language gain on log10 CC-100 size and its band, per
    suite and comparator: ``suite, comparator, x, fit, low, high``.

    ``fit = ḡ + b (x - x̄)`` over the languages in the fit (b: the slope row's effect);
    the band pivots the line at ``(x̄, ḡ)`` through the ends of the slope's interval
    (``ḡ + b_low (x - x̄)`` and ``ḡ + b_high (x - x̄)``, lower and upper envelope)."""
    cols = ["suite", "comparator", "x", "fit", "low", "high"]
    if points.empty or rows.empty:
        return pd.DataFrame(columns=cols)
    slopes = rows[(rows["question"] == "Q5") & rows["measure"].str.startswith("slope")]
    out = []
    for (suite, comp), grp in points.groupby(["suite", "comparator"], sort=False):
        grp = grp[np.isfinite(grp["log10_size"])]
        row = slopes[(slopes["suite"] == suite) & (slopes["model_b"] == comp)]
        if grp.empty or row.empty or not math.isfinite(float(row["effect"].iloc[0])):
            continue
        b, lo, hi = (float(row[c].iloc[0]) for c in ("effect", "ci_low", "ci_high"))
        x_bar, g_bar = float(grp["log10_size"].mean()), float(grp["gain"].mean())
        for x in np.linspace(grp["log10_size"].min(), grp["log10_size"].max(), n):
            ends = [g_bar + s * (x - x_bar) for s in (lo, hi) if math.isfinite(s)]
            out.append(
                [suite, comp, float(x), g_bar + b * (x - x_bar),
                 min(ends) if ends else math.nan, max(ends) if ends else math.nan]
            )  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def xnli_projections(runs: pd.DataFrame, *, store: Any = None) -> pd.DataFrame:
    """Q2: the alignment page's default UMAP of XNLI dev (the entailed hypotheses of 40
    premises, every language) for the base, X-X-mono and hybrid, as their study pieces shipped it (the
    lowest seed with one): ``model, seed, lang, group_id, x, y``. Models without a
    shipped projection are left out (the page names them)."""
    from hybriddash.reports.alignment_shipped import PROJECTION_FILE, shipped_rows

    cols = ["model", "seed", "lang", "group_id", "x", "y"]
    frames = []
    for role in ("base", "mono", "hybrid"):
        part = runs[(runs["suite"] == "xnli") & (runs["role"] == role)].sort_values("seed")
        for run in part.itertuples():
            rows = shipped_rows(PROJECTION_FILE, str(run.model_id), str(run.corpus_fp), store=store)
            if rows is None:
                continue
            frames.append(rows.assign(model=ROLE_LABELS[role], seed=int(run.seed)).loc[:, cols])
            break
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
