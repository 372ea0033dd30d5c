"""Tatoeba bitext test sets of LASER / XTREME (``tatoeba.<xxx>-eng.<xxx>`` + ``.eng``).

112 languages, each line-aligned with English: line ``i`` of the ``<xxx>`` file
translates line ``i`` of the ``.eng`` file (1,000 pairs for 72 languages, fewer for 40;
88,877 in all). The English sides differ between languages, so every language pair is
its own retrieval problem, as in XTREME and MTEB: a sentence is searched for among the
other side of *its* pair only (``Corpus`` pools, one per pair).

Corpus (:func:`load_tatoeba`):

- pair ``xxx`` (canonical code ``X``), line ``i``: group ``f"{xxx}:{i}"``; queries and
  candidates ``f"{xxx}:{i}/{X}"`` and ``f"{xxx}:{i}/en"``, all in pool ``xxx``;
- relevant: the other side of the line; excluded: the query's own sentence (it sits in
  the same pool);
- article ``X``: ``tatoeba[langs=af,de]`` keeps those pairs (with their English sides);
- ``tatoeba[lines=N]`` keeps at most N lines of each pair, a fixed pseudo-random sample
  (:func:`sample_lines`).

Accuracy X -> en is then P@1 in the cross-lingual pool X -> en (the pair's English
side), exactly the XTREME/MTEB convention: cosine nearest neighbour, line index must
match (:mod:`hybriddash.metrics.bitext_accuracy`).

Source: facebookresearch/LASER @ 74bc6ae, ``data/tatoeba/v1/``; Tatoeba CC BY 2.0 FR.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.languages import UnknownLanguageError, normalize_language

N_PAIRS = 88877
N_LANGUAGES = 112
#: the pairs' ISO 639-3 codes as the file names spell them (LASER @ 74bc6ae)
CODES: tuple[str, ...] = tuple(
    [
        "afr",
        "amh",
        "ang",
        "ara",
        "arq",
        "arz",
        "ast",
        "awa",
        "aze",
        "bel",
        "ben",
        "ber",
        "bos",
        "bre",
        "bul",
        "cat",
        "cbk",
        "ceb",
        "ces",
        "cha",
        "cmn",
        "cor",
        "csb",
        "cym",
        "dan",
        "deu",
        "dsb",
        "dtp",
        "ell",
        "epo",
        "est",
        "eus",
        "fao",
        "fin",
        "fra",
        "fry",
        "gla",
        "gle",
        "glg",
        "gsw",
        "heb",
        "hin",
        "hrv",
        "hsb",
        "hun",
        "hye",
        "ido",
        "ile",
        "ina",
        "ind",
        "isl",
        "ita",
        "jav",
        "jpn",
        "kab",
        "kat",
        "kaz",
        "khm",
        "kor",
        "kur",
        "kzj",
        "lat",
        "lfn",
        "lit",
        "lvs",
        "mal",
        "mar",
        "max",
        "mhr",
        "mkd",
        "mon",
        "nds",
        "nld",
        "nno",
        "nob",
        "nov",
        "oci",
        "orv",
        "pam",
        "pes",
        "pms",
        "pol",
        "por",
        "ron",
        "rus",
        "slk",
        "slv",
        "spa",
        "sqi",
        "srp",
        "swe",
        "swg",
        "swh",
        "tam",
        "tat",
        "tel",
        "tgl",
        "tha",
        "tuk",
        "tur",
        "tzl",
        "uig",
        "ukr",
        "urd",
        "uzb",
        "vie",
        "war",
        "wuu",
        "xho",
        "yid",
        "yue",
        "zsm",
    ]
)
#: canonical language code of each pair, in :data:`CODES` order
LANGUAGES: tuple[str, ...] = tuple(normalize_language(code) for code in CODES)
_NAME = re.compile(r"^tatoeba\.(?P<x>[a-z]{3})-eng\.(?P=x)$")


class TatoebaFormatError(ValueError):
    """A Tatoeba pair whose files do not fit; the message names file and line."""


def pair_files(folder: Path) -> dict[str, tuple[Path, Path]]:
    """``{xxx: (X side, English side)}`` for every pair in ``folder`` (sorted by code)."""
    out: dict[str, tuple[Path, Path]] = {}
    for path in sorted(Path(folder).glob("tatoeba.*-eng.*")):
        match = _NAME.match(path.name)
        if not match:
            continue
        eng = path.with_name(f"tatoeba.{match['x']}-eng.eng")
        if not eng.is_file():
            raise TatoebaFormatError(f"{path}: its English side {eng.name} is missing")
        out[match["x"]] = (path, eng)
    if not out:
        raise FileNotFoundError(f"{folder}: no tatoeba.<xxx>-eng.<xxx> files")
    return out


def read_lines(path: Path) -> list[str]:
    """The lines of ``path`` (newline removed); TatoebaFormatError names an empty line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            raise TatoebaFormatError(f"{path}, line {i}: empty sentence")
    return [line.rstrip("\r") for line in lines]


def read_pair(x_path: Path, eng_path: Path) -> list[tuple[str, str]]:
    """Line-aligned ``(X sentence, English sentence)`` pairs of one language."""
    x_lines, eng_lines = read_lines(x_path), read_lines(eng_path)
    if len(x_lines) != len(eng_lines):
        raise TatoebaFormatError(
            f"{x_path}: {len(x_lines)} lines but {eng_path.name} has {len(eng_lines)}; "
            f"the files must be line-aligned (first unmatched line "
            f"{min(len(x_lines), len(eng_lines)) + 1})"
        )
    return list(zip(x_lines, eng_lines, strict=True))


def pair_language(code: str, path: Path) -> str:
    try:
        return normalize_language(code)
    except UnknownLanguageError as exc:
        raise TatoebaFormatError(f"{path}: {exc}") from None


def load_tatoeba(folder: Path, dataset_id: str = "tatoeba") -> Corpus:
    """All pairs of ``folder`` as one corpus of per-pair pools (module docstring)."""
    candidates: list[Candidate] = []
    queries: list[Query] = []
    relevant: dict[str, frozenset[str]] = {}
    excluded: dict[str, frozenset[str]] = {}
    seen_lang: dict[str, str] = {}
    for code, (x_path, eng_path) in pair_files(folder).items():
        lang = pair_language(code, x_path)
        if lang in seen_lang:
            raise TatoebaFormatError(
                f"{x_path}: language {lang!r} already read from pair {seen_lang[lang]!r}"
            )
        seen_lang[lang] = code
        for i, (x_text, en_text) in enumerate(read_pair(x_path, eng_path)):
            group = f"{code}:{i}"
            x_id, en_id = f"{group}/{lang}", f"{group}/en"
            for cid, cl, text, other in ((x_id, lang, x_text, en_id), (en_id, "en", en_text, x_id)):
                candidates.append(Candidate(cid, cl, text, None, lang, (group,), code))
                queries.append(Query(cid, cl, text, group, lang, code))
                relevant[cid] = frozenset([other])
                excluded[cid] = frozenset([cid])
    return Corpus(
        dataset_id,
        candidates,
        queries,
        relevant,
        notes=[
            "bitext retrieval per language pair (XTREME/MTEB convention): X -> en and "
            "en -> X within that pair's sentences only"
        ],
        excluded=excluded,
        symmetric=True,
    )


#: Salt of the line sample (``tatoeba[lines=N]``): changing it changes every sample.
LINES_SALT = "tatoeba-lines-v1"


def line_rank_key(group: str, *, salt: str = LINES_SALT) -> str:
    """The order in which :func:`sample_lines` keeps a pair's lines: sha256 of
    ``salt:group`` (a fixed pseudo-random order, independent of the files' order)."""
    return hashlib.sha256(f"{salt}:{group}".encode()).hexdigest()


def sample_lines(corpus: Corpus, per_pair: int) -> Corpus:
    """At most ``per_pair`` lines of each language pair (``tatoeba[lines=N]``): the lines
    whose :func:`line_rank_key` is smallest; a pair with fewer keeps all of its lines.

    Each pair's pool shrinks with it (the task is searching the kept lines' other sides),
    so accuracies at different ``lines`` are not comparable; models on the same sample are.
    """
    if per_pair < 1:
        raise ValueError(f"tatoeba: lines= must be a positive integer, got {per_pair}")
    by_pair: dict[str, list[str]] = {}
    for group in sorted({q.group for q in corpus.queries}):
        by_pair.setdefault(group.split(":", 1)[0], []).append(group)
    keep = {g for groups in by_pair.values() for g in sorted(groups, key=line_rank_key)[:per_pair]}
    return corpus.restrict(
        lambda c: any(g in keep for g in c.groups),
        lambda q: q.group in keep,
        {"lines": per_pair},
    )
