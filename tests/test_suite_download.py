"""``data download`` for the issue-23 suites (pinned sha256 of the shared copies) and
``data download miracl`` (fixture files through an injected fetcher; no network)."""

from __future__ import annotations

import gzip
import json
import urllib.error
from pathlib import Path

import pytest

from hybriddash.data import download
from hybriddash.data.download import DownloadError, download_dataset, verify_folder
from hybriddash.data.miracl import (
    MiraclFormatError,
    download_miracl,
    qrels_url,
    shard_url,
    topics_url,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.parametrize(
    ("dataset_id", "url_of"),
    [
        ("tico-19", {"LICENSE.md": "https://github.com/tico-19/tico-19.github.io/raw/d97615f/LICENSE.md",
                     "all.en-ar.tmx.zip": "https://github.com/tico-19/tico-19.github.io/raw/d97615f/data/TM/all.en-ar.tmx.zip"}),
        ("xnli", {"dev-en.tsv": "https://github.com/GautamGupta17/MESH/raw/68f82e2/data/xnli/dev-en.tsv"}),
        ("tatoeba", {"tatoeba.afr-eng.afr": "https://github.com/facebookresearch/LASER/raw/74bc6ae/data/tatoeba/v1/tatoeba.afr-eng.afr"}),
        ("tydiqa-goldp", {"tydiqa.goldp.sw.dev.json": "https://github.com/GautamGupta17/MESH/raw/68f82e2/data/tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.sw.dev.json"}),
    ],
)  # fmt: skip
def test_suite_sources_point_at_the_pinned_commit(dataset_id: str, url_of: dict[str, str]) -> None:
    source = download.SOURCES[dataset_id]
    for name, url in url_of.items():
        assert source.url(name) == url
    # tatoeba: the 224 pair files and README.md (LICENSE.LASER is a local copy, not fetched)
    n_files = {"tico-19": 38, "xnli": 30, "tatoeba": 225, "tydiqa-goldp": 9}[dataset_id]
    assert len(source.files) == n_files
    if (SHARED / dataset_id).is_dir():  # the pins are the shared copies' sha256
        assert verify_folder(SHARED / dataset_id, dataset_id) == []


def test_suite_download_verifies_every_file_and_writes_atomically(tmp_path: Path) -> None:
    if not (SHARED / "tydiqa-goldp").is_dir():
        pytest.skip("the shared data folder is not available")
    served: list[str] = []

    def fetch(url: str, timeout: float) -> bytes:
        served.append(url)
        return (SHARED / "tydiqa-goldp" / url.rsplit("/", 1)[1]).read_bytes()

    target = download_dataset("tydiqa-goldp", tmp_path, fetch=fetch)
    assert verify_folder(target, "tydiqa-goldp") == [] and len(served) == 9
    assert "Apache-2.0" in (target / "SOURCE.txt").read_text()

    def corrupt(url: str, timeout: float) -> bytes:
        return b"not the file"

    with pytest.raises(download.ChecksumMismatchError):
        download_dataset("tydiqa-goldp", tmp_path / "other", fetch=corrupt)
    assert not (tmp_path / "other" / "tydiqa-goldp").exists()


# ---- MIRACL ------------------------------------------------------------------------------

TOPICS = "0\tNini mji mkuu wa Kenya?\n1\tNani aliandika kitabu?\n"
QRELS = "0 Q0 doc#1 1\n0 Q0 doc#2 0\n1 Q0 doc#3 1\n"
SHARD0 = [
    {"docid": "doc#1", "title": "Nairobi", "text": "Nairobi ni mji mkuu wa Kenya."},
    {"docid": "doc#9", "title": "X", "text": "Not judged."},
]
SHARD1 = [
    {"docid": "doc#2", "title": "Mombasa", "text": "Mombasa ni mji wa pwani."},
    {"docid": "doc#3", "title": "Kitabu", "text": "Kitabu kiliandikwa na Shaaban Robert."},
]


def _gz(records: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())


class Hub:
    """The MIRACL files of one language at their hub URLs; other URLs answer 404."""

    def __init__(self, lang: str = "sw", topics: str = TOPICS) -> None:
        self.files = {
            topics_url(lang, "dev"): topics.encode(),
            qrels_url(lang, "dev"): QRELS.encode(),
            shard_url(lang, 0): _gz(SHARD0),
            shard_url(lang, 1): _gz(SHARD1),
        }
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        return self.files[url]


def test_miracl_download_writes_judged_passages_in_beir_layout(tmp_path: Path) -> None:
    hub = Hub()
    target = download_miracl(["sw"], tmp_path, fetch=hub)
    assert target == tmp_path / "miracl"
    assert hub.urls[-1] == shard_url("sw", 2)  # shards are read until the first missing one
    corpus = [json.loads(x) for x in (target / "corpus.jsonl").read_text().splitlines()]
    assert {c["_id"] for c in corpus} == {"doc#1", "doc#2", "doc#3"}  # judged only
    assert all(c["lang"] == "sw" for c in corpus)
    queries = [json.loads(x) for x in (target / "queries.jsonl").read_text().splitlines()]
    assert [q["_id"] for q in queries] == ["sw:0", "sw:1"]
    qrels = (target / "qrels" / "dev.tsv").read_text().splitlines()
    assert qrels == [
        "query-id\tcorpus-id\tscore",
        "sw:0\tdoc#1\t1",
        "sw:0\tdoc#2\t0",
        "sw:1\tdoc#3\t1",
    ]
    source = json.loads((target / "SOURCE.json").read_text())
    assert len(source["sha256"]) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_miracl_beir_folder_imports_as_an_upload(tmp_path: Path, tmp_artifacts: Path) -> None:
    target = download_miracl(["sw"], tmp_path, fetch=Hub())
    from hybriddash.cli import main

    assert main(["import", str(target), "--name", "miracl-sw", "--check"]) == 0


def test_miracl_offline_names_the_beir_upload_alternative(tmp_path: Path) -> None:
    def offline(url: str, timeout: float) -> bytes:
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DownloadError, match=r"cannot fetch .*Hugging Face hub.*BEIR.*import"):
        download_miracl(["sw"], tmp_path, fetch=offline)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_miracl_bad_topics_line_and_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(MiraclFormatError, match=r"topics\.miracl-v1\.0-sw-dev\.tsv, line 2"):
        download_miracl(["sw"], tmp_path, fetch=Hub(topics="0\tok\nbroken line\n"))
    with pytest.raises(ValueError, match="MIRACL languages"):
        download_miracl(["xx"], tmp_path, fetch=Hub())


def test_cli_download_miracl_needs_langs(capsys: pytest.CaptureFixture[str]) -> None:
    from hybriddash.cli import main

    assert main(["data", "download", "miracl"]) != 0
    assert "--langs" in capsys.readouterr().err
