"""Alignment projections and statistics for the pieces of a result bundle (issue 25).

    # compute (needs the models' weights here) into a staging folder, one folder a piece
    python bench/alignment_bundle.py write --bundle reference \
        --pieces standard-xquad-r-base standard-mlqa-r-base --out /work/staging/alignment
    # add what was staged to the bundle (copies the files, lists them in the manifest)
    python bench/alignment_bundle.py add --bundle reference --from /work/staging/alignment

``write`` uses the configured store (``HYBRIDDASH_ARTIFACTS`` / ``HYBRIDDASH_STORE``),
which must hold the pieces' runs (a fresh store loads ``reference/`` by itself) and the
models' weights (the base model is provisioned offline; trained models must be in
``<artifacts>/models/trained``). See :mod:`hybriddash.reports.alignment_shipped`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="compute the files of pieces into --out/<piece>/")
    write.add_argument("--bundle", type=Path, required=True)
    write.add_argument("--pieces", nargs="+", required=True)
    write.add_argument("--out", type=Path, required=True)
    add = sub.add_parser("add", help="add staged files (--from/<piece>/) to the bundle")
    add.add_argument("--bundle", type=Path, required=True)
    add.add_argument("--from", dest="source", type=Path, required=True)
    args = parser.parse_args(argv)

    from hybriddash.reports import alignment_shipped as shipped

    if args.command == "add":
        for folder in sorted(p for p in args.source.iterdir() if p.is_dir()):
            files = shipped.add_piece_files(args.bundle, folder.name, folder)
            rows = {
                name: files[name]["rows"] for name in (shipped.PROJECTION_FILE, shipped.STATS_FILE)
            }
            print(f"{folder.name}: added {rows}")
        return 0
    from hybriddash.store.bundle import ensure_reference
    from hybriddash.store.db import Store

    store = Store()
    ensure_reference(store)
    for key in args.pieces:
        started = time.perf_counter()
        pairs = shipped.piece_pairs(args.bundle, key)
        files = shipped.write_piece_alignment(
            args.bundle, key, pairs, store=store, out_dir=args.out / key
        )
        print(
            f"{key}: {pairs} -> {args.out / key} "
            f"({files[shipped.PROJECTION_FILE]['rows']} points, "
            f"{files[shipped.STATS_FILE]['rows']} language pairs) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
