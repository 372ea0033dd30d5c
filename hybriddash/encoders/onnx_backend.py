"""ONNX Runtime encode path: modes ``"onnx"`` (float32) and ``"onnx-int8"``.

The sentence-transformers model's transformer is exported once per model fingerprint
(``torch.onnx.export``, dynamic batch and sequence axes) to
``<artifacts>/models/onnx/<fingerprint>-v<EXPORT_VERSION>-float32/model.onnx``. The graph
takes the word vectors as input (numpy looks them up in the loaded model's matrix), so
the file holds the layers only: ~85 MB for e5-small.

``onnx-int8`` (recipe :data:`INT8_RECIPE`, folder ``...-int8-r<INT8_RECIPE>``) is built
from its own export of a *smoothed* copy of the encoder, then ONNX Runtime's dynamic
quantization (int8 weights per output channel, uint8 activations per batch):

1. **SmoothQuant** (Xiao et al. 2023): per-tensor activation scales clip the few
   outlier channels of a transformer's hidden states. For each group of linear layers
   that read the same input (BERT: Q/K/V; the attention output; the FFN
   up-projection) the input's channel j is divided by
   ``s_j = max|X_j|**alpha / max|W_:,j|**(1 - alpha)`` and the weight's column j
   multiplied by it: the same function, with the outliers moved into the weights,
   which are quantized per channel. ``max|X_j|`` is calibrated on the built-in sample
   corpus (6 languages; no benchmark text), ``alpha`` = :data:`SMOOTH_ALPHA`.
2. **Down-projections stay float32** (``in_features > out_features``: BERT's FFN
   output, whose GELU input is the worst-clipped activation of all).

Measured on xquad-r[articles=8] (bench/bench_encode.py, docs/benchmarks.md): plain
dynamic int8 of every linear layer changed multilingual mAP by -0.020 (cosine to float32
mean 0.9961); this recipe by at most 0.0015 on mono / cross / multi (cosine mean
0.9998), at ~1.5x the float32 ONNX speed on a CPU with VNNI.

Pooling and normalisation run in numpy from the model's own Pooling module settings
(mean or CLS token; anything else is refused), so the output matches
``SentenceTransformer.encode`` of the same model. Sessions run single-threaded and one
worker thread per CPU core takes the next batch: on 2 cores that beat one session with
2 intra-op threads by ~1.3x for this small model (short sequences: per-op thread
handoffs cost more than they parallelise).

Once a folder is built, encoding needs no torch: the tokenizer and the word vectors come
from :mod:`hybriddash.encoders.features` (the ``tokenizers`` library and a memory map
of the model's safetensors file). The export, the smoothing and the quantization run
once per model fingerprint, :data:`EXPORT_VERSION` and :data:`INT8_RECIPE`.

Why not sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` and its export
helpers: they need ``optimum`` / ``optimum-intel``, which do not fit the pinned stack
(checked 2026-12-02 with ``pip install --dry-run``: ``optimum[onnxruntime]`` 2.1 pulls
transformers 4.57, ``optimum-intel[openvino]`` 2.2 a CUDA torch 2.14 and transformers
5.5). What ``export_static_quantized_openvino_model`` does (NNCF post-training int8 on
the OpenVINO model) was measured directly with ``nncf`` (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from hybriddash import config
from hybriddash.encoders._folder import atomic_build, quiet_transformers
from hybriddash.encoders.vectors import mean_pool, unit_rows

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from hybriddash.encoders.registry import ModelSpec

ONNX_MODES = ("onnx", "onnx-int8")
# One session per core works best on small batches (measured on XQuAD-R, 2 cores:
# 16 texts ~1.3x faster than 64); callers' larger batch sizes are cut to this.
ONNX_BATCH_SIZE = 16
# bump when the exported float32 graph or its onnx.json changes ("2": onnx.json records
# max_seq_length, so a later process tokenizes without loading the torch model)
EXPORT_VERSION = "2"
# The onnx-int8 recipe: bump when smoothing, calibration or quantization settings change
# (it is part of the int8 folder name and of the embedding cache key, see
# hybriddash.encoders.encode.mode_key). "1" was plain dynamic int8 of every MatMul.
INT8_RECIPE = "2"
SMOOTH_ALPHA = 0.75  # swept 0.5-0.95 on xquad-r[articles=8]; 0.75 kept cosine highest
CALIBRATION_BATCH = 32
# bounded: each session holds its weights; a long-lived process meets many models
_SESSIONS: LRUCache[tuple[str, str], Any] = LRUCache(maxsize=4)
_SESSIONS_LOCK = threading.Lock()


class OnnxUnavailableError(RuntimeError):
    """onnxruntime (or onnx) is not installed, or the model cannot take this path."""


def onnx_runtime_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_unsupported_reason(spec: ModelSpec) -> str | None:
    """Why ``spec`` cannot take the ONNX path (None: it can), from its folder's files.

    Reads ``modules.json`` and the Pooling config only (no model load): the path needs
    Transformer -> Pooling (mean or CLS) [-> Normalize], with its weights in a folder.
    """
    if not onnx_runtime_available():
        return "onnxruntime and onnx are not installed"
    folder = Path(spec.source)
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError):
        return f"{spec.model_id}: no local sentence-transformers folder to export"
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"{spec.model_id}: modules {kinds}, the ONNX path handles Transformer, Pooling, Normalize"
    pooling = next(m for m in modules if str(m.get("type", "")).endswith("Pooling"))
    try:
        cfg = json.loads((folder / pooling["path"] / "config.json").read_text())
    except (OSError, ValueError):
        return f"{spec.model_id}: unreadable pooling config"
    mode = cfg.get("pooling_mode") or [
        k[len("pooling_mode_") :]
        for k, v in cfg.items()
        if k.startswith("pooling_mode_") and v is True
    ]
    modes = [mode] if isinstance(mode, str) else list(mode)
    if modes not in (["mean"], ["mean_tokens"], ["cls"], ["cls_token"]):
        return f"{spec.model_id}: pooling {modes}, the ONNX path handles mean or CLS"
    return None


def _pooling_mode(model: SentenceTransformer) -> str:
    """``"mean"`` or ``"cls"``: the model's Pooling module, which numpy will redo."""
    for module in model:
        name = type(module).__name__
        if name == "Pooling":
            mode = getattr(module, "pooling_mode", None)  # sentence-transformers >= 6
            if mode is None:  # 5.x: one boolean per mode in the config
                cfg = module.get_config_dict()
                mode = [k[len("pooling_mode_") :] for k, v in cfg.items()
                        if k.startswith("pooling_mode_") and v]  # fmt: skip
            modes = [mode] if isinstance(mode, str) else list(mode)
            if modes in (["mean"], ["mean_tokens"]):
                return "mean"
            if modes in (["cls"], ["cls_token"]):
                return "cls"
            raise OnnxUnavailableError(
                f"the ONNX encode modes support mean or CLS pooling only; this model pools "
                f"with {modes}"
            )
        if name not in ("Transformer", "Normalize"):
            raise OnnxUnavailableError(
                f"the ONNX encode modes support Transformer -> Pooling (-> Normalize) models; "
                f"this one has a {name} module"
            )
    raise OnnxUnavailableError("the model has no Pooling module")


def _features(model: SentenceTransformer, texts: list[str]) -> dict[str, Any]:
    # sentence-transformers 6 renamed tokenize() to preprocess(); both truncate at the
    # model's max_seq_length and pad to the batch's longest text.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    return prepare(texts)


# torch's TorchScript exporter keeps process-wide state (GLOBALS.in_onnx_export) and
# refuses to start while another thread exports: the app's background alignment thread
# and a page, or two sessions, may both build a graph in one server process.
_EXPORT_LOCK = threading.Lock()


def _export(
    model: SentenceTransformer, out_dir: Path, transformer: Any | None = None
) -> dict[str, Any]:
    """Export ``transformer`` (default: the model's own) to ``out_dir/model.onnx``."""
    import torch

    transformer = transformer if transformer is not None else model[0].auto_model
    sample = _features(model, ["query: hello world", "passage: a second, longer sentence here"])
    # The graph starts after the word-embedding lookup (numpy does it, from the loaded
    # model's own matrix): e5-small's 250k x 384 table would be 80% of the file.
    sample["inputs_embeds"] = transformer.get_input_embeddings()(sample["input_ids"])
    inputs = [
        name for name in ("inputs_embeds", "attention_mask", "token_type_ids") if name in sample
    ]

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(inputs, args, strict=True))).last_hidden_state

    dynamic: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in inputs}
    dynamic["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with _EXPORT_LOCK, torch.no_grad(), quiet_transformers():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about python control flow
            # The TorchScript exporter: the dynamo one needs onnxscript and still
            # specialises some of BERT's mask arithmetic on the sample's shapes.
            torch.onnx.export(
                LastHidden().eval(),
                tuple(sample[name] for name in inputs),
                str(out_dir / "model.onnx"),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
    return {
        "inputs": inputs,
        "pooling": _pooling_mode(model),
        "max_seq_length": int(model.max_seq_length or transformer.config.max_position_embeddings),
    }


def _smoothed_linear(linear: Any, inverse_scale: Any) -> Any:
    """``x -> linear(x * inverse_scale)``; ``linear``'s columns already carry the scale."""
    import torch

    class SmoothedLinear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = linear
            self.register_buffer("inverse_scale", inverse_scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x * self.inverse_scale)

    return SmoothedLinear()


def calibration_texts(spec: ModelSpec) -> list[str]:
    """The texts the activation ranges are measured on: the built-in sample corpus's
    questions and candidates (6 languages), with the model's prefixes."""
    from hybriddash.data.sample import load_sample

    corpus = load_sample()
    return [spec.prefix("query") + q.text for q in corpus.queries] + [
        spec.prefix("passage") + c.text for c in corpus.candidates
    ]


@functools.cache
def calibration_set_digest() -> str:
    """sha256 (hex) of the calibration set without prefixes: the sample corpus's
    question texts, then its candidate texts, each followed by a newline."""
    from hybriddash.data.sample import load_sample

    corpus = load_sample()
    digest = hashlib.sha256()
    for text in [q.text for q in corpus.queries] + [c.text for c in corpus.candidates]:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def smoothed_transformer(
    model: SentenceTransformer, texts: list[str], alpha: float = SMOOTH_ALPHA
) -> tuple[Any, dict[str, Any]]:
    """A copy of the model's transformer with SmoothQuant scales folded in (see the
    module docstring), and what was done. The model itself is left untouched.

    Linear layers are grouped by the input they read (found in one calibration
    forward: Q, K and V share theirs) so a group shares one scale vector. Layers with
    ``in_features > out_features`` (down-projections) are neither smoothed nor, later,
    quantized.
    """
    import copy

    import torch

    original = model[0].auto_model
    if not isinstance(getattr(original, "encoder", None), torch.nn.Module):
        raise OnnxUnavailableError(
            f"encode mode 'onnx-int8' smooths a BERT-style transformer (.encoder); "
            f"{type(original).__name__} has none: use --mode onnx"
        )
    transformer = copy.copy(original)
    transformer._modules = dict(original._modules)  # shallow: share all but the encoder
    encoder = copy.deepcopy(original.encoder)
    transformer._modules["encoder"] = encoder
    linears = {
        name: module
        for name, module in encoder.named_modules()
        if isinstance(module, torch.nn.Linear) and module.in_features <= module.out_features
    }
    if not linears:
        raise OnnxUnavailableError("onnx-int8: the encoder has no linear layers to quantize")
    absmax: dict[str, torch.Tensor] = {}
    first_inputs: dict[str, torch.Tensor] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_module: Any, inputs: tuple[torch.Tensor, ...], _out: Any) -> None:
            x = inputs[0]
            peak = x.detach().abs().reshape(-1, x.shape[-1]).amax(dim=0)
            absmax[name] = torch.maximum(absmax[name], peak) if name in absmax else peak
            # the very tensor object (kept alive, so no id is reused): same = shared input
            first_inputs.setdefault(name, x)

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in linears.items()]
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), CALIBRATION_BATCH):
                features = _features(model, texts[start : start + CALIBRATION_BATCH])
                model_inputs = ("input_ids", "attention_mask", "token_type_ids")
                transformer(**{k: v for k, v in features.items() if k in model_inputs})
    finally:
        for handle in handles:
            handle.remove()
    groups: list[list[str]] = []
    for name in linears:
        for group in groups:
            if first_inputs[group[0]] is first_inputs[name]:
                group.append(name)
                break
        else:
            groups.append([name])
    first_inputs.clear()
    with torch.no_grad():
        for group in groups:
            activation = absmax[group[0]].float().clamp(min=1e-5)
            weight = torch.stack([linears[n].weight.abs().amax(dim=0) for n in group])
            scale = activation**alpha / weight.amax(dim=0).clamp(min=1e-5) ** (1 - alpha)
            for name in group:
                linears[name].weight.mul_(scale)
                parent, _, attr = name.rpartition(".")
                smoothed = _smoothed_linear(linears[name], 1.0 / scale)
                setattr(encoder.get_submodule(parent), attr, smoothed)
    info = {
        "smooth_alpha": alpha,
        "calibration_texts": len(texts),
        "smoothed_groups": len(groups),
        "smoothed_linears": len(linears),
    }
    return transformer, info


def _down_projection_matmuls(path: Path) -> list[str]:
    """Names of the MatMul nodes whose constant weight maps more inputs to fewer
    outputs (``[in, out]`` with in > out): the FFN down-projections, kept float32."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and len(shapes.get(node.input[1], [])) == 2
        and shapes[node.input[1]][0] > shapes[node.input[1]][1]
    ]


def _build_int8(spec: ModelSpec, model: SentenceTransformer, out_dir: Path) -> dict[str, Any]:
    """Smooth, export and quantize (the recipe of the module docstring) into ``out_dir``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer, smooth_info = smoothed_transformer(model, calibration_texts(spec))
    float_dir = out_dir / "smoothed-float32"
    float_dir.mkdir()
    info = _export(model, float_dir, transformer=transformer)
    kept_float = _down_projection_matmuls(float_dir / "model.onnx")
    quant_logger = logging.getLogger()  # quantize_dynamic logs a pre-processing hint
    level = quant_logger.level
    quant_logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(float_dir / "model.onnx"),
            str(out_dir / "model.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=kept_float,
        )
    finally:
        quant_logger.setLevel(level)
    for path in float_dir.iterdir():
        path.unlink()
    float_dir.rmdir()
    return {**info, **smooth_info, "int8_recipe": INT8_RECIPE, "float32_matmuls": len(kept_float)}


def onnx_folder(spec: ModelSpec, mode: str, model: SentenceTransformer | None = None) -> Path:
    """The exported (and for ``onnx-int8`` quantized) graph of ``spec``; built on first
    use, once per model fingerprint, export version and recipe, in ``artifacts/``.

    The torch model (``model``, else loaded here) is needed only to build a folder: a
    process that finds it built never loads torch for it.
    """
    if mode not in ONNX_MODES:
        raise ValueError(f"not an ONNX encode mode: {mode!r} (expected one of {ONNX_MODES})")
    if not onnx_runtime_available():
        raise OnnxUnavailableError(
            f"encode mode {mode!r} needs onnxruntime and onnx (pip install onnxruntime onnx)"
        )
    root = config.models_dir() / "onnx"

    def torch_model() -> SentenceTransformer:
        from hybriddash.encoders.registry import load_model

        return model if model is not None else load_model(spec)

    def with_info(build: Callable[[Path], dict[str, Any]]) -> Callable[[Path], dict[str, Any]]:
        def run(tmp: Path) -> dict[str, Any]:
            info = build(tmp)
            (tmp / "onnx.json").write_text(json.dumps(info))
            return {
                "model_id": spec.model_id,
                "kind": "onnx-export",
                "source_fingerprint": spec.fingerprint,
                "export_version": EXPORT_VERSION,
                **info,
            }

        return run

    float_dir = atomic_build(
        root / f"{spec.fingerprint}-v{EXPORT_VERSION}-float32",
        with_info(lambda tmp: _export(torch_model(), tmp)),
    )
    if mode == "onnx":
        return float_dir
    return atomic_build(
        root / f"{spec.fingerprint}-v{EXPORT_VERSION}-int8-r{INT8_RECIPE}",
        with_info(lambda tmp: _build_int8(spec, torch_model(), tmp)),
    )


def session_options(threads: int = 1) -> Any:
    """ONNX Runtime options of the encode sessions: ``threads`` intra-op threads, one
    inter-op thread, every graph optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _session(folder: Path) -> Any:
    import onnxruntime as ort

    key = (str(folder), "cpu")
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            # one single-threaded session, shared by one worker thread per core
            _SESSIONS[key] = ort.InferenceSession(
                str(folder / "model.onnx"), session_options(1), providers=["CPUExecutionProvider"]
            )
        return _SESSIONS[key]


def export_info(folder: Path) -> dict[str, Any]:
    """The export's ``onnx.json``: graph inputs, pooling, max_seq_length."""
    return json.loads((folder / "onnx.json").read_text())


def pool_hidden(hidden: np.ndarray, feed: dict[str, np.ndarray], pooling: str) -> np.ndarray:
    """The model's pooling (``"mean"`` or ``"cls"``) of ``hidden [n, t, d]`` -> unit rows."""
    pooled = hidden[:, 0] if pooling == "cls" else mean_pool(hidden, feed["attention_mask"])
    return unit_rows(pooled)


def encode_batches_onnx(
    spec: ModelSpec,
    batches: list[list[str]],
    mode: str,
    on_batch: Callable[[int, np.ndarray], None],
    *,
    n_workers: int | None = None,
) -> None:
    """Encode each batch of prefixed texts; ``on_batch(i, vectors)`` gets float32 unit rows.

    ``on_batch`` is called from the calling thread, in batch order. Tokenization and
    the word-vector lookup run without torch (:mod:`hybriddash.encoders.features`).
    """
    from hybriddash.encoders.features import featurizer

    folder = onnx_folder(spec, mode)
    pooling = export_info(folder)["pooling"]
    featurize = featurizer(Path(spec.source), folder)
    session = _session(folder)

    def run(texts: list[str]) -> np.ndarray:
        feed = featurize(texts)
        return pool_hidden(session.run(None, feed)[0], feed, pooling)

    workers = n_workers or len(os.sched_getaffinity(0))
    with ThreadPoolExecutor(max(1, min(workers, len(batches)))) as pool:
        for i, vectors in enumerate(pool.map(run, batches)):
            on_batch(i, vectors)


def clear_sessions() -> None:
    with _SESSIONS_LOCK:
        _SESSIONS.clear()
