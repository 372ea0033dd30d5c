"""The DuckDB store file: connections, cross-process locking, schema.

DuckDB lets one process at a time open a database file for writing, and a process
may not hold a read-only and a read-write connection to the same file at once. So
that the dashboard and CLI jobs (evaluate, train, import) can run at the same time
and lose nothing, every access goes through :class:`Store`:

- ``with store.write() as con:`` takes an *exclusive* ``fcntl.flock`` on the lock
  file ``<store>.lock``, opens a read-write connection and runs the body in one
  ``BEGIN … COMMIT`` transaction (``ROLLBACK`` on any exception), then closes the
  connection and releases the lock. Either all of the body's writes land or none.
- ``with store.read() as con:`` takes a *shared* lock and opens the file
  ``read_only=True``. When the file does not exist yet it yields an in-memory
  database holding the (empty) schema, so pages can show empty states.

Connections are short-lived: open one for a query or one write, never hold one while
encoding or training. A writer waits only for readers' current queries, a reader
only for one write. Writers have preference: everyone first passes an exclusive *gate*
lock (``<store>.lock.gate``) that a waiting writer keeps until it owns the main lock, so
a page polling in a loop cannot starve a CLI job. ``flock`` locks belong to an open
file description, so threads of one process (e.g. the Streamlit server) exclude each
other exactly like processes; a thread that opens a write while it already holds a
connection to the same file gets :class:`StoreError` instead of a deadlock.

Bulk appends are kept in memory until commit (``enable_optimistic_write=false``):
DuckDB otherwise writes large uncommitted appends into free blocks of the file, so a
rolled-back write would change the file's bytes (never its content). With the
setting off a failed write leaves the file byte-identical.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from hybriddash import config

# Bump with every change of schema.sql; a file written by a newer version is refused.
SCHEMA_VERSION = "6"
SCHEMA_FILE = Path(__file__).with_name("schema.sql")
# Older versions upgraded in place: version -> statements to run after the CREATE TABLE
# IF NOT EXISTS pass (which already adds new tables). 1 -> 2: training_curves (new
# table); 2 -> 3: reference_bundles (new table); 3 -> 4: run_language_preference (new
# table) and the post-hoc correction columns (COLUMNS_ADDED); 4 -> 5: run_bitext_accuracy
# and run_language_probe (new tables, issue 23); 5 -> 6: run_language_probe_items (new
# table, issue 24).
SCHEMA_UPGRADES: dict[str, list[str]] = {"1": [], "2": [], "3": [], "4": [], "5": []}
# Columns added to existing tables, as (table, column, type). Every write adds the ones a
# file lacks (whatever its recorded version: additive, idempotent), so a file upgraded by
# another branch's migration still gets them; reads upgrade such a file once first.
COLUMNS_ADDED: tuple[tuple[str, str, str], ...] = (
    ("models", "correction", "VARCHAR"),
    ("models", "correction_of", "VARCHAR"),
    ("models", "correction_fit", "VARCHAR"),
    ("runs", "correction", "VARCHAR"),
    ("runs", "correction_of", "VARCHAR"),
    ("runs", "correction_fit", "VARCHAR"),
    ("runs", "correction_info", "JSON"),
)
# Store files this process has checked (and upgraded if needed) before a first read.
_checked_paths: set[Path] = set()
_checked_lock = threading.Lock()

# DuckDB's own file lock ("Could not set lock on file") can still be met when a
# program outside hybriddash (the duckdb CLI, a notebook) has the file open.
_DUCKDB_LOCK_RETRY_SECONDS = 30.0
_POLL_SECONDS = 0.05
_WRITE_CONFIG = {"enable_optimistic_write": False}


class StoreError(RuntimeError):
    """The store file cannot be used (wrong schema version, misuse of connections)."""


class StoreBusyError(StoreError):
    """The store stayed locked by another writer/reader for longer than the timeout."""


# Per thread: the store files this thread currently holds a connection to, so a
# nested write (which would deadlock on our own lock) fails loudly instead.
_held = threading.local()


def schema_statements() -> list[str]:
    """The ``CREATE TABLE IF NOT EXISTS`` statements of ``schema.sql``, in order."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and columns, upgrade a known older version, record the version.

    A file of a version in :data:`SCHEMA_UPGRADES` is upgraded in place; columns of
    :data:`COLUMNS_ADDED` that a file lacks are added. Raises :class:`StoreError` when
    the file was written by a schema version this code cannot upgrade (a newer
    hybriddash, or an unknown one).
    """
    for statement in schema_statements():
        con.execute(statement)
    row = con.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
    if row is None:
        con.execute("INSERT INTO schema_info VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    elif row[0] in SCHEMA_UPGRADES:
        for statement in SCHEMA_UPGRADES[row[0]]:
            con.execute(statement)
        con.execute(
            "UPDATE schema_info SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION]
        )
    elif row[0] != SCHEMA_VERSION:
        raise StoreError(
            f"store schema version {row[0]!r} but this hybriddash writes version "
            f"{SCHEMA_VERSION!r}; use a fresh store file (--store) or the matching hybriddash"
        )
    for table, column, kind in missing_columns(con):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")


def missing_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """The :data:`COLUMNS_ADDED` that the database of ``con`` lacks."""
    present = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND database_name = current_database()"
        ).fetchall()
    )
    return [(t, c, k) for t, c, k in COLUMNS_ADDED if (t, c) not in present]


def schema_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database of ``con`` has every table of schema.sql and every added column."""
    tables = {
        m.group(1)
        for m in (re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", s) for s in schema_statements())
        if m
    }
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE schema_name = 'main' AND database_name = current_database()"
        ).fetchall()
    }
    return tables <= present and not missing_columns(con)


class Store:
    """Handle on one DuckDB store file (default :func:`hybriddash.config.store_path`).

    The object holds no connection; it is cheap, picklable and safe to share
    between threads. ``lock_timeout`` (seconds) bounds how long :meth:`read` and
    :meth:`write` wait for the file lock before raising :class:`StoreBusyError`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, lock_timeout: float = 600.0):
        self.path = Path(path).expanduser().resolve() if path else config.store_path()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.gate_path = self.path.with_name(self.path.name + ".lock.gate")
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def exists(self) -> bool:
        """Whether the database file has been created (by a first write)."""
        return self.path.is_file()

    # ---- connections -------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Exclusive lock + read-write connection + one transaction.

        Commits when the body returns, rolls back when it raises (the exception
        propagates). The schema is applied inside the same transaction.
        """
        self._check_not_nested(for_write=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._flock(fcntl.LOCK_EX), self._holding("w"):
            con = self._connect(read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    apply_schema(con)
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Shared lock + read-only connection (an empty in-memory schema if no file yet).

        The first read of an existing file in a process upgrades it when it was written
        by an older schema version (one short write), so reads see the current columns.
        """
        self._check_not_nested(for_write=False)
        self._upgrade_once()
        if not self.path.parent.is_dir():
            yield from _empty_database()
            return
        with self._flock(fcntl.LOCK_SH), self._holding("r"):
            if not self.path.is_file():
                yield from _empty_database()
                return
            con = self._connect(read_only=True)
            try:
                yield con
            finally:
                con.close()

    def query(
        self, sql: str, params: list[object] | dict[str, object] | None = None
    ) -> pd.DataFrame:
        """Run one read query and return its result as a DataFrame."""
        with self.read() as con:
            return con.execute(sql, params or []).df()

    # ---- internals ---------------------------------------------------------
    def _upgrade_once(self) -> None:
        """Upgrade an older-version file before its first read in this process."""
        if self.path in _checked_paths or getattr(_held, "modes", {}).get(self.path):
            return
        with _checked_lock:
            if self.path in _checked_paths:
                return
            if self.path.is_file():
                with self._flock(fcntl.LOCK_SH):
                    con = self._connect(read_only=True)
                    try:
                        row = con.execute(
                            "SELECT value FROM schema_info WHERE key = 'schema_version'"
                        ).fetchone()
                        stale = row is not None and (
                            row[0] in SCHEMA_UPGRADES or not schema_is_current(con)
                        )
                    except duckdb.Error:
                        row, stale = None, False
                    finally:
                        con.close()
                if row is not None and stale:
                    try:
                        with self.write():
                            pass  # apply_schema upgrades the file inside the transaction
                    except (OSError, duckdb.Error, StoreError) as exc:  # read-only, newer
                        warnings.warn(
                            f"{self.path}: could not upgrade the store from schema version "
                            f"{row[0]} to {SCHEMA_VERSION} ({exc}); pages reading new "
                            "columns may fail until a write succeeds",
                            RuntimeWarning,
                            stacklevel=3,
                        )
            _checked_paths.add(self.path)

    def _check_not_nested(self, *, for_write: bool) -> None:
        modes = getattr(_held, "modes", {}).get(self.path, [])
        if modes and (for_write or "w" in modes):
            raise StoreError(
                f"{self.path}: a store connection is already open in this thread; "
                "do the reads/writes with that connection instead of opening a second one "
                "(a nested write would wait on its own lock forever)"
            )

    @contextlib.contextmanager
    def _holding(self, mode: str) -> Iterator[None]:
        modes = _held.__dict__.setdefault("modes", {}).setdefault(self.path, [])
        modes.append(mode)
        try:
            yield
        finally:
            modes.pop()

    @contextlib.contextmanager
    def _flock(self, mode: int) -> Iterator[None]:
        """Hold ``flock(mode)`` on the lock file, waiting at most ``lock_timeout``.

        Writer preference: everyone passes an exclusive *gate* lock first, and a
        writer keeps the gate until it owns the main lock. Without it a reader in a
        loop (the dashboard polling) could keep the shared lock held forever and
        starve a writer.
        """
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        gate = os.open(self.gate_path, os.O_RDWR | os.O_CREAT, 0o666)
        main = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            self._wait_flock(gate, fcntl.LOCK_EX, deadline, "gate")
            try:
                self._wait_flock(
                    main, mode, deadline, "exclusive" if mode == fcntl.LOCK_EX else "shared"
                )
            finally:
                fcntl.flock(gate, fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(main, fcntl.LOCK_UN)
        finally:
            os.close(main)
            os.close(gate)

    def _wait_flock(self, fd: int, mode: int, deadline: float, what: str) -> None:
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{self.lock_path}: could not take the {what} store lock within "
                        f"{self.lock_timeout:.0f} s; another hybriddash process is using "
                        f"{self.path.name}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, _POLL_SECONDS)

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying while a non-hybriddash program holds DuckDB's own lock."""
        deadline = time.monotonic() + _DUCKDB_LOCK_RETRY_SECONDS
        delay = _POLL_SECONDS
        while True:
            try:
                if read_only:
                    return duckdb.connect(str(self.path), read_only=True)
                return duckdb.connect(str(self.path), config=dict(_WRITE_CONFIG))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{self.path}: DuckDB could not open the store ({exc}); is another "
                        "program (duckdb CLI, notebook) holding it open?"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


def _empty_database() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    try:
        apply_schema(con)
        yield con
    finally:
        con.close()
