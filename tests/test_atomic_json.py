"""write_json_atomically: the new content or the old, never a torn file or a stray temp."""

from __future__ import annotations

import json

import pytest

from hybriddash.atomic_json import write_json_atomically


def test_writes_then_replaces(tmp_path):
    path = tmp_path / "sub" / "state.json"
    write_json_atomically(path, {"b": 1, "a": [1, 2]}, sort_keys=True)
    assert path.read_text().startswith('{\n "a"')
    write_json_atomically(path, {"c": 3}, indent=2)
    assert json.loads(path.read_text()) == {"c": 3}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomically(path, {"kept": True})
    with pytest.raises(TypeError):
        write_json_atomically(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
