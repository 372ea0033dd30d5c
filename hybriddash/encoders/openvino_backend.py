"""OpenVINO encode paths: modes ``"openvino-bf16"`` and ``"openvino-int8"``.

``openvino-bf16``: OpenVINO runs the float32 ONNX export of
:mod:`hybriddash.encoders.onnx_backend` (the graph of mode ``onnx``: it starts after the
word-embedding lookup) with its CPU plugin's inference precision set to bf16. On a CPU
with AMX (Sapphire Rapids and later) the weight matmuls then run on AMX bf16 tiles:
4.9x OpenVINO's float32 matmuls on the Xeon of docs/benchmarks.md, with embeddings within
a cosine of 2e-5 of float32. Where the CPU has no bf16 instructions OpenVINO computes in
float32 (about ORT float32's speed there); the tuner (:mod:`hybriddash.encoders.tuning`)
decides by measuring.

``openvino-int8`` (recipe :data:`OV_INT8_RECIPE`): NNCF post-training **static** int8 of
the same graph: activation scales calibrated once on the built-in sample corpus (never a
benchmark; the set is named by :func:`calibration_id` in the folder name and the
embedding cache's mode key), and fused by OpenVINO into its int8 matmul kernels (VNNI /
AMX-int8 brgemm), so no per-batch activation quantization runs. The recipe:

1. every weight MatMul in int8 (per-channel weights, per-tensor activations), with
   NNCF's SmoothQuant at alpha :data:`OV_INT8_SMOOTH_ALPHA` (the alpha of ``onnx-int8``);
2. the attention MatMuls (activation x activation) stay float32: quantizing them cost
   accuracy and, on short sentences, speed;
3. the :data:`OV_INT8_FLOAT_DOWN` FFN down-projections whose int8 error on the
   calibration texts is largest stay float32 (:func:`down_projection_errors`: a
   per-layer measurement, not a fixed list of layers);
4. everything else runs in float32 (``INFERENCE_PRECISION_HINT: f32`` on every CPU:
   a bf16 hint is emulated, ~25x slower, on AVX-512 CPUs without AVX512-BF16).

Recipe 1 kept every down-projection in float32 and ran the rest in bf16: it gave up a
third of the int8 matmul work, and on a VNNI-only CPU its bf16 was emulated.
Measurements: docs/benchmarks.md, "Static int8 for VNNI-only CPUs".

Compiled models are kept by OpenVINO's own model cache (``CACHE_DIR``) in
``<artifacts>/models/openvino-cache/``, so a second process loads the compiled blob
instead of converting and compiling the graph again. Each compiled model runs one
stream (``PERFORMANCE_HINT: LATENCY``, every core on one request) and is driven by one
synchronous infer request from the calling thread, while one helper thread tokenizes
the next batch. Two streams fed by two threads were 7% faster on the AMD EPYC (AVX2) of
docs/benchmarks.md (``bench/bench_openvino_requests.py``), but OpenVINO's multi-request
CPU paths hang now and then on AMD EPYC (CI hung in an OpenVINO tuning test; other
projects report the same hang and moved to synchronous single requests): a hang costs
more than those 7%. Batches hold :data:`OV_BATCH_SIZE` texts (2.2x faster than 64 on
xquad-r[articles=1]: every padded shape is compiled on first sight, and long batches pad
more).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from hybriddash import config

if TYPE_CHECKING:
    from hybriddash.encoders.spec import ModelSpec

OPENVINO_MODES = ("openvino-bf16", "openvino-int8")
# openvino-int8 (module docstring); bump on any change of the recipe below. "1": NNCF
# defaults, every down-projection float32, bf16 elsewhere.
OV_INT8_RECIPE = "2"
OV_INT8_SMOOTH_ALPHA = 0.75
OV_INT8_FLOAT_DOWN = 2  # down-projections kept float32, the worst by measured int8 error
# Every k-th token row of the calibration activations is kept to measure the error
# (ranges come from all rows): bounds memory at ~100 MB for e5-small's 12 layers.
ERROR_ROW_STRIDE = 4
OV_BATCH_SIZE = 16
# bounded: each compiled model holds its weights; a long-lived process meets many
_COMPILED: LRUCache[tuple[str, str], _Compiled] = LRUCache(maxsize=4)
_LOCK = threading.Lock()


@dataclass
class _Compiled:
    """A compiled model with its one infer request; ``lock`` keeps the request to one
    caller at a time (an infer request is not thread-safe)."""

    model: Any
    request: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _precision(mode: str) -> str:
    """The inference precision hint of a mode: bf16 for ``openvino-bf16``; f32 for the
    float parts of ``openvino-int8`` (bf16 there is emulated where the CPU lacks it)."""
    if mode not in OPENVINO_MODES:
        raise ValueError(
            f"not an OpenVINO encode mode: {mode!r} (expected one of {OPENVINO_MODES})"
        )
    return "bf16" if mode == "openvino-bf16" else "f32"


def _weight_matmuls(path: Path) -> tuple[list[str], list[str]]:
    """(names of the MatMuls with a constant weight, names of those without: attention's
    activation x activation products) of the ONNX graph at ``path``."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    matmuls = [node for node in graph.node if node.op_type == "MatMul"]
    weighted = [n.name for n in matmuls if n.input[1] in constants]
    return weighted, [n.name for n in matmuls if n.input[1] not in constants]


def down_projection_errors(graph: Path, feeds: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Each FFN down-projection's relative int8 error on ``feeds``, by MatMul name.

    The float32 graph runs in ONNX Runtime with each down-projection's input ``X``
    exposed; then ``e = ||Q(X) Q(W) - X W||_F / ||X W||_F`` with ``Q(X)`` per-tensor
    asymmetric uint8 over the range of every row seen and ``Q(W)`` symmetric int8 per
    output channel: what static int8 does to that layer before smoothing. Rows: every
    :data:`ERROR_ROW_STRIDE`-th token row (padding rows included, as the kernels see them).
    """
    import onnx
    import onnxruntime as ort

    from hybriddash.encoders.onnx_backend import _down_projection_matmuls, session_options

    model = onnx.load(str(graph))
    down = set(_down_projection_matmuls(graph))
    nodes = [n for n in model.graph.node if n.name in down]
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in nodes:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(node.input[0]))
    session = ort.InferenceSession(
        model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"]
    )
    names = [node.input[0] for node in nodes]
    low = dict.fromkeys(names, np.inf)
    high = dict.fromkeys(names, -np.inf)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for feed in feeds:
        for name, x in zip(names, session.run(names, feed), strict=True):
            x = x.reshape(-1, x.shape[-1])
            low[name], high[name] = min(low[name], x.min()), max(high[name], x.max())
            rows[name].append(x[::ERROR_ROW_STRIDE])
    errors = {}
    for node, name in zip(nodes, names, strict=True):
        x, w = np.concatenate(rows[name]), weights[node.input[1]]  # w: [in, out]
        scale = max(float(high[name] - low[name]), 1e-8) / 255.0
        zero = np.round(-low[name] / scale)
        xq = (np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale
        w_scale = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-8) / 127.0
        wq = np.round(w / w_scale) * w_scale
        exact = x @ w
        errors[node.name] = float(np.linalg.norm(xq @ wq - exact) / np.linalg.norm(exact))
    return errors


def calibration_id() -> str:
    """The calibration set of ``openvino-int8`` as folder names and cache keys carry it:
    ``sample-`` and 8 hex of the sha256 of the built-in sample corpus's texts."""
    from hybriddash.encoders.onnx_backend import calibration_set_digest

    return f"sample-{calibration_set_digest()[:8]}"


def int8_folder(spec: ModelSpec) -> Path:
    """The NNCF static int8 model of ``spec`` (``model.xml``; recipe of the module
    docstring), built once per fingerprint, recipe and calibration set in
    ``<artifacts>/models/openvino/`` from the float32 ONNX export, calibrated on the
    built-in sample corpus (:func:`~hybriddash.encoders.onnx_backend.calibration_texts`)."""
    from hybriddash.encoders._folder import atomic_build
    from hybriddash.encoders.onnx_backend import EXPORT_VERSION, onnx_folder

    source = onnx_folder(spec, "onnx")

    def build(tmp: Path) -> dict[str, Any]:
        import logging

        import nncf
        import openvino as ov

        from hybriddash.encoders.encode import batches_by_length
        from hybriddash.encoders.features import featurizer
        from hybriddash.encoders.onnx_backend import calibration_texts

        featurize = featurizer(Path(spec.source), source)
        texts = calibration_texts(spec)
        batches = batches_by_length(featurize.token_lengths(texts), OV_BATCH_SIZE)
        feeds = [featurize([texts[i] for i in batch]) for batch in batches]
        graph = source / "model.onnx"
        errors = down_projection_errors(graph, feeds)
        if not errors:
            raise RuntimeError(
                f"openvino-int8: no FFN down-projection MatMul found in {graph} (a MatMul "
                "whose constant weight maps more inputs to fewer outputs)"
            )
        worst = sorted(errors, key=errors.__getitem__, reverse=True)[:OV_INT8_FLOAT_DOWN]
        _weighted, attention = _weight_matmuls(graph)
        model = ov.Core().read_model(str(graph))
        names = {op.get_friendly_name() for op in model.get_ops()}
        kept = [n for n in worst + attention if n in names]
        if len(kept) != len(worst) + len(attention):
            missing = sorted(set(worst + attention) - names)
            raise RuntimeError(
                f"openvino-int8: MatMuls of {graph} not found by name in the OpenVINO "
                f"model: {missing[:3]}"
            )
        logging.getLogger("nncf").setLevel(logging.ERROR)
        quantized = nncf.quantize(
            model,
            nncf.Dataset(feeds),
            subset_size=len(feeds),
            model_type=nncf.ModelType.TRANSFORMER,
            ignored_scope=nncf.IgnoredScope(names=kept),
            advanced_parameters=nncf.AdvancedQuantizationParameters(
                smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=OV_INT8_SMOOTH_ALPHA)
            ),
        )
        ov.save_model(quantized, str(tmp / "model.xml"))
        return {
            "model_id": spec.model_id,
            "kind": "openvino-int8",
            "source_fingerprint": spec.fingerprint,
            "ov_int8_recipe": OV_INT8_RECIPE,
            "calibration": {
                "id": calibration_id(),
                "corpus": "sample (built-in)",
                "texts": len(texts),
            },
            "smooth_quant_alpha": OV_INT8_SMOOTH_ALPHA,
            "float32_down_projections": {n: round(errors[n], 5) for n in worst},
            "down_projection_int8_errors": {n: round(e, 5) for n, e in errors.items()},
            "float32_attention_matmuls": len(attention),
        }

    root = config.models_dir() / "openvino"
    return atomic_build(
        root / f"{spec.fingerprint}-v{EXPORT_VERSION}-int8-n{OV_INT8_RECIPE}-{calibration_id()}",
        build,
    )


def compiled_model(graph: Path, mode: str) -> _Compiled:
    """The graph file ``graph`` compiled for this CPU with its infer request (kept per
    process, and on disk in OpenVINO's model cache)."""
    import openvino as ov

    key = (str(graph), mode)
    with _LOCK:
        if key not in _COMPILED:
            cache = config.models_dir() / "openvino-cache"
            cache.mkdir(parents=True, exist_ok=True)
            model = ov.Core().compile_model(
                str(graph),
                "CPU",
                {
                    "INFERENCE_PRECISION_HINT": _precision(mode),
                    "PERFORMANCE_HINT": "LATENCY",
                    "CACHE_DIR": str(cache),
                },
            )
            _COMPILED[key] = _Compiled(model, model.create_infer_request())
        return _COMPILED[key]


def encode_batches_openvino(
    spec: ModelSpec,
    batches: list[list[str]],
    mode: str,
    on_batch: Callable[[int, np.ndarray], None],
) -> None:
    """Encode each batch of prefixed texts; ``on_batch(i, vectors)`` gets float32 unit
    rows, in the calling thread and in batch order. No torch is loaded when the ONNX
    export is already built."""
    from hybriddash.encoders.features import featurizer
    from hybriddash.encoders.onnx_backend import export_info, onnx_folder, pool_hidden

    _precision(mode)
    if not openvino_available():
        raise RuntimeError(f"encode mode {mode!r} needs openvino (pip install openvino)")
    folder = onnx_folder(spec, "onnx")
    pooling = export_info(folder)["pooling"]
    featurize = featurizer(Path(spec.source), folder)
    graph = int8_folder(spec) / "model.xml" if mode == "openvino-int8" else folder / "model.onnx"
    compiled = compiled_model(graph, mode)
    if not batches:
        return
    # One helper thread tokenizes batch i+1 while this thread runs batch i: OpenVINO
    # is only ever called from here, one synchronous request at a time.
    with ThreadPoolExecutor(1) as tokenizer_thread, compiled.lock:
        upcoming = tokenizer_thread.submit(featurize, batches[0])
        for i in range(len(batches)):
            feed = upcoming.result()
            if i + 1 < len(batches):
                upcoming = tokenizer_thread.submit(featurize, batches[i + 1])
            hidden = compiled.request.infer(feed)[0]
            on_batch(i, pool_hidden(np.asarray(hidden), feed, pooling))


def clear_compiled() -> None:
    """Forget the per-process compiled models (tests)."""
    with _LOCK:
        _COMPILED.clear()
