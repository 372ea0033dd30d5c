"""The files of an upload: from paths (files, folders, zips) or in-memory bytes.

Everything is read into memory as :class:`UploadFile` before validation; nothing
is extracted to disk, so a refused upload writes nothing. Sizes are checked
against the limit *before* reading (file sizes from ``stat``, zip members from
their declared uncompressed size, which also stops zip bombs).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hybriddash.data.upload.problems import ProblemLog

#: Default limit on the total size of an upload (bytes), as Streamlit's
#: ``server.maxUploadSize`` default (200 MB). Override with
#: ``HYBRIDDASH_UPLOAD_MAX_MB`` or the ``max_bytes`` argument.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024

_BOM_UTF8 = b"\xef\xbb\xbf"
_SKIP_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db"}


@dataclass(frozen=True)
class UploadFile:
    """One uploaded file: ``name`` is a relative posix path (``qrels/test.tsv``)."""

    name: str
    data: bytes

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()


def max_upload_bytes() -> int:
    """The configured size limit in bytes (``HYBRIDDASH_UPLOAD_MAX_MB``, default 200)."""
    configured = os.environ.get("HYBRIDDASH_UPLOAD_MAX_MB")
    if configured:
        try:
            return int(float(configured) * 1024 * 1024)
        except ValueError:
            raise ValueError(
                f"HYBRIDDASH_UPLOAD_MAX_MB must be a number of megabytes, got {configured!r}"
            ) from None
    return DEFAULT_MAX_BYTES


def _skipped(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p in _SKIP_PARTS or p.startswith(".") for p in parts)


def _expand_zip(name: str, data: bytes, log: ProblemLog, budget: list[int]) -> list[UploadFile]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        log.add(name, None, None, f"not a readable zip archive ({exc})", "zip")
        return []
    out: list[UploadFile] = []
    with archive:
        for info in archive.infolist():
            if info.is_dir() or _skipped(info.filename):
                continue
            member = f"{name}/{info.filename}"
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith("/") or ".." in parts:
                log.add(member, None, None, "unsafe path inside the zip (absolute or '..')", "zip")
                continue
            if info.filename.lower().endswith(".zip"):
                log.add(member, None, None, "nested zip archives are not supported", "zip")
                continue
            budget[0] -= info.file_size
            if budget[0] < 0:
                log.add(
                    member,
                    None,
                    None,
                    "the upload exceeds the size limit once unpacked "
                    f"({budget[1] / 2**20:.0f} MB; set HYBRIDDASH_UPLOAD_MAX_MB)",
                    "size",
                )
                return out
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
                log.add(member, None, None, f"cannot read this zip member ({exc})", "zip")
                continue
            out.append(UploadFile(info.filename, content))
    return out


def _drop_common_folder(files: list[UploadFile]) -> list[UploadFile]:
    """``mycorpus/corpus.jsonl`` -> ``corpus.jsonl`` when every file shares a top folder."""
    if not files:
        return files
    tops = {PurePosixPath(f.name).parts[0] for f in files}
    if len(tops) == 1 and all(len(PurePosixPath(f.name).parts) > 1 for f in files):
        return [
            UploadFile(str(PurePosixPath(*PurePosixPath(f.name).parts[1:])), f.data) for f in files
        ]
    return files


def collect_files(
    sources: Sequence[str | os.PathLike[str] | UploadFile | tuple[str, bytes]],
    log: ProblemLog,
    *,
    max_bytes: int | None = None,
) -> list[UploadFile]:
    """Read every source into memory; zips are expanded, folders walked recursively.

    ``sources`` are paths (file, folder or ``.zip``), :class:`UploadFile` objects or
    ``(name, bytes)`` pairs (what a web upload gives). Problems (missing path, size
    over the limit, bad zip) go to ``log``; files that could be read are returned.
    """
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    budget = [limit, limit]  # [remaining, limit]
    raw: list[UploadFile] = []

    def over(name: str, size: int) -> bool:
        budget[0] -= size
        if budget[0] < 0:
            log.add(
                name,
                None,
                None,
                f"the upload is larger than the limit of {limit / 2**20:.0f} MB "
                "(set HYBRIDDASH_UPLOAD_MAX_MB to raise it)",
                "size",
            )
            return True
        return False

    for source in sources:
        if isinstance(source, UploadFile):
            items: Iterable[tuple[str, bytes | Path]] = [(source.name, source.data)]
        elif isinstance(source, tuple):
            items = [(str(source[0]), source[1])]
        else:
            path = Path(source)
            if path.is_dir():
                items = [
                    (p.relative_to(path).as_posix(), p)
                    for p in sorted(path.rglob("*"))
                    if p.is_file() and not _skipped(p.relative_to(path).as_posix())
                ]
                if not items:
                    log.add(str(path), None, None, "the folder holds no files", "missing")
            elif path.is_file():
                items = [(path.name, path)]
            else:
                log.add(str(path), None, None, "no such file or folder", "missing")
                continue
        for name, content in items:
            size = content.stat().st_size if isinstance(content, Path) else len(content)
            if over(name, size):
                return raw
            data = content.read_bytes() if isinstance(content, Path) else content
            if name.lower().endswith(".zip"):
                budget[0] += size  # count the unpacked members instead of the archive
                members = _drop_common_folder(_expand_zip(name, data, log, budget))
                raw.extend(UploadFile(f"{name}/{m.name}", m.data) for m in members)
                if budget[0] < 0:
                    return raw
            else:
                raw.append(UploadFile(name, data))
    return raw


# leading bytes of common binary formats -> what the file is (for the refusal message)
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx/.docx file is one too)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.xls/.doc)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable program"),
    (b"PAR1", "a Parquet file"),
)


def describe_binary(data: bytes) -> str | None:
    """What a binary file looks like ("a PNG image"), or None for text.

    Known formats by their leading bytes; any other file with a NUL byte in its first
    8 KiB is "binary data" (UTF-8 text never holds NUL; UTF-16 is checked before this).
    """
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return "binary data (it holds NUL bytes)" if b"\x00" in data[:8192] else None


def decode_text(file: UploadFile, log: ProblemLog) -> str | None:
    """UTF-8 text of ``file`` (a leading BOM is dropped); None (and a problem) otherwise."""
    data = file.data
    binary = describe_binary(data) if not data.startswith((b"\xff\xfe", b"\xfe\xff")) else None
    if binary is not None:
        log.add(
            file.name,
            None,
            None,
            f"this is {binary}, not a text file: expected UTF-8 text (CSV, TSV, JSON or "
            "JSONL), a Parquet table or a zip of them",
            "encoding",
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        log.add(
            file.name,
            1,
            None,
            "the file is UTF-16 encoded; save it as UTF-8 (with or without BOM)",
            "encoding",
        )
        return None
    if data.startswith(_BOM_UTF8):
        data = data[len(_BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        log.add(
            file.name,
            line,
            None,
            f"not valid UTF-8: byte 0x{data[exc.start]:02X} at column {column} "
            "(perhaps Latin-1 or Windows-1252); save the file as UTF-8",
            "encoding",
        )
        return None
