"""``python -m hybriddash``: the command-line interface.

Each command group lives in :mod:`hybriddash.commands` as a module with a
``register(subparsers)`` function that adds its parser and sets ``func`` on it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# command modules, in the order they are listed by --help
COMMAND_MODULES = (
    "data",
    "models",
    "evaluate",
    "train",
    "reproduce",
    "bundle",
    "importer",
    "export",
    "trec",
    "compare",
    "jobs",
)


class UserError(Exception):
    """An error caused by input; printed as one clear line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybriddash",
        description="Multilingual retrieval: evaluate encoders per language pair, measure "
        "language bias, train with mono / cross / hybrid batches.",
    )
    parser.add_argument(
        "--data-dir",
        help="folder with xquad-r/, mlqa-r/, mlqa-train/ (default: $HYBRIDDASH_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--artifacts", help="folder for models, caches and the store (default: ./artifacts)"
    )
    parser.add_argument(
        "--store", help="DuckDB store file (default: <artifacts>/hybriddash.duckdb)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"hybriddash.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"hybriddash.commands.{name}":
                continue  # command group not present in this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, variable in (
        ("data_dir", "HYBRIDDASH_DATA"),
        ("artifacts", "HYBRIDDASH_ARTIFACTS"),
        ("store", "HYBRIDDASH_STORE"),
    ):
        value = getattr(args, option, None)
        if value:
            os.environ[variable] = value
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as exc:
        print(f"hybriddash: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hybriddash: interrupted; nothing half-written was stored", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
