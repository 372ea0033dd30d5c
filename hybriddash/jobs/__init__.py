"""Background jobs: evaluate, train, reproduce and import outside the page's script run.

The dashboard queues a job with :func:`submit`; a worker process (started by the app
itself, :func:`ensure_worker`) runs queued jobs one at a time, in order, each in its
own process, recording state, progress, ETA, log and error in
``<artifacts>/jobs/jobs.sqlite`` (:mod:`hybriddash.jobs.records`). A job calls the same
backend function as the CLI command of its kind (:mod:`hybriddash.jobs.kinds`).

Sits at the level of the CLI in the flow (it calls evaluation, training and the
upload importer; nothing below imports it).
"""

from __future__ import annotations

from typing import Any

from hybriddash.jobs import kinds, records
from hybriddash.jobs.kinds import stage_files
from hybriddash.jobs.records import ACTIVE_STATES, FINAL_STATES, Job
from hybriddash.jobs.worker import ensure_worker, reconcile, stop_worker, worker_running


def submit(
    kind: str,
    params: dict[str, Any],
    *,
    title: str | None = None,
    group_name: str | None = None,
    depends_on: int | None = None,
    start_worker: bool = True,
) -> int:
    """Record and queue a job; returns its id. ``params`` are the keyword arguments of
    the backend call (see :mod:`hybriddash.jobs.kinds`); they must be JSON values.

    Raises ValueError (naming the option) for parameters that cannot start.
    """
    from hybriddash.jobs.worker import enqueue

    kinds.check_params(kind, params)
    job_id = records.insert(
        kind,
        title or kinds.title_of(kind, params),
        params,
        group_name=group_name,
        depends_on=depends_on,
    )
    try:
        enqueue(job_id)
    except Exception as exc:
        records.transition(job_id, ("queued",), "failed", error=f"could not queue: {exc}")
        raise
    if start_worker:
        ensure_worker()
    return job_id


def cancel(job_id: int) -> str:
    """Cancel a job: a queued one never starts; a running one's process is killed by
    the worker within a second. Returns the job's state after the request."""
    if records.transition(job_id, ("queued",), "cancelled", error="cancelled before it started"):
        job = records.get(job_id)
        if job.kind == "import":  # its files were staged for it; nothing else will read them
            kinds.discard_staged(job.params)
        return "cancelled"
    job = records.get(job_id)
    if job.state == "running":
        records.update(job_id, cancel_requested=1)
    return job.state


def list_jobs(*, states: tuple[str, ...] | None = None, limit: int = 200) -> list[Job]:
    """Jobs newest first, after marking failed those whose worker died (:func:`reconcile`)."""
    reconcile()
    return records.list_jobs(states=states, limit=limit)


def get_job(job_id: int) -> Job:
    return records.get(job_id)


__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "Job",
    "cancel",
    "ensure_worker",
    "get_job",
    "list_jobs",
    "reconcile",
    "stage_files",
    "stop_worker",
    "submit",
    "worker_running",
]
