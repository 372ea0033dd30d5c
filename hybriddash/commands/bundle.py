"""``hybriddash bundle``: verify result bundles and merge the bundles of a sharded study."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bundle",
        help="verify, merge, slim or drop pieces of result bundles (e.g. the shards of a study)",
        description="Result bundles hold a study's results (manifest.json + Parquet, no "
        "weights). 'merge' joins the bundles that the tasks of a sharded study wrote "
        "(reproduce --shard i/n --bundle DIR_i) into one; 'verify' checks every sha256.",
    )
    sub = parser.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    merge = sub.add_parser(
        "merge",
        help="merge bundles into --out (which may already be a bundle, e.g. reference/)",
        description="Verify every sha256 of every input, then copy their pieces and corpora "
        "into --out. Refused, with nothing written: a corrupt input, two studies of other "
        "budgets, or one piece key with different content in two bundles. Pieces already "
        "in --out with the same content are kept as they are (a re-merge does nothing).",
    )
    merge.add_argument("inputs", nargs="+", metavar="BUNDLE", help="bundle folders to merge")
    merge.add_argument("--out", required=True, help="the merged bundle folder")
    merge.set_defaults(func=_merge)
    slim = sub.add_parser(
        "slim",
        help="write a bundle's pieces again at a coarser detail level (smaller), into --out",
        description="Load the bundle's rows into a temporary store and export every piece "
        "again with each run at most at --detail (full > verdicts > headline) and top-k lists "
        "cut at --topk-depth. Nothing is recomputed; --out must not be a bundle yet. A corpus "
        "whose runs are all at 'headline' ships without texts.",
    )
    slim.add_argument("folder", help="bundle folder to read")
    slim.add_argument("--out", required=True, help="new bundle folder")
    slim.add_argument(
        "--detail", required=True, choices=["full", "verdicts", "headline"], help="coarsest level"
    )
    slim.add_argument("--topk-depth", type=int, default=None, help="top-k rows kept per query")
    slim.add_argument(
        "--pieces", default="", help="comma-separated shell patterns of piece keys (default: all)"
    )
    slim.set_defaults(func=_slim)
    drop = sub.add_parser(
        "drop",
        help="take pieces out of a bundle (their inputs changed), saying why",
        description="Remove the named pieces, and the corpora no other piece uses, from the "
        "bundle; the manifest records each dropped piece with --why and the date. A study "
        "resumed on the bundle computes them again. Refused, with nothing changed: an "
        "unknown piece or no reason.",
    )
    drop.add_argument("folder", help="bundle folder")
    drop.add_argument("pieces", nargs="+", metavar="PIECE", help="piece keys to remove")
    drop.add_argument("--why", required=True, help="why they leave (kept in the manifest)")
    drop.set_defaults(func=_drop)
    verify = sub.add_parser("verify", help="check every file of a bundle against its manifest")
    verify.add_argument("folder", help="bundle folder")
    verify.set_defaults(func=_verify)


def _merge(args: argparse.Namespace) -> int:
    from hybriddash.cli import UserError
    from hybriddash.store.bundle import BundleError
    from hybriddash.store.bundle_merge import merge_bundles

    try:
        summary = merge_bundles(args.inputs, args.out)
    except BundleError as exc:
        raise UserError(f"bundle merge refused, {args.out} left as it was: {exc}") from exc
    manifest = summary.manifest
    print(
        f"merged {len(summary.inputs)} bundle(s) into {summary.out}: "
        f"{len(summary.added)} piece(s) added, {len(summary.identical)} already there "
        f"(identical), {len(summary.corpora_added)} corpus(es) added; "
        f"{len(manifest.get('pieces', {}))} pieces, {manifest.get('total_bytes', 0) / 1e6:.1f} MB"
    )
    plan = manifest.get("plan") or []
    if plan:
        missing = [k for k in plan if k not in manifest.get("pieces", {})]
        print(
            "the study is complete"
            if not missing
            else f"{len(missing)} piece(s) of the plan not yet in it, e.g. {', '.join(missing[:3])}"
        )
    return 0


def _slim(args: argparse.Namespace) -> int:
    from hybriddash.cli import UserError
    from hybriddash.store.bundle import BundleError
    from hybriddash.store.bundle_slim import slim_bundle

    patterns = [p.strip() for p in args.pieces.split(",") if p.strip()]
    try:
        manifest = slim_bundle(
            args.folder, args.out, detail=args.detail, topk_depth=args.topk_depth, pieces=patterns
        )
    except BundleError as exc:
        raise UserError(f"bundle slim refused: {exc}") from exc
    print(
        f"{args.out}: {len(manifest.get('pieces', {}))} pieces at most at '{args.detail}', "
        f"{manifest.get('total_bytes', 0) / 1e6:.1f} MB"
    )
    return 0


def _drop(args: argparse.Namespace) -> int:
    from hybriddash.cli import UserError
    from hybriddash.store.bundle import BundleError
    from hybriddash.store.bundle_drop import drop_pieces

    try:
        summary = drop_pieces(args.folder, args.pieces, why=args.why)
    except BundleError as exc:
        raise UserError(f"bundle drop refused, {args.folder} left as it was: {exc}") from exc
    print(
        f"{args.folder}: dropped {len(summary.pieces)} piece(s) ({', '.join(summary.pieces)}) "
        f"and {len(summary.corpora)} corpus(es) no other piece uses; "
        f"{len(summary.manifest.get('pieces', {}))} pieces left"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from hybriddash.cli import UserError
    from hybriddash.store.bundle import BundleError, verify_bundle

    try:
        manifest = verify_bundle(args.folder)
    except BundleError as exc:
        raise UserError(str(exc)) from exc
    files = sum(
        len(e.get("files", {})) for s in ("pieces", "corpora") for e in manifest.get(s, {}).values()
    )
    print(
        f"{args.folder}: {len(manifest.get('pieces', {}))} pieces, "
        f"{len(manifest.get('corpora', {}))} corpora, {files} files, every sha256 matches"
    )
    return 0
