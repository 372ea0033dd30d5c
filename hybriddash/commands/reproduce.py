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
    parser.add_argument(
        "--bundle",
        help="study profiles (standard): the result bundle each finished model is written "
        "to and a restarted study resumes from (default: reference/ in the repository)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        help="study profiles: stop after this many newly finished models (resume later)",
    )
    parser.add_argument(
        "--pieces",
        help="study profiles: run only the pieces whose keys match these comma-separated "
        "shell patterns (e.g. 'repro-standard-xquad-r-*-s3,repro-standard-xquad-r-*-s4')",
    )
    parser.add_argument(
        "--shard",
        help="study profiles: run only shard i of n (i/n, 1-based) of the plan, e.g. "
        "--shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT with --bundle per task",
    )
    parser.add_argument(
        "--shared-bundle",
        help="questions profile: the bundle of the study it shares models with, which gets "
        "the XQuAD-R piece of a shared model when it lacks it (default: reference/; "
        "'none': leave it alone)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="override the profile's training steps per model (e.g. the learning curve's "
        "budget); a study bundle must keep one budget",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="study profiles: train nothing; write the results file from the bundle as it "
        "is now (a study still running is reported as in progress, with what is left)",
    )
    parser.add_argument(
        "--readme",
        help="study profiles: Markdown file whose results section (between <!-- "
        "study-results:start/end --> markers) is rewritten with the verdicts and headline "
        "numbers (default: the repository's README.md when --results is not given)",
    )
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
    from dataclasses import replace

    from hybriddash.training.reproduce import PROFILES

    profile = PROFILES[args.profile]
    if args.steps:
        profile = replace(profile, steps=args.steps)
    if profile.name == "learning-curve":
        return _learning_curve(args, profile)
    if profile.alpha_sweep or profile.suites:
        return _study(args, profile, command)
    result = run_reproduction(
        profile,
        base=args.base,
        command=command,
        progress=not args.quiet,
        log=lambda line: print(line, flush=True),
    )
    path = Path(args.results) if args.results else REPO_ROOT / "docs" / "results.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        render_results(result)
        + "\n"
        + _kept_sections(
            path, ("learning_curve", "corrections", "study_rerun", *QUESTIONS_SECTIONS)
        )
    )
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({result.wall_seconds / 60:.1f} min)")
    return 0


def _parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``; a clear error for anything else."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected i/n, e.g. 1/4") from None
    if not (n >= 1 and 1 <= i <= n):
        raise ValueError(f"--shard {text!r}: i must be between 1 and n")
    return i, n


def _study(args: argparse.Namespace, profile, command: str) -> int:
    """A study profile: resumable, one bundle piece per finished model, then the report."""
    from hybriddash.config import REPO_ROOT
    from hybriddash.training.study import run_study

    default = REPO_ROOT / "reference"
    # the questions' pieces go to their own bundle beside the standard study's
    folder = (
        Path(args.bundle) if args.bundle else default / profile.name if profile.suites else default
    )
    if getattr(args, "report", False):
        if profile.suites:
            shared = getattr(args, "shared_bundle", None)
            return _questions_report(
                args, folder, None if shared == "none" else Path(shared) if shared else default
            )
        return _study_report(args, folder)
    shared = getattr(args, "shared_bundle", None)
    shared_bundle = None if shared == "none" else Path(shared) if shared else default
    summary = run_study(
        profile,
        folder,
        base=args.base,
        command=command,
        progress=not args.quiet,
        log=lambda line: print(line, flush=True),
        stop_after=args.stop_after,
        pieces=[p.strip() for p in args.pieces.split(",") if p.strip()] if args.pieces else None,
        shard=_parse_shard(args.shard) if args.shard else None,
        shared_bundle=shared_bundle if profile.shares_models_with else None,
    )
    print(
        f"{len(summary['done'])} model(s) finished now, {len(summary['skipped'])} from the "
        f"bundle, {len(summary['remaining'])} remaining; {summary['wall_seconds'] / 60:.1f} min"
    )
    if summary["remaining"]:
        print(f"resume with: {command}")
        return 0
    if profile.suites:
        print(f"the {profile.name} study is complete in {folder}")
        return 0
    return _study_report(args, folder)


def _study_report(args: argparse.Namespace, folder: Path) -> int:
    """docs/results.md from the bundle alone, read into a throw-away store (the study's
    report does not depend on what else the configured store holds)."""
    import json
    import tempfile

    from hybriddash.config import REPO_ROOT
    from hybriddash.reports.study import precomputed, study_report
    from hybriddash.reports.study.page import write_shipped
    from hybriddash.store import bundle
    from hybriddash.store.db import Store

    manifest = bundle.verify_bundle(folder)
    if not manifest.get("pieces"):
        raise FileNotFoundError(f"{folder}: the bundle holds no finished model yet")
    path = Path(args.results) if args.results else REPO_ROOT / "docs" / "results.md"
    curve_file = folder / "learning_curve.json"
    curve = json.loads(curve_file.read_text(encoding="utf-8")) if curve_file.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "report.duckdb")
        bundle.load_bundle(folder, store, reference=False)
        text, readme_section = study_report(manifest, store=store, learning_curve=curve)
        # the Findings page's slow results, keyed to this bundle and today's code
        shipped = write_shipped(folder / precomputed.FOLDER, store=store)
    print(f"wrote {len(shipped)} precomputed Findings results to {folder / precomputed.FOLDER}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n" + _kept_sections(path), encoding="utf-8")
    print(f"wrote {path}; bundle {folder}: {manifest['total_bytes'] / 1e6:.1f} MB")
    readme = getattr(args, "readme", None)
    if readme is None and not args.results:
        readme = REPO_ROOT / "README.md"
    if readme is not None:
        _write_section(Path(readme), "study-results", readme_section, before=None)
        print(f"wrote the results section of {readme}")
    return 0


def _questions_report(args: argparse.Namespace, folder: Path, shared: Path | None) -> int:
    """The questions' verdict section of docs/results.md (``questions_results``, after
    their rules and plan, which stay as they are) and the README's opening answers
    (``questions-answers``), from the questions' bundle (and the shared study's bundle,
    whose XQuAD-R runs of the shared hybrid seeds Q3 reads) in a throw-away store. A
    bundle without finished pieces gives "not run yet" for every question."""
    import tempfile

    from hybriddash.config import REPO_ROOT
    from hybriddash.reports.study import precomputed
    from hybriddash.reports.study.page import write_shipped_questions
    from hybriddash.reports.study.question_markdown import questions_markdown, readme_answers
    from hybriddash.reports.study.question_verdicts import question_verdicts
    from hybriddash.store import bundle
    from hybriddash.store.db import Store

    manifest = bundle.verify_bundle(folder) if bundle.read_manifest(folder) else {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "report.duckdb")
        # what a fresh install loads: the shared bundle and every bundle nested in it
        # (its suites too), so the shipped decision's key answers the dashboard's store
        loaded = []
        if shared is not None and bundle.read_manifest(shared):
            for nested in bundle.reference_folders(shared):
                if (bundle.read_manifest(nested) or {}).get("pieces"):
                    bundle.load_bundle(nested, store, reference=False)
                    loaded.append(nested.resolve())
        if manifest.get("pieces") and Path(folder).resolve() not in loaded:
            bundle.load_bundle(folder, store, reference=False)
        verdicts = question_verdicts(store=store)
        if shared is not None and Path(folder).resolve() in loaded:
            shipped = write_shipped_questions(
                shared / precomputed.FOLDER, store=store, verdicts=verdicts
            )
            print(
                f"wrote {len(shipped)} precomputed questions results to {shared / precomputed.FOLDER}"
            )
    path = Path(args.results) if args.results else REPO_ROOT / "docs" / "results.md"
    _write_section(path, "questions_results", questions_markdown(manifest, verdicts), before=None)
    print(f"wrote the questions' verdicts into {path} (bundle {folder})")
    readme = getattr(args, "readme", None)
    if readme is None and not args.results:
        readme = REPO_ROOT / "README.md"
    if readme is not None:
        _write_section(
            Path(readme), "questions-answers", readme_answers(verdicts), before="## Set up and run"
        )
        print(f"wrote the questions' answers into {readme}")
    return 0


#: Sections of docs/results.md written by the research questions (issue 24): their rules,
#: committed before their numbers, their plan and their verdicts (``reproduce --profile
#: questions --report``); kept when the standard study's report is rewritten.
QUESTIONS_SECTIONS = ("questions_rule", "questions_plan", "questions_results")


def _kept_sections(
    path: Path, names: tuple[str, ...] = ("corrections", "study_rerun", *QUESTIONS_SECTIONS)
) -> str:
    """The marked sections (``<!-- name:start -->`` .. ``<!-- name:end -->``) of an existing
    results file that another command wrote (the corrections: bench/corrections_results.py;
    the learning curve: ``reproduce --profile learning-curve``; the timing rerun of the
    study: bench/study_rerun.py), kept when it is rewritten."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    kept = ""
    for name in names:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in old and end in old:
            kept += "\n" + start + old.split(start, 1)[1].split(end, 1)[0] + end + "\n"
    return kept


def _learning_curve(args: argparse.Namespace, profile) -> int:
    """Train each strategy once with frequent validation; pick the stable-order budget."""
    import json

    from hybriddash.config import REPO_ROOT
    from hybriddash.reports.study import stable_order_budget
    from hybriddash.training.study import run_learning_curve

    val = run_learning_curve(profile, base=args.base, progress=not args.quiet)
    budget, table = stable_order_budget(val)
    print(table.to_string(index=False))
    print(f"smallest budget after which the order stops changing: {budget} steps")
    out = Path(args.bundle) if args.bundle else REPO_ROOT / "reference"
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning_curve.json").write_text(
        json.dumps(
            {
                "budget_steps": budget,
                "profile": profile.name,
                "steps": profile.steps,
                "eval_every": profile.eval_every,
                "curve": val.to_dict("records"),
                "order": table.to_dict("records"),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {out / 'learning_curve.json'}")
    from hybriddash.reports.study import learning_curve_markdown
    from hybriddash.training.reproduce import PROFILES

    doc = json.loads((out / "learning_curve.json").read_text(encoding="utf-8"))
    section = learning_curve_markdown(doc, study_steps=PROFILES["standard"].steps)
    path = Path(args.results) if args.results else REPO_ROOT / "docs" / "results.md"
    _write_section(path, "learning_curve", "\n".join(section), before="## What was run")
    print(f"wrote the learning-curve section of {path}")
    return 0


def _write_section(path: Path, name: str, text: str, *, before: str | None) -> None:
    """Put ``text`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``:
    in place of the old section, else before the heading ``before`` (else at the end)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}\n{end}\n"
    if start in old and end in old:
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        # the blank line an insertion before a heading put there stays (idempotent rewrite)
        new = head + block + ("\n" + tail if tail else "")
    elif before is not None and before in old:
        new = old.replace(before, block + "\n" + before, 1)
    else:
        new = old + ("\n" if old else "") + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")
