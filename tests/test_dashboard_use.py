"""The dashboard under real use (issue 25): fast feedback, idle polling, stale state."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_cancelling_a_queued_import_removes_its_staged_files(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash import jobs

    staged = jobs.stage_files([("a.csv", b"group_id,lang,question,answer\n")])
    job_id = jobs.submit(
        "import",
        {"sources": [str(staged / "a.csv")], "name": "a", "staged_folder": str(staged)},
        start_worker=False,
    )
    assert staged.is_dir()
    assert jobs.cancel(job_id) == "cancelled"
    assert not staged.exists()
    assert jobs.get_job(job_id).state == "cancelled"
