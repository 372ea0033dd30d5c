"""Slim a result bundle: the same pieces at a coarser detail level, into a new folder.

A study run at full detail (every per-query table, top-k lists) can be too large to
commit or share; :func:`slim_bundle` writes its pieces again with each run at most at
``detail`` (:data:`hybriddash.store.bundle.DETAIL_TABLES`: ``full`` > ``verdicts`` >
``headline``) and top-k lists cut at ``topk_depth``. A run already coarser keeps its
level. Nothing is recomputed: the rows are loaded into a temporary store and exported
with :func:`hybriddash.store.bundle.export_piece`, so the new bundle verifies, loads and
merges like any other. Each piece keeps its manifest information (role, machine, wall
time, timings, code version) and records what it was slimmed from.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybriddash.store import bundle
from hybriddash.store.bundle import BundleError
from hybriddash.store.db import Store

#: Detail levels from most to least kept.
LEVELS = ("full", "verdicts", "questions", "headline")
#: Manifest entry keys that export_piece writes itself (everything else is carried over).
_WRITTEN = frozenset({"model_ids", "run_ids", "files", "topk_depth", "run_detail"})
_NOT_CARRIED = frozenset({"pieces", "corpora", "total_bytes", "updated", "created", "format"})


def coarser(a: str, b: str) -> str:
    """The coarser of two detail levels."""
    return LEVELS[max(LEVELS.index(a), LEVELS.index(b))]


def slim_bundle(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    detail: str,
    topk_depth: int | None = None,
    pieces: Sequence[str] = (),
) -> dict[str, Any]:
    """Write the pieces of ``src`` (those matching the shell patterns ``pieces``; all by
    default) into the new bundle ``out`` with every run at most at ``detail``; return the
    new manifest. Raises :class:`BundleError` when ``src`` is corrupt, ``out`` already
    holds a bundle, or no piece matches."""
    if detail not in LEVELS:
        raise ValueError(f"detail {detail!r} not one of {', '.join(LEVELS)}")
    src, out = Path(src), Path(out)
    if bundle.read_manifest(out) is not None:
        raise BundleError(f"{out}: already a bundle; slim into a new folder")
    manifest = bundle.verify_bundle(src)
    keys = [
        k
        for k in manifest.get("pieces", {})
        if not pieces or any(fnmatch.fnmatchcase(k, p) for p in pieces)
    ]
    if not keys:
        raise BundleError(f"{src}: no piece matches {', '.join(pieces) or '*'}")
    with tempfile.TemporaryDirectory(prefix="hybriddash-slim-") as tmp:
        store = Store(Path(tmp) / "slim.duckdb")
        bundle.load_bundle(src, store, reference=False)
        bundle.open_bundle(
            out,
            **{k: v for k, v in manifest.items() if k not in _NOT_CARRIED},
            slimmed_from={"path": str(src), "detail": detail, "topk_depth": topk_depth},
        )
        for key in keys:
            entry = manifest["pieces"][key]
            levels = entry.get("run_detail") or {}
            depths = [d for d in (entry.get("topk_depth"), topk_depth) if d is not None]
            bundle.export_piece(
                out,
                key,
                model_ids=entry["model_ids"],
                run_ids=entry["run_ids"],
                store=store,
                topk_depth=min(depths) if depths else None,
                run_detail={r: coarser(levels.get(r, "full"), detail) for r in entry["run_ids"]},
                # the original 'finished' stays: wall-time tables order pieces by it
                info={
                    **{k: v for k, v in entry.items() if k not in _WRITTEN},
                    "slimmed_from_detail": levels,
                },
            )
            _copy_extra_files(src, out, key, entry)
    return bundle.verify_bundle(out)


def _copy_extra_files(src: Path, out: Path, key: str, entry: dict[str, Any]) -> None:
    """Files of a piece that are no store table (the shipped UMAP views) go across as
    they are, listed in the new manifest with their own sha256."""
    extra = {t: f for t, f in entry.get("files", {}).items() if t not in bundle.PIECE_TABLES}
    if not extra:
        return
    with bundle.writer_lock(out):
        manifest = bundle.read_manifest(out) or {}
        files = manifest["pieces"][key]["files"]
        for table, f in extra.items():
            target = out / "pieces" / key / f["path"]
            shutil.copyfile(src / "pieces" / key / f["path"], target)
            files[table] = {**f, "sha256": bundle.file_sha256(target)}
        bundle.write_manifest(out, manifest)
