"""Encoding speed of each encode mode against float32, and what each does to mAP.

    python bench/bench_encode.py                           # xquad-r[articles=8], 4,095 texts
    python bench/bench_encode.py --articles 2 --modes float32,onnx
    python bench/bench_encode.py --modes float32,bf16 --articles 1   # bf16: slow without native bf16

Texts: the queries and candidate sentences of a fixed XQuAD-R subset (all 11
languages, first ``--articles`` articles) when the benchmark folder is configured, else
the built-in sample corpus (stated in the output). Model: the offline default
(multilingual-e5-small-q4 dequantized to float32). The cache is bypassed: every mode
runs the model on every text through the product's path
(:func:`hybriddash.encoders.encode.encode_batches`). One warm-up batch per mode is not
timed; building a mode's model (int8 quantization, ONNX export, OpenVINO compilation)
is reported apart. The header names the CPU model, its kernel flags and the library
versions; every ratio is to torch float32 measured in the same run.

Baseline: ``float32`` -- torch float32 through sentence-transformers with
token-length batches, measured in the same run. Every row also states its ratio to
``float32, batches by characters`` (the encoder before token-length batching: batches
cut from the texts sorted by character count).
Per mode: texts/s, the cosine of each embedding to float32's (min / mean) and the
change of the subset's headline mAP (mono / cross / multi) against float32. Prints a
Markdown block for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.cpu import KERNEL_FLAGS as FEATURES  # noqa: E402
from hybriddash.cpu import cpu_flags, cpu_model_name  # noqa: E402
from hybriddash.encoders.encode import (  # noqa: E402
    ENCODE_MODES,
    _run_model,
    effective_mode,
    encode_batches,
)
from hybriddash.encoders.modes import describe_encode_mode, library_versions  # noqa: E402
from hybriddash.encoders.registry import OFFLINE_DEFAULT, load_model, resolve_model  # noqa: E402
from hybriddash.metrics.settings import compute_corpus_metrics  # noqa: E402
from hybriddash.retrieval.exact_ranks import corpus_relevant_ranks  # noqa: E402

CHAR_BASELINE = "float32, batches by characters"
DEFAULT_MODES = "float32,bf16,int8,onnx,onnx-int8,openvino-bf16,openvino-int8"
HEADLINE = ("monolingual", "crosslingual", "multilingual")


def _corpus(articles: int):  # type: ignore[no-untyped-def]
    from hybriddash.config import data_dir
    from hybriddash.data.datasets import load_dataset

    if data_dir() is not None and (data_dir() / "xquad-r").is_dir():
        return load_dataset("xquad-r", articles=articles)
    return load_dataset("sample")


def _encode_by_characters(spec, texts: list[str], batch_size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The encoder before token-length batching: batches cut by character count."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        vectors = _run_model(spec, [texts[i] for i in idx], "float32", batch_size)
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    assert out is not None
    return out


def _encode_mode(spec, texts: list[str], mode: str, batch_size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    out: np.ndarray | None = None

    def on_batch(idx: list[int], vectors: np.ndarray) -> None:
        nonlocal out
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors

    encode_batches(spec, texts, mode=mode, batch_size=batch_size, on_batch=on_batch)
    assert out is not None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=8, help="XQuAD-R articles (all languages)")
    parser.add_argument("--batch-size", type=int, default=64, help="as the product (64)")
    parser.add_argument("--modes", default=DEFAULT_MODES, help=f"subset of {ENCODE_MODES}")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in ENCODE_MODES]
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; expected {ENCODE_MODES}")
    if "float32" not in modes:
        modes.insert(0, "float32")  # every other mode is compared with it

    import torch

    load_at_start = os.getloadavg()[0]
    corpus = _corpus(args.articles)
    spec = resolve_model(OFFLINE_DEFAULT)
    q_texts = [spec.query_prefix + q.text for q in corpus.queries]
    c_texts = [spec.passage_prefix + c.text for c in corpus.candidates]
    texts = q_texts + c_texts
    n_q = len(q_texts)
    warm = texts[: args.batch_size]

    def timed(name: str, run) -> dict[str, float | np.ndarray]:  # type: ignore[no-untyped-def]
        run(warm)
        started = time.perf_counter()
        vectors = run(texts)
        seconds = time.perf_counter() - started
        print(f"{name}: {len(texts) / seconds:.1f} texts/s", file=sys.stderr)
        return {"vectors": vectors, "texts_per_s": len(texts) / seconds, "seconds": seconds}

    results: dict[str, dict] = {}
    load_model(spec)
    results[CHAR_BASELINE] = timed(
        CHAR_BASELINE, lambda t: _encode_by_characters(spec, t, args.batch_size)
    )
    failed: dict[str, str] = {}
    for mode in modes:
        ran = effective_mode(mode)
        started = time.perf_counter()
        try:
            _encode_mode(spec, warm[:2], ran, args.batch_size)  # builds the mode's model
        except Exception as exc:  # report it and measure the other modes
            failed[mode] = f"{type(exc).__name__}: {exc}"
            print(f"{mode}: failed to build ({failed[mode]})", file=sys.stderr)
            continue
        setup = time.perf_counter() - started
        results[mode] = timed(mode, lambda t, m=ran: _encode_mode(spec, t, m, args.batch_size))
        results[mode]["setup_s"] = setup
        results[mode]["ran"] = ran

    reference = results["float32"]["vectors"]

    def headline(vectors: np.ndarray) -> dict[str, float]:
        ranks = corpus_relevant_ranks(corpus, vectors[:n_q], vectors[n_q:])
        return compute_corpus_metrics(corpus, ranks).headline_dict()

    base_map = headline(reference)
    for r in results.values():
        cosine = (r["vectors"] * reference).sum(axis=1)
        r["cos_min"], r["cos_mean"] = float(cosine.min()), float(cosine.mean())
        r["map"] = headline(r["vectors"])

    flags = cpu_flags() or frozenset()
    cpu_name = cpu_model_name(fallback=platform.machine())
    features = ", ".join(f for f in FEATURES if f in flags) or "none of " + ", ".join(FEATURES)
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if cap:  # an emulation of an older CPU: oneDNN (torch, OpenVINO) capped, MLAS not
        features += f", **oneDNN capped at {cap}** (emulation; ONNX Runtime's MLAS not capped)"
    char_speed = results[CHAR_BASELINE]["texts_per_s"]
    token_speed = results["float32"]["texts_per_s"]
    print(f"\n### Encoding speed by mode (`bench/bench_encode.py --articles {args.articles}`)\n")
    print(
        f"{corpus.name}: {n_q:,} queries + {len(c_texts):,} candidates, all languages; "
        f"{OFFLINE_DEFAULT}; batch size {args.batch_size}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {os.cpu_count()} CPUs; load average "
        f"(1 min) at the start {load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f}; "
        f"**CPU {cpu_name}** with {features}; "
        + ", ".join(f"{k} {v}" for k, v in library_versions().items())
        + ". "
        f"float32 mAP on this subset: mono "
        f"{base_map['monolingual']:.4f} / cross {base_map['crosslingual']:.4f} / multi "
        f"{base_map['multilingual']:.4f}.\n"
    )
    print(
        "| mode | texts/s | vs float32 (baseline) | vs float32 by characters | cosine to "
        "float32 (min / mean) | mAP change mono / cross / multi | setup s |"
    )
    print("|---|---:|---:|---:|---|---|---:|")
    for name, r in results.items():
        delta = " / ".join(f"{r['map'][k] - base_map[k]:+.4f}" for k in HEADLINE)
        label = name if r.get("ran", name) == name else f"{name} (ran {r['ran']})"
        print(
            f"| {label} | {r['texts_per_s']:.1f} | {r['texts_per_s'] / token_speed:.2f}x | "
            f"{r['texts_per_s'] / char_speed:.2f}x | {r['cos_min']:.5f} / "
            f"{r['cos_mean']:.5f} | {delta} | {r.get('setup_s', 0.0):.1f} |"
        )
    within = [
        name
        for name, r in results.items()
        if name in ENCODE_MODES and all(abs(r["map"][k] - base_map[k]) <= 0.005 for k in HEADLINE)
    ]
    fastest = max(within, key=lambda name: results[name]["texts_per_s"])
    for mode, why in failed.items():
        print(f"\n{mode} could not be built here: {why}")
    default, why = describe_encode_mode()
    print(
        f"\nFastest mode within 0.005 mAP of float32 on this subset: **{fastest}** "
        f"({results[fastest]['texts_per_s'] / token_speed:.2f}x float32, "
        f"{results[fastest]['texts_per_s'] / char_speed:.2f}x float32 by characters). "
        f"The product's default here: **{default}** ({why})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
