"""OpenVINO encode path: one synchronous request against several streams and threads.

    python bench/bench_openvino_requests.py                 # 512 texts, 5 rounds
    python bench/bench_openvino_requests.py --texts 1024 --rounds 3

Baseline: ``2 streams x 2 threads`` -- the path the product had before (compiled with
``PERFORMANCE_HINT: THROUGHPUT`` and one stream per core, each worker thread tokenizing
its batch and running it on an infer request of its own). Candidate: ``1 request`` --
the product's path now (``hybriddash.encoders.openvino_backend``: ``LATENCY`` hint, one
synchronous request from the calling thread, one helper thread tokenizing the next
batch). Both run the offline base model's ONNX export in mode ``openvino-bf16`` on the
same token-length batches of 16 texts (the tuner's slice of the built-in sample
corpus, repeated to ``--texts``); rounds alternate, the best round of each counts, and
the embeddings of the two paths are compared. Prints a Markdown block for
docs/benchmarks.md with the CPU model and its kernel flags.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.cpu import KERNEL_FLAGS, cpu_flags, cpu_model_name  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import openvino as ov

    from hybriddash import config
    from hybriddash.encoders.encode import batches_by_length, encode_batches
    from hybriddash.encoders.features import featurizer
    from hybriddash.encoders.onnx_backend import export_info, onnx_folder, pool_hidden
    from hybriddash.encoders.registry import OFFLINE_DEFAULT, resolve_model
    from hybriddash.encoders.tuning import tuning_texts

    spec = resolve_model(OFFLINE_DEFAULT)
    base = tuning_texts(spec)
    texts = (base * (args.texts // len(base) + 1))[: args.texts]
    folder = onnx_folder(spec, "onnx")
    featurize = featurizer(Path(spec.source), folder)
    pooling = export_info(folder)["pooling"]
    batches = batches_by_length(featurize.token_lengths(texts), 16)
    batch_texts = [[texts[i] for i in batch] for batch in batches]
    workers = len(os.sched_getaffinity(0))
    streams = ov.Core().compile_model(
        str(folder / "model.onnx"),
        "CPU",
        {
            "INFERENCE_PRECISION_HINT": "bf16",
            "PERFORMANCE_HINT": "THROUGHPUT",
            "NUM_STREAMS": str(workers),
            "CACHE_DIR": str(config.models_dir() / "openvino-cache"),
        },
    )

    def several_streams() -> np.ndarray:
        out = np.empty((len(texts), 384), dtype=np.float32)
        local = threading.local()

        def run(chunk: list[str]) -> np.ndarray:
            request = getattr(local, "request", None)
            if request is None:
                request = local.request = streams.create_infer_request()
            feed = featurize(chunk)
            return pool_hidden(np.asarray(request.infer(feed)[0]), feed, pooling)

        with ThreadPoolExecutor(workers) as pool:
            for batch, vectors in zip(batches, pool.map(run, batch_texts), strict=True):
                out[batch] = vectors
        return out

    def one_request() -> np.ndarray:
        out = np.empty((len(texts), 384), dtype=np.float32)

        def keep(idx: list[int], vectors: np.ndarray) -> None:
            out[idx] = vectors

        encode_batches(spec, texts, mode="openvino-bf16", batch_size=16, on_batch=keep)
        return out

    paths = {f"{workers} streams x {workers} threads": several_streams, "1 request": one_request}
    best = dict.fromkeys(paths, float("inf"))
    vectors = {name: run() for name, run in paths.items()}  # warm-up: compile every shape
    load_start = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, run in paths.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    baseline = next(iter(paths))
    cosine = (vectors[baseline] * vectors["1 request"]).sum(axis=1)

    flags = [f for f in KERNEL_FLAGS if f in (cpu_flags() or ())]
    print(
        f"{len(texts)} texts in {len(batches)} token-length batches of 16 (the tuner's "
        f"slice of the sample corpus); {spec.model_id}; mode openvino-bf16; openvino "
        f"{ov.get_version().split('-')[0]}; {workers} CPUs ({platform.machine()}); best of "
        f"{args.rounds} alternating rounds; load average at the start {load_start:.1f}, at "
        f"the end {os.getloadavg()[0]:.1f}; **CPU {cpu_model_name()}** with "
        f"{', '.join(flags) or 'none of ' + ', '.join(KERNEL_FLAGS)}.\n"
    )
    print(f"| path | texts/s | vs {baseline} |")
    print("|---|---:|---:|")
    for name in paths:
        speed = len(texts) / best[name]
        print(f"| {name} | {speed:.1f} | {best[baseline] / best[name]:.2f}x |")
    print(f"\nCosine of the two paths' embeddings: min {cosine.min():.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
