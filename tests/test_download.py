"""Benchmark download: pinned sha256, atomic folder, offline message (no network used)."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest

from hybriddash.data import download
from hybriddash.data.download import (
    ChecksumMismatchError,
    DownloadError,
    Source,
    download_dataset,
    verify_folder,
)

FILES = {"a.json": b'{"data": []}', "b.json": b'{"data": [1]}'}


@pytest.fixture
def fake_source(monkeypatch: pytest.MonkeyPatch) -> Source:
    source = Source(
        "fake",
        "fake-r",
        "owner/repo",
        "abc1234",
        "sub/dir",
        {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()},
        "CC0",
    )
    monkeypatch.setitem(download.SOURCES, "fake", source)
    return source


class FakeFetch:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        return self.files[url.rsplit("/", 1)[1]]


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith("."))


def test_download_fetches_pinned_urls_verifies_and_writes(tmp_path: Path, fake_source) -> None:
    fetch = FakeFetch(FILES)
    target = download_dataset("fake", tmp_path, fetch=fetch)
    assert target == tmp_path / "fake-r"
    assert fetch.urls == [
        "https://github.com/owner/repo/raw/abc1234/sub/dir/a.json",
        "https://github.com/owner/repo/raw/abc1234/sub/dir/b.json",
    ]
    assert (target / "b.json").read_bytes() == FILES["b.json"]
    assert "abc1234" in (target / "SOURCE.txt").read_text()
    assert verify_folder(target, "fake") == [] and _leftovers(tmp_path) == []
    again = FakeFetch(FILES)
    download_dataset("fake", tmp_path, fetch=again)  # already verified: nothing fetched
    assert again.urls == []


def test_checksum_mismatch_writes_nothing(tmp_path: Path, fake_source) -> None:
    fetch = FakeFetch({**FILES, "b.json": b"tampered"})
    with pytest.raises(ChecksumMismatchError, match=r"b\.json: sha256 .* does not match"):
        download_dataset("fake", tmp_path, fetch=fetch)
    assert not (tmp_path / "fake-r").exists() and _leftovers(tmp_path) == []


def test_offline_fails_fast_with_instructions(tmp_path: Path, fake_source) -> None:
    calls = []

    def offline(url: str, timeout: float) -> bytes:
        calls.append(url)
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DownloadError) as info:
        download_dataset("fake", tmp_path, fetch=offline)
    assert len(calls) == 1
    message = str(info.value)
    assert "offline" in message and "HYBRIDDASH_DATA" in message and "fake-r/" in message
    assert not (tmp_path / "fake-r").exists()


def test_mismatching_existing_folder_needs_force(tmp_path: Path, fake_source) -> None:
    old = tmp_path / "fake-r"
    old.mkdir()
    (old / "a.json").write_bytes(b"old")
    with pytest.raises(DownloadError, match="--force"):
        download_dataset("fake", tmp_path, fetch=FakeFetch(FILES))
    download_dataset("fake", tmp_path, fetch=FakeFetch(FILES), force=True)
    assert verify_folder(old, "fake") == [] and _leftovers(tmp_path) == []


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="no download for 'sample'"):
        download_dataset("sample", Path("/nonexistent"))


def test_cli_download_reports_offline_as_user_error(
    tmp_path: Path, fake_source, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from hybriddash import cli
    from hybriddash.cli import main

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("data",))  # skip torch-heavy command groups

    def offline(url: str, timeout: float) -> bytes:
        raise OSError("network is unreachable")

    monkeypatch.setattr(download, "urllib_fetch", offline)
    assert main(["data", "download", "fake", "--dest", str(tmp_path)]) == 2
    assert "network is unreachable" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("dataset_id", sorted(download.SOURCES))
def test_pinned_checksums_match_the_shared_copy(data_dir: Path, dataset_id: str) -> None:
    folder = data_dir / download.SOURCES[dataset_id].folder
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    assert verify_folder(folder, dataset_id) == []

    # every data file of the shared copy is pinned (licence and read-me files aside;
    # the suites are TMX zips, TSV and line files, not only JSON)
    def data(names: object) -> set[str]:
        return {n for n in names if not n.startswith(("LICENSE", "README"))}

    assert data(p.name for p in folder.iterdir() if p.is_file()) == data(
        download.SOURCES[dataset_id].files
    )
