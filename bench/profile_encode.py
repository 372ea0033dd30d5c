"""Where the encoder's time goes, per operator kind: ONNX Runtime's per-op profiler for
``onnx`` / ``onnx-int8``, OpenVINO's per-node counters for ``openvino-bf16``.

    python bench/profile_encode.py --articles 1

Texts: xquad-r[articles=N] (all languages) when the benchmark data is configured, else
the sample corpus; batches as the product cuts them (token-length order, 16 texts).
One session or compiled model, one thread, one stream: the shares are of CPU time on
one core. The operators are grouped into:

- ``linear (weights)``: MatMul / MatMulInteger / Gemm / FullyConnected whose second
  input is a constant weight (Q, K, V, attention output, FFN up and down);
- ``attention (matmuls, mask)``: MatMul of two activations (Q·Kᵀ, softmax·V; ORT's
  FusedMatMul) and the mask arithmetic of the exported attention (Where, IsNaN, Select);
- ``quantize``: DynamicQuantizeLinear and the like (int8 activations per batch);
- ``softmax``, ``layernorm``, ``gelu``; ``other`` (adds, reshapes, transposes, casts).

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.cpu import cpu_model_name  # noqa: E402
from hybriddash.encoders.encode import batches_by_length  # noqa: E402
from hybriddash.encoders.features import featurizer  # noqa: E402
from hybriddash.encoders.onnx_backend import onnx_folder  # noqa: E402
from hybriddash.encoders.registry import OFFLINE_DEFAULT, resolve_model  # noqa: E402

CATEGORIES = (
    "linear (weights)",
    "attention (matmuls, mask)",
    "quantize",
    "softmax",
    "layernorm",
    "gelu",
    "other",
)


def _texts(articles: int) -> tuple[str, list[str]]:
    from hybriddash.config import data_dir
    from hybriddash.data.datasets import load_dataset

    if data_dir() is not None and (data_dir() / "xquad-r").is_dir():
        corpus = load_dataset("xquad-r", articles=articles)
    else:
        corpus = load_dataset("sample")
    spec = resolve_model(OFFLINE_DEFAULT)
    texts = [spec.query_prefix + q.text for q in corpus.queries]
    texts += [spec.passage_prefix + c.text for c in corpus.candidates]
    return corpus.name, texts


def _category(op: str, weighted: bool) -> str:
    low = op.lower()
    if low in ("matmul", "matmulinteger", "gemm", "fullyconnected", "matmulintegertofloat"):
        return "linear (weights)" if weighted else "attention (matmuls, mask)"
    if low in ("fusedmatmul", "where", "isnan", "select"):
        return "attention (matmuls, mask)"
    if "quantize" in low or low in ("fakequantize", "convert"):
        return "quantize"
    if "softmax" in low:
        return "softmax"
    if "layernorm" in low or low in ("mvn", "reducemean", "pow", "sqrt"):
        return "layernorm"
    if "gelu" in low or low == "erf":
        return "gelu"
    return "other"


def profile_ort(folder: Path, feeds: list[dict]) -> tuple[dict[str, float], float]:
    """Microseconds per category over all ``feeds`` (ORT's profiler), and wall seconds."""
    import onnx
    import onnxruntime as ort

    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    weighted = {
        node.name: len(node.input) > 1 and node.input[1] in constants for node in graph.node
    }
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(
        str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    session.run(None, feeds[0])  # warm-up
    started = time.perf_counter()
    for feed in feeds:
        session.run(None, feed)
    wall = time.perf_counter() - started
    events = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        node = event["name"].removesuffix("_kernel_time")
        op = event.get("args", {}).get("op_name", "")
        # fused nodes keep the first fused node's name; a fused MatMul is weighted
        is_weighted = weighted.get(node, op in ("MatMulInteger", "Gemm"))
        category = _category(op, is_weighted)
        totals[category] += float(event["dur"])
        if category == "other":
            totals[f"other:{op}"] += float(event["dur"])
    return totals, wall


def profile_openvino(folder: Path, feeds: list[dict], precision: str) -> tuple[dict, float]:
    """Microseconds per category (OpenVINO's per-node counters), and wall seconds."""
    import openvino as ov

    compiled = ov.Core().compile_model(
        str(folder / "model.onnx"),
        "CPU",
        {
            "INFERENCE_PRECISION_HINT": precision,
            "PERF_COUNT": True,
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": "1",
        },
    )
    request = compiled.create_infer_request()
    request.infer(feeds[0])  # warm-up (compiles the shape)
    totals: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for feed in feeds:
        request.infer(feed)
        for info in request.profiling_info:
            if info.status != info.Status.EXECUTED:
                continue
            op = info.node_type
            # OpenVINO's CPU plugin fuses a constant weight into FullyConnected; a MatMul
            # left as MatMul multiplies two activations (attention)
            weighted = op == "FullyConnected"
            category = _category(op, weighted)
            totals[category] += info.real_time.total_seconds() * 1e6
            if category == "other":
                totals[f"other:{op}"] += info.real_time.total_seconds() * 1e6
    wall = time.perf_counter() - started
    return totals, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=0, help="first N texts only (smoke test)")
    args = parser.parse_args(argv)
    name, texts = _texts(args.articles)
    texts = texts[: args.limit] if args.limit else texts
    spec = resolve_model(OFFLINE_DEFAULT)
    float_dir = onnx_folder(spec, "onnx")
    int8_dir = onnx_folder(spec, "onnx-int8")
    featurize = featurizer(Path(spec.source), float_dir)
    batches = batches_by_length(featurize.token_lengths(texts), args.batch_size)
    feeds = [featurize([texts[i] for i in batch]) for batch in batches]
    rows = {
        "onnx (ORT float32)": profile_ort(float_dir, feeds),
        "onnx-int8 (ORT, recipe 2)": profile_ort(int8_dir, feeds),
    }
    try:
        rows["openvino-bf16"] = profile_openvino(float_dir, feeds, "bf16")
        rows["OpenVINO float32"] = profile_openvino(float_dir, feeds, "f32")
    except ImportError:
        print("openvino is not installed: its rows are left out", file=sys.stderr)
    print(
        f"\n{name}: {len(texts):,} texts in {len(feeds)} batches of up to {args.batch_size}; "
        f"one thread; CPU {cpu_model_name()}; load average {os.getloadavg()[0]:.1f}.\n"
    )
    print("| runtime | texts/s (1 thread) | " + " | ".join(CATEGORIES) + " |")
    print("|---|---:|" + "---:|" * len(CATEGORIES))
    for label, (totals, wall) in rows.items():
        total = sum(totals.get(c, 0.0) for c in CATEGORIES) or 1.0
        shares = " | ".join(f"{100 * totals.get(c, 0.0) / total:.0f}%" for c in CATEGORIES)
        print(f"| {label} | {len(texts) / wall:.1f} | {shares} |")
    print("\nms per category (summed over the batches):\n")
    print("| runtime | " + " | ".join(CATEGORIES) + " |")
    print("|---|" + "---:|" * len(CATEGORIES))
    for label, (totals, _wall) in rows.items():
        cells = " | ".join(f"{totals.get(c, 0.0) / 1000:.0f}" for c in CATEGORIES)
        print(f"| {label} | {cells} |")
    print("\nLargest op types inside 'other':\n")
    for label, (totals, _wall) in rows.items():
        other = sorted(
            ((k.removeprefix("other:"), v) for k, v in totals.items() if k.startswith("other:")),
            key=lambda kv: -kv[1],
        )[:5]
        print(f"- {label}: " + ", ".join(f"{op} {v / 1000:.0f} ms" for op, v in other))
    return 0


if __name__ == "__main__":
    sys.exit(main())
