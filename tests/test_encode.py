"""Encoding with the tiny model: shapes, order, prefixes, the on-disk cache, modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybriddash.encoders import encode as encode_module
from hybriddash.encoders.encode import (
    EmbeddingCache,
    encode_corpus,
    encode_texts,
    text_key,
)
from hybriddash.encoders.registry import load_model


def test_encode_texts_unit_rows_in_input_order(tiny_model_spec, tmp_artifacts: Path) -> None:
    texts = ["Berlin ist groß.", "hello world", "柏林有多少人口？", "hello world", ""]
    vectors = encode_texts(tiny_model_spec, texts, "query", mode="float32", progress=False)
    assert vectors.shape == (5, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[1], vectors[3])
    # identical to sentence-transformers run directly on the prefixed texts
    model = load_model(tiny_model_spec)
    direct = model.encode([f"query: {t}" for t in texts], normalize_embeddings=True)
    np.testing.assert_allclose(vectors, direct, atol=1e-5)


def test_query_and_passage_prefixes_differ(tiny_model_spec, tmp_artifacts: Path) -> None:
    q = encode_texts(tiny_model_spec, ["the same text"], "query", progress=False)
    p = encode_texts(tiny_model_spec, ["the same text"], "passage", progress=False)
    assert float(q[0] @ p[0]) < 0.9999
    with pytest.raises(ValueError, match="'query' or 'passage'"):
        encode_texts(tiny_model_spec, ["x"], "document", progress=False)
    with pytest.raises(ValueError, match="encode mode must be one of"):
        encode_texts(tiny_model_spec, ["x"], "query", mode="fp8", progress=False)


def test_empty_input(tiny_model_spec, tmp_artifacts: Path) -> None:
    assert encode_texts(tiny_model_spec, [], "query", progress=False).shape[0] == 0


def test_second_encoding_reads_everything_from_the_cache(
    tiny_model_spec, sample_corpus, tmp_artifacts: Path
) -> None:
    calls: list[tuple[int, int]] = []
    first = encode_corpus(
        tiny_model_spec,
        sample_corpus,
        progress=False,
        progress_callback=lambda d, t: calls.append((d, t)),
    )
    n_q, n_c = len(sample_corpus.queries), len(sample_corpus.candidates)
    assert first.queries.shape == (n_q, 32) and first.candidates.shape == (n_c, 32)
    distinct = len({q.text for q in sample_corpus.queries}) + len(
        {c.text for c in sample_corpus.candidates}
    )
    assert first.stats.n_encoded == distinct and first.stats.n_cached == 0
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1] == (distinct, distinct)

    second = encode_corpus(tiny_model_spec, sample_corpus, progress=False)
    assert second.stats.n_encoded == 0 and second.stats.n_cached == distinct
    np.testing.assert_array_equal(first.queries, second.queries)
    np.testing.assert_array_equal(first.candidates, second.candidates)
    (folder,) = (tmp_artifacts / "embeddings" / tiny_model_spec.fingerprint).iterdir()
    assert folder.name == encode_module.mode_key(encode_module.default_encode_mode())


def test_subset_reuses_the_full_corpus(tiny_model_spec, sample_corpus, tmp_artifacts: Path) -> None:
    subset = sample_corpus.subset_by(langs=["de", "zh"], articles=2)
    part = encode_corpus(tiny_model_spec, subset, progress=False)
    assert part.stats.n_cached == 0 and part.stats.n_encoded > 0
    full = encode_corpus(tiny_model_spec, sample_corpus, progress=False)
    assert full.stats.n_cached == part.stats.n_encoded
    again = encode_corpus(tiny_model_spec, subset, progress=False)
    assert again.stats.n_encoded == 0
    index = sample_corpus.candidate_index
    rows = [index[c.id] for c in subset.candidates]
    np.testing.assert_array_equal(again.candidates, full.candidates[rows])


def test_cache_is_keyed_by_model_fingerprint(tiny_model_spec, tmp_artifacts: Path) -> None:
    from dataclasses import replace

    encode_texts(tiny_model_spec, ["a b c"], "query", progress=False)
    other = replace(tiny_model_spec, fingerprint="0" * 16)
    before = len(list((tmp_artifacts / "embeddings").iterdir()))
    encode_texts(other, ["a b c"], "query", progress=False)
    assert len(list((tmp_artifacts / "embeddings").iterdir())) == before + 1


def test_two_writers_on_one_cache_neither_lose_nor_duplicate(tmp_artifacts: Path) -> None:
    # Two cache objects on one folder behave like two processes: each sees the other's
    # shards only through the files, under the file lock.
    folder = tmp_artifacts / "embeddings" / "f" / "float32"
    folder.mkdir(parents=True)
    a, b = EmbeddingCache(folder), EmbeddingCache(folder)
    keys = [text_key(f"t{i}") for i in range(10)]
    vectors = np.eye(10, 4, dtype=np.float32)
    a.add(keys[:6], vectors[:6])
    b.add(keys[3:], vectors[3:])  # 3..5 were written by `a`: skipped, not duplicated
    c = EmbeddingCache(folder)
    found = c.lookup(keys)
    assert len(found) == 10
    for i, k in enumerate(keys):
        np.testing.assert_array_equal(found[k], vectors[i])
    stored = sum(len(np.load(p)) for p in folder.glob("shard-*.keys.npy"))
    assert stored == 10
    assert not list(folder.glob(".*.tmp-*"))  # no temp file left behind


def test_shards_are_compacted(tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encode_module, "MAX_SHARDS", 3)
    folder = tmp_artifacts / "embeddings" / "f" / "float32"
    folder.mkdir(parents=True)
    cache = EmbeddingCache(folder)
    rng = np.random.default_rng(0)
    written = {}
    for i in range(5):
        key = text_key(f"text {i}")
        written[key] = rng.normal(size=8).astype(np.float32)
        cache.add([key], written[key][None])
    assert len(list(folder.glob("shard-*.keys.npy"))) <= 3
    fresh = EmbeddingCache(folder).lookup(list(written))
    for key, vec in written.items():
        np.testing.assert_array_equal(fresh[key], vec)


def test_corrupt_shard_is_reported_with_its_path(tmp_artifacts: Path) -> None:
    folder = tmp_artifacts / "embeddings" / "f" / "float32"
    folder.mkdir(parents=True)
    EmbeddingCache(folder).add([text_key("x")], np.ones((1, 4), dtype=np.float32))
    shard = next(folder.glob("shard-*[0-9a-f].npy"))
    shard.write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"shard-.*\.npy: unreadable embedding cache shard"):
        EmbeddingCache(folder).lookup([text_key("x")])


def test_interrupted_run_keeps_finished_batches(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encode_module, "FLUSH_EVERY", 2)
    real = encode_module._run_model
    calls = {"n": 0}

    def failing(spec, texts, mode, batch_size, device="cpu"):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(spec, texts, mode, batch_size, device)

    monkeypatch.setattr(encode_module, "_run_model", failing)
    texts = [f"sentence number {i}" for i in range(6)]
    with pytest.raises(KeyboardInterrupt):
        encode_texts(
            tiny_model_spec, texts, "passage", mode="float32", batch_size=2, progress=False
        )
    monkeypatch.setattr(encode_module, "_run_model", real)
    spec_cache = EmbeddingCache.open(tiny_model_spec.fingerprint, "float32")
    found = spec_cache.lookup([text_key(f"passage: {t}") for t in texts])
    assert len(found) == 4  # two finished batches survived


@pytest.mark.parametrize(
    ("mode", "min_cosine"),
    [("bf16", 0.95), ("int8", 0.95), ("onnx", 0.99999), ("onnx-int8", 0.99)],
)
def test_every_mode_stays_close_and_caches_apart(
    mode: str, min_cosine: float, tiny_model_spec, sample_corpus, tmp_artifacts: Path
) -> None:
    texts = [q.text for q in sample_corpus.queries[:24]]
    reference = encode_texts(tiny_model_spec, texts, "query", mode="float32", progress=False)
    reduced = encode_texts(tiny_model_spec, texts, "query", mode=mode, progress=False)
    assert reduced.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1.0, atol=1e-5)
    cosine = (reference * reduced).sum(axis=1)
    assert cosine.min() > min_cosine
    assert not np.array_equal(reference, reduced)  # a different computation ...
    folder = tmp_artifacts / "embeddings" / tiny_model_spec.fingerprint
    assert {p.name for p in folder.iterdir()} == {"float32", encode_module.mode_key(mode)}


def test_batches_follow_token_counts_not_characters(tiny_model_spec, tmp_artifacts: Path) -> None:
    from hybriddash.encoders.registry import load_model

    model = load_model(tiny_model_spec)
    # 11 Chinese characters are 9 tokens, 27 characters of English only 5
    texts = ["international organizations", "北京大学图书馆藏书丰富", "ok"]
    n_tokens = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    assert n_tokens[1] > n_tokens[0] > n_tokens[2]
    batches = encode_module.token_length_batches(model, texts, batch_size=2)
    assert batches == [[1, 0], [2]]


def test_missing_onnx_runtime_falls_back_to_float32_and_says_so(
    tiny_model_spec, sample_corpus, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash.encoders import onnx_backend

    monkeypatch.setattr(onnx_backend, "onnx_runtime_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="onnxruntime.*float32 instead"):
        encoded = encode_module.encode_corpus(
            tiny_model_spec, sample_corpus.subset_by(langs=["en"]), mode="onnx", progress=False
        )
    assert encoded.mode == "float32"
    folder = tmp_artifacts / "embeddings" / tiny_model_spec.fingerprint
    assert {p.name for p in folder.iterdir()} == {"float32"}  # stored as what ran


@pytest.mark.slow
def test_real_model_modes_stay_close_to_float32_on_the_sample_corpus(
    sample_corpus, tmp_artifacts: Path
) -> None:
    """The base model: the ONNX export reproduces float32; the int8 modes stay close."""
    from hybriddash.encoders.base_model import ensure_base_model
    from hybriddash.encoders.registry import resolve_model

    ensure_base_model()
    spec = resolve_model("multilingual-e5-small-q4")
    texts = [q.text for q in sample_corpus.queries] + [c.text for c in sample_corpus.candidates]
    texts = texts[::3]  # every third text of every language: ~400 texts
    reference = encode_texts(spec, texts, "passage", mode="float32", progress=False)
    for mode, min_cosine in (("onnx", 0.99999), ("int8", 0.97), ("onnx-int8", 0.998)):
        got = encode_texts(spec, texts, "passage", mode=mode, progress=False)
        cosine = (reference * got).sum(axis=1)
        assert cosine.min() > min_cosine, (mode, float(cosine.min()))
    folder = tmp_artifacts / "embeddings" / spec.fingerprint
    assert {p.name for p in folder.iterdir()} == {"float32", "onnx", "int8", "onnx-int8-r2"}


def test_device_lists_resolve_and_refuse_what_is_not_a_device() -> None:
    assert encode_module.resolve_devices(None) == ["cpu"]
    assert encode_module.resolve_devices("cpu") == ["cpu"]
    assert encode_module.resolve_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert encode_module.resolve_devices(["cpu", "cpu"]) == ["cpu", "cpu"]
    import torch

    if not torch.cuda.is_available():
        assert encode_module.resolve_devices("auto") == ["cpu"]
        with pytest.raises(ValueError, match="no CUDA GPU"):
            encode_module.resolve_devices("cuda")
    with pytest.raises(ValueError, match="'tpu:0' is not cpu, cuda"):
        encode_module.resolve_devices("tpu:0")


def test_cpu_only_modes_become_float32_on_gpus_and_say_so() -> None:
    with pytest.warns(RuntimeWarning, match="CPU only: encoding in float32 on cuda:0"):
        assert encode_module.effective_mode("onnx-int8", None, ["cuda:0"]) == "float32"
    assert encode_module.default_mode_for(["cuda:0", "cuda:1"]) == "float32"
    assert encode_module.default_mode_for(["cpu"]) == encode_module.default_encode_mode()


def test_multi_process_pool_gives_the_single_process_embeddings(
    tiny_model_spec, sample_corpus, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two CPU workers of sentence-transformers' pool (the path GPUs take), in chunks."""
    monkeypatch.setattr(encode_module, "FLUSH_EVERY", 40)  # several chunks, cache flushes
    texts = [c.text for c in sample_corpus.candidates[:100]]
    single = encode_texts(tiny_model_spec, texts, "passage", mode="float32", progress=False)
    EmbeddingCache._memo.clear()
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(tmp_artifacts / "second"))
    chunks: list[int] = []
    real_add = EmbeddingCache.add
    monkeypatch.setattr(
        EmbeddingCache, "add", lambda self, k, v: (chunks.append(len(k)), real_add(self, k, v))
    )
    pooled = encode_texts(
        tiny_model_spec, texts, "passage", mode="float32", devices="cpu,cpu", progress=False
    )
    assert chunks == [40, 40, 20]  # every text ran through the pool, flushed per chunk
    np.testing.assert_allclose(pooled, single, atol=1e-5)
    with pytest.raises(ValueError, match="cannot run on a device pool"):
        encode_module.encode_batches(
            tiny_model_spec, texts[:4], mode="bf16", batch_size=4,
            on_batch=lambda i, v: None, devices=["cpu", "cpu"],
        )  # fmt: skip


def test_smoothing_keeps_the_function_and_int8_keeps_down_projections_float(
    tiny_model_spec, tmp_artifacts: Path
) -> None:
    """SmoothQuant moves scale from activations into weights: the same outputs in float;
    the int8 graph leaves one float32 MatMul per layer (the FFN down-projection)."""
    import json

    import onnx
    import torch

    from hybriddash.encoders import onnx_backend

    model = load_model(tiny_model_spec)
    texts = onnx_backend.calibration_texts(tiny_model_spec)
    assert len(texts) > 200 and texts[0].startswith("query: ")
    smoothed, info = onnx_backend.smoothed_transformer(model, texts[:64])
    n_layers = len(model[0].auto_model.encoder.layer)
    # Q/K/V share one input: 3 groups per layer (QKV, attention output, FFN up)
    assert info["smoothed_groups"] == 3 * n_layers and info["smoothed_linears"] == 5 * n_layers
    features = onnx_backend._features(model, texts[:8])
    feed = {k: v for k, v in features.items() if k in ("input_ids", "attention_mask")}
    with torch.inference_mode():
        want = model[0].auto_model(**feed).last_hidden_state
        got = smoothed(**feed).last_hidden_state
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not any("Smoothed" in type(m).__name__ for m in model.modules())  # untouched

    folder = onnx_backend.onnx_folder(tiny_model_spec, "onnx-int8", model)
    assert folder.name.endswith(f"-int8-r{onnx_backend.INT8_RECIPE}")
    recorded = json.loads((folder / "onnx.json").read_text())
    assert recorded["float32_matmuls"] == n_layers and recorded["smooth_alpha"] == 0.75
    ops = [n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node]
    assert ops.count("MatMulInteger") == 5 * n_layers
    assert not (folder / "smoothed-float32").exists()


def test_the_default_mode_follows_the_cpu_and_the_environment(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash.encoders import modes

    monkeypatch.delenv("HYBRIDDASH_ENCODE_MODE", raising=False)
    monkeypatch.setattr(modes, "has_vnni", lambda: True)
    assert encode_module.default_encode_mode() == "onnx-int8"
    monkeypatch.setattr(modes, "has_vnni", lambda: False)
    assert encode_module.default_encode_mode() == "onnx"
    monkeypatch.setenv("HYBRIDDASH_ENCODE_MODE", "float32")
    assert encode_module.default_encode_mode() == "float32"
    monkeypatch.setenv("HYBRIDDASH_ENCODE_MODE", "fp8")
    with pytest.warns(RuntimeWarning, match="HYBRIDDASH_ENCODE_MODE='fp8' is not an encode"):
        assert encode_module.default_encode_mode() == "onnx"


def test_two_threads_export_at_once_and_both_graphs_work(
    tiny_model_spec, tmp_artifacts: Path
) -> None:
    """torch's exporter refuses to start while another thread of the process exports
    (the app's background alignment thread beside a page did that in CI); both exports
    must finish, and each graph must give the model's outputs."""
    import threading

    import onnxruntime
    import torch

    from hybriddash.encoders import onnx_backend

    model = load_model(tiny_model_spec)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def export(folder: Path) -> None:
        folder.mkdir()
        start.wait()
        try:
            onnx_backend._export(model, folder)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    folders = [tmp_artifacts / "a", tmp_artifacts / "b"]
    threads = [threading.Thread(target=export, args=(f,)) for f in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    features = onnx_backend._features(model, ["query: where is the Nile?"])
    transformer = model[0].auto_model
    with torch.inference_mode():
        embeds = transformer.get_input_embeddings()(features["input_ids"])
        want = transformer(
            inputs_embeds=embeds, attention_mask=features["attention_mask"]
        ).last_hidden_state.numpy()
    for folder in folders:
        session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
        feed = {"inputs_embeds": embeds.numpy(), "attention_mask": features["attention_mask"]}
        feed = {k: np.asarray(v) for k, v in feed.items() if k in _input_names(session)}
        np.testing.assert_allclose(session.run(None, feed)[0], want, atol=1e-4)


def _input_names(session) -> set[str]:
    return {i.name for i in session.get_inputs()}
