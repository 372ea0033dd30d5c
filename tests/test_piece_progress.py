"""The piece ledger: work a stopped study process did for a piece, counted once by the
process that finishes it."""

from __future__ import annotations

import os
from pathlib import Path

from hybriddash.training.piece_progress import (
    Checkpoint,
    PieceLedger,
    PieceProgress,
    earlier_seconds,
    ledger_path,
    read_progress,
    write_progress,
)


def _ledger(tmp_path: Path, model_dir: Path) -> PieceProgress:
    return PieceProgress(
        "q-hybrid-s5",
        12345,
        [
            Checkpoint("train", 400.0, model_dirs=(str(model_dir),)),
            Checkpoint("evaluate a", 550.0, run_ids=("run-a",)),
            Checkpoint("evaluate b", 700.0, run_ids=("run-b1", "run-b2")),
        ],
    )


def test_the_last_checkpoint_whose_results_remain_is_counted(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    progress = _ledger(tmp_path, model)
    held = {"run-a", "run-b1", "run-b2"}
    assert earlier_seconds(progress, "q-hybrid-s5", has_run=held.__contains__) == 700.0
    # a run of the last step lost: that step is done again, so counted once, then
    assert earlier_seconds(progress, "q-hybrid-s5", has_run={"run-a", "run-b1"}.__contains__) == 550
    # a lost early result stops the count there, whatever came after it
    assert (
        earlier_seconds(progress, "q-hybrid-s5", has_run={"run-b1", "run-b2"}.__contains__) == 400
    )
    model.rmdir()  # the model is gone: training runs again, nothing earlier is reused
    assert earlier_seconds(progress, "q-hybrid-s5", has_run=held.__contains__) == 0.0
    assert earlier_seconds(progress, "q-mono-s5", has_run=held.__contains__) == 0.0
    assert earlier_seconds(None, "q-hybrid-s5", has_run=held.__contains__) == 0.0


def test_a_ledger_round_trips_and_an_unreadable_one_counts_nothing(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    path = tmp_path / "studies" / "progress.json"
    write_progress(path, _ledger(tmp_path, model))
    assert read_progress(path) == _ledger(tmp_path, model)
    path.write_text("{not json", encoding="utf-8")
    assert read_progress(path) is None
    path.write_text('{"version": 99, "piece": "x", "pid": 1, "checkpoints": []}', encoding="utf-8")
    assert read_progress(path) is None
    assert read_progress(tmp_path / "missing.json") is None


def test_a_second_attempt_adds_its_own_time_to_the_first_ones(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    path = ledger_path(tmp_path / "bundle", artifacts=tmp_path / "artifacts")
    first = PieceLedger(path, "q-mono-s4", has_run=lambda _r: True)
    assert first.earlier == 0.0
    first.checkpoint("train", 300.0, model_dirs=[model])
    first.checkpoint("evaluate a", 420.0, run_ids=["run-a"])
    # stopped here; the next attempt finds the ledger and starts from 420 s
    second = PieceLedger(path, "q-mono-s4", has_run=lambda _r: True)
    assert second.earlier == 420.0
    second.checkpoint("train", 2.0, model_dirs=[model])  # the model reused
    assert read_progress(path).checkpoints[-1].net_seconds == 422.0
    assert read_progress(path).pid == os.getpid()
    second.finish()
    assert not path.exists()
    # another bundle folder has its own ledger
    assert ledger_path(tmp_path / "other", artifacts=tmp_path / "artifacts") != path
