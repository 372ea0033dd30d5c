"""Time estimates come from throughput measured by earlier runs on this machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybriddash import timings
from hybriddash.cpu import cpu_model_name


def test_rate_leaves_out_the_first_batch_and_needs_two_batches() -> None:
    meter = timings.RateMeter()
    meter.add(5.0, 100)  # model load + cached texts + first batch
    assert meter.rate(64) is None
    meter.add(6.0, 164)
    meter.add(7.0, 228)
    assert meter.rate(192) == pytest.approx(64.0)
    assert timings.RateMeter().rate(0) is None


def test_no_record_means_no_estimate_and_records_give_one(tmp_artifacts: Path) -> None:
    assert timings.estimate_seconds(1000) is None
    for rate, other in ((100.0, 10.0), (200.0, 20.0), (300.0, 30.0)):
        timings.record(
            model_id="m", model_fp="f", mode="onnx", n_texts=1000, n_encoded=1000,
            encode_s=1000 / rate + 1, rate=rate, total_s=1000 / rate + other,
        )  # fmt: skip
    est = timings.estimate_seconds(1000, mode="onnx", model_id="m")
    assert est is not None and est.n_records == 3
    assert est.rate == pytest.approx(200.0) and est.other_s == pytest.approx(20.0)
    assert est.seconds == pytest.approx(20.0 + 1000 / 200.0)
    assert "200 texts/s" in est.describe() and "3 earlier runs" in est.describe()
    assert timings.estimate_seconds(1000, mode="float32") is None  # another mode: unknown
    # another model of the same mode borrows the mode's records
    assert timings.estimate_seconds(1000, mode="onnx", model_id="other") == est


def test_records_of_another_cpu_are_not_used(tmp_artifacts: Path) -> None:
    row = {"cpu": "some other CPU", "mode": "onnx", "model_id": "m", "rate": 50.0, "other_s": 1.0}
    timings.timings_path().write_text(json.dumps(row) + "\n{broken line\n", encoding="utf-8")
    assert timings.estimate_seconds(100, mode="onnx") is None
    assert cpu_model_name() != "some other CPU"


def test_an_evaluation_that_encodes_records_its_throughput(
    tmp_artifacts: Path, tiny_model_spec, sample_corpus
) -> None:
    from hybriddash.evaluation import evaluate

    first = evaluate(tiny_model_spec, sample_corpus, k=10, progress=False, batch_size=32)
    (row,) = timings.read_records()
    assert row["model_id"] == tiny_model_spec.model_id and row["mode"] == first.mode
    assert row["n_encoded"] == first.n_encoded > 0 and row["rate"] > 0
    assert row["cpu"] == cpu_model_name()
    assert 0 <= row["other_s"] <= row["total_s"]
    again = evaluate(tiny_model_spec, sample_corpus, k=10, progress=False, force=True)
    assert again.n_encoded == 0 and len(timings.read_records()) == 1  # nothing encoded
    est = timings.estimate_seconds(first.n_encoded, mode=first.mode)
    assert est is not None and est.seconds > 0
