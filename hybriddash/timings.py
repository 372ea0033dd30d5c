"""Measured throughput of evaluations on this machine, for truthful time estimates.

Every evaluation that encodes appends one line to ``<artifacts>/timings.jsonl``::

    {"at": ISO time, "cpu": model name, "model_id", "model_fp", "mode",
     "n_texts", "n_encoded", "encode_s", "rate": texts/s or null, "other_s", "total_s"}

``rate`` is the encoder's steady throughput: texts per second between the first and
the last progress report of the encoding (the first batch, which also loads the
model, is left out); it is null when fewer than two batches ran. ``other_s`` is the
rest of the evaluation: ``total_s - n_encoded / rate`` (model load and build, ONNX
session, ranks, metrics, store write).

:func:`estimate_seconds` turns the latest records of the same CPU and encode mode into
an estimate, and returns None when this machine has none yet: the UI then says that
the first run measures it, instead of quoting a constant.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hybriddash import config
from hybriddash.cpu import cpu_model_name

TIMINGS_FILE = "timings.jsonl"
# Estimates use the newest records only (a machine's load and software change).
RECENT = 5


def timings_path() -> Path:
    """``<artifacts>/timings.jsonl``."""
    return config.artifacts_dir() / TIMINGS_FILE


class RateMeter:
    """Collects ``(seconds, texts done)`` progress points; gives the steady rate."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def add(self, seconds: float, done: int) -> None:
        self.points.append((seconds, done))

    def rate(self, n_encoded: int) -> float | None:
        """Texts/s between the first and the last point; None below two batches.

        The first point carries the cached texts (they count at once) and the first
        batch, so only the texts after it are counted, against the time after it.
        """
        if n_encoded <= 0 or len(self.points) < 2:
            return None
        (t0, d0), (t1, d1) = self.points[0], self.points[-1]
        if t1 <= t0 or d1 <= d0:
            return None
        return (d1 - d0) / (t1 - t0)


def record(
    *,
    model_id: str,
    model_fp: str,
    mode: str,
    n_texts: int,
    n_encoded: int,
    encode_s: float,
    rate: float | None,
    total_s: float,
    path: Path | None = None,
) -> dict[str, Any]:
    """Append one evaluation's timing to :func:`timings_path` and return the record."""
    other = total_s - (n_encoded / rate if rate else encode_s)
    row = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model_name(),
        "model_id": model_id,
        "model_fp": model_fp,
        "mode": mode,
        "n_texts": int(n_texts),
        "n_encoded": int(n_encoded),
        "encode_s": round(float(encode_s), 3),
        "rate": None if rate is None else round(float(rate), 2),
        "other_s": round(max(other, 0.0), 3),
        "total_s": round(float(total_s), 3),
    }
    target = path or timings_path()
    with target.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    return row


def read_records(path: Path | None = None) -> list[dict[str, Any]]:
    """Every record, oldest first; unreadable lines are skipped."""
    target = path or timings_path()
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a killed process
        if isinstance(row, dict):
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Estimate:
    """An evaluation's expected wall time and what it rests on."""

    seconds: float
    rate: float  # texts/s, median of the newest records
    other_s: float  # seconds outside steady encoding, median of the newest records
    n_records: int

    def describe(self) -> str:
        """``"about 40 s on this machine (200 texts/s measured by 3 earlier runs)"``."""
        runs = "run" if self.n_records == 1 else "runs"
        return (
            f"about {_human(self.seconds)} on this machine ({self.rate:.0f} texts/s "
            f"measured by {self.n_records} earlier {runs})"
        )


def estimate_seconds(
    n_texts: int,
    *,
    mode: str | None = None,
    model_id: str | None = None,
    path: Path | None = None,
) -> Estimate | None:
    """Expected seconds to evaluate a corpus of ``n_texts`` not-yet-cached texts.

    ``other_s + n_texts / rate`` over the medians of the :data:`RECENT` newest records
    of this CPU with a measured rate (and the same ``mode`` / ``model_id`` when given;
    a model without records of its own falls back to the others of that mode). None
    when there is no such record.
    """
    cpu = cpu_model_name()
    rows = [
        r
        for r in read_records(path)
        if r.get("cpu") == cpu and r.get("rate") and (mode is None or r.get("mode") == mode)
    ]
    own = [r for r in rows if model_id is not None and r.get("model_id") == model_id]
    chosen = (own or rows)[-RECENT:]
    if not chosen:
        return None
    rate = statistics.median(float(r["rate"]) for r in chosen)
    other = statistics.median(float(r["other_s"]) for r in chosen)
    return Estimate(other + max(n_texts, 0) / rate, rate, other, len(chosen))


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min"
