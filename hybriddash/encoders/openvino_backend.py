"""OpenVINO encode paths: modes ``"openvino-bf16"`` and ``"openvino-int8"``.

``openvino-bf16``: OpenVINO runs the float32 ONNX export of
:mod:`hybriddash.encoders.onnx_backend` (the graph of mode ``onnx``: it starts after the
word-embedding lookup) with its CPU plugin's inference precision set to bf16. On a CPU
with AMX (Sapphire Rapids and later) the weight matmuls then run on AMX bf16 tiles:
4.9x OpenVINO's float32 matmuls on the Xeon of docs/benchmarks.md, with embeddings within
a cosine of 2e-5 of float32. Where the CPU has no bf16 instructions OpenVINO computes in
float32 (about ORT float32's speed there); the tuner (:mod:`hybriddash.encoders.tuning`)
decides by measuring.

``openvino-int8``: NNCF post-training static int8 of the same graph (activation scales
calibrated on the built-in sample corpus, NNCF's SmoothQuant for transformers), the FFN
down-projections kept out as in ``onnx-int8`` recipe 2; built once per fingerprint and
:data:`OV_INT8_RECIPE` into ``<artifacts>/models/openvino/``. Measured within 0.005 mAP
but only by 0.0002, and no faster than bf16 on the AMX Xeon: an explicit mode, not a
tuning candidate.

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
# openvino-int8: NNCF post-training static int8 (calibrated activation scales, NNCF's
# SmoothQuant), FFN down-projections kept out as in onnx-int8 recipe 2; bump on change
OV_INT8_RECIPE = "1"
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
    """The inference precision hint of a mode (int8 graphs run their float parts in bf16)."""
    if mode not in OPENVINO_MODES:
        raise ValueError(
            f"not an OpenVINO encode mode: {mode!r} (expected one of {OPENVINO_MODES})"
        )
    return "bf16"


def int8_folder(spec: ModelSpec) -> Path:
    """The NNCF int8 model of ``spec`` (``model.xml``), built once per fingerprint and
    recipe in ``<artifacts>/models/openvino/`` from the float32 ONNX export, calibrated on
    the built-in sample corpus (:func:`~hybriddash.encoders.onnx_backend.calibration_texts`)."""
    from hybriddash.encoders._folder import atomic_build
    from hybriddash.encoders.onnx_backend import EXPORT_VERSION, onnx_folder

    source = onnx_folder(spec, "onnx")

    def build(tmp: Path) -> dict[str, Any]:
        import logging

        import nncf
        import openvino as ov

        from hybriddash.encoders.encode import batches_by_length
        from hybriddash.encoders.features import featurizer
        from hybriddash.encoders.onnx_backend import _down_projection_matmuls, calibration_texts

        featurize = featurizer(Path(spec.source), source)
        texts = calibration_texts(spec)
        batches = batches_by_length(featurize.token_lengths(texts), OV_BATCH_SIZE)
        feeds = [featurize([texts[i] for i in batch]) for batch in batches]
        model = ov.Core().read_model(str(source / "model.onnx"))
        names = {op.get_friendly_name() for op in model.get_ops()}
        kept = [n for n in _down_projection_matmuls(source / "model.onnx") if n in names]
        if not kept:
            raise RuntimeError(
                f"openvino-int8: no FFN down-projection MatMul of {source / 'model.onnx'} "
                "found by name in the OpenVINO model"
            )
        logging.getLogger("nncf").setLevel(logging.ERROR)
        quantized = nncf.quantize(
            model,
            nncf.Dataset(feeds),
            subset_size=len(feeds),
            model_type=nncf.ModelType.TRANSFORMER,
            ignored_scope=nncf.IgnoredScope(names=kept),
        )
        ov.save_model(quantized, str(tmp / "model.xml"))
        return {
            "model_id": spec.model_id,
            "kind": "openvino-int8",
            "source_fingerprint": spec.fingerprint,
            "ov_int8_recipe": OV_INT8_RECIPE,
            "calibration_texts": len(texts),
            "float32_matmuls": len(kept),
        }

    root = config.models_dir() / "openvino"
    return atomic_build(
        root / f"{spec.fingerprint}-v{EXPORT_VERSION}-int8-n{OV_INT8_RECIPE}", build
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
