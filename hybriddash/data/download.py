"""Fetch a benchmark's files from its public GitHub repository at a pinned commit.

Every file is checked against a sha256 recorded here (computed from the copies the
project was developed with), so a download gives byte-identical data or fails. The
folder appears atomically: files are fetched into a hidden temporary folder beside
the target, verified, and only then renamed into place; an interrupted or failed
download leaves nothing half-written under the target name.

Offline, the first fetch fails fast with a message saying what to do instead (copy
the folder from a machine that has it and set ``HYBRIDDASH_DATA``).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hybriddash import config
from hybriddash.data import suite_pins

#: ``fetch(url, timeout_seconds) -> bytes``; replaceable for tests and mirrors.
Fetcher = Callable[[str, float], bytes]

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Source:
    """Where a dataset's files live upstream and what they must hash to."""

    dataset_id: str
    folder: str  # local folder name under the data dir
    repo: str  # GitHub owner/name
    commit: str
    remote_dir: str  # folder inside the repository
    files: dict[str, str]  # file name -> sha256 hex
    license: str
    # local name -> path in the repository, for files outside remote_dir (a licence)
    remote_paths: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        # github.com/<repo>/raw/<commit>/<path> resolves abbreviated commits and
        # redirects to raw.githubusercontent.com
        path = self.remote_paths.get(name, f"{self.remote_dir}/{name}")
        return f"https://github.com/{self.repo}/raw/{self.commit}/{path}"


SOURCES: dict[str, Source] = {
    "xquad-r": Source(
        "xquad-r",
        "xquad-r",
        "google-research-datasets/lareqa",
        "9bc8c7f",
        "xquad-r",
        {
            "ar.json": "c52922d3b8ac1ae03ed5ac38647ad59870dca3dda2beefe18ecdc30729acb69d",
            "de.json": "16fb0f4bf4916154b585a20c24c66074591c9718a1affe764ff4697572328949",
            "el.json": "163fd43ee785a30eb534ae2061e9eaa766a7ee4e8ffce5e4b422480c150f64b6",
            "en.json": "7b0954f39297c27a31fef610f0883337dd2907fa8699151dc922afdd0fa12ffe",
            "es.json": "f8e836b2d91009c4363e04315f7ede363eedbbb49c67dda60de6c4aa782f58de",
            "hi.json": "ea45ba8ae4513d1533b222bebdc02a90bc319c055d3aeea68584a053d2e92872",
            "ru.json": "7f4dff853538b9a5fcc28c070b8bb983a5c5d190ac747b8e005a1ada9cab18f1",
            "th.json": "c3a041864c3a9fb0b4dd91cfdf99cf36b411b3e704c58a303c97bc6dc786cfe4",
            "tr.json": "f3e8c13002bbce154a4578f535f7533cb70f3da08840e6b62735935baec7bd94",
            "vi.json": "e35926bf5cc6fc6ecbdfca49467aabeb454f08d152d7818143a906bd31dde995",
            "zh.json": "80c2cde7b9c2fb134c303cbb52f2ba396ead9eb0014aec43993543d2ba9e93ed",
        },
        "CC BY-SA 4.0",
    ),
    "mlqa-r": Source(
        "mlqa-r",
        "mlqa-r",
        "google-research-datasets/lareqa",
        "343180b",  # mlqa-dev-r/ was removed from later commits of the repository
        "mlqa-dev-r",
        {
            "ar.json": "2132fbc03208535c0fe01f2e2c5121d06f9c2aa799af93b0a719dbc105bdf137",
            "de.json": "ce9454dc5aa6f2d85c23cd6e49cb367fbb7c4c6e62d7f71e355c6b5dae4d0886",
            "en.json": "fedd9a5cc0848dda80caf84aa36f482adaae230526a3f6e9e86926a93ef3b1e4",
            "es.json": "70ecba276b8c96a692b120693a595d076ce94ad21d4b28311538a9fcbfe0f9d7",
            "hi.json": "4dd0fb3c06f737a5481d705bc1dcac7876712a5815c9265908fbb3a0696cb654",
            "vi.json": "9d3baff6ba03e6793b25594217265ea59a136b9733833dca8a9582a84a78ff85",
            "zh.json": "57f01d2fff50cf3392805635b01445339f225ad5bf28ba8443b12f8dbd1e69dc",
        },
        "CC BY-NC 4.0",
    ),
    "mlqa-train": Source(
        "mlqa-train",
        "mlqa-train",
        "wuhjie/few_shots_that_matters_wu",
        "6bfe6324e428ec21a777b5543cd8e50ec82dcb3c",
        "data/mlqa/MLQA_V1/test",
        {
            "test-context-de-question-ar.json": "a928cb1e6d4278455861ecd837ba83c612343149e70a3bded73c40dbba2c0362",
            "test-context-de-question-es.json": "8d1b173cd19f1dd49df4f9cab0b162308bc872947aeddb0cb0035b9acafc51ba",
            "test-context-de-question-hi.json": "d2bbdb271307098cdb37ef864e8dce5013f546c5f173cc5ab10a6558677c5bd1",
            "test-context-de-question-vi.json": "c74f05a08a3b326c5ca9f2efda166cd20b00523549c8924286e66e753187729f",
            "test-context-de-question-zh.json": "26ffcc8630ec716c23ea028017b7f9804811719ed87546ca2775d7480d2fd3e1",
            "test-context-es-question-ar.json": "eed7debc4ceecaa7b746760224e5f483893347fee2c585d0349c5da20f34d3a7",
            "test-context-es-question-de.json": "8d49c297395c29e9a719c090877d10714abb7dd93c744127eae210c7adec9afd",
            "test-context-es-question-hi.json": "45b1d5459f4337f3fd8808750612062df8c2899b712ef1e557ed0954a4ec6942",
            "test-context-es-question-vi.json": "9d93c9d6cb10540d0eaff297a62a253fa5d84d2a218ab02b49b5e6df36427ef2",
            "test-context-es-question-zh.json": "247a413512c8a36bbbe60a70fee497e9686338e5f3d85a19d902611031ab7ad9",
            "test-context-vi-question-de.json": "4fa84126369bd468913ec0c4fa60f9f224d8d2ca072b3d6bfe224ef07378ca47",
            "test-context-zh-question-ar.json": "82eb3545af3d6e8758419ecc8c03b571287a0b889233551f8f9e5c2eae8c9e10",
            "test-context-zh-question-de.json": "3b1747db3a1751e9f44a50c312f545d0df8371208454e400ea828a1421ea16f6",
            "test-context-zh-question-es.json": "359d5f0ed756231c1aeb9b29ca58209df26dacd1baa090bf21e4c3623a1aa6ff",
            "test-context-zh-question-hi.json": "57c61a8690e50af658ffd336a247eb38ec3bb19c24daae2be2ee04ed76444fc5",
            "test-context-zh-question-vi.json": "7f8f462a56a7d519c578f49e45d3e393652d4d19c20706dbd1abda171a5d5b16",
        },
        "CC BY-SA 3.0",
    ),
}


SOURCES.update(
    {
        "tico-19": Source(
            "tico-19",
            "tico-19",
            "tico-19/tico-19.github.io",
            "d97615f",
            "data/TM",
            suite_pins.TICO19_FILES,
            "CC0 1.0",
            {"LICENSE.md": "LICENSE.md"},
        ),
        "xnli": Source(
            "xnli",
            "xnli",
            "GautamGupta17/MESH",
            "68f82e2",
            "data/xnli",
            suite_pins.XNLI_FILES,
            "CC BY-NC 4.0",
        ),
        "tatoeba": Source(
            "tatoeba",
            "tatoeba",
            "facebookresearch/LASER",
            "74bc6ae",
            "data/tatoeba/v1",
            suite_pins.TATOEBA_FILES,
            "Tatoeba: CC BY 2.0 FR (LASER code: BSD)",
        ),
        "tydiqa-goldp": Source(
            "tydiqa-goldp",
            "tydiqa-goldp",
            "GautamGupta17/MESH",
            "68f82e2",
            "data/tydiqa/tydiqa-goldp-v1.1-dev",
            suite_pins.TYDIQA_FILES,
            "Apache-2.0",
        ),
    }
)


class DownloadError(Exception):
    """A download that could not complete; the message says what to do instead."""


class ChecksumMismatchError(DownloadError):
    """A fetched file whose sha256 differs from the pinned one."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_folder(folder: Path, dataset_id: str) -> list[str]:
    """Problems found in ``folder`` against the pinned files (empty list: all good)."""
    source = _source(dataset_id)
    problems = []
    for name, expected in source.files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != expected:
            problems.append(f"{path}: sha256 differs from the pinned {expected[:12]}...")
    return problems


def default_destination() -> Path:
    """The configured data folder, else ``<artifacts>/data`` (then set HYBRIDDASH_DATA to it)."""
    return config.data_dir() or (config.artifacts_dir() / "data")


def urllib_fetch(url: str, timeout: float) -> bytes:
    """Plain HTTPS GET with urllib (follows redirects)."""
    request = urllib.request.Request(url, headers={"User-Agent": "hybriddash-data-download"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def download_dataset(
    dataset_id: str,
    dest: Path | None = None,
    *,
    fetch: Fetcher | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download ``dataset_id`` into ``dest/<folder>`` and return that folder.

    ``dest`` defaults to :func:`default_destination`. An existing folder whose files
    all match the pinned checksums is kept as is (nothing is fetched); an existing
    folder that does not match is only replaced with ``force=True``. Raises
    :class:`DownloadError` (network failure, with offline instructions),
    :class:`ChecksumMismatchError` (a fetched file differs), ``ValueError`` (unknown id).
    """
    source = _source(dataset_id)
    fetch = fetch or urllib_fetch
    say = log or (lambda _msg: None)
    dest = Path(dest) if dest is not None else default_destination()
    target = dest / source.folder

    if target.exists():
        problems = verify_folder(target, dataset_id)
        if not problems:
            say(f"{target}: already present, all {len(source.files)} files verified")
            return target
        if not force:
            raise DownloadError(
                f"{target} exists but does not match the pinned files ({problems[0]}"
                f"{'; ...' if len(problems) > 1 else ''}); re-run with --force to replace it"
            )

    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{source.folder}.partial-", dir=dest))
    try:
        for i, (name, expected) in enumerate(sorted(source.files.items()), start=1):
            url = source.url(name)
            say(f"[{i}/{len(source.files)}] {url}")
            try:
                payload = fetch(url, timeout)
            except (urllib.error.URLError, OSError) as exc:
                raise DownloadError(_offline_message(source, target, url, exc)) from exc
            digest = hashlib.sha256(payload).hexdigest()
            if digest != expected:
                raise ChecksumMismatchError(
                    f"{url}: sha256 {digest} does not match the pinned {expected} "
                    f"({len(payload)} bytes); the upstream file changed or the download was "
                    "corrupted. Nothing was written."
                )
            (staging / name).write_bytes(payload)
        (staging / "SOURCE.txt").write_text(
            f"{source.dataset_id}: https://github.com/{source.repo} @ {source.commit}, "
            f"{source.remote_dir}/ ({source.license})\n"
            "Downloaded and sha256-verified by `python -m hybriddash data download`.\n",
            encoding="utf-8",
        )
        swap_in(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    say(f"{target}: {len(source.files)} files downloaded and verified")
    return target


def swap_in(staging: Path, target: Path) -> None:
    """Rename the verified ``staging`` folder to ``target``; an existing ``target`` is moved
    aside first and removed after the swap (never a half-written ``target``)."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        target.rename(old / target.name)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


def _source(dataset_id: str) -> Source:
    try:
        return SOURCES[dataset_id]
    except KeyError:
        raise ValueError(
            f"no download for {dataset_id!r}: expected one of {', '.join(SOURCES)}"
        ) from None


def _offline_message(source: Source, target: Path, url: str, exc: BaseException) -> str:
    return (
        f"cannot fetch {url} ({exc}). If this machine is offline, copy the folder "
        f"'{source.folder}/' ({len(source.files)} files from {source.repo} @ {source.commit}, "
        f"{source.remote_dir}/) from a machine that has it to {target}, or set "
        f"HYBRIDDASH_DATA (or --data-dir) to a folder that already contains '{source.folder}/'."
    )
