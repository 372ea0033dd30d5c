"""Licences travel with the texts: every corpus whose texts ship in a reference bundle
has its licence and source on its row of reference/README.md."""

from __future__ import annotations

import duckdb

from hybriddash import config
from hybriddash.data.datasets import BUILTINS
from hybriddash.store import bundle

README = config.REPO_ROOT / "reference" / "README.md"


def _shipped_datasets() -> dict[str, bool]:
    """dataset id -> whether its texts ship, over every bundle under reference/."""
    out: dict[str, bool] = {}
    for folder in bundle.reference_folders(config.REPO_ROOT / "reference"):
        manifest = bundle.read_manifest(folder) or {}
        for fp, entry in manifest.get("corpora", {}).items():
            path = folder / "corpora" / fp / entry["files"]["corpora"]["path"]
            ((dataset,),) = duckdb.sql(f"SELECT dataset_id FROM '{path}'").fetchall()
            texts = "corpus_queries" in entry["files"]
            out[dataset] = out.get(dataset, False) or texts
    return out


def test_every_shipped_corpus_has_its_licence_row():
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line[:2] == "| "]
    shipped = _shipped_datasets()
    assert shipped, "reference/ ships no corpus"
    for dataset, texts in shipped.items():
        spec = BUILTINS[dataset]
        licence = spec.license.split(" (")[0]
        repo = spec.source.split(" @ ")[0]
        mine = [r for r in rows if licence in r and repo in r]
        assert mine, f"reference/README.md: no row with {dataset}'s licence {licence!r} and {repo}"
        assert any(("yes" in r) == texts for r in mine), f"{dataset}: texts shipped = {texts}"
