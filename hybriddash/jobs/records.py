"""Job records: one SQLite file every process reads while jobs run.

``<artifacts>/jobs/jobs.sqlite`` (WAL journal, short transactions) holds one row per
job: its kind and parameters (JSON), state, progress, ETA, step time, the pids of the
worker and of the job's own process, the cancel flag, the error and a JSON result.
The log of a job (its process's stdout and stderr) is ``<artifacts>/jobs/logs/<id>.log``.

It is kept apart from the DuckDB results store on purpose: DuckDB allows one writing
process per file (see :mod:`hybriddash.store.db`), and a job writing its progress every
second must never wait for, or block, a page reading results or an evaluation writing
a run. SQLite in WAL mode lets any number of readers go on while one writer commits.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``; a queued job
can go straight to ``cancelled`` (or to ``cancelled`` with a message when the job it
waits for did not end ``done``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybriddash import config

ENV_PREFIX = "HYBRIDDASH_"
STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,              -- evaluate | train | reproduce | import
    title            TEXT NOT NULL,
    params           TEXT NOT NULL,              -- JSON: keyword arguments of the backend call
    group_name       TEXT,                       -- e.g. the set of three strategies
    depends_on       INTEGER,                    -- runs only when that job ended 'done'
    state            TEXT NOT NULL,
    created_at       REAL NOT NULL,              -- unix seconds
    started_at       REAL,
    finished_at      REAL,
    progress         REAL,                       -- 0..1, NULL when unknown
    stage            TEXT,                       -- what the job is doing now
    eta_s            REAL,                       -- seconds left, NULL when unknown
    step_s           REAL,                       -- training: median seconds per step
    worker_pid       INTEGER,
    pid              INTEGER,                    -- the job's own process
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    result           TEXT,                       -- JSON summary written by the job
    snapshot         TEXT,                       -- JSON: what the job may leave behind, before it
    env              TEXT                        -- JSON: the submitter's HYBRIDDASH_* settings
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
"""


def jobs_dir() -> Path:
    """``<artifacts>/jobs``: the records, the task queue, logs and the worker's lock."""
    path = config.artifacts_dir() / "jobs"
    (path / "logs").mkdir(parents=True, exist_ok=True)
    return path


def records_path() -> Path:
    return jobs_dir() / "jobs.sqlite"


def log_path(job_id: int) -> Path:
    return jobs_dir() / "logs" / f"{job_id}.log"


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A short-lived connection in autocommit-per-statement mode (``with con:`` = one
    transaction); waits up to 30 s for another process's write."""
    con = sqlite3.connect(str(path or records_path()), timeout=30, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA busy_timeout=30000")
        con.executescript(_SCHEMA)
        columns = {row[1] for row in con.execute("PRAGMA table_info(jobs)")}
        if "env" not in columns:  # a records file of an earlier version
            con.execute("ALTER TABLE jobs ADD COLUMN env TEXT")
        yield con
    finally:
        con.close()


@dataclass(frozen=True)
class Job:
    """One job record (see the module docstring for the fields)."""

    id: int
    kind: str
    title: str
    params: dict[str, Any]
    group_name: str | None
    depends_on: int | None
    state: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: float | None
    stage: str | None
    eta_s: float | None
    step_s: float | None
    worker_pid: int | None
    pid: int | None
    cancel_requested: bool
    error: str | None
    result: dict[str, Any] | None
    snapshot: dict[str, Any] | None
    env: dict[str, str] | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def elapsed_s(self) -> float | None:
        """Seconds the job has run (until now, or until it ended)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def log_tail(self, n_lines: int = 20, max_bytes: int = 64_000) -> str:
        """The last ``n_lines`` lines of the job's log (progress-bar redraws collapsed)."""
        return tail(log_path(self.id), n_lines, max_bytes)


def _job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data["params"] = json.loads(data["params"] or "{}")
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["snapshot"] = json.loads(data["snapshot"]) if data["snapshot"] else None
    data["env"] = json.loads(data["env"]) if data.get("env") else None
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Job(**data)


def tail(path: Path, n_lines: int = 20, max_bytes: int = 64_000) -> str:
    """Last lines of a text file; a ``\\r``-redrawn progress bar counts as its last state."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    lines = [
        line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
        for line in data.split("\n")
    ]
    lines = [line for line in lines if line.strip()]
    return "\n".join(lines[-n_lines:])


def insert(
    kind: str,
    title: str,
    params: dict[str, Any],
    *,
    group_name: str | None = None,
    depends_on: int | None = None,
) -> int:
    """Record a new queued job; returns its id.

    The submitter's ``HYBRIDDASH_*`` settings (store, data folder, encode mode, ...) go
    with it: the worker is shared by every app and command using this artifacts folder,
    so the job runs against the submitter's store, not the worker's."""
    settings = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    with connect() as con:
        cur = con.execute(
            "INSERT INTO jobs (kind, title, params, group_name, depends_on, state, created_at,"
            " env) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
            [
                kind,
                title,
                json.dumps(params, ensure_ascii=False),
                group_name,
                depends_on,
                time.time(),
                json.dumps(settings),
            ],
        )
        return int(cur.lastrowid)


def get(job_id: int) -> Job:
    with connect() as con:
        row = con.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
    if row is None:
        raise KeyError(f"no job {job_id} in {records_path()}")
    return _job(row)


def list_jobs(*, states: tuple[str, ...] | None = None, limit: int = 200) -> list[Job]:
    """Jobs, newest first (``states`` filters)."""
    sql = "SELECT * FROM jobs"
    args: list[Any] = []
    if states:
        sql += f" WHERE state IN ({', '.join('?' * len(states))})"
        args += list(states)
    sql += " ORDER BY id DESC LIMIT ?"
    with connect() as con:
        return [_job(r) for r in con.execute(sql, [*args, limit]).fetchall()]


def update(job_id: int, **fields: Any) -> None:
    """Set columns of one job (``params`` / ``result`` are JSON-encoded)."""
    if not fields:
        return
    for key in ("params", "result", "snapshot"):
        if key in fields and fields[key] is not None:
            fields[key] = json.dumps(fields[key], ensure_ascii=False, default=str)
    cols = ", ".join(f"{k} = ?" for k in fields)
    with connect() as con:
        con.execute(f"UPDATE jobs SET {cols} WHERE id = ?", [*fields.values(), job_id])


def transition(job_id: int, from_states: tuple[str, ...], to_state: str, **fields: Any) -> bool:
    """Move a job to ``to_state`` only if it is in one of ``from_states`` (atomically);
    returns whether it moved."""
    for key in ("result", "snapshot"):
        if key in fields and fields[key] is not None:
            fields[key] = json.dumps(fields[key], ensure_ascii=False, default=str)
    if to_state in FINAL_STATES:
        fields.setdefault("finished_at", time.time())
    cols = ", ".join(["state = ?", *(f"{k} = ?" for k in fields)])
    with connect() as con:
        cur = con.execute(
            f"UPDATE jobs SET {cols} WHERE id = ? AND state IN "
            f"({', '.join('?' * len(from_states))})",
            [to_state, *fields.values(), job_id, *from_states],
        )
        return cur.rowcount == 1
