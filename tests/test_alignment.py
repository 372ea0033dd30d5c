"""Alignment statistics, cached UMAP projections and free-text search (reports.alignment)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybriddash.reports import alignment
from hybriddash.reports.alignment import ProjectionParams, translation_stats
from hybriddash.store.db import Store
from hybriddash.store.writes import register_corpus, register_model


def _cands(rows: list[tuple[str, str, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["candidate_id", "lang", "groups"])


def test_translation_stats_perfect_alignment() -> None:
    # three groups, each translated into en and de with identical (orthogonal) vectors
    cands = _cands([(f"{g}/{lang}", lang, [g]) for lang in ("de", "en") for g in ("a", "b", "c")])
    basis = np.eye(3, dtype=np.float32)
    vectors = np.vstack([basis, basis])
    stats = translation_stats(cands, vectors)
    assert set(stats.pairs["source_lang"]) == {"de", "en"}
    assert stats.pairs["accuracy"].tolist() == [1.0, 1.0]
    assert stats.pairs["cos_translation"].to_numpy() == pytest.approx([1.0, 1.0])
    assert stats.pairs["cos_random"].to_numpy() == pytest.approx([0.0, 0.0])  # orthogonal
    assert stats.languages["gap"].to_numpy() == pytest.approx([1.0, 1.0])


def test_translation_stats_counts_misaligned_translations() -> None:
    # en vectors are rotated one step: en/a sits on de/b etc. -> nearest neighbour wrong
    cands = _cands(
        [(f"{g}/de", "de", [g]) for g in "abc"]
        + [(f"{g}/en", "en", [g]) for g in "abc"]
        + [("d:en", "en", [])]  # a distractor: no translation, must not count as a source
    )
    basis = np.eye(3, dtype=np.float32)
    rotated = basis[[1, 2, 0]]
    vectors = np.vstack([basis, rotated, [[0.6, 0.8, 0.0]]]).astype(np.float32)
    stats = translation_stats(cands, vectors)
    en_de = stats.pairs.set_index(["source_lang", "target_lang"]).loc[("en", "de")]
    assert en_de["n"] == 3  # the distractor has no translation
    assert en_de["accuracy"] == 0.0
    assert en_de["cos_translation"] == pytest.approx(0.0)
    de_en = stats.pairs.set_index(["source_lang", "target_lang"]).loc[("de", "en")]
    # de/a's nearest en candidate is c/en (rotated onto a): never its translation a/en
    assert de_en["accuracy"] == 0.0


def test_translation_stats_without_groups_is_empty() -> None:
    cands = _cands([("x", "en", []), ("y", "de", [])])
    stats = translation_stats(cands, np.eye(2, dtype=np.float32))
    assert stats.pairs.empty and stats.languages.empty


@pytest.fixture
def tiny_store(tmp_artifacts, sample_corpus, tiny_model_spec) -> Store:
    """A store that knows the tiny model and the sample corpus (no run needed here)."""
    store = Store(tmp_artifacts / "align.duckdb")
    register_model(store, tiny_model_spec)
    register_corpus(store, sample_corpus)
    return store


def test_projection_is_computed_once_then_read_from_the_store(
    tiny_store: Store, sample_corpus, tiny_model_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = ProjectionParams(n_groups=6, include_queries=True, n_neighbors=5, seed=1)
    first = alignment.projection(
        tiny_model_spec.model_id, sample_corpus.fingerprint, params, store=tiny_store
    )
    assert first["group_id"].nunique() == 6
    assert set(first["item_kind"]) == {"candidate", "query"}
    assert np.isfinite(first[["x", "y"]].to_numpy()).all()
    stored = tiny_store.query("SELECT count(*) AS n FROM projections")["n"].iloc[0]
    assert stored == len(first)

    def no_umap(*args, **kwargs):
        raise AssertionError("UMAP ran again although the projection was cached")

    monkeypatch.setattr(alignment, "_umap_2d", no_umap)
    again = alignment.projection(
        tiny_model_spec.model_id, sample_corpus.name, params, store=tiny_store
    )
    pd.testing.assert_frame_equal(first.reset_index(drop=True), again.reset_index(drop=True))
    # other parameters are another projection: not served from the cache
    with pytest.raises(AssertionError, match="UMAP ran again"):
        alignment.projection(
            tiny_model_spec.model_id,
            sample_corpus.fingerprint,
            replace(params, seed=2),
            store=tiny_store,
        )


def test_projection_selects_languages_and_groups(tiny_store, sample_corpus, tiny_model_spec):
    langs = tuple(sample_corpus.languages[:2])
    items = alignment.select_items(
        sample_corpus.fingerprint, ProjectionParams(langs=langs, n_groups=4), store=tiny_store
    )
    assert set(items["lang"]) <= set(langs)
    assert items["group_id"].nunique() == 4
    assert (items["item_kind"] == "candidate").all()
    assert items["item_id"].is_unique


def test_search_text_ranks_all_candidates_by_cosine(tiny_store, sample_corpus, tiny_model_spec):
    from hybriddash.encoders.encode import encode_texts

    text = sample_corpus.queries[0].text
    hits = alignment.search_text(
        tiny_model_spec.model_id, sample_corpus.fingerprint, text, 5, store=tiny_store
    )
    assert hits["rank"].tolist() == [1, 2, 3, 4, 5]
    assert (np.diff(hits["score"].to_numpy()) <= 1e-7).all()
    cands = sorted(sample_corpus.candidates, key=lambda c: c.id)
    vecs = encode_texts(tiny_model_spec, [c.text for c in cands], "passage", progress=False)
    q = encode_texts(tiny_model_spec, [text], "query", progress=False)[0]
    best = int(np.argmax(vecs @ q))
    assert hits["candidate_id"].iloc[0] == cands[best].id
    assert hits["score"].iloc[0] == pytest.approx(float(vecs[best] @ q), abs=1e-5)
    with pytest.raises(ValueError, match="empty"):
        alignment.search_text(
            tiny_model_spec.model_id, sample_corpus.fingerprint, "  ", store=tiny_store
        )


def test_alignment_stats_on_the_tiny_model(tiny_store, sample_corpus, tiny_model_spec):
    stats = alignment.alignment_stats(
        tiny_model_spec.model_id, sample_corpus.fingerprint, store=tiny_store
    )
    n_langs = len(sample_corpus.languages)
    assert len(stats.pairs) == n_langs * (n_langs - 1)
    assert stats.pairs["accuracy"].between(0, 1).all()
    assert stats.pairs["cos_translation"].between(-1, 1).all()


def test_model_with_changed_weights_is_refused(tmp_artifacts, sample_corpus, tiny_model_spec):
    store = Store(tmp_artifacts / "stale.duckdb")
    register_model(store, replace(tiny_model_spec, fingerprint="0" * 16))
    register_corpus(store, sample_corpus)
    with pytest.raises(ValueError, match="fingerprint"):
        alignment.model_spec_for(tiny_model_spec.model_id, store=store)
    with pytest.raises(LookupError, match="nope"):
        alignment.model_spec_for("nope", store=store)


def test_umap_kernels_are_cached_on_disk_under_artifacts(
    tmp_artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UMAP's numba compilation (~20 s per process) is paid once per artifacts folder."""
    import numba

    from hybriddash.reports import alignment as alignment_module

    monkeypatch.setattr(alignment_module, "_umap_module", None)
    before = numba.config.CACHE_DIR
    umap = alignment_module._umap_with_disk_cache()
    assert before == numba.config.CACHE_DIR  # numba's own setting is left as it was
    from numba.core.registry import CPUDispatcher

    kernels = [k for k in vars(umap.umap_).values() if isinstance(k, CPUDispatcher)]
    assert len(kernels) >= 5  # smooth_knn_dist, compute_membership_strengths, ...
    for kernel in kernels:
        assert Path(kernel._cache._cache_path).is_relative_to(tmp_artifacts / "numba")


def test_views_of_a_run_encode_in_the_runs_mode_from_its_cache(
    tmp_artifacts, sample_corpus, tiny_model_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash.evaluation import evaluate

    store = Store(tmp_artifacts / "mode.duckdb")
    summary = evaluate(tiny_model_spec, sample_corpus, mode="float32", store=store, progress=False)
    fp = summary.corpus_fp
    assert alignment.run_encode_mode(tiny_model_spec.model_id, fp, store) == "float32"
    modes: list[str] = []
    real = alignment._encode
    monkeypatch.setattr(
        alignment,
        "_encode",
        lambda spec, texts, kind, mode: modes.append(mode) or real(spec, texts, kind, mode),
    )
    alignment.projection(tiny_model_spec.model_id, fp, ProjectionParams(n_groups=4), store=store)
    alignment.alignment_stats(tiny_model_spec.model_id, fp, store=store)
    alignment.search_text(tiny_model_spec.model_id, fp, "capital", store=store)
    assert set(modes) == {"float32"}  # never a mode the run did not use (no int8 build)
    # a model without a run on the corpus: this machine's default
    from hybriddash.encoders.encode import default_encode_mode

    assert alignment.run_encode_mode("other", fp, store) == default_encode_mode()


@pytest.mark.slow  # compiles umap-learn's kernels from nothing in a fresh process
def test_a_new_artifacts_folder_warms_umap_up_once_in_the_background(
    tmp_artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    monkeypatch.setenv("HYBRIDDASH_UMAP_WARM_UP", "0")
    assert alignment.start_umap_warm_up() is None  # switched off
    monkeypatch.setenv("HYBRIDDASH_UMAP_WARM_UP", "1")
    assert not alignment.umap_is_warm()
    process = alignment.start_umap_warm_up()
    try:
        assert process is not None
        # it runs at the lowest priority of its own scheduling group (autogroup nice 19)
        # and holds the lock: a projection waits for it rather than compile beside it
        deadline = time.monotonic() + 60
        group = ""
        while "nice 19" not in group and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                group = Path(f"/proc/{process.pid}/autogroup").read_text()
            time.sleep(0.1)
        assert "nice 19" in group, group
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == 19
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
    # what the process does, in the foreground in a fresh process: compile, cache, mark
    # (this test process may have compiled UMAP's kernels already, in memory)
    subprocess.run(
        [sys.executable, "-c", "from hybriddash.reports import alignment as a; a.warm_up_umap()"],
        check=True,
        timeout=600,
    )
    assert alignment.umap_is_warm()
    assert any(alignment.numba_cache_dir().rglob("*.nbi"))  # where later processes look
    assert alignment.start_umap_warm_up() is None  # warm: nothing more to do
    alignment.wait_for_umap_warm_up(timeout_s=1)  # returns at once when warm
