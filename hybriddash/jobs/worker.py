"""The job worker: one huey consumer that runs queued jobs one at a time, in order.

``python -m hybriddash.jobs worker`` (the dashboard starts it itself, see
:func:`ensure_worker`). The queue is huey's SQLite storage
(``<artifacts>/jobs/queue.sqlite``, strict FIFO): no server to run. The consumer has
one worker thread, so CPU-heavy jobs never overlap; each job runs in its own process
(:mod:`hybriddash.jobs.child`), which the worker waits for, watching the job's cancel
flag; Cancel kills that process's group, not the worker.

Only one worker runs per artifacts folder: it holds an exclusive ``flock`` on
``<artifacts>/jobs/worker.lock`` for its lifetime (released by the kernel when it dies,
however it dies), and a second one started by a race exits at once. After
``HYBRIDDASH_JOBS_IDLE_EXIT`` seconds (default 600) without a queued or running job
the worker exits; the app starts a new one when a job is queued.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hybriddash import config
from hybriddash.jobs import kinds, records

WORKER_COMMAND = ["-m", "hybriddash.jobs", "worker"]
CHILD_COMMAND = ["-m", "hybriddash.jobs", "child"]
# what /proc/<pid>/cmdline holds for each (NUL-separated arguments)
WORKER_MODULE = "hybriddash.jobs\0worker"
CHILD_MODULE = "hybriddash.jobs\0child"
IDLE_EXIT_ENV = "HYBRIDDASH_JOBS_IDLE_EXIT"
POLL_S = 0.5
TERM_GRACE_S = 5.0

log = logging.getLogger("hybriddash.jobs")


def queue_path() -> Path:
    return records.jobs_dir() / "queue.sqlite"


def lock_path() -> Path:
    return records.jobs_dir() / "worker.lock"


@functools.cache
def _huey(path: str) -> tuple[Any, Any]:
    from huey import SqliteHuey

    huey = SqliteHuey("hybriddash-jobs", filename=path, results=False, strict_fifo=True)
    return huey, huey.task(name="run_job")(run_job)


def get_huey() -> Any:
    """The huey instance of the configured artifacts folder (one per path and process)."""
    return _huey(str(queue_path()))[0]


def enqueue(job_id: int) -> None:
    """Put ``job_id`` on the queue (the record must exist, state ``queued``)."""
    _huey(str(queue_path()))[1](job_id)


# ---- inside the worker ----------------------------------------------------------------


def run_job(job_id: int) -> None:
    """The huey task: run one job in its own process and record how it ended.

    An error of the worker itself (not of the job) marks the job failed with it, so no
    job is left "queued" or "running" for ever.
    """
    try:
        _run_job(job_id)
    except Exception as exc:
        log.exception("job %s", job_id)
        records.transition(
            job_id,
            ("queued", "running"),
            "failed",
            error=f"the job worker failed: {type(exc).__name__}: {exc}",
        )


def _run_job(job_id: int) -> None:
    try:
        job = records.get(job_id)
    except KeyError:
        log.warning("job %s: no record; skipped", job_id)
        return
    if job.state != "queued":
        return  # cancelled while queued
    if job.depends_on is not None:
        dep = records.get(job.depends_on)
        if dep.state != "done":
            records.transition(
                job_id,
                ("queued",),
                "cancelled",
                error=f"not run: job {dep.id} ({dep.title}) ended {dep.state}",
            )
            return
    before = kinds.snapshot(job.kind, job.params)
    started = records.transition(
        job_id,
        ("queued",),
        "running",
        started_at=time.time(),
        worker_pid=os.getpid(),
        progress=0.0,
        stage="starting",
        snapshot=before,
    )
    if not started:
        return
    env = dict(os.environ)
    # the submitter's settings (its store, data folder, ...) over the worker's own
    env.update((k, v) for k, v in (job.env or {}).items() if k.startswith(records.ENV_PREFIX))
    env.update(
        HYBRIDDASH_JOB_ID=str(job_id),
        HYBRIDDASH_JOB_PARENT=str(os.getpid()),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(
            p for p in (str(config.REPO_ROOT), env.get("PYTHONPATH", "")) if p
        ),
    )
    with open(records.log_path(job_id), "ab") as logfile:
        proc = subprocess.Popen(
            [sys.executable, *CHILD_COMMAND, str(job_id)],
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            cwd=str(config.REPO_ROOT),
            env=env,
            start_new_session=True,  # its own process group: Cancel kills all of it
        )
    records.update(job_id, pid=proc.pid)
    killed = False
    while proc.poll() is None:
        time.sleep(POLL_S)
        if not killed and records.get(job_id).cancel_requested:
            killed = True
            stop_process_group(proc.pid, proc)
    rc = proc.returncode
    job = records.get(job_id)
    if rc == 0 and not killed:
        records.transition(job_id, ("running",), "done", progress=1.0, eta_s=0.0)
        return
    if killed:
        state, error = "cancelled", "cancelled by the user; the job's process was stopped"
    else:
        state = "failed"
        error = job.error or f"the job's process ended with {describe_exit(rc)}"
    removed = kinds.discard_partial(job.kind, before)
    if removed:
        error += f"; removed what it left: {', '.join(removed)}"
    records.transition(job_id, ("running",), state, error=error, eta_s=None)


def describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name} (killed)"
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"


def stop_process_group(pid: int, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the job's process group, SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    break
            elif not process_alive(pid, CHILD_MODULE):
                return
            time.sleep(0.1)
        else:
            continue
        return


def process_alive(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is a live process whose command line contains ``marker``
    (a pid reused after a restart by another program does not count)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to "the pid exists"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return marker.encode() in cmdline  # a zombie has an empty command line


def reconcile() -> list[int]:
    """Mark failed every running job whose worker is gone; returns their ids.

    Called by the app whenever it lists jobs and by a worker when it starts: a job that
    was running when its worker was killed (or the machine restarted) can never finish.
    Its process is killed if it is somehow still there, and a model folder it saved
    without registering is removed (:func:`kinds.discard_partial`).
    """
    failed = []
    for job in records.list_jobs(states=("running",)):
        if process_alive(job.worker_pid, WORKER_MODULE):
            continue
        if process_alive(job.pid, CHILD_MODULE):
            stop_process_group(job.pid)
        error = (
            f"the job worker (pid {job.worker_pid}) stopped while this job ran (killed, "
            "crashed or the machine restarted); the job's process was stopped and "
            "nothing of it was registered"
        )
        removed = kinds.discard_partial(job.kind, job.snapshot)
        if removed:
            error += f"; removed what it left: {', '.join(removed)}"
        if records.transition(job.id, ("running",), "failed", error=error, eta_s=None):
            failed.append(job.id)
    if not worker_running():
        requeue_lost()
    return failed


def requeue_lost() -> list[int]:
    """Put back on the queue every ``queued`` job that the queue no longer holds.

    A worker killed after huey handed it a job but before the job was marked running
    took that job's queue entry with it; the record says "queued" and nothing would ever
    run it. Only called when no worker runs (by a starting worker, or by
    :func:`reconcile` from the app when the lock is free), so no live worker holds such a
    job. A job queued twice runs once: :func:`_run_job` skips a job no longer queued.
    """
    queued = records.list_jobs(states=("queued",))
    if not queued:
        return []
    pending = {task.args[0] for task in get_huey().pending() if task.args}
    lost = sorted(job.id for job in queued if job.id not in pending)
    for job_id in lost:
        log.warning("job %s was queued but not on the queue (its worker died); requeued", job_id)
        enqueue(job_id)
    return lost


def _idle_exit_s() -> float:
    return float(os.environ.get(IDLE_EXIT_ENV, "600"))


def main() -> int:
    """Run the consumer until stopped (SIGINT/SIGTERM) or idle for the idle-exit time."""
    from huey.consumer import Consumer, ConsumerStopped

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    lock = open(lock_path(), "a+")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("another job worker holds %s; exiting", lock_path())
        return 0
    (records.jobs_dir() / "worker.pid").write_text(f"{os.getpid()}\n")
    reconcile()
    requeue_lost()
    idle_exit = _idle_exit_s()
    huey = get_huey()

    class _Consumer(Consumer):
        idle_since = time.monotonic()

        def loop(self, health_check_ts: Any = None) -> Any:
            ts = super().loop(health_check_ts)
            if records.list_jobs(states=records.ACTIVE_STATES, limit=1) or len(huey):
                type(self).idle_since = time.monotonic()
            elif time.monotonic() - self.idle_since > idle_exit:
                log.info("idle for %.0f s; exiting", idle_exit)
                self.stop(graceful=True)
                raise ConsumerStopped
            return ts

    consumer = _Consumer(
        huey,
        workers=1,
        worker_type="thread",
        periodic=False,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=1.0,
        check_worker_health=True,
    )
    consumer._stop_flag_timeout = 1.0
    log.info("job worker %s on %s", os.getpid(), queue_path())
    consumer.run()
    # a job queued while this worker was deciding to exit saw the lock still held and
    # started no worker: hand over to a new one
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    if len(huey):
        ensure_worker()
    return 0


# ---- from the app -------------------------------------------------------------------


def worker_running() -> bool:
    """Whether a worker holds the lock of the configured artifacts folder."""
    from hybriddash.processes import lock_held

    return lock_held(lock_path())


def ensure_worker() -> bool:
    """Start a detached worker when none runs; returns whether one was started.

    The worker gets the app's environment (so the same artifacts folder, store and data)
    and its own session, so it outlives a closed tab or a restarted page and is not hit
    by a Ctrl-C sent to the app's terminal. Its log: ``<artifacts>/jobs/worker.log``.
    """
    if worker_running():
        return False
    from hybriddash.processes import spawn_detached

    spawn_detached(WORKER_COMMAND, records.jobs_dir() / "worker.log", close_fds=True)
    return True


def stop_worker(timeout: float = 15.0) -> bool:
    """Stop the worker of the configured artifacts folder (SIGTERM, then SIGKILL); a job
    it was running is killed with it and marked failed. Returns whether one was running."""
    try:
        pid = int((records.jobs_dir() / "worker.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    if not process_alive(pid, WORKER_MODULE):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid, WORKER_MODULE) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_alive(pid, WORKER_MODULE):
        os.kill(pid, signal.SIGKILL)
    reconcile()
    return True
