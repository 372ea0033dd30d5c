"""Net piece time: the stopped seconds a pause log records, clipped to a piece's window."""

from __future__ import annotations

import pytest

from hybriddash.training.pauses import stopped_seconds


def test_stopped_seconds_clip_to_the_window(tmp_path):
    log = tmp_path / "pauses.log"
    log.write_text("100 stop\n130 cont\n200 stop\n260 cont\n300 stop\n")
    assert stopped_seconds(log, 0, 1000) == 30 + 60 + 700  # the last stop is still on
    assert stopped_seconds(log, 120, 230) == 10 + 30
    assert stopped_seconds(log, 140, 190) == 0
    assert stopped_seconds(None, 0, 1000) == 0
    assert stopped_seconds(tmp_path / "none.log", 0, 1000) == 0


def test_a_repeated_stop_counts_from_the_first(tmp_path):
    log = tmp_path / "pauses.log"
    log.write_text("100 stop\n110 stop\n150 cont\n")
    assert stopped_seconds(log, 0, 1000) == 50


def test_a_malformed_line_is_named(tmp_path):
    log = tmp_path / "pauses.log"
    log.write_text("100 stop\nhello\n")
    with pytest.raises(ValueError, match=r"pauses.log:2"):
        stopped_seconds(log, 0, 1000)


def test_record_paused_seconds_fills_only_the_named_pieces(tmp_path):
    from hybriddash.store import bundle
    from hybriddash.training.pauses import record_paused_seconds

    folder = tmp_path / "b"
    bundle.open_bundle(folder)
    manifest = bundle.read_manifest(folder)
    # finished 2026-01-01T00:10:00Z = 1767226200, after 600 s of wall time
    for key in ("a", "b", "c"):
        manifest["pieces"][key] = {
            "finished": "2026-01-01T00:10:00Z",
            "wall_seconds": 600.0,
            "files": {},
        }
    manifest["pieces"]["c"]["paused_seconds"] = 5.0
    bundle.write_manifest(folder, manifest)
    log = tmp_path / "pauses.log"
    log.write_text("1767225700 stop\n1767225800 cont\n")  # 100 s inside the window
    assert record_paused_seconds(folder, log, {"a", "c"}) == ["a"]
    pieces = bundle.read_manifest(folder)["pieces"]
    assert pieces["a"]["paused_seconds"] == 100.0
    assert "paused_seconds" not in pieces["b"] and pieces["c"]["paused_seconds"] == 5.0
