"""The job system: records, the worker process, cancel, failure, a killed worker.

Jobs run in a real worker process (``python -m hybriddash.jobs worker``) started the
way the dashboard starts it; each test has its own artifacts folder, so its own queue,
records and worker, stopped at the end.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from hybriddash import jobs
from hybriddash.jobs import records


@pytest.fixture
def jobs_env(tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HYBRIDDASH_JOBS_IDLE_EXIT", "300")
    yield tmp_artifacts
    jobs.stop_worker()


def wait_for(job_id: int, states: tuple[str, ...], timeout: float = 240) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs.reconcile()
        job = jobs.get_job(job_id)
        if job.state in states:
            return job
        time.sleep(0.3)
    job = jobs.get_job(job_id)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout} s:\n{job.log_tail(40)}")


def _table(path: Path, langs: tuple[str, ...] = ("en", "de")) -> Path:
    rows = ["group_id,lang,question,answer"]
    for g in range(4):
        rows += [f"g{g},{lang},Question {g} in {lang}?,Answer {g} in {lang}." for lang in langs]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _tree(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size (what 'unchanged' compares)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


# ---- records (no worker) ---------------------------------------------------------------


def test_transition_moves_only_from_the_given_states(tmp_artifacts: Path) -> None:
    job_id = records.insert("import", "t", {"sources": ["x"], "name": "n"})
    assert records.get(job_id).state == "queued"
    assert not records.transition(job_id, ("running",), "done")
    assert records.transition(job_id, ("queued",), "running", started_at=time.time())
    assert records.transition(job_id, ("running",), "failed", error="boom")
    job = records.get(job_id)
    assert (job.state, job.error) == ("failed", "boom")
    assert job.finished_at is not None and job.elapsed_s is not None


def test_log_tail_keeps_the_last_state_of_a_redrawn_progress_bar(tmp_artifacts: Path) -> None:
    path = records.log_path(7)
    path.write_text("start\nbar 10%\rbar 50%\rbar 100%\nend\n", encoding="utf-8")
    assert records.tail(path, 10) == "start\nbar 100%\nend"
    assert records.tail(path, 1) == "end"
    assert records.tail(records.log_path(8)) == ""


def test_running_job_of_a_dead_worker_is_marked_failed(tmp_artifacts: Path) -> None:
    job_id = records.insert("import", "t", {"sources": ["x"], "name": "n"})
    # a pid that exists but is not a job worker (pytest itself) counts as dead
    records.transition(job_id, ("queued",), "running", worker_pid=os.getpid())
    [job] = [j for j in jobs.list_jobs() if j.id == job_id]
    assert job.state == "failed"
    assert "worker" in job.error and "stopped" in job.error


def test_unknown_kind_and_bad_training_options_are_refused_before_queueing(
    tmp_artifacts: Path,
) -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.submit("dance", {}, start_worker=False)
    with pytest.raises(ValueError, match="--alpha"):
        jobs.submit("train", {"out": "x", "alpha": 3.0}, start_worker=False)
    assert records.list_jobs() == []


def test_train_params_pass_through_to_config_and_call() -> None:
    from hybriddash.jobs.kinds import split_train_params

    cfg, call = split_train_params({"out": "x", "steps": 5, "overwrite": True, "new_opt": 1})
    assert cfg == {"out": "x", "steps": 5}
    assert call == {"overwrite": True, "new_opt": 1}


# ---- with the worker -------------------------------------------------------------------


def test_import_job_runs_in_the_worker_and_cancel_stops_a_queued_job(
    jobs_env: Path, tmp_path: Path
) -> None:
    from hybriddash.data.datasets import list_uploads

    first = jobs.submit("import", {"sources": [str(_table(tmp_path / "a.csv"))], "name": "a"})
    second = jobs.submit("import", {"sources": [str(_table(tmp_path / "b.csv"))], "name": "b"})
    assert jobs.cancel(second) == "cancelled"  # queued: it never starts
    done = wait_for(first, ("done", "failed"))
    assert done.state == "done", done.error
    assert done.result["dataset_id"] == "upload:a"
    assert done.worker_pid != os.getpid() and done.pid not in (None, done.worker_pid)
    assert "imported upload:a" in done.log_tail()
    time.sleep(1.5)  # the worker has dequeued the cancelled job by now
    assert jobs.get_job(second).state == "cancelled"
    assert list_uploads() == ["a"]
    assert jobs.worker_running()


def test_failed_job_records_the_error_and_skips_the_job_waiting_for_it(
    jobs_env: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("group_id,lang,question\ng1,en,Q?\n", encoding="utf-8")
    failing = jobs.submit("import", {"sources": [str(bad)], "name": "bad"})
    after = jobs.submit(
        "import", {"sources": [str(_table(tmp_path / "c.csv"))], "name": "c"}, depends_on=failing
    )
    job = wait_for(failing, ("done", "failed"))
    assert job.state == "failed"
    assert job.error.startswith("UploadRejected") and "answer" in job.error
    assert "problem:" in job.log_tail(40)
    skipped = wait_for(after, ("cancelled", "done", "failed"))
    assert skipped.state == "cancelled" and f"job {failing}" in skipped.error


def _start_training(spec, steps: int) -> int:
    return jobs.submit(
        "train",
        {
            "base": spec.source,
            "train_data": "sample",
            "out": "killed",
            "steps": steps,
            "batch_size": 8,
            "max_length": 32,
            "eval_every": steps,
            "val_map_queries": 0,
        },
    )


def _wait_for_training_steps(job_id: int, n: int, timeout: float = 300) -> None:
    from hybriddash.training.curves import live_curve_path, read_curve

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get_job(job_id)
        assert job.state in ("queued", "running"), (job.state, job.error, job.log_tail(40))
        curve = read_curve(live_curve_path("killed"))
        if job.state == "running" and (curve["split"] == "train").sum() >= n:
            return
        time.sleep(0.5)
    raise AssertionError(f"no {n} training steps after {timeout} s")


@pytest.mark.slow
def test_killed_worker_mid_training_leaves_store_and_models_unchanged(
    jobs_env: Path, tiny_model_spec
) -> None:
    from hybriddash import config
    from hybriddash.jobs.worker import CHILD_MODULE, WORKER_MODULE, process_alive
    from hybriddash.store.db import Store
    from hybriddash.store.reads import list_models
    from hybriddash.store.writes import register_model

    store = Store(config.store_path())
    register_model(store, tiny_model_spec)  # a store with content, before the job
    store_before = _digest(store.path)
    models_before = _tree(config.models_dir())

    job_id = _start_training(tiny_model_spec, steps=2000)
    _wait_for_training_steps(job_id, 2)
    job = jobs.get_job(job_id)
    assert process_alive(job.worker_pid, WORKER_MODULE) and process_alive(job.pid, CHILD_MODULE)
    os.kill(job.worker_pid, signal.SIGKILL)

    deadline = time.monotonic() + 20
    while process_alive(job.pid, CHILD_MODULE) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(job.pid, CHILD_MODULE), "the job's process outlived its worker"
    failed = wait_for(job_id, ("failed",), timeout=10)  # list_jobs() reconciles
    assert "worker" in failed.error and "stopped" in failed.error
    time.sleep(2)  # nothing may still be on its way to the disk
    assert _digest(store.path) == store_before
    assert _tree(config.models_dir()) == models_before
    assert list_models(store=store)["model_id"].tolist() == [tiny_model_spec.model_id]


@pytest.mark.slow
def test_cancelled_training_registers_nothing_and_the_next_job_runs(
    jobs_env: Path, tiny_model_spec
) -> None:
    from hybriddash import config
    from hybriddash.jobs.worker import CHILD_MODULE, process_alive

    models_before = _tree(config.models_dir())
    job_id = _start_training(tiny_model_spec, steps=2000)
    _wait_for_training_steps(job_id, 1)
    pid = jobs.get_job(job_id).pid
    assert jobs.cancel(job_id) == "running"
    job = wait_for(job_id, ("cancelled", "failed", "done"), timeout=30)
    assert job.state == "cancelled", job.error
    assert not process_alive(pid, CHILD_MODULE)
    assert _tree(config.models_dir()) == models_before
    assert not config.store_path().exists()  # nothing was registered: no store at all
    # the worker survived the cancel and runs the next job
    after = jobs.submit("import", {"sources": [str(_table(jobs_env / "t.csv"))], "name": "t"})
    assert wait_for(after, ("done", "failed")).state == "done"


def test_a_model_saved_but_not_registered_by_a_stopped_job_is_removed(
    tmp_artifacts: Path,
) -> None:
    """The window between the atomic save and the registration: the folder must go."""
    import json

    from hybriddash.jobs.kinds import discard_partial, snapshot
    from hybriddash.training.trainer import trained_dir

    kept = trained_dir() / "old"
    kept.mkdir()
    (kept / "training_card.json").write_text(json.dumps({"fingerprint": "aaa"}), "utf-8")
    before_old = snapshot("train", {"out": "old"})
    before_new = snapshot("train", {"out": "new"})
    assert before_old == {"out": "old", "fingerprint": "aaa"}
    assert before_new == {"out": "new", "fingerprint": None}
    saved = trained_dir() / "new"
    saved.mkdir()
    (saved / "training_card.json").write_text(json.dumps({"fingerprint": "bbb"}), "utf-8")
    leftover = trained_dir() / ".new.tmp-xyz"
    leftover.mkdir()
    assert discard_partial("train", before_old) == []  # untouched by the job: kept
    removed = discard_partial("train", before_new)
    assert sorted(removed) == sorted([str(leftover), str(saved)])
    assert kept.is_dir() and not saved.exists() and not leftover.exists()
    # saved *and* registered (the job was stopped after its registration): kept
    from hybriddash import config
    from hybriddash.encoders.registry import ModelSpec
    from hybriddash.store.db import Store
    from hybriddash.store.writes import register_model

    saved.mkdir()
    (saved / "training_card.json").write_text(json.dumps({"fingerprint": "bbb"}), "utf-8")
    spec = ModelSpec("trained/new", str(saved), "bbb", "trained", "test")
    register_model(Store(config.store_path()), spec)
    assert discard_partial("train", before_new) == []
    assert saved.is_dir()


def test_worker_starts_once_and_exits_when_idle(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYBRIDDASH_JOBS_IDLE_EXIT", "1")
    assert jobs.ensure_worker()
    deadline = time.monotonic() + 30
    while not jobs.worker_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert jobs.worker_running()
        assert not jobs.ensure_worker()  # one worker per artifacts folder
        deadline = time.monotonic() + 30
        while jobs.worker_running() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not jobs.worker_running()
    finally:
        jobs.stop_worker()


def test_jobs_cli_lists_shows_and_cancels_a_dashboard_job(
    tmp_artifacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hybriddash.cli import main

    job_id = jobs.submit(
        "import", {"sources": [str(_table(tmp_path / "c.csv"))], "name": "c"}, start_worker=False
    )
    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{job_id}" in listed and "import upload:c" in listed and "queued" in listed
    assert main(["jobs", "show", str(job_id)]) == 0
    assert '"name": "c"' in capsys.readouterr().out
    assert main(["jobs", "cancel", str(job_id)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert jobs.get_job(job_id).state == "cancelled"
    assert main(["jobs", "list", "--active"]) == 0
    assert "no jobs queued or running" in capsys.readouterr().out
    assert main(["jobs", "show", "999"]) == 2
    assert "no job #999" in capsys.readouterr().err


def test_a_queued_job_whose_queue_entry_died_with_its_worker_is_requeued_and_runs(
    jobs_env: Path, tmp_path: Path
) -> None:
    from hybriddash.jobs import worker

    # a worker killed between taking the job off the queue and marking it running: the
    # record says "queued", the queue is empty
    lost = records.insert(
        "import", "import upload:lost", {"sources": [str(_table(tmp_path / "l.csv"))], "name": "l"}
    )
    kept = jobs.submit(
        "import", {"sources": [str(_table(tmp_path / "k.csv"))], "name": "k"}, start_worker=False
    )
    assert len(worker.get_huey()) == 1
    assert worker.requeue_lost() == [lost]  # only the lost one; the other is on the queue
    assert worker.requeue_lost() == []
    assert jobs.ensure_worker()
    assert wait_for(lost, ("done", "failed")).state == "done"
    assert wait_for(kept, ("done", "failed")).state == "done"


def test_a_job_writes_to_the_store_of_whoever_queued_it_not_the_workers(
    jobs_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one worker per artifacts folder serves every app using it: an app restarted on
    # another store must not see its jobs land in the first app's store
    from hybriddash.store.db import Store

    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    monkeypatch.setenv("HYBRIDDASH_STORE", str(first))
    a = jobs.submit("import", {"sources": [str(_table(tmp_path / "a.csv"))], "name": "a"})
    assert wait_for(a, ("done", "failed")).state == "done"
    monkeypatch.setenv("HYBRIDDASH_STORE", str(second))
    b = jobs.submit("import", {"sources": [str(_table(tmp_path / "b.csv"))], "name": "b"})
    assert wait_for(b, ("done", "failed")).state == "done"
    assert jobs.get_job(b).worker_pid == jobs.get_job(a).worker_pid  # the same worker

    def corpora(path: Path) -> set[str]:
        return set(Store(path).query("SELECT name FROM corpora")["name"])

    assert corpora(first) == {"upload:a"} and corpora(second) == {"upload:b"}
