"""A study spread over machines: piece selection, seed growth, two shard processes + merge."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hybriddash.store import bundle
from hybriddash.store.bundle_merge import merge_bundles
from hybriddash.store.db import Store
from hybriddash.training.reproduce import PROFILES, Profile
from hybriddash.training.study import _seeds_added, run_study, select_pieces, study_plan

REPO = Path(__file__).resolve().parents[1]
# the tiny study of tests/test_study_runner.py, written out so a child process builds it too
TINY_SOURCE = """
from hybriddash.training.reproduce import Profile
TINY = Profile(name="tiny-study", steps=2, batch_size=4, max_length=24, eval_every=2,
               seeds=(0,), eval_articles={"sample": 2}, freeze_layers=1,
               alpha_sweep=(0.0, 0.5, 1.0), sweep_direction=("sample", "sample"),
               note="TINY STUDY PROFILE")
"""
_scope: dict = {}
exec(TINY_SOURCE, _scope)  # noqa: S102 - the literal above, shared with the child process
TINY: Profile = _scope["TINY"]
DIRS = (("sample", "sample"),)


def _plan():
    return study_plan(PROFILES["standard"], reuse_endpoints={0.0: True, 1.0: True})


def test_shards_split_the_plan_with_no_piece_twice_and_none_left_out():
    plan = _plan()
    shares = [select_pieces(plan, shard=(i, 4)) for i in range(1, 5)]
    keys = [p.key for share in shares for p in share]
    assert sorted(keys) == sorted(p.key for p in plan) and len(keys) == len(set(keys))
    # interleaved: piece j goes to shard j mod n + 1, each share in plan order
    assert [p.key for p in shares[1]] == [p.key for p in plan[1::4]]
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert select_pieces(plan, shard=(1, 1)) == plan


def test_piece_patterns_pick_pieces_in_plan_order_and_shard_what_they_picked():
    plan = _plan()
    new = select_pieces(plan, pieces=["repro-standard-*-s4", "repro-standard-*-s3"])
    assert {p.seed for p in new} == {3, 4} and len(new) == 2 * 2 * 3
    assert [p.key for p in new] == [p.key for p in plan if p.seed in (3, 4) and p.alpha == 0.5]
    halves = [select_pieces(plan, pieces=["repro-standard-*-s4"], shard=(i, 2)) for i in (1, 2)]
    assert sorted(p.key for h in halves for p in h) == sorted(
        p.key for p in plan if p.key.endswith("-s4")
    )


def test_piece_selection_errors_name_what_is_wrong():
    plan = _plan()
    with pytest.raises(ValueError, match="no piece of the plan matches nothing-\\*"):
        select_pieces(plan, pieces=["repro-standard-*-s0", "nothing-*"])
    for bad in ((0, 2), (3, 2), (1, 0)):
        with pytest.raises(ValueError, match="between 1 and n"):
            select_pieces(plan, shard=bad)


def test_a_study_may_grow_its_core_seeds_but_nothing_else():
    held = {"name": "standard", "steps": 200, "seeds": [0, 1, 2], "sweep_seeds": None}
    # the old bundle's sweep ran the seeds 0-2; the grown study keeps them for the sweep
    grown = {**held, "seeds": [0, 1, 2, 3, 4], "sweep_seeds": [0, 1, 2]}
    assert _seeds_added(held, grown)
    assert _seeds_added(grown, grown)
    assert not _seeds_added(grown, held)  # seeds removed
    assert not _seeds_added(held, {**grown, "steps": 150})  # another budget
    assert not _seeds_added(held, {**grown, "sweep_seeds": [0, 1]})  # sweep changed
    assert not _seeds_added(held, {**held, "seeds": [1, 2, 3]})  # seed 0 dropped


_CHILD = """
import sys
from pathlib import Path
from hybriddash.store.db import Store
from hybriddash.training.study import run_study
{tiny}
i, n = (int(x) for x in sys.argv[3].split("/"))
art = Path(sys.argv[2])
summary = run_study(TINY, Path(sys.argv[1]), base=sys.argv[4], directions=(("sample", "sample"),),
                    store=Store(art / "store.duckdb"), progress=False, log=lambda s: None,
                    shard=(i, n))
print(",".join(summary["done"]))
"""


@pytest.mark.slow
def test_two_shard_processes_merged_equal_one_unsharded_study(tmp_path, tiny_model_spec):
    script = tmp_path / "shard.py"
    script.write_text(textwrap.dedent(_CHILD).format(tiny=TINY_SOURCE), encoding="utf-8")
    procs = []
    for i in (1, 2):
        art = tmp_path / f"artifacts-{i}"  # one machine each: nothing shared but the code
        env = {
            **os.environ,
            "HYBRIDDASH_ARTIFACTS": str(art),
            "HYBRIDDASH_STORE": str(art / "store.duckdb"),
            "OMP_NUM_THREADS": "1",
        }
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    str(tmp_path / f"shard-{i}"),
                    str(art),
                    f"{i}/2",
                    tiny_model_spec.source,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        done.append(out.strip().splitlines()[-1].split(","))
    assert not set(done[0]) & set(done[1]) and all(done)

    merge_bundles([tmp_path / "shard-1", tmp_path / "shard-2"], tmp_path / "merged")
    merged = bundle.verify_bundle(tmp_path / "merged")
    assert merged["complete"] is True

    whole = tmp_path / "whole"
    art = tmp_path / "artifacts-whole"
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(art))
        mp.setenv("HYBRIDDASH_STORE", str(art / "store.duckdb"))
        run_study(
            TINY,
            whole,
            base=tiny_model_spec.source,
            directions=DIRS,
            store=Store(art / "store.duckdb"),
            progress=False,
            log=lambda line: None,
        )
    finally:
        mp.undo()
    single = bundle.read_manifest(whole)
    assert set(merged["pieces"]) == set(single["pieces"]) == set(single["plan"])
    for key, entry in single["pieces"].items():
        other = merged["pieces"][key]
        assert (other["sampler"], other["seed"], other["alpha"]) == (
            entry["sampler"],
            entry["seed"],
            entry["alpha"],
        )
    # the same models, trained and evaluated apart, give the same numbers
    table = bundle.compare_headlines(
        bundle.headline_by_piece(whole),
        bundle.headline_by_piece(tmp_path / "merged"),
        tolerance={"map": 1e-6, "rank_distance": 1e-4},
    )
    n_runs = sum(len(e["run_ids"]) for e in single["pieces"].values())
    assert len(table) == 4 * n_runs  # 4 measures per run
    assert table["within"].all(), table[~table["within"]]
