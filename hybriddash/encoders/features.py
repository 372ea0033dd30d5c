"""Model inputs for the exported graphs, without torch or sentence-transformers.

The ONNX Runtime and OpenVINO paths run a graph that starts after the word-embedding
lookup (see :mod:`hybriddash.encoders.onnx_backend`). What they need besides the graph
is the tokenizer, the model's ``max_seq_length`` and the word-vector matrix: the export
keeps the length in ``onnx.json``; the tokenizer is the model folder's own
``tokenizer.json`` and the matrix is memory-mapped from its ``model.safetensors``. So a process whose exported
model is already built tokenizes with the ``tokenizers`` library and never imports
torch (a few seconds of a first evaluation).

The tokenization is sentence-transformers' own: truncation at ``max_seq_length``, the
tokenizer's special tokens, padding to the batch's longest text on the right
(checked against ``SentenceTransformer.preprocess`` in tests/test_encode.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache

# bounded: a long-lived process (the app, the test suite) meets many model folders
_FEATURIZERS: LRUCache[tuple[str, str], Featurizer] = LRUCache(maxsize=8)
_LOCK = threading.Lock()


@dataclass
class Featurizer:
    """Texts -> the exported graph's inputs (``inputs_embeds``, ``attention_mask`` …)."""

    tokenizer: Any  # tokenizers.Tokenizer, truncating at max_seq_length, never padding
    word_vectors: np.ndarray  # float32 [vocab, d], memory-mapped
    inputs: tuple[str, ...]  # the graph's input names, in order

    pad_id: int = 0  # masked out of attention and pooling: any id gives the same vectors

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text, special tokens included, cut at ``max_seq_length``."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The graph's feed for one batch: float32 ``inputs_embeds [n, t, d]``, int64
        ``attention_mask [n, t]`` (and ``token_type_ids`` where the graph takes them),
        padded on the right to the batch's longest text.

        The tokenizer itself never pads: padding here, not through its mutable
        ``enable_padding`` state, keeps one featurizer safe for concurrent callers."""
        encodings = self.tokenizer.encode_batch(list(texts))
        width = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        type_ids = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            ids[row, :length] = encoding.ids
            mask[row, :length] = 1
            type_ids[row, :length] = encoding.type_ids
        feed: dict[str, np.ndarray] = {}
        for name in self.inputs:
            if name == "inputs_embeds":
                feed[name] = np.ascontiguousarray(self.word_vectors[ids], dtype=np.float32)
            elif name == "attention_mask":
                feed[name] = mask
            elif name == "token_type_ids":
                feed[name] = type_ids
            else:
                raise ValueError(f"exported graph input {name!r} is not one the featurizer makes")
        return feed


def pad_token_id(tokenizer: Any) -> int:
    """The tokenizer's pad id (``<pad>`` or ``[PAD]``), else 0."""
    for token in ("<pad>", "[PAD]"):
        pad_id = tokenizer.token_to_id(token)
        if pad_id is not None:
            return int(pad_id)
    return 0


def tokenizer_file(model_folder: Path) -> Path:
    """The model folder's ``tokenizer.json`` (sentence-transformers keeps it at the top
    level or in its first module's folder)."""
    for candidate in (
        model_folder / "tokenizer.json",
        model_folder / "0_Transformer" / "tokenizer.json",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{model_folder}: no tokenizer.json (a fast tokenizer is needed for the exported "
        "encode paths; re-save the model with sentence-transformers)"
    )


def word_vectors(model_folder: Path) -> np.ndarray:
    """The word-embedding matrix (float32 ``[vocab, d]``) memory-mapped from the model
    folder's ``model.safetensors`` (the tensor whose name ends in
    ``word_embeddings.weight``): no copy, no torch."""
    path = model_folder / "model.safetensors"
    try:
        with open(path, "rb") as handle:
            header_len = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_len))
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"{path}: no readable safetensors weights ({exc})") from exc
    names = [k for k in header if k.endswith("word_embeddings.weight")]
    if len(names) != 1:
        raise ValueError(f"{path}: expected one *word_embeddings.weight tensor, found {names}")
    entry = header[names[0]]
    if entry["dtype"] != "F32" or len(entry["shape"]) != 2:
        raise ValueError(
            f"{path}: {names[0]} is {entry['dtype']} {entry['shape']}, expected F32 [vocab, d]"
        )
    start, _end = entry["data_offsets"]
    return np.memmap(
        path, dtype="<f4", mode="r", offset=8 + header_len + start, shape=tuple(entry["shape"])
    )


def featurizer(model_folder: Path, export_folder: Path) -> Featurizer:
    """The :class:`Featurizer` of an export (its ``onnx.json``) of the model in
    ``model_folder``; one per process and pair of folders."""
    key = (str(model_folder), str(export_folder))
    with _LOCK:
        if key in _FEATURIZERS:
            return _FEATURIZERS[key]
        from tokenizers import Tokenizer

        info_path = export_folder / "onnx.json"
        try:
            info = json.loads(info_path.read_text())
            max_length = int(info["max_seq_length"])
            inputs = tuple(info["inputs"])
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"{info_path}: unreadable export description ({exc}); delete {export_folder} "
                "to rebuild it"
            ) from exc
        tokenizer = Tokenizer.from_file(str(tokenizer_file(model_folder)))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()  # Featurizer pads itself (see its __call__)
        result = Featurizer(
            tokenizer=tokenizer,
            word_vectors=word_vectors(model_folder),
            inputs=inputs,
            pad_id=pad_token_id(tokenizer),
        )
        _FEATURIZERS[key] = result
        return result


def clear_featurizers() -> None:
    """Forget the per-process featurizers (tests)."""
    with _LOCK:
        _FEATURIZERS.clear()
