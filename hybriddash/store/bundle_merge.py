"""Merge result bundles: the pieces of a study run on many machines, into one bundle.

A study spread over a scheduler (``reproduce --shard i/n --bundle DIR_i``, one bundle per
task) ends with :func:`merge_bundles` into one folder, which may already be a bundle
(``reference/``). Rules, checked for every input before anything is written:

- every file of every input (and of the target) matches its manifest's sha256
  (:func:`hybriddash.store.bundle.verify_bundle`);
- the inputs hold the same study: their ``profile`` entries are equal except for the
  fields that may differ between machines (:data:`FREE_PROFILE_KEYS`) and the seeds of
  the core strategies, which may grow (the merged profile lists the union; the alpha
  sweep's seeds must agree); the ``alpha_endpoints`` that shaped the plan must agree;
- a piece key held by two bundles must have the same content: the same sha256 for every
  file, or, where the bytes differ (another Parquet writer, another registration
  time), the same rows in every table, timestamps aside. Otherwise the merge is refused, naming the piece, both bundles and the table;
- a piece the target dropped (``bundle drop``) comes back only computed again: the same
  key with the same runs file as the dropped record is refused;
- a run id may belong to one piece only, and a model id too unless both pieces hold the
  same model row (the base model evaluated in several pieces); otherwise loading would
  let one silently replace the other;
- corpora (keyed by content fingerprint) follow the same content rule.

Writing: new piece and corpus folders are copied into temporary folders inside the
target, each copied file's sha256 is checked again, the folders are renamed into place,
and the manifest is replaced last (atomically). A failure removes what was added, so the
target keeps its old manifest and folders. The manifest is re-read just before it is
replaced: a target that changed meanwhile (a study still writing into it) is refused.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from hybriddash.store import bundle
from hybriddash.store.bundle import BundleError

#: Profile fields that may differ between the machines of one study (the runner uses
#: this list and :func:`merged_profile` too).
FREE_PROFILE_KEYS = frozenset({"note", "bf16_here"})
_SEED_KEYS = ("seeds", "sweep_seeds")


@dataclass
class MergeSummary:
    """What a merge did: pieces and corpora added, pieces already present (identical)."""

    out: Path
    added: list[str] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)
    corpora_added: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_rows(a: Path, b: Path) -> bool:
    """Whether two Parquet files hold the same multiset of rows (columns by name).

    Timestamp columns (``registered_at``, ``created_at``: when a row was written, not
    what it says) are left out: the same corpus registered on two machines is the same.
    """
    con = duckdb.connect(":memory:")
    try:
        kinds = []
        for path in (a, b):
            desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            kinds.append({row[0]: row[1] for row in desc})
        if kinds[0] != kinds[1]:
            return False
        kept = sorted(c for c, t in kinds[0].items() if not str(t).startswith("TIMESTAMP"))
        names = ", ".join(f'"{c}"' for c in kept)
        for x, y in ((a, b), (b, a)):
            left = con.execute(
                f"SELECT count(*) FROM (SELECT {names} FROM read_parquet('{x}') EXCEPT ALL "
                f"SELECT {names} FROM read_parquet('{y}'))"
            ).fetchone()[0]
            if left:
                return False
        return True
    finally:
        con.close()


def _same_model(piece_a: Path, piece_b: Path, model_id: str) -> bool:
    """Whether two piece folders hold the same ``models`` row for ``model_id``: every
    column but the timestamps (as in :func:`_same_rows`) and ``source``, the folder the
    weights were in on the machine that ran the piece (its content is the row's
    ``fingerprint``)."""
    con = duckdb.connect(":memory:")
    try:
        rows = []
        for piece in (piece_a, piece_b):
            path = piece / "models.parquet"
            if not path.is_file():
                return False
            frame = con.execute(
                f"SELECT * FROM read_parquet('{path}') WHERE model_id = ?", [model_id]
            ).df()
            kept = [
                c
                for c in frame.columns
                if c != "source" and not str(frame[c].dtype).startswith("datetime")
            ]
            rows.append(frame[sorted(kept)].reset_index(drop=True))
        # DataFrame.equals: NaN in the same place counts as equal
        return len(rows[0]) == 1 and rows[0].equals(rows[1])
    finally:
        con.close()


def _entry_difference(
    section: str, key: str, a: dict[str, Any], folder_a: Path, b: dict[str, Any], folder_b: Path
) -> str | None:
    """None when two manifest entries (a piece or a corpus) hold the same content, else
    the first table that differs, as a phrase."""
    files_a, files_b = a.get("files", {}), b.get("files", {})
    if set(files_a) != set(files_b):
        return f"tables {sorted(set(files_a) ^ set(files_b))} are in one only"
    for table in sorted(files_a):
        fa, fb = files_a[table], files_b[table]
        if fa["sha256"] == fb["sha256"]:
            continue
        if int(fa.get("rows", -1)) != int(fb.get("rows", -2)):
            return (
                f"table {table} has {fa.get('rows')} rows in one and {fb.get('rows')} in the other"
            )
        path_a = folder_a / section / key / fa["path"]
        path_b = folder_b / section / key / fb["path"]
        if not _same_rows(path_a, path_b):
            return f"table {table} holds other rows"
    return None


def merged_profile(
    held: dict[str, Any] | None, other: dict[str, Any] | None, *, where: str
) -> dict[str, Any] | None:
    """The profile of two bundles of one study, or BundleError saying what differs.

    Equal up to :data:`FREE_PROFILE_KEYS` and the core seeds (the result lists their
    union, sorted); ``sweep_seeds`` (None: the seeds) must agree. A bundle without a
    profile (``export_store``) merges only with another without one.
    """
    if held is None or other is None:
        if held is None and other is None:
            return None
        name = (held or other or {}).get("name")
        raise BundleError(
            f"{where}: one bundle holds the study profile {name!r}, the other none "
            "(an exported store); merge bundles of one study only"
        )

    def core(p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in p.items() if k not in FREE_PROFILE_KEYS and k not in _SEED_KEYS}

    a, b = core(held), core(other)
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise BundleError(
            f"{where}: the bundles hold studies with other configurations ("
            + ", ".join(f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in diff)
            + "); a study keeps one budget"
        )
    sweep_a = held.get("sweep_seeds") or held.get("seeds")
    sweep_b = other.get("sweep_seeds") or other.get("seeds")
    if list(sweep_a or ()) != list(sweep_b or ()):
        raise BundleError(f"{where}: the alpha sweep's seeds differ ({sweep_a!r} vs {sweep_b!r})")
    out = copy.deepcopy(held)
    out["seeds"] = sorted(set(held.get("seeds") or ()) | set(other.get("seeds") or ()))
    return out


def _dropped_as(manifest: dict[str, Any], key: str, entry: dict[str, Any]) -> dict | None:
    """The ``dropped`` record of ``manifest`` for this very piece (same key and the same
    runs file), or None: a shard still holding a dropped piece must not bring it back."""
    runs = entry.get("files", {}).get("runs", {}).get("sha256")
    for record in manifest.get("dropped", []):
        if record.get("piece") == key and runs and record.get("runs_sha256") == runs:
            return record
    return None


def _merge_list(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    """Union of two lists, order kept (``a`` first)."""
    out = list(a or [])
    for item in b or []:
        if item not in out:
            out.append(item)
    return out


def merge_bundles(
    inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]
) -> MergeSummary:
    """Merge the bundles ``inputs`` into ``out`` (created, or an existing bundle).

    See the module docstring for the rules. Returns what was added; raises
    :class:`~hybriddash.store.bundle.BundleError` (nothing written) when an input is
    corrupt or missing, or when two bundles disagree.
    """
    if not inputs:
        raise ValueError("bundle merge: no input bundle given")
    out = Path(out)
    sources: list[tuple[Path, dict[str, Any]]] = []
    for folder in map(Path, inputs):
        if folder.resolve() == out.resolve():
            continue  # the target is read as the base below
        if not (folder / bundle.MANIFEST).is_file():
            raise BundleError(f"{folder}: not a result bundle (no {bundle.MANIFEST})")
        sources.append((folder, bundle.verify_bundle(folder)))
    target_manifest = bundle.verify_bundle(out) if (out / bundle.MANIFEST).is_file() else None
    if target_manifest is None and not sources:
        raise BundleError(f"{out}: nothing to merge")
    if target_manifest is not None:
        base_folder, merged = out, copy.deepcopy(target_manifest)
        rest = sources
    else:
        base_folder, merged = sources[0][0], copy.deepcopy(sources[0][1])
        rest = sources[1:]
    # where each piece / corpus of the merged manifest is read from
    origin: dict[tuple[str, str], Path] = {
        **{("pieces", k): base_folder for k in merged.get("pieces", {})},
        **{("corpora", k): base_folder for k in merged.get("corpora", {})},
    }
    owner_of: dict[tuple[str, str], str] = {}
    for key, entry in merged.get("pieces", {}).items():
        for kind in ("model_ids", "run_ids"):
            for ident in entry.get(kind, []):
                owner_of[(kind, ident)] = key
    summary = MergeSummary(out=out, inputs=[str(base_folder)] + [str(f) for f, _ in rest])
    merged_from = list(merged.get("merged_from", []))
    for folder, manifest in rest:
        where = f"{folder} into {out}"
        merged["profile"] = merged_profile(
            merged.get("profile"), manifest.get("profile"), where=where
        )
        ends_a, ends_b = merged.get("alpha_endpoints"), manifest.get("alpha_endpoints")
        if ends_a and ends_b and ends_a != ends_b:
            raise BundleError(
                f"{where}: the alpha endpoints differ ({ends_a} vs {ends_b}): the two studies "
                "planned different pieces"
            )
        if ends_b and not ends_a:
            merged["alpha_endpoints"] = ends_b
        for section in ("corpora", "pieces"):
            for key, entry in manifest.get(section, {}).items():
                held = merged.setdefault(section, {}).get(key)
                if held is not None:
                    why = _entry_difference(
                        section, key, held, origin[(section, key)], entry, folder
                    )
                    if why is not None:
                        raise BundleError(
                            f"conflicting {section[:-1] if section == 'pieces' else 'corpus'} "
                            f"{key!r}: {origin[(section, key)]} and {folder} both hold it "
                            f"with different content ({why}); remove one of them first"
                        )
                    if section == "pieces":
                        summary.identical.append(key)
                    continue
                if section == "pieces":
                    stale = _dropped_as(merged, key, entry)
                    if stale is not None:
                        raise BundleError(
                            f"{where}: piece {key!r} is the very piece dropped from {out} "
                            f"on {stale.get('date')} ({stale.get('why')}); compute it again"
                        )
                    for kind in ("model_ids", "run_ids"):
                        for ident in entry.get(kind, []):
                            other = owner_of.get((kind, ident))
                            if other is not None and kind == "model_ids":
                                # one model evaluated in several pieces (the base model
                                # on each suite): fine when its model row is the same
                                held_at = origin[("pieces", other)] / "pieces" / other
                                if _same_model(held_at, folder / "pieces" / key, ident):
                                    continue
                            if other is not None:
                                raise BundleError(
                                    f"{where}: {kind[:-1].replace('_', ' ')} {ident!r} is in "
                                    f"piece {key!r} and in piece {other!r}; one id, one piece"
                                )
                            owner_of[(kind, ident)] = key
                merged[section][key] = copy.deepcopy(entry)
                origin[(section, key)] = folder
        merged["directions"] = _merge_list(merged.get("directions"), manifest.get("directions"))
        merged["plan"] = _merge_list(merged.get("plan"), manifest.get("plan"))
        merged_from.append(
            {
                "path": str(folder),
                "label": manifest.get("label"),
                "command": manifest.get("command"),
                "machine": manifest.get("machine"),
                "code_version": manifest.get("code_version"),
                "pieces": sorted(manifest.get("pieces", {})),
            }
        )
    if merged_from:
        merged["merged_from"] = merged_from
    if merged.get("plan"):
        merged["complete"] = all(k in merged["pieces"] for k in merged["plan"])
    _write(out, merged, origin, target_manifest, summary)
    summary.manifest = merged
    return summary


def _write(
    out: Path,
    merged: dict[str, Any],
    origin: dict[tuple[str, str], Path],
    before: dict[str, Any] | None,
    summary: MergeSummary,
) -> None:
    """:func:`_write_locked` under the target's writer lock (a study writing into the
    target waits, or makes this merge wait, instead of losing manifest entries)."""
    created = not out.exists()
    try:
        with bundle.writer_lock(out):
            _write_locked(out, merged, origin, before, summary)
    finally:  # a target this merge created goes again when no manifest made it a bundle
        if created and not (out / bundle.MANIFEST).is_file():
            shutil.rmtree(out, ignore_errors=True)


def _write_locked(
    out: Path,
    merged: dict[str, Any],
    origin: dict[tuple[str, str], Path],
    before: dict[str, Any] | None,
    summary: MergeSummary,
) -> None:
    """Copy the new folders into ``out`` (temp folder, checked, renamed), manifest last."""
    out.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    try:
        for section in ("corpora", "pieces"):
            for key, entry in merged.get(section, {}).items():
                src = origin[(section, key)]
                if src == out:
                    continue
                target = out / section / key
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".{key}.merge-", dir=target.parent))
                try:
                    for f in entry.get("files", {}).values():
                        shutil.copyfile(src / section / key / f["path"], tmp / f["path"])
                        if _sha256(tmp / f["path"]) != f["sha256"]:
                            raise BundleError(
                                f"{src / section / key / f['path']}: changed while being copied"
                            )
                    if target.exists():
                        # a folder the target's manifest does not list (a killed writer's)
                        shutil.rmtree(target)
                    os.replace(tmp, target)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                placed.append(target)
                if section == "pieces":
                    summary.added.append(key)
                else:
                    summary.corpora_added.append(key)
        now = bundle.read_manifest(out) if (out / bundle.MANIFEST).is_file() else None
        if (now or None) != (before or None):
            raise BundleError(
                f"{out}: the bundle changed while merging (a study still writing into it?); "
                "nothing merged, run the merge again when it is idle"
            )
        bundle.write_manifest(out, merged)
    except BaseException:
        for path in placed:
            shutil.rmtree(path, ignore_errors=True)
        raise
