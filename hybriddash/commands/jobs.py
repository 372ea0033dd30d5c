"""``hybriddash jobs``: the dashboard's background jobs from a terminal (list, show, cancel).

The dashboard queues evaluations, trainings, reproductions and imports as jobs
(:mod:`hybriddash.jobs`); this command reads the same records, so a job started in the
browser can be followed or stopped over ssh. Each job runs the same backend function as
the CLI command of its kind.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jobs",
        help="list, show or cancel the dashboard's background jobs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="jobs_action", metavar="ACTION")
    listing = actions.add_parser("list", help="the queue and the history, newest first")
    listing.add_argument("--active", action="store_true", help="only queued and running jobs")
    listing.add_argument("--limit", type=int, default=30, help="at most this many (default 30)")
    listing.add_argument("--json", action="store_true", help="print JSON records")
    show = actions.add_parser("show", help="one job: state, parameters, error, log tail")
    show.add_argument("job_id", type=int)
    show.add_argument("--lines", type=int, default=30, help="log lines to show (default 30)")
    cancel = actions.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", type=int)
    parser.set_defaults(func=cmd_jobs, jobs_action=None)


def cmd_jobs(args: argparse.Namespace) -> int:
    from hybriddash import jobs
    from hybriddash.jobs.listing import jobs_frame

    action = args.jobs_action or "list"
    if action == "list":
        states = jobs.ACTIVE_STATES if getattr(args, "active", False) else None
        found = jobs.list_jobs(states=states, limit=getattr(args, "limit", 30))
        if getattr(args, "json", False):
            print(json.dumps([_record(j) for j in found], ensure_ascii=False, indent=2))
        elif not found:
            print("no jobs" + (" queued or running" if states else " recorded yet"))
        else:
            print(jobs_frame(found).drop(columns=["set"]).to_string(index=False))
        return 0
    try:
        job = jobs.get_job(args.job_id)
    except KeyError:
        print(f"hybriddash: error: no job #{args.job_id} in the job records", file=sys.stderr)
        return 2
    if action == "cancel":
        if not job.active:
            print(f"job #{job.id} already ended ({job.state}); nothing to cancel")
            return 0
        state = jobs.cancel(job.id)
        print(f"job #{job.id}: " + ("cancelled" if state == "cancelled" else "cancel requested"))
        return 0
    jobs.reconcile()
    job = jobs.get_job(job.id)
    print(f"job #{job.id} {job.title}: {job.state}")
    print(f"parameters: {json.dumps(job.params, ensure_ascii=False)}")
    if job.error:
        print(f"error: {job.error}")
    if job.result:
        print(f"result: {json.dumps(job.result, ensure_ascii=False)}")
    tail = job.log_tail(args.lines)
    if tail:
        print("log (last lines):\n" + tail)
    return 0


def _record(job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "title": job.title,
        "state": job.state,
        "progress": job.progress,
        "eta_s": job.eta_s,
        "error": job.error,
        "params": job.params,
        "result": job.result,
    }
