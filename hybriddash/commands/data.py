"""``hybriddash data``: list, inspect and download datasets."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from hybriddash.languages import normalize_language


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data", help="list, inspect and download datasets", description=__doc__
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    parser.set_defaults(func=lambda _args: parser.print_help() or 0)

    p_list = sub.add_parser("list", help="datasets, availability, languages and sizes")
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.add_argument(
        "--counts",
        action="store_true",
        help="load every available dataset to give exact per-language counts (a few seconds)",
    )
    p_list.set_defaults(func=cmd_list)

    p_show = sub.add_parser("show", help="queries and candidates per language of one dataset")
    p_show.add_argument(
        "dataset",
        help="a dataset id (data list) with an optional selector, e.g. tico-19[domain=pubmed]",
    )
    p_show.add_argument("--langs", help="comma-separated languages to keep, e.g. en,de,zh")
    p_show.add_argument("--articles", type=int, help="keep only the first N articles")
    p_show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_show.set_defaults(func=cmd_show)

    p_dl = sub.add_parser(
        "download", help="fetch a benchmark at its pinned commit and verify its sha256"
    )
    p_dl.add_argument(
        "name",
        help="xquad-r, mlqa-r, mlqa-train, tico-19, xnli, tatoeba, tydiqa-goldp, or miracl "
        "(with --langs: topics, qrels and judged passages from its Hugging Face home into a "
        "BEIR folder)",
    )
    p_dl.add_argument("--langs", help="miracl: comma-separated languages, e.g. sw,te,yo")
    p_dl.add_argument("--split", default="dev", help="miracl: topics/qrels split (default dev)")
    p_dl.add_argument(
        "--dest",
        help="folder to put <name>/ in (default: the data folder, else <artifacts>/data)",
    )
    p_dl.add_argument(
        "--force", action="store_true", help="replace an existing folder that does not verify"
    )
    p_dl.set_defaults(func=cmd_download)


def _parse_langs(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [normalize_language(part) for part in value.split(",") if part.strip()]


def cmd_list(args: argparse.Namespace) -> int:
    from hybriddash.config import data_dir
    from hybriddash.data.datasets import list_datasets

    infos = list_datasets(with_counts=args.counts)
    if args.json:
        print(json.dumps([asdict(i) for i in infos], ensure_ascii=False, indent=2))
        return 0
    configured = data_dir()
    print(f"data folder: {configured if configured else '(none configured: set HYBRIDDASH_DATA)'}")
    header = (
        f"{'id':<22} {'kind':<10} {'available':<9} {'queries':>8} {'candidates':>10}  languages"
    )
    print(header)
    print("-" * len(header))
    for i in infos:
        nq = "" if i.n_queries is None else str(i.n_queries)
        nc = "" if i.n_candidates is None else str(i.n_candidates)
        print(
            f"{i.id:<22} {i.kind:<10} {'yes' if i.available else 'no':<9} {nq:>8} {nc:>10}  "
            f"{','.join(i.languages)}"
        )
        if i.documented:
            print(f"{'':<22} documented: {i.documented}")
        if i.counts:
            per = "  ".join(
                f"{lang} {c['queries']}/{c['candidates']}" for lang, c in i.counts.items()
            )
            print(f"{'':<22} per language (queries/candidates): {per}")
        if not i.available and i.kind != "upload":
            print(f"{'':<22} not found: run `python -m hybriddash data download {i.id}`")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hybriddash.data.datasets import load_dataset

    corpus = load_dataset(args.dataset, langs=_parse_langs(args.langs), articles=args.articles)
    counts = corpus.counts()
    summary = {
        "dataset": corpus.name,
        "fingerprint": corpus.fingerprint,
        "articles": len(corpus.articles()),
        "queries": len(corpus.queries),
        "candidates": len(corpus.candidates),
        "counts": counts,
        "notes": corpus.notes,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"{corpus.name}  (fingerprint {corpus.fingerprint}, {summary['articles']} articles)")
    print(f"{'lang':<6} {'queries':>8} {'candidates':>10}")
    for lang, c in counts.items():
        print(f"{lang:<6} {c['queries']:>8} {c['candidates']:>10}")
    print(f"{'total':<6} {len(corpus.queries):>8} {len(corpus.candidates):>10}")
    for note in corpus.notes:
        print(f"note: {note}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hybriddash.cli import UserError
    from hybriddash.config import data_dir
    from hybriddash.data.download import DownloadError, download_dataset

    if args.name == "miracl":
        return _download_miracl(args)
    try:
        target = download_dataset(
            args.name,
            Path(args.dest) if args.dest else None,
            force=args.force,
            log=lambda msg: print(msg, file=sys.stderr),
        )
    except DownloadError as exc:
        raise UserError(str(exc)) from exc
    configured = data_dir()
    if configured is None or configured != target.parent.resolve():
        print(
            f"to use it, set HYBRIDDASH_DATA={target.parent} (or pass --data-dir {target.parent})"
        )
    return 0


def _download_miracl(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hybriddash.cli import UserError
    from hybriddash.data.download import DownloadError
    from hybriddash.data.miracl import download_miracl

    if not args.langs:
        raise UserError("data download miracl needs --langs (e.g. --langs sw,te,yo)")
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    try:
        target = download_miracl(
            langs,
            Path(args.dest) if args.dest else None,
            split=args.split,
            log=lambda msg: print(msg, file=sys.stderr),
        )
    except (DownloadError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    print(
        f"{target}: BEIR folder; import it with `python -m hybriddash import {target} --name miracl`"
    )
    return 0
