"""``hybriddash reproduce``: mono vs cross vs hybrid batches, cross-benchmark, into docs/results.md."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from hybriddash.training.reproduce import PROFILES

    parser = subparsers.add_parser(
        "reproduce",
        help="train the three batch strategies and compare them (writes docs/results.md)",
        description="The reproduction protocol of Elmahdy et al. (2024) with public data: "
        "X-X-mono, X-Y and hybrid batches from the same base and budget, trained on MLQA-R "
        "and evaluated on XQuAD-R, and trained on XQuAD-R and evaluated on MLQA-R, plus the "
        "untrained base. Every run is stored for the dashboard; trained models and stored "
        "runs with the same configuration are reused, so an interrupted reproduction "
        "resumes. Profiles: " + "; ".join(f"{name}: {p.note}" for name, p in PROFILES.items()),
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument(
        "--base", default="multilingual-e5-small-q4", help="base model for every strategy"
    )
    parser.add_argument(
        "--results",
        help="Markdown file to write (default: docs/results.md in the repository)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from hybriddash.config import REPO_ROOT, data_dir
    from hybriddash.training.reproduce import render_results, run_reproduction

    data = data_dir()
    missing = [d for d in ("xquad-r", "mlqa-r") if data is None or not (data / d).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"reproduce needs the benchmark folders {missing} under the data folder "
            f"({data or 'not configured'}); set --data-dir or HYBRIDDASH_DATA"
        )
    command = "python -m hybriddash " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if not sys.argv[1:] or "reproduce" not in sys.argv[1:]:
        command = f"python -m hybriddash reproduce --profile {args.profile}"
    result = run_reproduction(
        args.profile,
        base=args.base,
        command=command,
        progress=not args.quiet,
        log=lambda line: print(line, flush=True),
    )
    path = Path(args.results) if args.results else REPO_ROOT / "docs" / "results.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_results(result) + "\n"
    # keep the corrections section (bench/corrections_results.py) of an existing file
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    start, end = "<!-- corrections:start -->", "<!-- corrections:end -->"
    if start in old and end in old:
        text += "\n" + start + old.split(start, 1)[1].split(end, 1)[0] + end + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({result.wall_seconds / 60:.1f} min)")
    return 0
