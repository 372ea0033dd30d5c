"""The study's curves and tables beside the verdicts: per-language gains, the alpha
sweep, learning curves and the stable-order budget, protocol deviations, the seed table.

Pure over frames (the store is read through :mod:`hybriddash.store.reads`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from hybriddash.encoders.corrections import METHODS as CORRECTION_METHODS
from hybriddash.reports.study import hierarchical_bootstrap as hb
from hybriddash.reports.study.comparisons import MIN_SEEDS, _source
from hybriddash.reports.study.roles import (
    HYBRID_ALPHA,
    STRATEGY_LABELS,
    Loader,
    _card,
    role_runs,
)
from hybriddash.reports.verdicts import mean_ci


def _f(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:+.{digits}f}" if digits < 0 else f"{x:.{digits}f}"


# ---- per-language gains ------------------------------------------------------------


def language_gains(
    study: pd.DataFrame,
    loader: Loader,
    *,
    other: str = "mono",
    by: str = "query_lang",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Gain of hybrid (alpha 0.5) over ``other`` (``mono`` | ``cross``) per language.

    The gain is a piece of the headline difference, with the headline's weighting
    (:mod:`~hybriddash.reports.study.hierarchical_bootstrap`: cell mean = mean AP of
    its queries; a model's value = mean over its seeds)::

        by="query_lang": gain(X, s) = mean_seeds mean_{cells c of s with query language X} m_c(hybrid)
                                     - the same of ``other``
        by="pair":       gain(c)    = mean_seeds m_c(hybrid) - mean_seeds m_c(other)

    with the cells of setting s: monolingual X>X, crosslingual X>Y (Y != X; for
    ``by="query_lang"`` their macro mean, the query language's share of the headline),
    multilingual X>all. The 95% interval is a percentile interval of the hierarchical
    bootstrap of the decision rule: translation groups resampled (shared by both models:
    paired), seeds resampled within each model; ``n_boot`` resamples, streams keyed by
    benchmark, setting, model and ``seed``. ``n`` = queries of hybrid's first seed in
    those cells. Columns: ``eval_dataset, setting, query_lang, cand_lang, n, gain,
    ci_low, ci_high`` (``cand_lang`` empty for ``by="query_lang"``).
    """
    cols = ["eval_dataset", "setting", "query_lang", "cand_lang", "n", "gain", "ci_low", "ci_high"]
    if by not in ("query_lang", "pair"):
        raise ValueError(f"by must be 'query_lang' or 'pair', got {by!r}")
    source = _source(loader)
    rows = []
    for _fp, runs in study.groupby("corpus_fp", sort=False):
        a, b = role_runs(runs, "hybrid"), role_runs(runs, other)
        if a.empty or b.empty:
            continue
        name = str(runs["study"].iloc[0])
        for setting in ("monolingual", "crosslingual", "multilingual"):
            groups, cells, parts = source([*a["run_id"], *b["run_id"]], setting)
            if not cells:
                continue
            tables = [
                hb.cell_table_from_codes(
                    parts[lo:hi], len(groups), len(cells), [int(x) for x in runs_["seed"]]
                )
                for runs_, lo, hi in ((a, 0, len(a)), (b, len(a), len(parts)))
            ]
            weights = hb.group_weights(
                len(groups), n_boot, hb.stream("gains", name, setting, str(seed))
            )
            draws = [
                hb.seed_draws(t.n_seeds, n_boot, hb.stream("gains", name, role, str(seed)))
                for t, role in zip(tables, ("hybrid", other), strict=True)
            ]
            pairs = [tuple(c.split(">", 1)) for c in cells]
            if by == "query_lang":
                keys = sorted({q for q, _ in pairs})
                members = [(q, "", [i for i, (x, _) in enumerate(pairs) if x == q]) for q in keys]
            else:
                members = [(q, c, [i]) for i, (q, c) in enumerate(pairs)]
            for ql, cl, idx in members:
                subs = [
                    hb.CellTable(t.sums[:, :, idx], t.counts[:, :, idx], t.seeds) for t in tables
                ]
                effect = hb.headlines(subs[0]).mean() - hb.headlines(subs[1]).mean()
                star = hb.resampled_mean(subs[0], weights, draws[0]) - hb.resampled_mean(
                    subs[1], weights, draws[1]
                )
                iv = hb.summarise(effect, star, 0.025, kind="superiority")
                n = int(subs[0].counts[0].sum())
                rows.append([name, setting, ql, cl, n, iv.effect, iv.low, iv.high])
    return pd.DataFrame(rows, columns=cols)


# ---- alpha curve, learning curves -------------------------------------------------


def alpha_curve(study: pd.DataFrame, metric: str = "multilingual") -> pd.DataFrame:
    """Mean over seeds of ``metric`` per alpha (uncorrected runs), with a 95% t CI.

    Alpha 1 and 0 are the hybrid runs with those alphas when the store has them, else
    the X-X-mono and X-Y runs (``source`` says which). Columns: ``eval_dataset, alpha,
    source, n_seeds, mean, ci_low, ci_high``.
    """
    rows = []
    plain = study[(study["correction"] == "") & study["strategy"].isin(["mono", "cross", "hybrid"])]
    for _fp, runs in plain.groupby("corpus_fp", sort=False):
        hybrid_alphas = set(runs.loc[runs["strategy"] == "hybrid", "alpha"].astype(float))
        for alpha, grp in runs.groupby("alpha", sort=True):
            strat = set(grp["strategy"])
            if "hybrid" in strat:
                grp = grp[grp["strategy"] == "hybrid"]
                source = "hybrid"
            elif float(alpha) in hybrid_alphas:
                continue
            else:
                source = STRATEGY_LABELS[grp["strategy"].iloc[0]]
            mean, lo, hi = mean_ci(grp[metric].astype(float).to_numpy())
            rows.append([runs["study"].iloc[0], float(alpha), source, len(grp), mean, lo, hi])
    return pd.DataFrame(
        rows, columns=["eval_dataset", "alpha", "source", "n_seeds", "mean", "ci_low", "ci_high"]
    )


def learning_curves(study: pd.DataFrame, *, store: Any = None) -> pd.DataFrame:
    """Training curves (``reads.training_curves``) of the study's trained models, labelled.

    Columns: ``model_id, label, seed, train_dataset, step, split, metric, value``.
    """
    from hybriddash.store import reads

    trained = study[(study["strategy"] != "base") & (study["correction"] == "")]
    trained = trained.drop_duplicates("underlying")
    curves = reads.training_curves(trained["underlying"].tolist(), store=store)
    info = trained[["underlying", "label", "seed", "train_dataset"]].rename(
        columns={"underlying": "model_id"}
    )
    return curves.merge(info, on="model_id", how="inner")


def stable_order_budget(curve: pd.DataFrame) -> tuple[int | None, pd.DataFrame]:
    """The smallest step after which the order of the strategies stops changing.

    ``curve`` has columns ``strategy, step, value`` (validation multilingual mAP; several
    seeds per strategy are averaged). At each step measured for every strategy, the order
    is the strategies sorted by descending mean value (ties by name). The budget is the
    first step ``s`` such that the order at every step ``>= s`` equals the order at the
    last step; ``None`` when fewer than two strategies or no common step. Returns
    ``(step, table)`` with ``table`` = one row per common step: ``step, order, stable``.
    """
    if curve.empty or curve["strategy"].nunique() < 2:
        return None, pd.DataFrame(columns=["step", "order", "stable"])
    means = curve.groupby(["step", "strategy"])["value"].mean().unstack("strategy")
    means = means.dropna(how="any").sort_index()
    if means.empty:
        return None, pd.DataFrame(columns=["step", "order", "stable"])
    orders = [
        " > ".join(sorted(row.index, key=lambda s, row=row: (-row[s], s)))
        for _, row in means.iterrows()
    ]
    final = orders[-1]
    stable_from = len(orders) - 1
    while stable_from > 0 and orders[stable_from - 1] == final:
        stable_from -= 1
    steps = means.index.to_list()
    table = pd.DataFrame(
        {"step": steps, "order": orders, "stable": [i >= stable_from for i in range(len(steps))]}
    )
    return int(steps[stable_from]), table


def learning_curve_markdown(doc: dict[str, Any], *, study_steps: int | None = None) -> list[str]:
    """The learning-curve section of docs/results.md from ``reference/learning_curve.json``
    (``reproduce --profile learning-curve``): validation multilingual mAP per strategy and
    step, the order, the spread between the strategies, and the budget that follows."""
    curve = pd.DataFrame(doc.get("curve", []))
    lines = [
        "## Learning curve and budget",
        "",
        f"Validation multilingual mAP of held-out MLQA-R groups (the trainer's validation "
        f"split) every {doc.get('eval_every')} steps up to {doc.get('steps')}, one seed per "
        "strategy, the standard profile's other settings "
        "(`python -m hybriddash reproduce --profile learning-curve`; "
        "`reference/learning_curve.json`).",
        "",
    ]
    order = {int(r["step"]): r for r in doc.get("order", [])}
    spread = None
    if curve.empty:  # only the order per step was kept
        lines += ["| step | order |", "|---|---|"]
        lines += [f"| {step} | {o.get('order', '')} |" for step, o in order.items()]
    else:
        means = curve.groupby(["step", "strategy"])["value"].mean().unstack("strategy")
        names = list(means.columns)
        lines.append("| step | " + " | ".join(names) + " | spread | order | stable |")
        lines.append("|---|" + "---|" * len(names) + "---|---|---|")
        for step, row in means.iterrows():
            o = order.get(int(step), {})
            lines.append(
                f"| {int(step)} | "
                + " | ".join(_f(row[n], 4) for n in names)
                + f" | {_f(row.max() - row.min(), 4)} | {o.get('order', '')} | "
                + ("yes" if o.get("stable") else "")
                + " |"
            )
        trained = means.drop(index=0, errors="ignore")
        spread = (trained.max(axis=1) - trained.min(axis=1)) if not trained.empty else None
    budget = doc.get("budget_steps")
    lines += [
        "",
        f"The order of the strategies stops changing after **{budget} steps** "
        "(`hybriddash.reports.study.stable_order_budget`).",
    ]
    orders = [o.get("order") for o in order.values()]
    changes = sum(1 for a, b in zip(orders, orders[1:], strict=False) if a != b)
    if spread is not None:
        lines.append(
            f"After training starts the three curves stay within {_f(spread.max(), 4)} mAP of "
            f"each other (median spread {_f(spread.median(), 4)}), and the order changes "
            f"{changes} times: on one seed and a few hundred held-out questions the strategies are "
            'not told apart on validation, so the "stable" order is not evidence of a '
            "difference; the study's seeds and full benchmarks are."
        )
    if study_steps is not None and budget is not None and study_steps < budget:
        lines.append(
            f"The study trains **{study_steps} steps** per model: the cap of the 5-hour "
            f"budget (plan above), below the {budget} steps the rule asks for: a deviation "
            f"from the plan's rule, reported here beside the verdicts."
        )
    return lines


# ---- deviations --------------------------------------------------------------------


def protocol_deviations(study: pd.DataFrame, *, store: Any = None) -> list[str]:
    """The ways the runs in ``study`` deviate from the paper's protocol, in words."""
    from hybriddash.store import reads

    out = [
        "Training data: the paper trained on machine-translated QA data in 9 languages "
        "(not public). Here models train on one LAReQA benchmark and are evaluated on the "
        "other (zero-shot; languages absent from training measure zero-shot transfer)."
    ]
    if study.empty:
        return out
    bases = sorted({str(x) for x in study["base_model_id"].dropna()})
    if bases:
        out.append(f"Base encoder: {', '.join(bases)}, not the paper's XLM-R or LaBSE.")
    models = reads.list_models(store=store)
    used = models[models["model_id"].isin(study["underlying"])]
    cards_by_model = {
        m: _card(c) for m, c in zip(used["model_id"], used["training_card"], strict=True)
    }
    cards = list(cards_by_model.values())
    configs = [(c or {}).get("config") or {} for c in cards if c]
    if configs:
        steps = sorted({c.get("steps") for c in configs if c.get("steps")})
        batches = sorted({c.get("batch_size") for c in configs if c.get("batch_size")})
        out.append(
            f"Budget: {'/'.join(map(str, steps))} steps x {'/'.join(map(str, batches))} pairs "
            "per model, far below the paper's (batch 100 on an A100, early stopping on "
            "validation loss); frozen layers and bf16 where the profile says so."
        )
    precision = _precision_by_seed(study, cards_by_model)
    if len({p for ps in precision.values() for p in ps}) > 1:
        out.append(
            "Precision follows the machine (bf16 autocast only on a CPU with native bf16; "
            "it moved mAP by at most 0.001 in docs/benchmarks.md): "
            + "; ".join(
                f"seed {seed}: {' and '.join(sorted(ps))}" for seed, ps in sorted(precision.items())
            )
            + ". The study resumed on another machine part-way."
        )
    subsets = sorted({n for n in study["corpus_name"] if "[" in str(n)})
    if subsets:
        out.append(
            f"Evaluation on subsets ({', '.join(subsets)}), not the full benchmarks: rank "
            "distance grows with the pool and is not comparable with the paper's."
        )
    seeds = study[study["strategy"] != "base"].groupby("underlying").size()
    n_seeds = study[study["strategy"] != "base"].groupby("label")["seed"].nunique()
    if len(seeds) and n_seeds.min() < MIN_SEEDS:
        out.append(
            f"Seeds: {int(n_seeds.min())} per strategy; the paper reports one run per "
            f"strategy, the decision rule here needs {MIN_SEEDS}."
        )
    alphas = sorted({float(a) for a in study.loc[study["strategy"] == "hybrid", "alpha"].dropna()})
    if alphas and not any(0.4 <= a <= 0.6 and a != HYBRID_ALPHA for a in alphas):
        out.append(
            f"Alpha grid {', '.join(f'{a:g}' for a in alphas)}: no alpha inside (0.4, 0.6) "
            "besides 0.5, so claim (e) is judged on the nearest swept alphas, which "
            "bracket the paper's interval."
        )
    if (study["correction"] != "").any():
        ran = sorted(set(study["correction"]) - {""})
        text = (
            "Training-free corrections ("
            + ", ".join(ran)
            + ") are not part of the paper; claim (f) is this project's addition."
        )
        # (f) picks the best correction among those the study ran; say which were not
        others = [m for m in CORRECTION_METHODS if m not in ran]
        if others:
            text += (
                f" Its 'best correction of the base' is the best of {', '.join(ran)}: "
                f"{', '.join(others)} (fitted on another corpus's queries or parallel "
                "pairs) did not run in this study; `python -m hybriddash evaluate "
                "--correction` adds them, and the Findings page then uses the best."
            )
        out.append(text)
    return out


def _precision_by_seed(
    study: pd.DataFrame, cards: dict[str, dict[str, Any] | None]
) -> dict[int, set[str]]:
    """Seed -> the training precisions (``bf16 autocast`` / ``float32``) of its models."""
    out: dict[int, set[str]] = {}
    trained = study[study["strategy"] != "base"]
    for model, seed in zip(trained["underlying"], trained["seed"], strict=True):
        config = (cards.get(model) or {}).get("config") or {}
        if "bf16" in config and seed == seed:  # seed NaN: not a study model
            out.setdefault(int(seed), set()).add("bf16 autocast" if config["bf16"] else "float32")
    return out


# ---- the report --------------------------------------------------------------------


def seed_table(study: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers per corpus and role: mean and sd over seeds, number of seeds.

    Columns: ``eval_dataset, label, n_seeds`` and ``<measure>``, ``<measure>_sd`` for
    monolingual, crosslingual, multilingual, rank_distance.
    """
    measures = ["monolingual", "crosslingual", "multilingual", "rank_distance"]
    if study.empty:
        return pd.DataFrame(columns=["eval_dataset", "label", "n_seeds", *measures])
    order = {
        label: i for i, label in enumerate(["base (no training)", "X-X-mono", "X-Y", "Hybrid"])
    }
    g = study.groupby(["study", "label"], sort=False)
    out = g[measures].mean()
    sd = g[measures].std(ddof=1).add_suffix("_sd")
    out = out.join(sd)
    out["n_seeds"] = g.size()
    out = out.reset_index().rename(columns={"study": "eval_dataset"})
    out["_o"] = [(order.get(lab.split(" + ")[0], 10), lab) for lab in out["label"]]
    return out.sort_values(["eval_dataset", "_o"]).drop(columns="_o").reset_index(drop=True)
