"""``hybriddash import``: validate a user's corpus and store it as ``upload:<name>``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a multilingual corpus (SQuAD/LAReQA JSON, BEIR, parallel table)",
        description=__doc__
        + "\n\nFormats: SQuAD/LAReQA JSON files, one per language (with or without "
        "sentences/sentence_breaks); a BEIR folder or zip (corpus.jsonl, queries.jsonl, "
        "qrels/*.tsv, each record with a 'lang'); a parallel table (.csv, .tsv, .jsonl, "
        ".parquet) with columns group_id, lang, question, answer [, context, article, "
        "distractor]. Every problem is listed with its file, line and field; nothing is "
        "stored unless the whole upload is valid.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or .zip archives")
    parser.add_argument(
        "--name",
        default=None,
        help="dataset name: it becomes upload:<name> (default: the first file's stem)",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        default="auto",
        choices=["auto", "squad", "beir", "table"],
        help="input format (default: detected from the file names)",
    )
    parser.add_argument(
        "--max-mb",
        type=float,
        help="size limit in MB (default: $HYBRIDDASH_UPLOAD_MAX_MB or 200)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an upload of that name")
    parser.add_argument("--check", action="store_true", help="validate only; store nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from hybriddash.data.upload import UploadRejected, validate_upload
    from hybriddash.store.uploads import import_upload

    max_bytes = None if args.max_mb is None else int(args.max_mb * 1024 * 1024)
    try:
        if args.check:
            checked = validate_upload(args.paths, args.name, fmt=args.fmt, max_bytes=max_bytes)
            result = {
                "dataset_id": f"upload:{checked.name}",
                "format": checked.format,
                "valid": True,
                "languages": checked.corpus.languages,
                "n_queries": len(checked.corpus.queries),
                "n_candidates": len(checked.corpus.candidates),
                "notices": checked.notices,
            }
        else:
            imported = import_upload(
                args.paths, args.name, fmt=args.fmt, max_bytes=max_bytes, overwrite=args.overwrite
            )
            result = {**asdict(imported), "path": str(imported.path)}
    except UploadRejected as exc:
        print(f"hybriddash: {exc}", file=sys.stderr)
        for notice in exc.notices:
            print(f"  note: {notice}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    if args.check:
        print(f"valid {result['format']} upload (nothing stored)")
    else:
        print(
            f"imported {result['dataset_id']} ({result['format']}, stored as "
            f"{result['stored_as']}, fingerprint {result['fingerprint']}) -> {result['path']}"
        )
    print(
        f"{result['n_queries']} queries, {result['n_candidates']} candidates, languages: "
        f"{', '.join(result['languages'])}"
    )
    for notice in result["notices"]:
        print(f"note: {notice}")
    if not args.check:
        print(
            f"evaluate it with: python -m hybriddash evaluate --dataset {result['dataset_id']} "
            "--model <model>"
        )
    return 0
