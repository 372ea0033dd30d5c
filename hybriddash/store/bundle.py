"""Result bundles: a study's results as Parquet files + a JSON manifest, without weights.

A bundle is a folder (the reference study ships as ``reference/`` in the repository)::

    manifest.json                      what, by whom, where, with which code; every file
    corpora/<corpus_fp>/<table>.parquet    corpora, corpus_queries, corpus_candidates
    pieces/<key>/<table>.parquet           one finished model: its models row, training
                                           curves, runs and every per-run table

A *piece* is the unit of resumption: the runner writes one as soon as a model is trained
and evaluated (with its corrected variants), and a restarted study skips the keys the
manifest lists, on any machine, with ``artifacts/`` gone. Files are written to a
temporary folder and renamed, and the manifest is replaced atomically, so a killed
writer leaves the last complete manifest.

Loading (:func:`load_bundle`) inserts every table into a store (replacing the rows of the
same runs, models and corpora) and records the manifest in ``reference_bundles`` so the
dashboard can say that these are reference results, with machine, date, command and
code version. :func:`ensure_reference` does that once for an empty store at first start.

Tables are copied with DuckDB's own Parquet writer and reader (zstd), so every column
type round-trips; only ``topk_hits`` may be cut at ``topk_depth`` ranks (the manifest
says so) to keep a full-benchmark study under :data:`MAX_BUNDLE_BYTES`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from filelock import FileLock

from hybriddash import config
from hybriddash.atomic_json import write_json_atomically
from hybriddash.store.db import SCHEMA_VERSION, Store
from hybriddash.store.writes import RUN_TABLES

FORMAT = "hybriddash-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Lock file of a bundle's writers (:func:`writer_lock`; git-ignored).
LOCK_FILE = ".bundle.lock"
#: Size limit of a bundle committed to the repository (issue 12: under 25 MB).
MAX_BUNDLE_BYTES = 25 * 1024 * 1024
#: zstd level of every Parquet file a bundle writes.
ZSTD_LEVEL = 19
CORPUS_TABLES = ("corpora", "corpus_queries", "corpus_candidates")
MODEL_TABLES = ("models", "training_curves")
PIECE_TABLES = (*MODEL_TABLES, "runs", *RUN_TABLES)
_KEY = re.compile(r"^[A-Za-z0-9._-]+$")


class BundleError(RuntimeError):
    """A bundle folder is missing, malformed, or does not match its manifest."""


def code_version() -> str:
    """``git describe --always --dirty`` of the repository, or ``unknown``."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=config.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def piece_key(text: str) -> str:
    """A file-safe piece key from a model id (``trained/x`` -> ``trained__x``)."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", text.replace("/", "__")).strip("_")
    if not key:
        raise ValueError(f"cannot make a piece key from {text!r}")
    return key


# ---- manifest ----------------------------------------------------------------------


def writer_lock(folder: str | os.PathLike[str]) -> FileLock:
    """The lock every writer of the bundle at ``folder`` holds while it reads, changes and
    replaces the manifest (a study adding a piece, a merge into the same bundle): without
    it, the later writer would drop the other's entries from the manifest."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path / LOCK_FILE))


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The bundle's manifest, or None when the folder has none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format version {manifest.get('format_version')} is newer than "
            f"this hybriddash reads ({FORMAT_VERSION})"
        )
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (updating ``updated`` and ``total_bytes``)."""
    manifest["updated"] = _now()
    manifest["total_bytes"] = bundle_bytes(folder, manifest)
    write_json_atomically(folder / MANIFEST, manifest, sort_keys=True)


def new_manifest(
    *, label: str, command: str = "", machine: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A manifest with no piece yet (``extra`` keys, e.g. ``profile``, are kept)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "label": label,
        "command": command,
        "machine": machine or {},
        "code_version": code_version(),
        "schema_version": SCHEMA_VERSION,
        "created": _now(),
        "pieces": {},
        "corpora": {},
        **extra,
    }


def open_bundle(folder: str | os.PathLike[str], **new: Any) -> dict[str, Any]:
    """The manifest of ``folder``, creating the folder and a new manifest (``new``) if absent."""
    path = Path(folder)
    manifest = read_manifest(path)
    if manifest is None:
        path.mkdir(parents=True, exist_ok=True)
        write_manifest(path, new_manifest(**{"label": "results", **new}))
        manifest = read_manifest(path) or {}
    return manifest


def finished_pieces(folder: str | os.PathLike[str]) -> set[str]:
    """Keys of the pieces the bundle holds (empty when there is no bundle)."""
    manifest = read_manifest(folder)
    return set((manifest or {}).get("pieces", {}))


def bundle_bytes(folder: str | os.PathLike[str], manifest: dict[str, Any] | None = None) -> int:
    """Bytes of the Parquet files the manifest lists."""
    manifest = manifest if manifest is not None else read_manifest(folder) or {}
    total = 0
    for section in ("pieces", "corpora"):
        for entry in manifest.get(section, {}).values():
            total += sum(int(f["bytes"]) for f in entry.get("files", {}).values())
    return total


# ---- export ------------------------------------------------------------------------


#: Detail levels of a run in a bundle: which per-run tables it keeps. ``full``: every
#: table (``topk_hits`` cut at ``topk_depth``); ``verdicts``: what the study's verdicts and
#: per-language gains need (per-query AP and rank distance, pair metrics; ``query_metrics``
#: without nDCG/recall/first-rank columns; no top-k shares, which no verdict reads: the
#: dominance page says "not stored" for such a run); ``headline``: headline and pair
#: metrics only. Every level keeps the suites' per-run summaries (bitext accuracy, language
#: probe): a few rows each; ``verdicts`` and ``full`` also the probe's items (the questions'
#: agnosticism row resamples them); ``questions``: see its entry. A corpus whose runs in the piece are all ``headline`` ships
#: without texts (its ``corpora`` row only).
DETAIL_TABLES = {
    "full": frozenset(RUN_TABLES),
    "verdicts": frozenset(
        {
            "run_headline",
            "run_pair_metrics",
            "run_bitext_accuracy",
            "run_language_probe",
            "run_language_probe_items",
            "query_bias",
            "query_metrics",
        }
    ),
    "headline": frozenset(
        {"run_headline", "run_pair_metrics", "run_bitext_accuracy", "run_language_probe"}
    ),
    # what the research questions' verdicts and charts read (issue 24): per-query AP
    # without TICO-19's cross-lingual pools (its questions read the pooled setting), the
    # probe's items; no rank distance, no texts (a suite's texts are numbers-only here)
    "questions": frozenset(
        {
            "run_headline",
            "run_pair_metrics",
            "run_bitext_accuracy",
            "run_language_probe",
            "run_language_probe_items",
            "query_metrics",
        }
    ),
}
#: Levels whose corpora ship without texts (the corpus's catalogue row only).
NO_TEXT_DETAILS = frozenset({"headline", "questions"})
_SLIM_COLUMNS = ("ndcg_at_10", "recall_at_100", "first_relevant_rank", "n_relevant")


def _selection(table: str, topk_depth: int | None) -> str:
    """SELECT of ``table``'s rows for one piece (parameters: model ids, run ids per table,
    the full-detail run ids)."""
    if table == "models":
        return "SELECT * FROM models WHERE list_contains($models, model_id)"
    if table == "training_curves":
        return "SELECT * FROM training_curves WHERE list_contains($models, model_id)"
    if table == "runs":
        return "SELECT * FROM runs WHERE list_contains($runs, run_id)"
    where = f"list_contains($runs_{table}, run_id)"
    if table == "topk_hits" and topk_depth is not None:
        return f"SELECT * FROM topk_hits WHERE {where} AND rank <= {int(topk_depth)}"
    if table == "query_metrics":
        slim = ", ".join(
            f"CASE WHEN list_contains($full, run_id) THEN {c} END AS {c}" for c in _SLIM_COLUMNS
        )
        # 'questions' detail: TICO-19's cross-lingual rows stay out
        tico_cross = (
            "(list_contains($questions, run_id) AND setting = 'crosslingual' AND run_id IN "
            "(SELECT run_id FROM runs WHERE dataset_id = 'tico-19'))"
        )
        return f"SELECT * REPLACE ({slim}) FROM query_metrics WHERE {where} AND NOT {tico_cross}"
    return f"SELECT * FROM {table} WHERE {where}"


def _order(con: duckdb.DuckDBPyConnection, table: str) -> str:
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND schema_name = 'main' AND database_name = current_database() ORDER BY column_index",
            [table],
        ).fetchall()
    ]
    return ", ".join(f'"{c}"' for c in cols)


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
            "AND database_name = current_database()",
            [table],
        ).fetchone()[0]
    )


def _copy_out(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], path: Path, order: str
) -> int:
    # sorted rows: the same content gives the same file, and zstd compresses runs better;
    # level 19 (DuckDB's default is 3) makes a 'verdicts'-detail piece ~5% smaller, which
    # the 5-seed study needs to stay under MAX_BUNDLE_BYTES (issue 22)
    used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
    con.execute(
        f"COPY ({sql} ORDER BY {order}) TO '{path}' "
        f"(FORMAT PARQUET, COMPRESSION ZSTD, COMPRESSION_LEVEL {ZSTD_LEVEL})",
        used,
    )
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0])


def file_sha256(path: Path) -> str:
    """The sha256 (hex) a manifest lists for a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_entry(path: Path, rows: int) -> dict[str, Any]:
    return {
        "path": path.name,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": file_sha256(path),
    }


def _replace_dir(tmp: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def export_piece(
    folder: str | os.PathLike[str],
    key: str,
    *,
    model_ids: Sequence[str],
    run_ids: Sequence[str],
    store: Store | None = None,
    topk_depth: int | None = None,
    run_detail: dict[str, str] | None = None,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one piece (the rows of ``model_ids`` and ``run_ids``) and the corpora of its
    runs into the bundle at ``folder``; record it in the manifest; return its entry.

    The manifest must exist (:func:`open_bundle`). ``run_detail`` maps a run id to its
    level in :data:`DETAIL_TABLES` (default ``full``). ``info`` (e.g. role, seed, wall
    time) is kept in the piece's manifest entry.
    """
    if not _KEY.match(key):
        raise ValueError(f"piece key {key!r} must match {_KEY.pattern}")
    with writer_lock(folder):
        return _export_piece_locked(
            Path(folder),
            key,
            model_ids=model_ids,
            run_ids=run_ids,
            store=store,
            topk_depth=topk_depth,
            run_detail=run_detail,
            info=info,
        )


def _export_piece_locked(
    folder: Path,
    key: str,
    *,
    model_ids: Sequence[str],
    run_ids: Sequence[str],
    store: Store | None,
    topk_depth: int | None,
    run_detail: dict[str, str] | None,
    info: dict[str, Any] | None,
) -> dict[str, Any]:
    manifest = read_manifest(folder)
    if manifest is None:
        raise BundleError(f"{folder}: no {MANIFEST}; create the bundle with open_bundle() first")
    store = store or Store()
    detail = {r: (run_detail or {}).get(r, "full") for r in run_ids}
    unknown = {d for d in detail.values() if d not in DETAIL_TABLES}
    if unknown:
        raise ValueError(f"run detail {sorted(unknown)} not one of {sorted(DETAIL_TABLES)}")
    params: dict[str, Any] = {
        "models": list(model_ids),
        "runs": list(run_ids),
        "full": [r for r, d in detail.items() if d == "full"],
        "questions": [r for r, d in detail.items() if d == "questions"],
    }
    for table in RUN_TABLES:
        params[f"runs_{table}"] = [r for r, d in detail.items() if table in DETAIL_TABLES[d]]
    (folder / "pieces").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder / "pieces"))
    files: dict[str, Any] = {}
    with store.read() as con:
        for table in PIECE_TABLES:
            if not _has_table(con, table):
                continue
            path = tmp / f"{table}.parquet"
            rows = _copy_out(con, _selection(table, topk_depth), params, path, _order(con, table))
            files[table] = _file_entry(path, rows)
        corpus_runs = con.execute(
            "SELECT corpus_fp, list(run_id) FROM runs WHERE list_contains(?, run_id) GROUP BY 1",
            [list(run_ids)],
        ).fetchall()
        missing = set(run_ids) - {
            r[0]
            for r in con.execute(
                "SELECT run_id FROM runs WHERE list_contains(?, run_id)", [list(run_ids)]
            ).fetchall()
        }
        if missing:
            shutil.rmtree(tmp, ignore_errors=True)
            raise BundleError(f"{store.path}: run(s) {sorted(missing)} are not in the store")
        for fp, fp_runs in corpus_runs:
            # texts only where a run keeps per-query rows to show them with: a corpus
            # of headline-only runs ships its catalogue row (name, languages, counts)
            texts = any(detail[r] not in NO_TEXT_DETAILS for r in fp_runs)
            held = manifest["corpora"].get(fp)
            if held is not None and (_has_texts(held) or not texts):
                continue
            manifest["corpora"][fp] = _export_corpus(con, folder, fp, texts=texts)
    _replace_dir(tmp, folder / "pieces" / key)
    entry = {
        "model_ids": list(model_ids),
        "run_ids": list(run_ids),
        "files": files,
        "topk_depth": topk_depth,
        "run_detail": detail,
        "finished": _now(),
        **(info or {}),
    }
    manifest["pieces"][key] = entry
    write_manifest(folder, manifest)
    return entry


def _has_texts(corpus_entry: dict[str, Any]) -> bool:
    """Whether a manifest's corpus entry ships the corpus's queries and candidates."""
    return "corpus_queries" in corpus_entry.get("files", {})


def _export_corpus(
    con: duckdb.DuckDBPyConnection, folder: Path, corpus_fp: str, *, texts: bool = True
) -> dict[str, Any]:
    target = folder / "corpora" / corpus_fp
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{corpus_fp}.", dir=target.parent))
    files = {}
    for table in CORPUS_TABLES if texts else ("corpora",):
        path = tmp / f"{table}.parquet"
        rows = _copy_out(
            con,
            f"SELECT * FROM {table} WHERE corpus_fp = $fp",
            {"fp": corpus_fp},
            path,
            _order(con, table),
        )
        files[table] = _file_entry(path, rows)
    _replace_dir(tmp, target)
    name = con.execute("SELECT name FROM corpora WHERE corpus_fp = ?", [corpus_fp]).fetchone()
    return {"name": name[0] if name else None, "files": files}


def export_store(
    folder: str | os.PathLike[str],
    *,
    store: Store | None = None,
    run_ids: Iterable[str] | None = None,
    topk_depth: int | None = None,
    label: str = "results",
    command: str = "",
    machine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Export runs of a store (default: all) into a bundle, one piece per evaluated model
    (a corrected model goes with its uncorrected one when the store says which).

    Returns the manifest.
    """
    store = store or Store()
    open_bundle(folder, label=label, command=command, machine=machine)
    with store.read() as con:
        runs = con.execute("SELECT * FROM runs ORDER BY created_at, run_id").df()
    if run_ids is not None:
        runs = runs[runs["run_id"].isin(set(run_ids))]
    owner = _owners(runs)
    for model, group in runs.assign(owner=owner).groupby("owner", sort=False):
        export_piece(
            folder,
            piece_key(str(model)),
            model_ids=sorted(set(group["model_id"]) | {str(model)}),
            run_ids=group["run_id"].tolist(),
            store=store,
            topk_depth=topk_depth,
        )
    return read_manifest(folder) or {}


def _owners(runs: pd.DataFrame) -> list[str]:
    """The uncorrected model of each run: ``runs.correction_of`` where the store says,
    else the part of a ``"<model> + <correction>"`` id before the ``" + "``."""
    of = runs["correction_of"] if "correction_of" in runs else pd.Series([None] * len(runs))
    return [
        o if isinstance(o, str) and o else (m.rpartition(" + ")[0] if " + " in m else m)
        for m, o in zip(runs["model_id"], of, strict=True)
    ]


# ---- import ------------------------------------------------------------------------


def verify_bundle(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every file the manifest lists (present, sha256); return the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise BundleError(f"{folder}: no {MANIFEST}")
    for section, sub in (("pieces", "pieces"), ("corpora", "corpora")):
        for key, entry in manifest.get(section, {}).items():
            for table, f in entry.get("files", {}).items():
                path = folder / sub / key / f["path"]
                if not path.is_file():
                    raise BundleError(
                        f"{path}: listed in the manifest ({section} {key}, {table}) but missing"
                    )
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest != f["sha256"]:
                    raise BundleError(f"{path}: sha256 {digest[:12]}… differs from the manifest's")
    return manifest


def _insert_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    # only the columns both sides know: a bundle of an older or newer schema still loads
    known = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND schema_name = 'main' AND database_name = current_database()",
            [table],
        ).fetchall()
    }
    cols = [
        c
        for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").df()["column_name"]
        if c in known
    ]
    names = ", ".join(f'"{c}"' for c in cols)
    con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM read_parquet('{path}')")


def load_bundle(
    folder: str | os.PathLike[str],
    store: Store | None = None,
    *,
    reference: bool = True,
) -> dict[str, Any]:
    """Insert every piece and corpus of the bundle into ``store`` in one transaction.

    Rows of the same runs, models and corpora are replaced, table by table, where the
    bundle holds rows of them: a run (or corpus) the bundle ships at a coarser detail
    than the store already holds keeps its finer rows (one run id is one computation, so
    both copies agree). Without that, loading ``reference/suites`` (the base model's
    runs at ``headline`` detail) after ``reference/questions`` (the same runs with their
    per-query rows) deleted the rows the questions' verdicts read. With ``reference`` the
    manifest goes into ``reference_bundles`` (the dashboard's "reference results" label).
    Returns the manifest.
    """
    folder = Path(folder)
    manifest = verify_bundle(folder)
    store = store or Store()
    with store.write() as con:
        for fp, entry in manifest.get("corpora", {}).items():
            for table in CORPUS_TABLES:
                if table in entry["files"]:  # a corpus shipped without texts keeps them
                    con.execute(f"DELETE FROM {table} WHERE corpus_fp = ?", [fp])
                    _insert_parquet(
                        con, table, folder / "corpora" / fp / entry["files"][table]["path"]
                    )
        for key, entry in manifest.get("pieces", {}).items():
            for run_id in entry["run_ids"]:
                con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            for model_id in entry["model_ids"]:
                con.execute("DELETE FROM models WHERE model_id = ?", [model_id])
            for table in PIECE_TABLES:
                f = entry["files"].get(table)
                if f is None:
                    continue
                path = folder / "pieces" / key / f["path"]
                if table not in ("runs", "models"):
                    if not f.get("rows"):
                        continue  # nothing of this table here: the store keeps its rows
                    ident = "model_id" if table in MODEL_TABLES else "run_id"
                    con.execute(
                        f"DELETE FROM {table} WHERE {ident} IN "
                        f"(SELECT DISTINCT {ident} FROM read_parquet('{path}'))"
                    )
                _insert_parquet(con, table, path)
        if reference:
            con.execute(
                "INSERT OR REPLACE INTO reference_bundles (bundle_id, path, manifest, loaded_at) "
                "VALUES (?, ?, ?, current_timestamp)",
                [
                    manifest.get("bundle_id") or folder.name,
                    str(folder),
                    json.dumps(manifest, sort_keys=True),
                ],
            )
    return manifest


def ensure_reference(store: Store, folder: Path | None = None) -> bool:
    """Load the reference bundle (:func:`hybriddash.config.reference_dir`) and the bundles
    nested in it (:func:`reference_folders`) into ``store`` when the store holds no run
    yet; True when it loaded something.

    A store that holds any run is left alone, as is a missing or empty bundle.
    """
    folder = folder if folder is not None else config.reference_dir()
    if folder is None:
        return False
    folders = [f for f in reference_folders(folder) if (read_manifest(f) or {}).get("pieces")]
    if not folders:
        return False
    if store.exists():
        with store.read() as con:
            if con.execute("SELECT count(*) FROM runs").fetchone()[0]:
                return False
    for f in folders:
        load_bundle(f, store, reference=True)
    return True


def reference_folders(folder: str | os.PathLike[str]) -> list[Path]:
    """The bundle at ``folder`` and the bundles in its sub-folders (``reference/suites``:
    the base model on the suites; ``reference/questions``: the research questions), each
    with its own manifest: other studies, which :mod:`bundle_merge` keeps apart."""
    folder = Path(folder)
    nested = (
        sorted(p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file())
        if folder.is_dir()
        else []
    )
    return [f for f in (folder, *nested) if (f / MANIFEST).is_file()]


def reference_bundles(
    store: Store | duckdb.DuckDBPyConnection | None = None,
) -> list[dict[str, Any]]:
    """Manifests of the reference bundles loaded into the store, with ``loaded_at``
    (empty for a store that never loaded one, or a file of an older schema)."""
    from hybriddash.store.reads import reading

    with reading(store) as con:
        if not _has_table(con, "reference_bundles"):
            return []
        rows = con.execute(
            "SELECT bundle_id, path, manifest, loaded_at FROM reference_bundles ORDER BY loaded_at"
        ).fetchall()
    out = []
    for bundle_id, path, manifest, loaded_at in rows:
        m = json.loads(manifest) if isinstance(manifest, str) else dict(manifest or {})
        m.update(bundle_id=bundle_id, path=path, loaded_at=str(loaded_at))
        out.append(m)
    return out


def reference_run_ids(store: Store | duckdb.DuckDBPyConnection | None = None) -> set[str]:
    """Run ids that came from a loaded reference bundle."""
    return {
        run
        for m in reference_bundles(store)
        for piece in m.get("pieces", {}).values()
        for run in piece.get("run_ids", [])
    }


def headline_by_piece(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """``run_headline`` rows of every piece with the piece key and model id of each run."""
    folder = Path(folder)
    manifest = verify_bundle(folder)
    frames = []
    con = duckdb.connect(":memory:")
    try:
        for key, entry in manifest.get("pieces", {}).items():
            files = entry["files"]
            if "run_headline" not in files or "runs" not in files:
                continue
            head = folder / "pieces" / key / files["run_headline"]["path"]
            runs = folder / "pieces" / key / files["runs"]["path"]
            frame = con.execute(
                f"SELECT r.model_id, r.corpus_name, h.* FROM read_parquet('{head}') h "
                f"JOIN read_parquet('{runs}') r USING (run_id)"
            ).df()
            frame.insert(0, "piece", key)
            frames.append(frame)
    finally:
        con.close()
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def compare_headlines(
    stored: pd.DataFrame, rerun: pd.DataFrame, *, tolerance: dict[str, float]
) -> pd.DataFrame:
    """Per piece, run model and measure: stored value, re-run value, |difference|, within.

    Inputs are :func:`headline_by_piece` frames; rows are matched on (piece, model_id).
    ``tolerance`` maps ``map`` (every mAP measure) and ``rank_distance`` to the largest
    accepted absolute difference. A run missing on one side counts as not within.
    """
    measures = ("monolingual", "crosslingual", "multilingual", "rank_distance")
    merged = stored.merge(
        rerun, on=["piece", "model_id"], how="outer", suffixes=("_stored", "_rerun")
    )
    rows = []
    for rec in merged.to_dict("records"):
        for m in measures:
            a, b = rec.get(f"{m}_stored"), rec.get(f"{m}_rerun")
            tol = tolerance["rank_distance" if m == "rank_distance" else "map"]
            diff = abs(a - b) if a is not None and b is not None else float("nan")
            rows.append(
                {
                    "piece": rec["piece"],
                    "model_id": rec["model_id"],
                    "measure": m,
                    "stored": a,
                    "rerun": b,
                    "abs_diff": diff,
                    "within": bool(diff <= tol),
                }
            )
    return pd.DataFrame(rows)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
