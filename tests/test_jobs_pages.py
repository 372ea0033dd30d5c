"""The Train and Jobs pages under AppTest: what they queue, what they show, Cancel.

The worker is not started here (``jobs.ensure_worker`` is replaced), so the queued jobs
stay queued and the tests stay fast; ``tests/test_jobs.py`` runs real workers and
``tests/test_browser_jobs.py`` the whole path in Chromium.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hybriddash import jobs
from hybriddash.jobs import records

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_worker(tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(jobs, "ensure_worker", lambda: False)
    return tmp_artifacts


@pytest.fixture
def registered_tiny(no_worker: Path, tiny_model_spec):
    from hybriddash import config
    from hybriddash.store.db import Store
    from hybriddash.store.writes import register_model

    register_model(Store(config.store_path()), tiny_model_spec)
    return tiny_model_spec


def _by_key(at: AppTest, kind: str, key: str):
    return next(w for w in at.get(kind) if getattr(w, "key", None) == key)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _fake_card(root: Path, name: str, *, step_s: float, batch: int, length: int) -> None:
    from hybriddash.cpu import cpu_model_name

    folder = root / "models" / "trained" / name
    folder.mkdir(parents=True)
    card = {
        "model_id": f"trained/{name}",
        "base_model": "tiny-random-bert",
        "config": {"batch_size": batch, "max_length": length, "freeze_embeddings": True},
        "steps_done": 10,
        "step_seconds_median": step_s,
        "wall_seconds": 10 * step_s + 4.0,
        "machine": {"cpu": cpu_model_name(fallback="")},
        "trained_at": "2026-01-01T00:00:00",
    }
    (folder / "training_card.json").write_text(json.dumps(card), encoding="utf-8")


def test_estimate_scales_this_cpus_measured_step_time_by_tokens(no_worker: Path) -> None:
    from hybriddash.training.estimate import estimate_wall_time, measured_runs

    _fake_card(no_worker, "a", step_s=0.5, batch=8, length=32)
    runs = measured_runs()
    assert [r["model_id"] for r in runs] == ["trained/a"]
    est = estimate_wall_time(
        base_model="tiny-random-bert", steps=100, batch_size=16, max_length=64, runs=runs
    )
    assert est is not None and est.same_options
    assert est.step_s == pytest.approx(0.5 * 4)  # 4x the tokens per batch
    assert est.wall_s == pytest.approx(100 * 2.0 + 4.0)
    assert (
        estimate_wall_time(base_model="other", steps=1, batch_size=2, max_length=8, runs=runs)
        is None
    )
    assert measured_runs(cpu="another CPU") == []  # only this machine's measurements


def test_train_page_queues_training_with_its_options_and_an_evaluation(registered_tiny) -> None:
    at = AppTest.from_file(str(REPO / "views" / "train.py"), default_timeout=120)
    at.run()
    _ok(at)
    assert any("No estimate yet" in i.value for i in at.info)
    _by_key(at, "selectbox", "hd_train_base").select("tiny-random-bert").run()
    _by_key(at, "selectbox", "hd_train_data").select("sample").run()
    _by_key(at, "number_input", "hd_train_steps").set_value(12).run()
    _by_key(at, "number_input", "hd_train_bs").set_value(8).run()
    _by_key(at, "number_input", "hd_train_freeze_layers").set_value(1).run()
    _by_key(at, "radio", "hd_train_sampler").set_value("mono").run()
    _by_key(at, "text_input", "hd_train_out").set_value("t1").run()
    _by_key(at, "multiselect", "hd_train_eval_after").set_value(["sample"]).run()
    _by_key(at, "button", "hd_train_go").click().run()
    _ok(at)
    train, evaluate = sorted(records.list_jobs(), key=lambda j: j.id)
    assert train.kind == "train" and train.state == "queued"
    p = train.params
    assert p["base"] == registered_tiny.source  # registered by path: passed by path
    assert (p["train_data"], p["steps"], p["batch_size"], p["freeze_layers"]) == (
        "sample",
        12,
        8,
        1,
    )
    assert (p["sampler"], p["out"], p["alpha"]) == ("mono", "t1", 0.5)
    assert evaluate.kind == "evaluate" and evaluate.depends_on == train.id
    assert evaluate.params == {"model": "trained/t1", "dataset": "sample"}
    # the live view shows the queued run
    assert any(s.value == "queued" for s in at.get("metric"))


def test_three_strategies_are_queued_as_one_set_with_the_same_budget(registered_tiny) -> None:
    at = AppTest.from_file(str(REPO / "views" / "train.py"), default_timeout=120)
    at.run()
    _by_key(at, "selectbox", "hd_train_data").select("sample").run()
    _by_key(at, "text_input", "hd_train_out").set_value("set1").run()
    _by_key(at, "button", "hd_train_three").click().run()
    _ok(at)
    queued = sorted(records.list_jobs(), key=lambda j: j.id)
    assert [j.params["out"] for j in queued] == ["set1-mono", "set1-cross", "set1-hybrid"]
    assert [j.params["sampler"] for j in queued] == ["mono", "cross", "hybrid"]
    assert {j.group_name for j in queued} == {"set1"}
    budget = {k: v for k, v in queued[0].params.items() if k not in ("out", "sampler")}
    assert all(
        {k: v for k, v in j.params.items() if k not in ("out", "sampler")} == budget for j in queued
    )


def test_jobs_page_lists_queue_and_history_and_cancels(no_worker: Path) -> None:
    first = jobs.submit("import", {"sources": ["a.csv"], "name": "a"})
    second = jobs.submit("import", {"sources": ["b.csv"], "name": "b"})
    records.transition(first, ("queued",), "running", started_at=time.time())
    records.transition(first, ("running",), "failed", error="ValueError: broken file")
    records.log_path(first).write_text("reading a.csv\nboom\n", encoding="utf-8")
    at = AppTest.from_file(str(REPO / "views" / "jobs.py"), default_timeout=60)
    at.run()
    _ok(at)
    [history] = at.dataframe
    assert history.value["id"].tolist() == [first]
    assert any("ValueError: broken file" in e.value for e in at.error)
    assert any("boom" in c.value for c in at.code)
    cancel = _by_key(at, "button", f"hd_jobs_cancel_{second}")
    cancel.click().run()
    _ok(at)
    assert jobs.get_job(second).state == "cancelled"


def test_overview_evaluate_queues_a_job_and_returns(no_worker: Path) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    _by_key(at, "selectbox", "hd_eval_dataset").select("sample").run()
    _by_key(at, "button", "hd_eval_go").click().run()
    _ok(at)
    [job] = records.list_jobs()
    assert job.kind == "evaluate" and job.state == "queued"
    assert job.params["dataset"] == "sample" and job.params["model"]
    assert any("Evaluation job" in m.value for m in at.markdown)


def test_live_view_draws_the_growing_curve_of_the_running_job(
    registered_tiny, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash.jobs import worker
    from hybriddash.training.curves import CurveLog, live_curve_path

    # a recorded "running" job without a real worker: keep reconcile() from failing it
    monkeypatch.setattr(worker, "process_alive", lambda pid, marker: True)

    job_id = jobs.submit(
        "train",
        {"base": registered_tiny.source, "train_data": "sample", "out": "live", "steps": 50},
    )
    records.transition(job_id, ("queued",), "running", started_at=time.time() - 5)
    records.update(job_id, progress=0.1, stage="step 5/50, loss 2.0", step_s=0.4, eta_s=20.0)
    log = CurveLog(live_curve_path("live"))
    for step in range(1, 6):
        log.add(step, "train", "loss", 2.5 - 0.1 * step)
    log.add(0, "validation", "loss", 2.4)
    log.add(0, "validation", "map_multilingual", 0.21)
    at = AppTest.from_file(str(REPO / "views" / "train.py"), default_timeout=120)
    at.run()
    _ok(at)
    [chart] = [c for c in at.get("plotly_chart")]
    spec = json.loads(chart.proto.spec)
    names = [t["name"] for t in spec["data"]]
    assert names == [
        "trained/live · train loss",
        "trained/live · validation loss",
        "trained/live · validation map",
    ]
    y = spec["data"][0]["y"]  # plotly's binary encoding of a float array
    values = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    assert values.tolist() == pytest.approx([2.4, 2.3, 2.2, 2.1, 2.0])
    assert any("5 training-loss points" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.get("metric")}
    assert metrics["State"] == "running" and metrics["Step time"] == "0.40 s"
    assert metrics["ETA"] == "20 s"
    # the curve grows: two more steps, the next fragment run shows them
    log.add(6, "train", "loss", 1.9)
    log.add(7, "train", "loss", 1.8)
    log.close()
    at.run()
    assert any("7 training-loss points" in c.value for c in at.caption)


def test_train_page_passes_extra_pairs_to_cross_and_hybrid_only(registered_tiny) -> None:
    at = AppTest.from_file(str(REPO / "views" / "train.py"), default_timeout=120)
    at.run()
    _by_key(at, "selectbox", "hd_train_data").select("sample").run()
    _by_key(at, "text_input", "hd_train_extra_pairs").set_value("sample[segments=train]").run()
    _by_key(at, "number_input", "hd_train_extra_share").set_value(0.25).run()
    _by_key(at, "text_input", "hd_train_out").set_value("xp").run()
    _by_key(at, "button", "hd_train_three").click().run()
    _ok(at)
    queued = {j.params["sampler"]: j.params for j in records.list_jobs()}
    assert "extra_pairs" not in queued["mono"]
    for kind in ("cross", "hybrid"):
        assert (queued[kind]["extra_pairs"], queued[kind]["extra_share"]) == (
            "sample[segments=train]",
            0.25,
        )
