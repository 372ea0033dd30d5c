"""Take pieces out of a result bundle (``hybriddash bundle drop``).

A piece whose inputs changed after it was written (data found defective, a corrected
loader) has to be computed again; a study skips every piece its bundle holds, so the
stale piece must leave the bundle first. Dropping removes the pieces' manifest entries
and folders, and the corpora no remaining piece's runs use; the manifest keeps a
``dropped`` record (piece, reason, date, code version) so the bundle says what it once
held and why it no longer does.

Written under the bundle's writer lock (a study adding a piece waits); the manifest is
replaced first and atomically, the folders deleted after, so an interruption leaves at
worst folders no manifest lists, which the next writer of that key replaces.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hybriddash.store import bundle
from hybriddash.store.bundle import BundleError


@dataclass
class DropSummary:
    """What a drop did: the pieces and the corpora that left the bundle."""

    folder: Path
    pieces: list[str] = field(default_factory=list)
    corpora: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _corpora_used(folder: Path, manifest: dict[str, Any]) -> set[str]:
    """Corpus fingerprints that the runs of the manifest's pieces use."""
    used: set[str] = set()
    for key, entry in manifest.get("pieces", {}).items():
        runs = entry.get("files", {}).get("runs")
        if runs is None:
            continue
        frame = pd.read_parquet(folder / "pieces" / key / runs["path"], columns=["corpus_fp"])
        used.update(frame["corpus_fp"].astype(str))
    return used


def drop_pieces(folder: str | os.PathLike[str], keys: list[str], *, why: str) -> DropSummary:
    """Remove the pieces ``keys`` (and corpora left unused) from the bundle at ``folder``.

    Raises :class:`BundleError`, changing nothing, when ``folder`` is no bundle, a key is
    not one of its pieces, or ``why`` is empty (a dropped piece must say why).
    """
    path = Path(folder)
    if not why.strip():
        raise BundleError("say why the pieces leave the bundle (--why)")
    with bundle.writer_lock(path):
        manifest = bundle.read_manifest(path)
        if manifest is None:
            raise BundleError(f"{path}: no {bundle.MANIFEST}, not a bundle")
        pieces = manifest.get("pieces", {})
        unknown = [k for k in keys if k not in pieces]
        if unknown:
            raise BundleError(
                f"{path}: no piece {', '.join(unknown)} (it holds: {', '.join(sorted(pieces)) or 'none'})"
            )
        runs_sha = {k: pieces[k].get("files", {}).get("runs", {}).get("sha256") for k in keys}
        for key in keys:
            pieces.pop(key)
        used = _corpora_used(path, manifest)
        gone_corpora = sorted(k for k in manifest.get("corpora", {}) if k not in used)
        for key in gone_corpora:
            manifest["corpora"].pop(key)
        stamp = {"why": why.strip(), "date": bundle._now(), "code_version": bundle.code_version()}
        manifest.setdefault("dropped", []).extend(
            {"piece": k, "runs_sha256": runs_sha[k], **stamp} for k in keys
        )
        if manifest.get("complete"):
            manifest["complete"] = False
        bundle.write_manifest(path, manifest)
        for key in keys:
            shutil.rmtree(path / "pieces" / key, ignore_errors=True)
        for key in gone_corpora:
            shutil.rmtree(path / "corpora" / key, ignore_errors=True)
    return DropSummary(path, list(keys), gone_corpora, manifest)
