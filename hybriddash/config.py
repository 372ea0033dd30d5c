"""Where hybriddash reads data and writes artifacts.

One source of truth for paths. Every path can be overridden by an environment
variable (and by the CLI's global options, which set these variables):

- ``HYBRIDDASH_DATA``: folder holding ``xquad-r/``, ``mlqa-r/``, ``mlqa-train/``
  (default: ``../shared/data`` beside the repository when it exists, else
  ``<artifacts>/data`` where ``data download`` puts benchmarks; with neither, only
  the built-in sample corpus and uploaded corpora are available).
- ``HYBRIDDASH_ARTIFACTS``: generated models, embedding caches, projections
  (default: ``artifacts/`` in the repository).
- ``HYBRIDDASH_STORE``: the DuckDB file (default: ``<artifacts>/hybriddash.duckdb``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    """The configured benchmark data folder, or None when none is configured/found."""
    configured = os.environ.get("HYBRIDDASH_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    beside = REPO_ROOT.parent / "shared" / "data"
    if beside.is_dir():
        return beside.resolve()
    # where `hybriddash data download` puts benchmarks when no folder is configured
    downloaded = Path(os.environ.get("HYBRIDDASH_ARTIFACTS", REPO_ROOT / "artifacts")) / "data"
    return downloaded.resolve() if downloaded.is_dir() else None


def artifacts_dir() -> Path:
    """Folder for generated files (created on demand)."""
    path = Path(os.environ.get("HYBRIDDASH_ARTIFACTS", REPO_ROOT / "artifacts")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def store_path() -> Path:
    """The DuckDB database file."""
    configured = os.environ.get("HYBRIDDASH_STORE")
    return (
        Path(configured).expanduser().resolve()
        if configured
        else artifacts_dir() / "hybriddash.duckdb"
    )


def reference_dir() -> Path | None:
    """The reference result bundle loaded into an empty store at first start.

    ``HYBRIDDASH_REFERENCE`` overrides the default ``reference/`` of the repository;
    ``off`` (or an empty value) disables it.
    """
    configured = os.environ.get("HYBRIDDASH_REFERENCE")
    if configured is not None:
        if configured.strip().lower() in ("", "off", "none", "0"):
            return None
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / "reference"


def models_dir() -> Path:
    path = artifacts_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def embeddings_dir() -> Path:
    path = artifacts_dir() / "embeddings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def uploads_dir() -> Path:
    path = artifacts_dir() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path
