"""Merging result bundles (the shards of a study): sha256 checks, conflicts, atomicity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from study_toy_store import build_study_store

from hybriddash.cli import main
from hybriddash.store import bundle
from hybriddash.store.bundle_merge import merge_bundles, merged_profile
from hybriddash.store.db import Store

PROFILE = {"name": "toy", "steps": 2, "seeds": [0, 1, 2], "sweep_seeds": None, "note": "a"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return build_study_store(tmp_path_factory.mktemp("src") / "src.duckdb")


@pytest.fixture(scope="module")
def owners(source):
    """Piece key -> run ids of the toy study's store (one piece per uncorrected model)."""
    with source.read() as con:
        runs = con.execute("SELECT run_id, model_id FROM runs ORDER BY run_id").df()
    return {bundle.piece_key(m): g["run_id"].tolist() for m, g in runs.groupby("model_id")}


def _bundle(folder: Path, source: Store, owners: dict, keys, profile=PROFILE) -> Path:
    bundle.open_bundle(folder, label="shard", profile=profile, plan=sorted(owners))
    with source.read() as con:
        runs = con.execute("SELECT run_id, model_id FROM runs").df()
    for key in keys:
        ids = owners[key]
        models = sorted(set(runs[runs["run_id"].isin(ids)]["model_id"]))
        bundle.export_piece(folder, key, model_ids=models, run_ids=ids, store=source)
    return folder


def _split(owners):
    keys = sorted(owners)
    return keys[: len(keys) // 2], keys[len(keys) // 2 :]


def test_two_shards_merge_into_the_bundle_of_the_whole_study(source, owners, tmp_path):
    first, second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = _bundle(tmp_path / "b", source, owners, second)
    whole = _bundle(tmp_path / "whole", source, owners, sorted(owners))
    summary = merge_bundles([a, b], tmp_path / "out")
    assert sorted(summary.added) == sorted(owners) and summary.identical == []
    merged = bundle.verify_bundle(tmp_path / "out")
    reference = bundle.read_manifest(whole)
    assert merged["complete"] is True
    assert set(merged["pieces"]) == set(reference["pieces"])
    for key, entry in reference["pieces"].items():
        got = {t: f["sha256"] for t, f in merged["pieces"][key]["files"].items()}
        assert got == {t: f["sha256"] for t, f in entry["files"].items()}, key
    assert [m["path"] for m in merged["merged_from"]] == [str(b)]
    # the merged bundle loads into a fresh store with every run
    fresh = Store(tmp_path / "fresh.duckdb")
    bundle.load_bundle(tmp_path / "out", fresh)
    with fresh.read() as con, source.read() as src:
        assert (
            con.execute("SELECT count(*) FROM runs").fetchone()
            == src.execute("SELECT count(*) FROM runs").fetchone()
        )


def test_merging_again_changes_nothing(source, owners, tmp_path):
    first, second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = _bundle(tmp_path / "b", source, owners, second)
    merge_bundles([a, b], tmp_path / "out")
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    again = merge_bundles([a, b, tmp_path / "out"], tmp_path / "out")
    assert again.added == [] and sorted(again.identical) == sorted(owners)
    after = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    assert after == before


def test_a_conflicting_piece_is_refused_and_the_target_is_left_as_it_was(source, owners, tmp_path):
    first, second = _split(owners)
    key = first[0]
    a = _bundle(tmp_path / "a", source, owners, first)
    # the same piece key, holding another model's runs: different content
    other = owners[second[0]]
    bundle.open_bundle(tmp_path / "b", label="shard", profile=PROFILE, plan=sorted(owners))
    with source.read() as con:
        model = con.execute("SELECT model_id FROM runs WHERE run_id = ?", [other[0]]).fetchone()
    bundle.export_piece(tmp_path / "b", key, model_ids=[model[0]], run_ids=other, store=source)
    out = _bundle(tmp_path / "out", source, owners, [second[1]])
    manifest_before = (out / "manifest.json").read_bytes()
    folders_before = sorted(p.name for p in (out / "pieces").iterdir())
    with pytest.raises(bundle.BundleError, match=f"conflicting piece '{key}'"):
        merge_bundles([a, tmp_path / "b"], out)
    assert (out / "manifest.json").read_bytes() == manifest_before
    assert sorted(p.name for p in (out / "pieces").iterdir()) == folders_before


def test_a_corrupted_file_is_refused_before_anything_is_written(source, owners, tmp_path):
    first, second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = _bundle(tmp_path / "b", source, owners, second)
    manifest = json.loads((b / "manifest.json").read_text())
    entry = manifest["pieces"][second[0]]
    path = b / "pieces" / second[0] / entry["files"]["runs"]["path"]
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(bundle.BundleError, match="sha256"):
        merge_bundles([a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # and through the command line: exit status 2, one clear line
    assert main(["bundle", "merge", str(a), str(b), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_studies_of_other_budgets_are_refused(source, owners, tmp_path):
    first, second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = _bundle(tmp_path / "b", source, owners, second, profile={**PROFILE, "steps": 3})
    with pytest.raises(bundle.BundleError, match="steps: 2 vs 3"):
        merge_bundles([a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_run_in_two_pieces_is_refused(source, owners, tmp_path):
    first, second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = tmp_path / "b"
    bundle.open_bundle(b, label="shard", profile=PROFILE)
    ids = owners[first[0]]
    with source.read() as con:
        model = con.execute("SELECT model_id FROM runs WHERE run_id = ?", [ids[0]]).fetchone()
    bundle.export_piece(b, "renamed", model_ids=[model[0]], run_ids=ids, store=source)
    with pytest.raises(bundle.BundleError, match="in piece 'renamed' and in piece"):
        merge_bundles([a, b], tmp_path / "out")


def test_one_model_in_two_pieces_merges_only_when_its_row_is_the_same(source, owners, tmp_path):
    """The base model evaluated in several pieces (one per suite) is one model: allowed
    when both pieces hold the same model row (its machine-local source path aside)."""
    with source.read() as con:
        runs = con.execute("SELECT run_id, model_id FROM runs ORDER BY run_id").df()
    # the toy has one run per model: the second piece lists the model with another run
    model, ids = runs["model_id"].iloc[0], runs["run_id"].iloc[:2].tolist()
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, key, run in ((a, "first", ids[:1]), (b, "second", ids[1:])):
        bundle.open_bundle(folder, label="suites")
        bundle.export_piece(folder, key, model_ids=[model], run_ids=run, store=source)
    merged = merge_bundles([a, b], tmp_path / "out").manifest
    assert set(merged["pieces"]) == {"first", "second"}
    # another model row under the same id (other weights): refused
    with source.read() as con:
        fingerprint = con.execute(
            "SELECT fingerprint FROM models WHERE model_id = ?", [model]
        ).fetchone()[0]
    c = tmp_path / "c"
    bundle.open_bundle(c, label="suites")
    try:
        with source.write() as con:
            con.execute("UPDATE models SET fingerprint = 'other' WHERE model_id = ?", [model])
        bundle.export_piece(c, "third", model_ids=[model], run_ids=ids[1:], store=source)
    finally:  # the store is the module's: leave it as it was
        with source.write() as con:
            con.execute(
                "UPDATE models SET fingerprint = ? WHERE model_id = ?", [fingerprint, model]
            )
    with pytest.raises(bundle.BundleError, match="one id, one piece"):
        merge_bundles([a, c], tmp_path / "out2")


def test_the_same_rows_in_other_bytes_are_not_a_conflict(source, owners, tmp_path):
    first, _second = _split(owners)
    a = _bundle(tmp_path / "a", source, owners, first)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    # rewrite one table with another row order and compression: same rows, other bytes
    manifest = json.loads((b / "manifest.json").read_text())
    entry = manifest["pieces"][first[0]]["files"]["runs"]
    path = b / "pieces" / first[0] / entry["path"]
    import duckdb

    copy = tmp_path / "copy.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY run_id DESC) "
        f"TO '{copy}' (FORMAT PARQUET, COMPRESSION SNAPPY)"
    )
    shutil.move(copy, path)
    import hashlib

    entry.update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), bytes=path.stat().st_size)
    (b / "manifest.json").write_text(json.dumps(manifest))
    held = bundle.read_manifest(a)["pieces"][first[0]]["files"]["runs"]["sha256"]
    assert entry["sha256"] != held
    summary = merge_bundles([a, b], tmp_path / "out")
    assert first[0] in summary.identical


def test_the_merged_profile_takes_the_union_of_core_seeds():
    held = {**PROFILE, "sweep_seeds": [0, 1, 2]}
    grown = merged_profile(held, {**held, "seeds": [0, 1, 2, 3, 4], "note": "b"}, where="x")
    assert grown["seeds"] == [0, 1, 2, 3, 4]
    # without sweep seeds the sweep runs every seed: more seeds change the sweep
    with pytest.raises(bundle.BundleError, match="sweep's seeds"):
        merged_profile(PROFILE, {**PROFILE, "seeds": [0, 1, 2, 3]}, where="x")
    with pytest.raises(bundle.BundleError, match="sweep's seeds"):
        merged_profile(
            {**PROFILE, "sweep_seeds": [0, 1]}, {**PROFILE, "sweep_seeds": [0]}, where="x"
        )
    with pytest.raises(bundle.BundleError, match="the other none"):
        merged_profile(PROFILE, None, where="x")
    assert merged_profile(None, None, where="x") is None


def test_a_dropped_piece_leaves_with_its_reason_and_cannot_be_merged_back(
    source, owners, tmp_path, capsys
):
    keys = sorted(owners)
    shard = _bundle(tmp_path / "shard", source, owners, keys)
    out = _bundle(tmp_path / "out", source, owners, keys)
    gone = keys[0]
    before = bundle.read_manifest(out)
    # an unknown piece: refused, nothing changed
    assert main(["bundle", "drop", str(out), "no-such-piece", "--why", "x"]) != 0
    assert bundle.read_manifest(out) == before
    assert "no piece no-such-piece" in capsys.readouterr().err
    assert main(["bundle", "drop", str(out), gone, "--why", "its data was misaligned"]) == 0
    after = bundle.verify_bundle(out)  # every remaining sha256 still matches
    assert gone not in after["pieces"] and not (out / "pieces" / gone).exists()
    assert set(after["pieces"]) == set(keys) - {gone}
    record = after["dropped"][-1]
    assert record["piece"] == gone and record["why"] == "its data was misaligned"
    assert after.get("complete") is not True
    # every corpus left is one a remaining run uses
    used = set()
    for key in after["pieces"]:
        used |= set(pd.read_parquet(out / "pieces" / key / "runs.parquet")["corpus_fp"])
    assert set(after["corpora"]) <= used
    # the stale copy in a shard is refused; a recomputed piece (other runs file) is not
    with pytest.raises(bundle.BundleError, match="the very piece dropped"):
        merge_bundles([shard], out)
    assert bundle.read_manifest(out)["pieces"].keys() == after["pieces"].keys()
