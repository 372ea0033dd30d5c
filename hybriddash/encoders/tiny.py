"""A tiny random BERT with the real XLM-R tokenizer, for fast tests.

Its embeddings mean nothing, but it runs the very code paths of the base model
(same tokenizer, same sentence-transformers module stack: Transformer + mean
Pooling + Normalize) in milliseconds, so every engineer's tests use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybriddash.encoders._folder import (
    atomic_build,
    load_xlmr_tokenizer,
    read_marker,
    save_sentence_transformer,
)
from hybriddash.encoders.registry import ModelSpec

TINY_MODEL_ID = "tiny-random-bert"
TINY_SEED = 20240607
# hidden 32, 2 layers, 2 heads, FFN 64: ~8M parameters, nearly all word embeddings
TINY_SHAPE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


def _build_tiny(out_dir: Path) -> dict[str, Any]:
    import torch
    from transformers import BertConfig, BertModel

    from hybriddash.encoders._folder import weights_fingerprint

    tokenizer = load_xlmr_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
        **TINY_SHAPE,
    )
    # Seeded so the tiny model (and its fingerprint) is the same on every machine.
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(TINY_SEED)
    try:
        model = BertModel(config, add_pooling_layer=False)
    finally:
        torch.random.set_rng_state(generator_state)
    save_sentence_transformer(out_dir, model, tokenizer, max_seq_length=128)
    return {
        "model_id": TINY_MODEL_ID,
        "kind": "tiny",
        "description": "tiny random BERT (hidden 32, 2 layers) with the XLM-R tokenizer; tests only",
        "fingerprint": weights_fingerprint(out_dir),
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
    }


def tiny_model_spec(folder: Path) -> ModelSpec:
    """Build (once; idempotent and atomic) the tiny test model under ``folder``.

    The model lives in ``folder / "tiny-random-bert"``; returns its :class:`ModelSpec`
    (kind ``"tiny"``, 32-dimensional L2-normalised embeddings, e5 prefixes).
    """
    target = atomic_build(Path(folder) / TINY_MODEL_ID, _build_tiny)
    marker = read_marker(target)
    assert marker is not None  # atomic_build returns complete folders only
    return ModelSpec(
        model_id=TINY_MODEL_ID,
        source=str(target),
        fingerprint=marker["fingerprint"],
        kind="tiny",
        description=marker["description"],
        query_prefix=marker["query_prefix"],
        passage_prefix=marker["passage_prefix"],
    )
