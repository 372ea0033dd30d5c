"""How many groups each research-question suite needs (issue 24; rule in docs/results.md,
"The questions study: plan and size", written before any trained model's numbers).

    python bench/questions_subset_sizes.py --store <store with the base's suite runs>

The store must hold the untrained base and the base + center-docs on the four suites at
their default subsets with per-query rows (``evaluate --detail full``). For each suite's
headline statistic H (the questions' rules: a macro average over cells) this prints the
group term of a comparison's standard error, ``se_g = sqrt(G) * sd_g(h_g)``, where
``h_g`` is group g's contribution to H (sum over its queries q of v_q / (C * n_c(q)):
C cells, n_c queries in q's cell) and G the number of groups, computed for:

- ``base``: the base's own values (an upper bound on a difference of two correlated
  models' group noise only when they are uncorrelated, x sqrt(2) reported beside it);
- ``diff``: base + center-docs minus base (two closely related models, as the trained
  strategies are to each other).

The rule: a subset whose group term is below ``T = 0.0025`` (half the seed term's
floor, docs/results.md) gains little from more groups, so the groups needed are
``G * (se_g / T)^2``, rounded up. Numbers only; nothing is written.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

#: Below this group term a suite gains little from more groups (docs/results.md).
THRESHOLD = 0.0025

#: suite -> (dataset id, setting of its headline, value column, cell columns); the value
#: is AP, or accuracy (first relevant at rank 1) for Tatoeba and the bitext rows.
HEADLINES = {
    "tico-19 multilingual mAP": ("tico-19", "multilingual", "ap", ("query_lang",)),
    "xnli cross-lingual mAP": ("xnli", "crosslingual", "ap", ("query_lang", "cand_lang")),
    "xnli multilingual mAP": ("xnli", "multilingual", "ap", ("query_lang",)),
    "tatoeba accuracy (per language, both directions)": (
        "tatoeba",
        "crosslingual",
        "acc",
        ("pair", "query_lang"),
    ),
    "tydiqa monolingual mAP": ("tydiqa-goldp", "monolingual", "ap", ("query_lang",)),
    "tydiqa multilingual mAP": ("tydiqa-goldp", "multilingual", "ap", ("query_lang",)),
}


def group_term(rows: pd.DataFrame, cells: tuple[str, ...]) -> tuple[float, int]:
    """``(se_g, G)`` of the macro average over ``cells`` of ``rows.value``."""
    cell = rows[list(cells)].astype(str).agg("|".join, axis=1)
    n_cell = cell.map(cell.value_counts())
    contribution = rows["value"] / (cell.nunique() * n_cell)
    per_group = contribution.groupby(rows["group_id"]).sum()
    return float(math.sqrt(len(per_group)) * per_group.std(ddof=1)), len(per_group)


def per_language_terms(rows: pd.DataFrame) -> pd.DataFrame:
    """Tatoeba: per language pair, se of the accuracy (mean of both directions) over its
    lines, and the lines it has."""
    per_line = rows.groupby(["pair", "group_id"])["value"].mean()
    out = per_line.groupby(level=0).agg(["std", "size"])
    out["se"] = out["std"] / np.sqrt(out["size"])
    return out


def calibrate(path: str) -> None:
    """The group term of hybrid - X-X-mono, hybrid - X-Y and X-X-mono - X-Y (seed 0, trained
    on the other benchmark) relative to the base's own, per benchmark and setting."""
    from hybriddash.store.db import Store

    models = {"base": "multilingual-e5-small-q4"}
    with Store(path).read() as con:
        frame = con.execute(
            "SELECT r.model_id, r.dataset_id, q.query_id, q.query_lang, q.cand_lang, "
            "q.group_id, q.setting, q.ap FROM query_metrics q JOIN runs r USING (run_id) "
            "WHERE r.correction IS NULL AND r.dataset_id IN ('xquad-r', 'mlqa-r') AND "
            "(r.model_id = ? OR regexp_matches(r.model_id, '^trained/repro-standard-"
            "(xquad|mlqa)-r-(mono|cross|hybrid)-s0$'))",
            [models["base"]],
        ).df()
    ratios = []
    for dataset, train in (("xquad-r", "mlqa-r"), ("mlqa-r", "xquad-r")):
        for setting, cells in (
            ("multilingual", ("query_lang",)),
            ("crosslingual", ("query_lang", "cand_lang")),
            ("monolingual", ("query_lang",)),
        ):
            part = frame[(frame["dataset_id"] == dataset) & (frame["setting"] == setting)]
            wide = part.pivot_table(
                index=["query_id", "cand_lang", "query_lang", "group_id"],
                columns="model_id",
                values="ap",
            ).reset_index()
            base, _ = group_term(wide.assign(value=wide[models["base"]]), cells)
            for a, b in (("hybrid", "mono"), ("hybrid", "cross"), ("mono", "cross")):
                ma, mb = (f"trained/repro-standard-{train}-{m}-s0" for m in (a, b))
                if ma not in wide or mb not in wide:
                    continue
                diff, _ = group_term(wide.assign(value=wide[ma] - wide[mb]), cells)
                ratios.append(diff / base)
                print(
                    f"{dataset} {setting}: {a} - {b} {diff:.4f} = {diff / base:.2f} x base {base:.4f}"
                )
    if ratios:
        print(f"ratio range {min(ratios):.2f}-{max(ratios):.2f}, median {np.median(ratios):.2f}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="DuckDB store with the base's suite runs")
    parser.add_argument(
        "--calibrate",
        help="a store with the standard study's seed-0 runs on XQuAD-R / MLQA-R with per-query "
        "rows: prints a trained-vs-trained difference's group term relative to the base's",
    )
    args = parser.parse_args(argv)
    if args.calibrate:
        calibrate(args.calibrate)
    from hybriddash.store.db import Store

    store = Store(args.store)
    with store.read() as con:
        frame = con.execute(
            "SELECT r.dataset_id, coalesce(r.correction, '') AS correction, q.query_id, "
            "q.query_lang, q.cand_lang, q.group_id, q.setting, q.ap, q.first_relevant_rank "
            "FROM query_metrics q JOIN runs r USING (run_id) "
            "WHERE r.dataset_id IN ('tico-19', 'xnli', 'tatoeba', 'tydiqa-goldp') "
            "AND r.model_id LIKE 'multilingual-e5-small-q4%'"
        ).df()
    frame["acc"] = (frame["first_relevant_rank"] == 1).astype(float)
    frame["pair"] = frame["group_id"].str.split(":").str[0]
    print(f"threshold T = {THRESHOLD}: groups needed = G * (se_g / T)^2\n")
    print("| suite headline | G | se_g base | x sqrt 2 | se_g diff | G needed (diff) |")
    print("|---|---|---|---|---|---|")
    for name, (dataset, setting, column, cells) in HEADLINES.items():
        part = frame[(frame["dataset_id"] == dataset) & (frame["setting"] == setting)]
        if part.empty:
            print(f"| {name} | (no rows) | | | | |")
            continue
        keys = ["query_id", "cand_lang"]
        base = part[part["correction"] == ""].set_index(keys)
        other = part[part["correction"] == "center-docs"].set_index(keys)
        base = base.assign(value=base[column])
        se_base, groups = group_term(base.reset_index(), cells)
        diff = base.assign(value=other[column].reindex(base.index) - base[column]).reset_index()
        se_diff, _ = group_term(diff.dropna(subset=["value"]), cells)
        needed = math.ceil(groups * (se_diff / THRESHOLD) ** 2)
        print(
            f"| {name} | {groups:,} | {se_base:.4f} | {se_base * math.sqrt(2):.4f} | "
            f"{se_diff:.4f} | {needed:,} |"
        )
    tat = frame[(frame["dataset_id"] == "tatoeba") & (frame["setting"] == "crosslingual")]
    if not tat.empty:
        base = tat[tat["correction"] == ""].set_index(["query_id", "cand_lang"])
        other = tat[tat["correction"] == "center-docs"].set_index(["query_id", "cand_lang"])
        diff = base.assign(value=other["acc"].reindex(base.index) - base["acc"]).reset_index()
        terms = per_language_terms(diff)
        own = per_language_terms(base.assign(value=base["acc"]).reset_index())
        print(
            f"\nTatoeba, the base alone: per-line sd of the accuracy, median over languages "
            f"{own['std'].median():.3f} (x 0.4 = {0.4 * own['std'].median():.3f})"
        )
        print(
            "Tatoeba, per language (accuracy difference center-docs - base, mean of both "
            f"directions): {len(terms)} languages; lines per language: median "
            f"{terms['size'].median():.0f}, min {terms['size'].min()}, max {terms['size'].max()}; "
            f"per-line sd of the difference: median {terms['std'].median():.3f}; "
            f"se per language: median {terms['se'].median():.4f}, max {terms['se'].max():.4f}"
        )
        for cap in (100, 200, 300, 500, 1000):
            capped = np.sqrt(terms["std"] ** 2 / np.minimum(terms["size"], cap))
            print(
                f"  at most {cap} lines per language: se per language median "
                f"{capped.median():.4f}, max {capped.max():.4f}; "
                f"{int(np.minimum(terms['size'], cap).sum()):,} lines in all"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
