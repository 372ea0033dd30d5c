"""bench/study_rerun.py: timing a rerun of the study and comparing it with the committed one."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from hybriddash.training.pauses import manifest_epoch, stopped_seconds

REPO = Path(__file__).resolve().parent.parent
PIECE = "repro-standard-mlqa-r-hybrid-s0"

_spec = importlib.util.spec_from_file_location("study_rerun", REPO / "bench" / "study_rerun.py")
study_rerun = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study_rerun)

needs_reference = pytest.mark.skipif(
    not (REPO / "reference" / "pieces" / PIECE).is_dir(), reason="no reference bundle"
)


def test_stopped_seconds_counts_only_the_overlap_with_the_piece(tmp_path):
    log = tmp_path / "pauses.log"
    log.write_text("100 stop\n160 cont\n400 stop\n450 cont\n900 stop\n")
    # piece from 130 to 420: 30 s of the first stop, 20 s of the second
    assert stopped_seconds(log, 130, 420) == 50
    # a stop still open at the piece's end counts up to the end
    assert stopped_seconds(log, 800, 1000) == 100
    assert stopped_seconds(None, 0, 10) == 0


def _rewrite(piece: Path, table: str, sql: str) -> None:
    path = piece / f"{table}.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY ({sql.format(src=f'read_parquet({str(path)!r})')}) TO '{path}.new' (FORMAT parquet)"
        )
    Path(f"{path}.new").replace(path)


@needs_reference
def test_a_copy_is_identical_and_a_changed_number_is_found(tmp_path):
    committed = REPO / "reference" / "pieces" / PIECE
    copy = tmp_path / PIECE
    shutil.copytree(committed, copy)
    same = study_rerun.compare_piece(copy, committed)
    assert same["identical"] and same["within_tolerance"]
    assert same["query_rows_compared"] > 10_000

    # run ids differ between runs: the comparison goes by model, not by run id
    _rewrite(copy, "runs", "SELECT * REPLACE (run_id || 'x' AS run_id) FROM {src}")
    _rewrite(copy, "run_headline", "SELECT * REPLACE (run_id || 'x' AS run_id) FROM {src}")
    _rewrite(copy, "query_metrics", "SELECT * REPLACE (run_id || 'x' AS run_id) FROM {src}")
    assert study_rerun.compare_piece(copy, committed)["identical"]

    _rewrite(
        copy, "run_headline", "SELECT * REPLACE (multilingual + 0.003 AS multilingual) FROM {src}"
    )
    changed = study_rerun.compare_piece(copy, committed)
    assert changed["headline_diff"]["multilingual"] == pytest.approx(0.003)
    assert not changed["identical"] and not changed["within_tolerance"]


@needs_reference
def test_the_ledger_times_new_pieces_once(tmp_path):
    reference = REPO / "reference"
    committed = json.loads((reference / "manifest.json").read_text())
    bundle = tmp_path / "rerun"
    shutil.copytree(reference / "pieces" / PIECE, bundle / "pieces" / PIECE)
    piece = dict(committed["pieces"][PIECE], wall_seconds=700.0, finished="2026-12-06T14:00:00Z")
    (bundle / "manifest.json").write_text(json.dumps({"pieces": {PIECE: piece}}))
    pauses = tmp_path / "pauses.log"
    start = manifest_epoch("2026-12-06T14:00:00Z") - 700
    pauses.write_text(f"{start + 100:.0f} stop\n{start + 160:.0f} cont\n")
    ledger = tmp_path / "ledger.json"

    assert study_rerun.update_ledger(bundle, reference, ledger, pauses) == [PIECE]
    assert study_rerun.update_ledger(bundle, reference, ledger, pauses) == []
    entry = json.loads(ledger.read_text())["pieces"][PIECE]
    assert entry["net_seconds"] == 640 and entry["identical"]
    text = study_rerun.render(json.loads(ledger.read_text()))
    assert f"1 of {len(committed['plan'])} pieces timed" in text and PIECE in text


def test_an_untimed_direction_is_projected_from_the_other_scaled_by_the_committed_ratio():
    medians = {"base": 300.0, "trained on MLQA-R": 680.0}
    committed = {"base": 310.0, "trained on MLQA-R": 750.0, "trained on XQuAD-R": 825.0}
    assert study_rerun._stand_in("trained on XQuAD-R", medians, committed) == pytest.approx(748.0)
    # no committed ratio: the other direction's median as it is
    assert study_rerun._stand_in("trained on XQuAD-R", medians, {}) == 680.0
    assert study_rerun._stand_in("base", medians, committed) != study_rerun._stand_in(
        "base", medians, committed
    )  # NaN: a base is never projected from trained pieces

    plan = [
        "standard-xquad-r-base",
        "repro-standard-mlqa-r-mono-s0",
        "repro-standard-xquad-r-mono-s0",
    ]
    # a real ledger entry as the template: the report reads every field of it
    ledger = json.loads((REPO / "bench" / "study_rerun.json").read_text())
    piece = ledger["pieces"]["repro-standard-mlqa-r-mono-s0"]
    state = {
        "plan": plan,
        "committed_kind_medians": committed,
        "pieces": {
            plan[0]: dict(piece, net_seconds=300.0),
            plan[1]: dict(piece, net_seconds=680.0),
        },
    }
    text = study_rerun.render(state)
    # 300 + 680 timed, 748 projected: 1728 s = 0.48 h
    assert "2 of 3 pieces timed: 0.27 h" in text and "projects to **0.48 h**" in text
    assert "trained on XQuAD-R 748 s" in text
