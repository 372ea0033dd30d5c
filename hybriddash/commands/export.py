"""``hybriddash export``: write a comparison table as CSV, Markdown, LaTeX or Parquet."""

from __future__ import annotations

import argparse
from typing import Any


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
        help="corpus name (sample, upload:<name>, xquad-r[en,de]) or fingerprint",
    )
    parser.add_argument("--models", help="comma-separated model ids, e.g. A,B,C")
    parser.add_argument(
        "--table",
        choices=["headline", "pairs", "shares", "queries", "bitext", "probe"],
    )
    parser.add_argument(
        "--question",
        choices=["Q1", "Q2", "Q3", "Q4", "Q5"],
        help="instead of --dataset/--models/--table: a research question's comparison rows "
        "and verdict (issue 24), decided from the store's questions runs",
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

    from hybriddash.reports.export import build_export, format_for

    if args.out == "-":
        fmt = args.fmt or "md"
        if fmt == "parquet":
            raise ValueError("Parquet cannot go to stdout; give --out FILE.parquet")
    else:
        fmt = format_for(args.out, args.fmt)
    if args.question:
        from hybriddash.reports.study.question_export import question_table
        from hybriddash.reports.study.question_verdicts import question_verdicts

        table = question_table(question_verdicts(questions=[args.question]), args.question)
        return _output(table, fmt, args.out, args.question)
    missing = [f"--{n}" for n in ("dataset", "models", "table") if not getattr(args, n)]
    if missing:
        raise ValueError(f"export needs {', '.join(missing)} (or --question)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ValueError(f"--models: no model id in {args.models!r}")
    if args.baseline and args.baseline not in models:
        raise ValueError(f"--baseline {args.baseline!r} must be one of --models {models}")
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
    return _output(table, fmt, args.out, f"{args.table} table")


def _output(table: Any, fmt: str, out: str, what: str) -> int:
    """Write ``table`` to ``out`` ('-': stdout) in ``fmt``."""
    import sys

    from hybriddash.reports.export import render, write_export

    if out == "-":
        sys.stdout.write(render(table, fmt).decode("utf-8"))
        return 0
    path = write_export(table, fmt, out)
    print(f"wrote {what} ({len(table.data)} rows, {fmt}) to {path}")
    return 0
