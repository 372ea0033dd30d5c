"""Shared fixtures: an isolated artifacts folder + store, the sample corpus, a tiny model."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
import threading
from pathlib import Path

import pytest

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@pytest.fixture(autouse=True)
def _return_freed_memory():
    """Give glibc's freed heap back to the OS after each test.

    Every evaluation frees a few hundred MB (ONNX Runtime sessions, score blocks, worker
    threads' arenas) that glibc keeps mapped; over the ~480 tests of one process that
    grew past the machine's 24 GB and the kernel killed pytest. Measured: four tiny-model
    evaluations 3.3 GB RSS, 0.8 GB after malloc_trim.
    """
    yield
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


@pytest.fixture(autouse=True)
def _finish_background_threads():
    """Wait for the app's background threads (``hd-*``) a test started before the next
    test runs: one left exporting a model in the background made the next test's ONNX
    export fail in CI, and its CPU use skews later timing tests."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("hd-") and thread is not threading.current_thread():
            thread.join(timeout=900)


@pytest.fixture
def tmp_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point artifacts and the store at a fresh temporary folder for one test."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(artifacts / "test.duckdb"))
    return artifacts


@pytest.fixture(scope="session")
def sample_corpus():
    """The built-in sample corpus (parallel QA groups in >= 5 languages)."""
    from hybriddash.data.datasets import load_dataset

    return load_dataset("sample")


@pytest.fixture(scope="session")
def tiny_model_spec(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random BERT with the real XLM-R tokenizer, built once per session."""
    from hybriddash.encoders.tiny import tiny_model_spec as build

    return build(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data folder; skips the test when none is configured."""
    from hybriddash.config import data_dir as configured

    path = configured()
    if path is None or not (path / "xquad-r").is_dir():
        pytest.skip("benchmark data folder not configured (set HYBRIDDASH_DATA)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    # No test reads or writes the developer's store: a session without a configured one
    # gets a temporary artifacts folder (the models folder shared, so provisioned models
    # are not provisioned again). A read of an older store file upgrades its schema, and
    # a study process writing it with the older code then stops.
    if not os.environ.get("HYBRIDDASH_ARTIFACTS") and not os.environ.get("HYBRIDDASH_STORE"):
        from hybriddash import config as hd_config

        session = Path(tempfile.mkdtemp(prefix="hybriddash-tests-"))
        models = hd_config.artifacts_dir() / "models"
        models.mkdir(parents=True, exist_ok=True)
        (session / "models").symlink_to(models, target_is_directory=True)
        os.environ["HYBRIDDASH_ARTIFACTS"] = str(session)
    # Keep torch from oversubscribing the 2 cores when tests run beside other work.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # No first-use tuning of the real base model inside tests (tests/test_tuning.py
    # tunes the tiny model explicitly).
    os.environ.setdefault("HYBRIDDASH_AUTOTUNE", "0")
    # The dashboard loads reference/ into an empty store at first start; tests that
    # want it point HYBRIDDASH_REFERENCE at a bundle of their own.
    os.environ.setdefault("HYBRIDDASH_REFERENCE", "off")
    # The dashboard compiles UMAP's kernels in a background process when its artifacts
    # folder is new; every test has a new one. tests/test_alignment.py and the first-run
    # test switch it on.
    os.environ.setdefault("HYBRIDDASH_UMAP_WARM_UP", "0")
    os.environ.setdefault("HYBRIDDASH_SHIP_ALIGNMENT", "0")  # study pieces: no UMAP


@pytest.fixture(scope="session")
def fresh_install(tmp_path_factory):
    """A fresh store with the shipped reference bundles loaded, as a first start loads
    them (one per session: loading takes ~8 s; tests only read it)."""
    from hybriddash import config
    from hybriddash.store import bundle
    from hybriddash.store.db import Store

    store = Store(tmp_path_factory.mktemp("fresh-install") / "hybriddash.duckdb")
    assert bundle.ensure_reference(store, config.REPO_ROOT / "reference")
    return store
