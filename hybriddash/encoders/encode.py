"""Encoding texts and corpora, with an embedding cache on disk.

Conventions: every returned embedding is float32, L2-normalised (unit length), one
row per input text in input order. Texts are prefixed by the model's prefix for their
kind (``"query: "`` / ``"passage: "`` for e5) before encoding.

Encode modes (``mode=``): ``"float32"`` (torch, the reference), ``"bf16"``
(torch CPU autocast to bfloat16), ``"int8"`` (torch dynamic int8 quantization of the
linear layers but the FFN output projections, see
:func:`hybriddash.encoders.registry.load_model`), ``"onnx"`` and ``"onnx-int8"`` (ONNX
Runtime, float32 or SmoothQuant int8; :mod:`hybriddash.encoders.onnx_backend`) and
``"openvino-bf16"`` (OpenVINO, bf16 matmuls on AMX / AVX512-BF16) and
``"openvino-int8"`` (OpenVINO, NNCF static int8; both
:mod:`hybriddash.encoders.openvino_backend`). Which one runs when none is given:
:mod:`hybriddash.encoders.modes` (``HYBRIDDASH_ENCODE_MODE``, then the mode measured
fastest on this machine by :mod:`hybriddash.encoders.tuning`, then a CPU-flag default).
:func:`mode_key` (the mode plus its recipe version) is part of the cache key and of the
run id, so the modes never mix; a mode whose runtime is missing falls back to float32
with a warning, and the mode that ran is what the cache and the store record.

Devices (``devices=``): ``None`` / ``"cpu"`` encodes in this process on the CPU;
``"auto"`` takes every CUDA GPU when there are any; a list such as
``["cuda:0", "cuda:1"]`` or ``["cpu", "cpu"]`` runs sentence-transformers'
multi-process pool, one worker per entry (:func:`resolve_devices`). On a GPU only the
torch modes run (the ONNX and int8 modes are CPU paths): they become float32, said
with a warning.

Batches are cut from the texts sorted by their token count (not their character
count: a Chinese sentence has few characters and many tokens), so a batch pads little.
On XQuAD-R's 11 languages that alone encodes ~1.4x faster than sorting by characters.

The cache
---------
``<artifacts>/embeddings/<model fingerprint>/<mode key>/`` holds append-only shards:
``shard-*.npy`` (float32 ``[n, d]``) and ``shard-*.keys.npy`` (uint8 ``[n, 16]``: the first
16 bytes of sha256 of the UTF-8 *prefixed* text). A shard becomes visible when its keys
file appears; both are written to a temp name and renamed (atomic), under an
exclusive ``fcntl`` lock on ``.lock`` that also deduplicates against shards another
process wrote meanwhile. Readers take the lock shared. So a second evaluation encodes
nothing, any subset reuses the full corpus's vectors, and two processes encoding at
once never corrupt or lose each other's work.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from cachetools import LRUCache

from hybriddash import config
from hybriddash.cpu import has_native_bf16
from hybriddash.encoders._folder import file_lock
from hybriddash.encoders.modes import (
    CPU_ONLY_MODES,
    ENCODE_MODES,
    check_mode,
    cpu_flag_default,
    env_mode,
    tuned_record,
)
from hybriddash.encoders.registry import ModelSpec, load_model
from hybriddash.encoders.vectors import unit_rows

__all__ = [
    "CPU_ONLY_MODES",
    "ENCODE_MODES",
    "EmbeddingCache",
    "EncodedCorpus",
    "default_encode_mode",
    "default_mode_for",
    "effective_mode",
    "encode_batches",
    "encode_corpus",
    "encode_texts",
    "mode_key",
    "unit_rows",
]

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from hybriddash.data.corpus import Corpus

TEXT_KINDS = ("query", "passage")
# Texts encoded between two cache writes: an interrupted run keeps what it finished.
FLUSH_EVERY = 2048
# Merge shards into one when a cache folder holds more than this many.
MAX_SHARDS = 64

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class EncodeStats:
    """Distinct (prefixed) texts run through the model vs served from the cache."""

    n_encoded: int
    n_cached: int

    def __add__(self, other: EncodeStats) -> EncodeStats:
        return EncodeStats(self.n_encoded + other.n_encoded, self.n_cached + other.n_cached)


@dataclass
class EncodedCorpus:
    """``queries``: ``[n_queries, d]``, ``candidates``: ``[n_candidates, d]``, in corpus order."""

    queries: np.ndarray
    candidates: np.ndarray
    stats: EncodeStats
    mode: str = "float32"  # the encode mode that ran (after any fallback)


# ---------------------------------------------------------------------------- cache
def text_key(prefixed_text: str) -> bytes:
    """Cache key of one prefixed text: the first 16 bytes of its UTF-8 sha256."""
    return hashlib.sha256(prefixed_text.encode("utf-8")).digest()[:16]


def _pack_keys(keys: Sequence[bytes]) -> np.ndarray:
    # uint8 [n, 16] rather than numpy's "S16", which drops trailing zero bytes
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)


def _unpack_keys(array: np.ndarray) -> list[bytes]:
    if array.ndim != 2 or array.shape[1] != 16 or array.dtype != np.uint8:
        raise ValueError(f"cache keys must be uint8 [n, 16], got {array.dtype} {array.shape}")
    raw = array.tobytes()
    return [raw[i : i + 16] for i in range(0, len(raw), 16)]


class EmbeddingCache:
    """Append-only on-disk vectors of one (model fingerprint, encode mode).

    Loaded shards are remembered per process, so repeated lookups read only shards
    that appeared since.
    """

    # bounded: a long-lived process (the app, the test suite) meets many models/folders
    _memo: LRUCache[Path, EmbeddingCache] = LRUCache(maxsize=4)
    _memo_lock = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._loaded: set[str] = set()
        self._index: dict[bytes, np.ndarray] = {}
        self._dim: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, fingerprint: str, mode: str) -> EmbeddingCache:
        """The cache of a model fingerprint and encode mode (created on demand)."""
        folder = config.embeddings_dir() / fingerprint / mode
        folder.mkdir(parents=True, exist_ok=True)
        with cls._memo_lock:
            cache = cls._memo.get(folder)
            if cache is None:
                cache = cls._memo[folder] = cls(folder)
            return cache

    @property
    def _lock_path(self) -> Path:
        return self.folder / ".lock"

    def __len__(self) -> int:
        return len(self._index)

    def _refresh(self) -> None:
        """Read shards that appeared since the last call (caller holds the file lock)."""
        for keys_path in sorted(self.folder.glob("shard-*.keys.npy")):
            name = keys_path.name.removesuffix(".keys.npy")
            if name in self._loaded:
                continue
            vec_path = self.folder / f"{name}.npy"
            try:
                keys = _unpack_keys(np.load(keys_path))
                vectors = np.load(vec_path)
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"{vec_path}: unreadable embedding cache shard ({exc}); delete the folder "
                    f"{self.folder} to rebuild the cache"
                ) from exc
            if vectors.ndim != 2 or len(keys) != len(vectors):
                raise ValueError(
                    f"{vec_path}: shard holds {vectors.shape} vectors for {len(keys)} keys; "
                    f"delete the folder {self.folder} to rebuild the cache"
                )
            if self._dim is not None and vectors.shape[1] != self._dim:
                raise ValueError(
                    f"{vec_path}: dimension {vectors.shape[1]} differs from {self._dim} "
                    f"of the other shards in {self.folder}"
                )
            self._dim = vectors.shape[1]
            for key, row in zip(keys, vectors, strict=True):
                self._index[key] = row
            self._loaded.add(name)

    def lookup(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys`` (missing keys are absent from the result)."""
        with self._lock:
            with file_lock(self._lock_path, shared=True):
                self._refresh()
            return {k: self._index[k] for k in keys if k in self._index}

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]`` (keys already stored are skipped)."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        if not len(keys):
            return
        with self._lock, file_lock(self._lock_path):
            self._refresh()
            fresh = [i for i, k in enumerate(keys) if k not in self._index]
            seen: set[bytes] = set()
            fresh = [i for i in fresh if not (keys[i] in seen or seen.add(keys[i]))]
            if not fresh:
                return
            new_keys = _pack_keys([keys[i] for i in fresh])
            new_vecs = np.ascontiguousarray(vectors[fresh], dtype=np.float32)
            name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            self._write_shard(name, new_keys, new_vecs)
            self._refresh()
            if len(self._loaded) > MAX_SHARDS:
                self._compact()

    def _write_shard(self, name: str, keys: np.ndarray, vectors: np.ndarray) -> None:
        # vectors first, keys last: a shard counts only once its keys file exists
        for suffix, array in ((".npy", vectors), (".keys.npy", keys)):
            final = self.folder / f"{name}{suffix}"
            tmp = self.folder / f".{name}{suffix}.tmp-{os.getpid()}"
            with open(tmp, "wb") as handle:
                np.save(handle, array)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, final)

    def _compact(self) -> None:
        """Merge all shards into one (caller holds the exclusive file lock)."""
        old = sorted(self._loaded)
        keys = _pack_keys(list(self._index))
        vectors = np.stack(list(self._index.values())).astype(np.float32)
        name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._write_shard(name, keys, vectors)
        for shard in old:
            (self.folder / f"{shard}.keys.npy").unlink(missing_ok=True)
            (self.folder / f"{shard}.npy").unlink(missing_ok=True)
        self._loaded = {name}


# ------------------------------------------------------------------------- encoding
_check_mode = check_mode


def default_encode_mode() -> str:
    """The CPU mode used when none is given, without measuring anything:
    ``HYBRIDDASH_ENCODE_MODE``, else this machine's tuning record, else the CPU-flag
    default (:mod:`hybriddash.encoders.modes`). A value of the variable that is no mode
    is refused with a warning naming it."""
    chosen = env_mode()
    if chosen is not None:
        return chosen
    record = tuned_record()
    return record.mode if record is not None else cpu_flag_default()


# The default as this process started (kept for callers that need a constant; the
# functions below resolve it at call time, so a tuning done meanwhile counts).
DEFAULT_ENCODE_MODE = default_encode_mode()


def mode_key(mode: str) -> str:
    """The mode as caches and run ids know it: the mode, plus the recipe version where
    a mode's recipe has changed (``onnx-int8`` -> ``onnx-int8-r2``), so embeddings of an
    older recipe are never served for a newer one."""
    _check_mode(mode)
    if mode == "onnx-int8":
        from hybriddash.encoders.onnx_backend import INT8_RECIPE

        return f"{mode}-r{INT8_RECIPE}"
    if mode == "openvino-int8":  # static scales: the calibration set is part of the key
        from hybriddash.encoders.openvino_backend import OV_INT8_RECIPE, calibration_id

        return f"{mode}-n{OV_INT8_RECIPE}-{calibration_id()}"
    return mode


def resolve_devices(devices: str | Sequence[str] | None) -> list[str]:
    """Where to encode: ``["cpu"]`` (in this process) or the devices of a worker pool.

    ``None`` / ``"cpu"`` -> ``["cpu"]``; ``"auto"`` -> every CUDA GPU (``cuda:0`` …)
    when torch sees any, else ``["cpu"]``; ``"cuda"`` -> every GPU (error if none);
    a comma-separated string or a list (``"cuda:0,cuda:1"``, ``["cpu", "cpu"]``) as given.
    """
    if devices is None:
        return ["cpu"]
    if isinstance(devices, str):
        spec = devices.strip()
        if spec in ("", "cpu"):
            return ["cpu"]
        if spec in ("auto", "cuda"):
            import torch

            n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if n_gpus:
                return [f"cuda:{i}" for i in range(n_gpus)]
            if spec == "cuda":
                raise ValueError("--devices cuda: torch sees no CUDA GPU on this machine")
            return ["cpu"]
        devices = [part.strip() for part in spec.split(",") if part.strip()]
    listed = list(devices)
    if not listed:
        raise ValueError("devices: give at least one device (cpu, cuda, cuda:0, ...)")
    for device in listed:
        if device != "cpu" and not device.startswith("cuda"):
            raise ValueError(f"devices: {device!r} is not cpu, cuda or cuda:<index>")
    return listed


def _uses_gpu(devices: Sequence[str]) -> bool:
    return any(d.startswith("cuda") for d in devices)


def default_mode_for(devices: Sequence[str]) -> str:
    """The default encode mode on ``devices``: float32 on GPUs, else
    :func:`default_encode_mode` (no tuning here; see
    :func:`hybriddash.encoders.tuning.select_encode_mode` for first-use tuning)."""
    return "float32" if _uses_gpu(devices) else default_encode_mode()


def effective_mode(
    mode: str, spec: ModelSpec | None = None, devices: Sequence[str] = ("cpu",)
) -> str:
    """The mode that will run for ``mode``: itself, or float32 where it cannot run here.

    The ONNX modes need onnxruntime and a model the export handles (``spec`` given:
    Transformer -> mean/CLS Pooling, see
    :func:`hybriddash.encoders.onnx_backend.onnx_unsupported_reason`); on GPU
    ``devices`` the CPU-only modes become float32. A fallback is announced with a
    warning; callers record the returned mode.
    """
    _check_mode(mode)
    if mode in CPU_ONLY_MODES and _uses_gpu(devices):
        warnings.warn(
            f"encode mode {mode!r} runs on the CPU only: encoding in float32 on "
            f"{', '.join(devices)} instead",
            RuntimeWarning,
            stacklevel=2,
        )
        return "float32"
    if mode == "bf16" and has_native_bf16() is False:
        warnings.warn(
            "encode mode 'bf16': this CPU has no bf16 instructions, torch emulates them "
            "(measured ~8x slower than float32 on such a CPU); the embeddings are still bf16",
            RuntimeWarning,
            stacklevel=2,
        )
    if mode in ("onnx", "onnx-int8"):
        from hybriddash.encoders.onnx_backend import (
            onnx_runtime_available,
            onnx_unsupported_reason,
        )

        if spec is not None:
            reason = onnx_unsupported_reason(spec)
        elif not onnx_runtime_available():
            reason = "onnxruntime and onnx are not installed"
        else:
            reason = None
        if reason is not None:
            warnings.warn(
                f"encode mode {mode!r} cannot run ({reason}): encoding in float32 instead",
                RuntimeWarning,
                stacklevel=2,
            )
            return "float32"
    if mode.startswith("openvino"):
        from hybriddash.encoders.onnx_backend import onnx_unsupported_reason
        from hybriddash.encoders.openvino_backend import openvino_available

        reason = "openvino is not installed" if not openvino_available() else None
        if reason is None and mode == "openvino-int8" and not _nncf_available():
            reason = "nncf is not installed"
        if reason is None and spec is not None:
            reason = onnx_unsupported_reason(spec)
        if reason is not None:
            warnings.warn(
                f"encode mode {mode!r} cannot run ({reason}): encoding in float32 instead",
                RuntimeWarning,
                stacklevel=2,
            )
            return "float32"
    return mode


def _nncf_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("nncf") is not None


def _run_model(
    spec: ModelSpec, texts: list[str], mode: str, batch_size: int, device: str = "cpu"
) -> np.ndarray:
    """Encode one batch of already-prefixed texts (torch modes) -> float32 ``[n, d]`` unit rows."""
    import torch

    model = load_model(spec, device, mode=mode)
    with torch.inference_mode():
        if mode == "bf16":
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16):
                out = model.encode(
                    texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
                )
        else:
            out = model.encode(
                texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
            )
    # Normalise in float32 whatever the model's last module did (bf16 rounding, no
    # Normalize module in a hub model): cosine == dot product downstream.
    return unit_rows(out.float().cpu().numpy())


def token_length_batches(
    model: SentenceTransformer, texts: list[str], batch_size: int
) -> list[list[int]]:
    """Indices of ``texts`` in batches of ``batch_size``, longest token count first.

    Lengths count the model's special tokens and stop at its ``max_seq_length``, as the
    encoder will see them. The longest batch comes first, so peak memory shows at once.
    """
    tokenizer = model.tokenizer
    limit = model.max_seq_length or None
    lengths = [
        len(ids)
        for ids in tokenizer(texts, truncation=limit is not None, max_length=limit)["input_ids"]
    ]
    return batches_by_length(lengths, batch_size)


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices ``0..len(lengths)-1`` in batches of ``batch_size``, longest first (ties
    in input order)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _encode_on_pool(
    spec: ModelSpec,
    texts: list[str],
    *,
    mode: str,
    batch_size: int,
    devices: list[str],
    on_batch: Callable[[list[int], np.ndarray], None],
) -> None:
    """float32 through sentence-transformers' multi-process pool, one worker per device.

    The texts go in token-length order, in chunks of :data:`FLUSH_EVERY` so the cache
    and the progress bar advance while the pool works.
    """
    if mode != "float32":
        raise ValueError(
            f"encode mode {mode!r} cannot run on a device pool ({', '.join(devices)}); "
            "use float32 (or one CPU device)"
        )
    model = load_model(spec)
    order = [i for batch in token_length_batches(model, texts, batch_size) for i in batch]
    pool = model.start_multi_process_pool(target_devices=devices)
    try:
        for start in range(0, len(order), FLUSH_EVERY):
            chunk = order[start : start + FLUSH_EVERY]
            vectors = model.encode(
                [texts[i] for i in chunk],
                pool=pool,
                batch_size=batch_size,
                chunk_size=max(1, min(len(chunk), batch_size * 4)),
                show_progress_bar=False,
            )
            on_batch(chunk, unit_rows(vectors))
    finally:
        model.stop_multi_process_pool(pool)


def encode_batches(
    spec: ModelSpec,
    texts: list[str],
    *,
    mode: str,
    batch_size: int,
    on_batch: Callable[[list[int], np.ndarray], None],
    devices: Sequence[str] = ("cpu",),
) -> None:
    """Run every text of ``texts`` (prefixed) through the model of ``mode``, no cache.

    Texts go in token-length batches (:func:`token_length_batches`);
    ``on_batch(indices, vectors)`` receives each batch's positions in ``texts`` and its
    float32 unit rows, in the calling thread. ``devices`` (from
    :func:`resolve_devices`): one device runs here (a GPU: the model moves there), more
    run a worker pool.
    """
    devices = list(devices)
    if len(devices) > 1:
        _encode_on_pool(
            spec, texts, mode=mode, batch_size=batch_size, devices=devices, on_batch=on_batch
        )
        return
    device = devices[0]
    if mode in CPU_ONLY_MODES and _uses_gpu(devices):
        raise ValueError(f"encode mode {mode!r} runs on the CPU only, not {device}")
    if mode.startswith(("onnx", "openvino")):
        _encode_exported(spec, texts, mode=mode, batch_size=batch_size, on_batch=on_batch)
        return
    model = load_model(spec, device, mode=mode)
    for batch in token_length_batches(model, texts, batch_size):
        on_batch(batch, _run_model(spec, [texts[i] for i in batch], mode, batch_size, device))


def _encode_exported(
    spec: ModelSpec,
    texts: list[str],
    *,
    mode: str,
    batch_size: int,
    on_batch: Callable[[list[int], np.ndarray], None],
) -> None:
    """The ONNX Runtime / OpenVINO modes: tokenized without torch, token-length batches
    of at most 16 texts (measured fastest for both runtimes on 2 cores)."""
    from pathlib import Path

    from hybriddash.encoders.features import featurizer
    from hybriddash.encoders.onnx_backend import (
        ONNX_BATCH_SIZE,
        encode_batches_onnx,
        onnx_folder,
    )

    featurize = featurizer(Path(spec.source), onnx_folder(spec, "onnx"))
    batches = batches_by_length(featurize.token_lengths(texts), min(batch_size, ONNX_BATCH_SIZE))
    batch_texts = [[texts[i] for i in batch] for batch in batches]
    if mode.startswith("openvino"):
        from hybriddash.encoders.openvino_backend import encode_batches_openvino

        encode_batches_openvino(
            spec, batch_texts, mode, lambda i, vectors: on_batch(batches[i], vectors)
        )
        return
    encode_batches_onnx(spec, batch_texts, mode, lambda i, vectors: on_batch(batches[i], vectors))


def _encode_prefixed(
    spec: ModelSpec,
    prefixed: list[str],
    *,
    mode: str,
    batch_size: int,
    bar: object | None,
    on_progress: Callable[[int], None] | None,
    devices: Sequence[str] = ("cpu",),
) -> tuple[np.ndarray, EncodeStats]:
    """Encode ``prefixed`` texts through the cache; return rows in input order."""
    unique: dict[str, int] = {}
    for text in prefixed:
        unique.setdefault(text, len(unique))
    distinct = list(unique)
    keys = [text_key(t) for t in distinct]
    cache = EmbeddingCache.open(spec.fingerprint, mode_key(mode))
    found = cache.lookup(keys)
    rows: list[np.ndarray | None] = [found.get(k) for k in keys]
    n_cached = len(distinct) - sum(r is None for r in rows)
    if n_cached:
        if bar is not None:
            bar.update(n_cached)  # type: ignore[attr-defined]
        if on_progress:
            on_progress(n_cached)
    missing = [i for i, r in enumerate(rows) if r is None]
    pending_idx: list[int] = []
    pending_vec: list[np.ndarray] = []
    n_done = 0

    def on_batch(batch: list[int], vectors: np.ndarray) -> None:
        nonlocal pending_idx, pending_vec, n_done
        for j, vec in zip(batch, vectors, strict=True):
            rows[missing[j]] = vec
        pending_idx.extend(missing[j] for j in batch)
        pending_vec.append(vectors)
        n_done += len(batch)
        if bar is not None:
            bar.update(len(batch))  # type: ignore[attr-defined]
        if on_progress:
            on_progress(len(batch))
        if len(pending_idx) >= FLUSH_EVERY or n_done == len(missing):
            cache.add([keys[i] for i in pending_idx], np.concatenate(pending_vec))
            pending_idx, pending_vec = [], []

    if missing:
        encode_batches(
            spec,
            [distinct[i] for i in missing],
            mode=mode,
            batch_size=batch_size,
            on_batch=on_batch,
            devices=devices,
        )
    if not distinct:
        return np.zeros((0, 0), dtype=np.float32), EncodeStats(0, 0)
    table = np.stack(rows).astype(np.float32, copy=False)  # type: ignore[arg-type]
    order = np.fromiter((unique[t] for t in prefixed), dtype=np.int64, count=len(prefixed))
    return table[order], EncodeStats(n_encoded=len(missing), n_cached=n_cached)


def _make_bar(total: int, progress: bool, desc: str) -> object | None:
    if not progress or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text", dynamic_ncols=True)


def encode_texts(
    spec: ModelSpec,
    texts: Sequence[str],
    kind: str,
    *,
    mode: str | None = None,
    batch_size: int = 64,
    progress: bool = True,
    devices: str | Sequence[str] | None = None,
) -> np.ndarray:
    """Embed ``texts`` of one kind (``"query"`` or ``"passage"``) with ``spec``.

    Returns float32 ``[len(texts), d]``, L2-normalised rows in input order. Cached
    texts are not re-encoded; the model is loaded only if something is missing.
    ``mode`` None: :func:`default_mode_for` the devices.
    An empty ``texts`` gives shape ``(0, 0)``. ``devices``: see :func:`resolve_devices`.
    """
    where = resolve_devices(devices)
    mode = effective_mode(mode or default_mode_for(where), spec, where)
    prefix = spec.prefix(kind)
    prefixed = [prefix + t for t in texts]
    bar = _make_bar(len(set(prefixed)), progress, f"encoding {kind}s ({spec.model_id}, {mode})")
    try:
        vectors, _ = _encode_prefixed(
            spec,
            prefixed,
            mode=mode,
            batch_size=batch_size,
            bar=bar,
            on_progress=None,
            devices=where,
        )
    finally:
        if bar is not None:
            bar.close()  # type: ignore[attr-defined]
    return vectors


def encode_corpus(
    spec: ModelSpec,
    corpus: Corpus,
    *,
    mode: str | None = None,
    batch_size: int = 64,
    progress: bool = True,
    progress_callback: ProgressCallback | None = None,
    devices: str | Sequence[str] | None = None,
) -> EncodedCorpus:
    """Embed a corpus's queries (query prefix) and candidates (passage prefix; the query
    prefix when ``corpus.symmetric``).

    ``progress_callback(done, total)`` is called as texts finish (cached ones count
    at once); ``total`` = distinct prefixed queries + distinct prefixed candidates.
    ``stats`` counts distinct texts: ``n_encoded`` ran through the model,
    ``n_cached`` came from the cache (a second call has ``n_encoded == 0``). A mode whose
    runtime is missing falls back to float32 (:func:`effective_mode`); ``mode`` says
    which ran. ``devices``: see :func:`resolve_devices` (``"auto"``: all GPUs if any).
    """
    where = resolve_devices(devices)
    mode = effective_mode(mode or default_mode_for(where), spec, where)
    q_texts = [spec.query_prefix + q.text for q in corpus.queries]
    # a symmetric corpus (translations) embeds both sides alike (Corpus.symmetric)
    c_prefix = spec.query_prefix if corpus.symmetric else spec.passage_prefix
    c_texts = [c_prefix + c.text for c in corpus.candidates]
    total = len(set(q_texts)) + len(set(c_texts))
    done = 0

    def on_progress(n: int) -> None:
        nonlocal done
        done += n
        if progress_callback is not None:
            progress_callback(done, total)

    bar = _make_bar(total, progress, f"encoding {corpus.name} ({spec.model_id}, {mode})")
    try:
        queries, q_stats = _encode_prefixed(
            spec, q_texts, mode=mode, batch_size=batch_size, bar=bar,
            on_progress=on_progress, devices=where,
        )  # fmt: skip
        candidates, c_stats = _encode_prefixed(
            spec, c_texts, mode=mode, batch_size=batch_size, bar=bar,
            on_progress=on_progress, devices=where,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()  # type: ignore[attr-defined]
    if progress_callback is not None and done < total:
        progress_callback(total, total)
    return EncodedCorpus(queries=queries, candidates=candidates, stats=q_stats + c_stats, mode=mode)
