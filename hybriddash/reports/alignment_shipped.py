"""Alignment views shipped in a result bundle, for models whose weights are not here.

A bundle carries results, not weights, so the alignment page could not project its
reference models. A study piece (or ``bench/alignment_bundle.py`` for pieces already
written) therefore adds, beside the piece's tables, two files listed in the piece's
manifest entry (``files``; :func:`hybriddash.store.bundle.verify_bundle` checks their
sha256, :func:`~hybriddash.store.bundle.load_bundle` leaves them in the bundle):

- ``alignment_projection.parquet``: the page's default projection
  (:class:`~hybriddash.reports.alignment.ProjectionParams`: 40 parallel groups drawn with
  seed 0, all languages, answers only) of each (model, corpus) of the piece: columns
  ``projection_id, model_id, corpus_fp, item_id, item_kind, lang, group_id, x, y``;
- ``alignment_stats.parquet``: the translation statistics of a seeded sample of
  :data:`~hybriddash.reports.alignment.STATS_GROUPS` groups: columns ``model_id,
  corpus_fp, seed, max_groups, n_groups, n_groups_total, source_lang, target_lang, n,
  cos_translation, cos_random, accuracy``.

The store's ``reference_bundles`` table says which bundles were loaded and where they
are; :func:`shipped_rows` reads their files. The projection id is the one
:func:`~hybriddash.reports.alignment.projection` computes for the same model fingerprint,
encode mode, corpus, items and settings, so a shipped projection answers exactly the
request it was made for and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from hybriddash.reports.tables import ReadableStore, _frame

PROJECTION_FILE = "alignment_projection"
STATS_FILE = "alignment_stats"


def _bundle_folders(store: ReadableStore | None) -> list[tuple[Path, dict[str, Any]]]:
    from hybriddash import config

    try:
        rows = _frame(store, "SELECT path, manifest FROM reference_bundles")
    except Exception:  # a store without the table (older schema): nothing shipped
        return []
    found = []
    for row in rows.itertuples():
        manifest = json.loads(row.manifest) if isinstance(row.manifest, str) else {}
        folder = Path(str(row.path))
        if not folder.is_dir():  # the checkout moved since the bundle was loaded
            folder = config.reference_dir() or folder
        found.append((folder, manifest))
    return found


def shipped_rows(
    kind: str, model_id: str, corpus_fp: str, *, store: ReadableStore | None = None
) -> pd.DataFrame | None:
    """Rows of ``kind`` (:data:`PROJECTION_FILE` or :data:`STATS_FILE`) that a loaded
    bundle ships for ``model_id`` on ``corpus_fp``; None when none does."""
    for folder, manifest in _bundle_folders(store):
        for key, entry in manifest.get("pieces", {}).items():
            if model_id not in entry.get("model_ids", []) or kind not in entry.get("files", {}):
                continue
            path = folder / "pieces" / key / entry["files"][kind]["path"]
            if not path.is_file():
                continue
            frame = pd.read_parquet(path)
            frame = frame[(frame["model_id"] == model_id) & (frame["corpus_fp"] == corpus_fp)]
            if len(frame):
                return frame.reset_index(drop=True)
    return None


def shipped_stats(
    model_id: str,
    corpus_fp: str,
    *,
    seed: int,
    max_groups: int | None,
    store: ReadableStore | None = None,
) -> Any:
    """The shipped :class:`~hybriddash.reports.alignment.AlignmentStats` of this sample
    (same seed and group count), or None."""
    from hybriddash.reports.alignment import AlignmentStats, language_means

    rows = shipped_rows(STATS_FILE, model_id, corpus_fp, store=store)
    if rows is None:
        return None
    wanted = -1 if max_groups is None else int(max_groups)
    rows = rows[(rows["seed"] == seed) & (rows["max_groups"] == wanted)]
    if rows.empty:
        return None
    pairs = rows[
        ["source_lang", "target_lang", "n", "cos_translation", "cos_random", "accuracy"]
    ].reset_index(drop=True)
    return AlignmentStats(
        pairs,
        language_means(pairs),
        int(rows["n_groups"].iloc[0]),
        int(rows["n_groups_total"].iloc[0]),
    )


def alignment_frames(
    model_id: str, corpus_fp: str, *, store: ReadableStore | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute (or read from the store's cache) the default projection and the sampled
    statistics of ``model_id`` on ``corpus_fp``, as the rows of the two shipped files.

    Needs the model's weights (raises :class:`~hybriddash.reports.alignment.NoWeightsError`
    otherwise). The projection is written to the store's ``projections`` cache too.
    """
    from hybriddash.reports import alignment as al

    params = al.ProjectionParams()
    frame = al.projection(model_id, corpus_fp, params, store=store)
    model_fp = _frame(store, "SELECT fingerprint FROM models WHERE model_id = ?", [model_id])
    mode = al.run_encode_mode(model_id, corpus_fp, store)
    items = frame[["item_id", "item_kind", "lang", "group_id", "text"]]
    pid = al.projection_id(f"{model_fp['fingerprint'].iloc[0]}:{mode}", corpus_fp, items, params)
    proj = frame[["item_id", "item_kind", "lang", "group_id", "x", "y"]].copy()
    proj.insert(0, "projection_id", pid)
    proj.insert(1, "model_id", model_id)
    proj.insert(2, "corpus_fp", corpus_fp)
    stats = al.alignment_stats(model_id, corpus_fp, store=store)
    pairs = stats.pairs.copy()
    for position, (column, value) in enumerate(
        (
            ("model_id", model_id),
            ("corpus_fp", corpus_fp),
            ("seed", 0),
            ("max_groups", al.STATS_GROUPS),
            ("n_groups", stats.n_groups),
            ("n_groups_total", stats.n_groups_total),
        )
    ):
        pairs.insert(position, column, value)
    return proj, pairs


def write_piece_alignment(
    bundle_dir: str | Path,
    key: str,
    pairs: list[tuple[str, str]],
    *,
    store: ReadableStore | None = None,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write the two files for the (model id, corpus fp) ``pairs`` of piece ``key``.

    Into the piece's folder of the bundle, with the manifest entry updated
    (``out_dir=None``), or into ``out_dir`` (to be added later with
    :func:`add_piece_files`). Returns the files' manifest entries.
    """
    from hybriddash.store import bundle

    projections, stats = zip(
        *(alignment_frames(m, fp, store=store) for m, fp in pairs), strict=True
    )
    target = Path(out_dir) if out_dir is not None else Path(bundle_dir) / "pieces" / key
    target.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frames in ((PROJECTION_FILE, projections), (STATS_FILE, stats)):
        path = target / f"{name}.parquet"
        table = pd.concat(frames, ignore_index=True)
        table.to_parquet(path, index=False, compression="zstd")
        files[name] = bundle._file_entry(path, len(table))
    if out_dir is None:
        add_piece_files(bundle_dir, key, target)
    return files


def add_piece_files(bundle_dir: str | Path, key: str, source: str | Path) -> dict[str, Any]:
    """Copy the alignment files in ``source`` into piece ``key`` of the bundle and list
    them in its manifest entry (sha256, rows, bytes). Returns the piece's new ``files``."""
    from hybriddash.store import bundle

    bundle_dir, source = Path(bundle_dir), Path(source)
    with bundle.writer_lock(bundle_dir):
        return _add_piece_files_locked(bundle_dir, key, source)


def _add_piece_files_locked(bundle_dir: Path, key: str, source: Path) -> dict[str, Any]:
    import shutil

    from hybriddash.store import bundle

    manifest = bundle.read_manifest(bundle_dir)
    if manifest is None or key not in manifest.get("pieces", {}):
        raise bundle.BundleError(f"{bundle_dir}: no piece {key!r} in the manifest")
    piece = bundle_dir / "pieces" / key
    entry = manifest["pieces"][key]
    for name in (PROJECTION_FILE, STATS_FILE):
        src = source / f"{name}.parquet"
        if not src.is_file():
            raise FileNotFoundError(f"{src}: missing (write it with write_piece_alignment)")
        dst = piece / src.name
        if src.resolve() != dst.resolve():
            shutil.copyfile(src, dst)
        entry["files"][name] = bundle._file_entry(dst, len(pd.read_parquet(dst)))
    bundle.write_manifest(bundle_dir, manifest)
    return entry["files"]


def piece_pairs(bundle_dir: str | Path, key: str) -> list[tuple[str, str]]:
    """(model id, corpus fp) of the uncorrected runs of piece ``key`` (a corrected
    encoder's view is its model's: the page projects a model's own embeddings)."""
    runs = pd.read_parquet(Path(bundle_dir) / "pieces" / key / "runs.parquet")
    if "correction" in runs:
        runs = runs[runs["correction"].isna() | (runs["correction"] == "")]
    return sorted(set(zip(runs["model_id"], runs["corpus_fp"], strict=True)))
