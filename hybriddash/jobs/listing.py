"""The jobs as a table, for the Jobs page and ``hybriddash jobs list`` alike."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from hybriddash.jobs.records import Job

STATE_ICONS = {
    "queued": "⏳",
    "running": "▶️",
    "done": "✅",
    "failed": "❌",
    "cancelled": "⏹️",
}


def fmt_seconds(seconds: float | None) -> str:
    """``75`` -> ``1 min 15 s``; ``None`` -> ``—``."""
    if seconds is None or seconds != seconds:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def jobs_frame(job_list: list[Job]) -> pd.DataFrame:
    """The jobs as a table for display."""
    return pd.DataFrame(
        [
            {
                "id": j.id,
                "state": f"{STATE_ICONS.get(j.state, '')} {j.state}",
                "job": j.title,
                "set": j.group_name or "",
                "progress": None if j.progress is None else round(100 * j.progress),
                "ETA": fmt_seconds(j.eta_s) if j.state == "running" else "",
                "ran": fmt_seconds(j.elapsed_s) if j.started_at else "",
                "queued at": _when(j.created_at),
                "message": j.error or (j.stage if j.active else "") or "",
            }
            for j in job_list
        ],
        columns=["id", "state", "job", "set", "progress", "ETA", "ran", "queued at", "message"],
    )
