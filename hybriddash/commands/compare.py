"""``hybriddash compare``: paired significance tests between two models' runs."""

from __future__ import annotations

import argparse
import math


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="paired significance tests between two models on the same queries",
        description="Paired randomization (sign-flip) test and paired t-test of model A "
        "against model B over the same queries, per headline setting (mono / cross / multi "
        "/ rank distance) and per language pair, Holm-Bonferroni corrected within each "
        "family; with mean difference, Cohen's d_z and win/tie/loss counts.",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="corpus name (sample, upload:<name>, xquad-r[en,de]) or fingerprint",
    )
    parser.add_argument(
        "--models", required=True, help="two model ids: A,B (differences are A - B)"
    )
    parser.add_argument(
        "--measure",
        default="ap",
        choices=["ap", "ndcg_at_10", "recall_at_100"],
        help="per-query measure",
    )
    parser.add_argument("--resamples", type=int, default=10_000, help="randomization resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pairs", action="store_true", help="headline settings only")
    parser.add_argument("--alpha", type=float, default=0.05, help="level for 'significant' (Holm)")
    parser.add_argument("--out", help="also write every test as CSV (.csv) or Parquet (.parquet)")
    parser.set_defaults(func=cmd_compare)


def _p(value: float) -> str:
    return "nan" if math.isnan(value) else (f"{value:.2e}" if value < 1e-3 else f"{value:.4f}")


def cmd_compare(args: argparse.Namespace) -> int:
    from hybriddash.reports.significance import compare_models

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if len(models) != 2:
        raise ValueError(f"--models: expected exactly two model ids A,B, got {models}")
    try:
        result = compare_models(
            args.dataset,
            models[0],
            models[1],
            measure=args.measure,
            n_resamples=args.resamples,
            seed=args.seed,
            pairs=not args.no_pairs,
        )
    except LookupError as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    if result.empty:
        raise ValueError(f"no per-query results to compare on {args.dataset!r}")
    print(f"{models[0]} (A) vs {models[1]} (B) on {args.dataset}; difference = A - B")
    header = (
        f"{'test':<24} {'n':>6} {'mean A':>8} {'mean B':>8} {'diff':>8} {'d_z':>7} "
        f"{'W/T/L':>13} {'p perm':>9} {'p t':>9} {'p perm (Holm)':>14}"
    )
    for family in ("headline", "pair"):
        rows = result[result["family"] == family]
        if rows.empty:
            continue
        print()
        print(header)
        print("-" * len(header))
        for _, r in rows.iterrows():
            name = (
                r["setting"] if family == "headline" else f"{r['query_lang']} -> {r['cand_lang']}"
            )
            wtl = f"{r['wins']}/{r['ties']}/{r['losses']}"
            sig = " *" if r["p_perm_holm"] < args.alpha else ""
            print(
                f"{name:<24} {r['n']:>6} {r['mean_a']:>8.4f} {r['mean_b']:>8.4f} "
                f"{r['mean_diff']:>+8.4f} {r['cohen_dz']:>7.2f} {wtl:>13} {_p(r['p_perm']):>9} "
                f"{_p(r['p_ttest']):>9} {_p(r['p_perm_holm']):>14}{sig}"
            )
    print(
        f"\n* Holm-corrected randomization p < {args.alpha}. Rank distance: lower is better "
        "(a win = lower); the cross-lingual headline pairs each query's mean over its other "
        "languages."
    )
    if args.out:
        if args.out.endswith(".parquet"):
            result.to_parquet(args.out, index=False)
        else:
            result.to_csv(args.out, index=False)
        print(f"wrote {len(result)} tests to {args.out}")
    return 0
