"""``hybriddash trec``: write a stored run as a TREC run file plus qrels."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trec",
        help="export a run as TREC run + qrels (for trec_eval, pytrec_eval, ranx, ir_measures)",
        description="Write <run_id>.run (query_id Q0 candidate_id rank score tag) and "
        "<run_id>.qrels (query_id 0 candidate_id 1) for a stored run. By default each "
        "query's list goes down to its deepest relevant candidate, so trec_eval's map over "
        "the files equals the stored full-depth mAP. Give --run, or --dataset and --model "
        "for that model's newest run on the dataset.",
    )
    parser.add_argument("--run", help="run id (see the Overview or `compare`)")
    parser.add_argument("--dataset", help="corpus name or fingerprint (with --model)")
    parser.add_argument("--model", help="model id (with --dataset)")
    parser.add_argument(
        "--cand-lang",
        help="restrict candidates and judgements to one language (default: all, pooled)",
    )
    parser.add_argument("--depth", type=int, help="cut every list at this rank (AP@depth)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.set_defaults(func=cmd_trec)


def cmd_trec(args: argparse.Namespace) -> int:
    from hybriddash.reports import tables
    from hybriddash.reports.trec import write_trec

    run_id = args.run
    if run_id is None:
        if not (args.dataset and args.model):
            raise ValueError("give --run, or --dataset and --model")
        corpus_fp, name = tables.resolve_corpus(args.dataset)
        runs = tables.latest_runs(corpus_fp, [args.model])
        if runs.empty:
            raise ValueError(f"model {args.model!r} has no run on {name}")
        run_id = str(runs["run_id"].iloc[0])
    run_path, qrels_path = write_trec(run_id, args.out, cand_lang=args.cand_lang, depth=args.depth)
    print(f"wrote {run_path} and {qrels_path}")
    return 0
