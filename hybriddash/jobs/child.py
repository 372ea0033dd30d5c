"""The process one job runs in: ``python -m hybriddash.jobs child <job id>``.

Started by the worker (:mod:`hybriddash.jobs.worker`) in its own session, with its
stdout and stderr going to the job's log. It asks the kernel to kill it when the
worker dies (``PR_SET_PDEATHSIG``), so a killed worker never leaves a job computing
on, and writing to the store, unobserved. It records progress, the result or the error
in the job record; the worker decides the final state from the exit code.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from typing import Any

from hybriddash.jobs import kinds, records

PARENT_ENV = "HYBRIDDASH_JOB_PARENT"


def die_with_parent() -> None:
    """Get SIGKILL when the worker process ends (Linux); exit if it already has."""
    parent = int(os.environ.get(PARENT_ENV, "0") or 0)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the worker's reconcile() still marks the job failed
    if parent and os.getppid() != parent:
        sys.exit(f"the job worker (pid {parent}) is gone; not starting")


class Reporter:
    """``report(fraction, stage, eta_s=None, step_s=None)``: progress into the job record,
    at most twice a second (a final fraction 1.0 always goes through)."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.started = time.time()
        self._last = 0.0

    def __call__(
        self,
        fraction: float | None,
        stage: str | None = None,
        *,
        eta_s: float | None = None,
        step_s: float | None = None,
    ) -> None:
        now = time.time()
        if now - self._last < 0.5 and fraction != 1.0:
            return
        self._last = now
        fields: dict[str, Any] = {}
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            fields["progress"] = fraction
            if eta_s is None and 0.02 < fraction < 1.0:
                elapsed = now - self.started
                eta_s = elapsed * (1.0 - fraction) / fraction
            fields["eta_s"] = eta_s
        if stage is not None:
            fields["stage"] = stage
        if step_s is not None:
            fields["step_s"] = step_s
        records.update(self.job_id, **fields)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m hybriddash.jobs child <job id>", file=sys.stderr)
        return 2
    die_with_parent()
    job_id = int(args[0])
    job = records.get(job_id)
    records.update(job_id, pid=os.getpid())
    print(f"job {job_id}: {job.title}\nparameters: {job.params}", flush=True)
    try:
        result = kinds.run(job.kind, job.params, Reporter(job_id))
    except BaseException as exc:  # recorded, then the exit code tells the worker
        if getattr(exc, "job_result", None) is None:
            traceback.print_exc()  # an expected refusal (an upload's problems) was printed
        sys.stdout.flush()
        # an error may carry structured detail for the page (an import's problems)
        records.update(
            job_id, error=f"{type(exc).__name__}: {exc}", result=getattr(exc, "job_result", None)
        )
        return 1
    records.update(job_id, result=result, progress=1.0, eta_s=0.0, stage="done")
    return 0
