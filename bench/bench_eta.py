"""How close the live ETA of a training job is to the real remaining time (issue 25).

    /work/cpu python bench/bench_eta.py --artifacts /work/art-ui

Runs a real training job in this process through the job kind's own code
(:func:`hybriddash.jobs.kinds.run` with kind ``train``: the trainer plus the
``CurveWatcher`` that reports the ETA each second), with validation passes (the
default: one before training and one every tenth of the steps). Every report is kept
with its wall-clock time; when the run ends, the real remaining time of each report is
``end - t``. Prints, for the reports from 25 % progress on, the worst relative error
``(eta - real) / real`` and a few samples, plus the estimate made before the run.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--train-data", default="xquad-r")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument(
        "--runs",
        type=int,
        default=2,
        help="trainings, each a new model; the last is judged (the earlier ones measure the "
        "saving time after the last validation, which the ETA counts)",
    )
    args = parser.parse_args(argv)
    os.environ["HYBRIDDASH_ARTIFACTS"] = str(args.artifacts.resolve())

    from bench_idle_cpu import cpu_model

    from hybriddash.jobs import kinds
    from hybriddash.training.estimate import estimate_wall_time

    params = {
        "sampler": "hybrid",
        "train_data": args.train_data,
        "articles": args.articles,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "overwrite": True,
        "progress": False,
    }
    reports: list[tuple[float, float, float | None]] = []

    def report(fraction, stage=None, *, eta_s=None, step_s=None) -> None:  # noqa: ANN001
        if fraction is not None:
            reports.append((time.time(), float(fraction), eta_s))

    for run in range(args.runs):  # a new model each time (a same-name run is reused)
        params["out"] = f"eta-bench-{int(time.time())}-{run}"
        before = estimate_wall_time(
            base_model="multilingual-e5-small-q4",
            steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
        )
        reports.clear()
        start = time.time()
        result = kinds.run("train", params, report)
        end = time.time()
        print(f"run {run + 1}/{args.runs}: {end - start:.1f} s", flush=True)
    judged = [(t, f, eta, end - t) for t, f, eta in reports if f >= 0.25 and eta is not None]
    errors = [(eta - real) / real for _, _, eta, real in judged if real > 0]
    load = os.getloadavg()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; load at end {load[0]:.2f}")
    print(
        f"run: {args.steps} steps, batch {args.batch_size} x {args.max_length} tokens, "
        f"{args.train_data} ({args.articles} articles); wall {end - start:.1f} s; "
        f"median step {result['step_seconds_median']} s"
    )
    if before is not None:
        print(f"estimate before the run: {before.wall_s:.1f} s ({before.basis})")
    if not errors:
        print("no ETA report from 25 % progress on")
        return 1
    print(
        f"ETA from 25 % progress on: {len(errors)} reports, worst error "
        f"{100 * max(errors, key=abs):+.1f} %, mean |error| "
        f"{100 * sum(abs(e) for e in errors) / len(errors):.1f} %"
    )
    # the last seconds: a relative error of a few seconds' remaining time says little
    long = [(eta - real) / real for _, _, eta, real in judged if real >= 10]
    if long:
        print(
            f"  of which {len(long)} with >= 10 s left: worst {100 * max(long, key=abs):+.1f} %;"
            f" last report: ETA {judged[-1][2]:.1f} s, real {judged[-1][3]:.1f} s"
        )
    for t, f, eta, real in judged[:: max(1, len(judged) // 8)]:
        print(f"  t={t - start:6.1f} s progress {f:5.1%}: ETA {eta:6.1f} s, real {real:6.1f} s")
    return 0 if max(abs(e) for e in errors) <= 0.20 else 1


if __name__ == "__main__":
    sys.exit(main())
