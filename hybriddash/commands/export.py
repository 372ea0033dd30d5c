"""``hybriddash export``: write a comparison table as CSV, Markdown, LaTeX or Parquet."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a comparison table (headline, pairs, shares, queries)",
        description="Write the table a dashboard page shows, from the same store query: "
        "headline (models x mono/cross/multi/rank distance), pairs (mAP per language "
        "pair), shares (top-k language shares), queries (per-query results). CSV and "
        "Parquet hold raw values and p-values; Markdown and LaTeX (booktabs) bold the best "
        "value and mark significant differences from the baseline, with a legend.",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="corpus name (sample, upload:<name>, xquad-r[en,de]) or fingerprint",
    )
    parser.add_argument("--models", required=True, help="comma-separated model ids, e.g. A,B,C")
    parser.add_argument(
        "--table",
        required=True,
        choices=["headline", "pairs", "shares", "queries", "bitext", "probe"],
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=["csv", "md", "latex", "parquet"],
        help="output format (default: from the --out suffix: .csv .md .tex .parquet)",
    )
    parser.add_argument("--out", required=True, help="output file ('-' for stdout, text formats)")
    parser.add_argument(
        "--baseline", help="model the significance markers compare with (default: first)"
    )
    parser.add_argument("--k", type=int, default=10, help="k of the shares table (default 10)")
    parser.add_argument(
        "--no-significance", action="store_true", help="skip the paired tests (faster)"
    )
    parser.add_argument(
        "--resamples", type=int, default=10_000, help="randomization-test resamples (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomization test")
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    import sys

    from hybriddash.reports.export import build_export, format_for, render, write_export

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ValueError(f"--models: no model id in {args.models!r}")
    if args.baseline and args.baseline not in models:
        raise ValueError(f"--baseline {args.baseline!r} must be one of --models {models}")
    if args.out == "-":
        fmt = args.fmt or "md"
        if fmt == "parquet":
            raise ValueError("Parquet cannot go to stdout; give --out FILE.parquet")
    else:
        fmt = format_for(args.out, args.fmt)
    try:
        table = build_export(
            args.table,
            args.dataset,
            models,
            baseline=args.baseline,
            k=args.k,
            significance=not args.no_significance,
            n_resamples=args.resamples,
            seed=args.seed,
        )
    except LookupError as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    if args.out == "-":
        sys.stdout.write(render(table, fmt).decode("utf-8"))
        return 0
    path = write_export(table, fmt, args.out)
    print(f"wrote {args.table} table ({len(table.data)} rows, {fmt}) to {path}")
    return 0
