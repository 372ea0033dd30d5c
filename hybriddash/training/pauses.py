"""Time a study's process spent stopped, from a pause log, so piece times stay net.

On a 2-core machine a long study shares the cores with test suites and timings; those
run "alone" by stopping the study (SIGSTOP) and continuing it afterwards (SIGCONT). The
tool that does so appends ``<epoch seconds> stop`` / ``<epoch seconds> cont`` lines to a
pause log; the study runner reads the log named by ``HYBRIDDASH_PAUSE_LOG`` and records
each piece's stopped seconds next to its wall time (``paused_seconds`` in the manifest),
so that net time = wall - paused.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

#: Environment variable naming the pause log the study runner reads.
PAUSE_LOG_ENV = "HYBRIDDASH_PAUSE_LOG"


def pause_log() -> Path | None:
    """The pause log named by :data:`PAUSE_LOG_ENV`, or None."""
    value = os.environ.get(PAUSE_LOG_ENV, "").strip()
    return Path(value) if value else None


def stopped_seconds(log: Path | None, begin: float, end: float) -> float:
    """Seconds between ``begin`` and ``end`` (epoch) that the log says the process was
    stopped: the overlap of every ``stop``..``cont`` interval with [begin, end]; a stop
    without its cont counts up to ``end``. 0 without a log."""
    if log is None or not log.is_file():
        return 0.0
    total, stopped_at = 0.0, None
    for number, line in enumerate(log.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("stop", "cont"):
            raise ValueError(f"{log}:{number}: expected '<epoch seconds> stop|cont', got {line!r}")
        stamp, kind = float(parts[0]), parts[1]
        if kind == "stop":
            stopped_at = stamp if stopped_at is None else stopped_at
        elif stopped_at is not None:
            total += max(0.0, min(stamp, end) - max(stopped_at, begin))
            stopped_at = None
    if stopped_at is not None:  # still stopped
        total += max(0.0, end - max(stopped_at, begin))
    return total


def manifest_epoch(stamp: str) -> float:
    """Seconds since the epoch of a bundle manifest's UTC stamp (``finished``)."""
    from datetime import UTC, datetime

    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def record_paused_seconds(
    bundle_dir: str | os.PathLike[str], log: Path, keys: Collection[str]
) -> list[str]:
    """Add ``paused_seconds`` (from ``log``) to the pieces ``keys`` of the bundle whose
    manifest entry lacks it: pieces written by a runner that had no pause log named. A
    piece's window is [finished - wall_seconds, finished]. Returns the keys it updated."""
    from hybriddash.store import bundle

    with bundle.writer_lock(bundle_dir):
        manifest = bundle.read_manifest(bundle_dir)
        if manifest is None:
            raise FileNotFoundError(f"{bundle_dir}: no result bundle (manifest.json)")
        updated = []
        for key, piece in manifest.get("pieces", {}).items():
            if key not in keys or "paused_seconds" in piece or "wall_seconds" not in piece:
                continue
            end = manifest_epoch(piece["finished"])
            wall = float(piece["wall_seconds"])
            piece["paused_seconds"] = round(stopped_seconds(log, end - wall, end), 1)
            updated.append(key)
        if updated:
            bundle.write_manifest(Path(bundle_dir), manifest)
    return updated
