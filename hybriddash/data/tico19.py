"""TICO-19 translation memories (``all.en-<lang>.tmx.zip``) -> parallel segments and a corpus.

Each zip holds one TMX 1.4 file; every ``<tu tuid=...>`` has an English and a target
``<tuv xml:lang=...><seg>`` (read with :mod:`zipfile` and :mod:`xml.etree.ElementTree`'s
``iterparse``). The ``tuid`` is the same in every language pair, so the 38 language
variants of a segment form one parallel group (English read from every file must agree).

Domains come from the tuid prefix (``PubMed_7:23`` -> ``pubmed``; ``Wikipedia_handpicked_1``
and ``wiki_4`` -> ``wikipedia``; ``CMU_1`` -> ``cmu``; ``Wikivoyage``, ``Wikisource``,
``Wikinews``); the document key (the tuid before ``:``) is the segment's article.

The corpus (:func:`load_tico19`) is the pooled translation-retrieval task of
:mod:`hybriddash.data.bitext`. Source: tico-19/tico-19.github.io @ d97615f,
``data/TM/all.en-*.tmx.zip``, CC0 1.0.

**Misaligned documents.** Some files pair an English segment with the translation of
another one: at d97615f the Somali file is shifted by one segment in its Wikipedia,
Wikivoyage and Wikisource documents (``so[i]`` translates ``en[i+1]``), and the French
file in ``PubMed_8``, ``Wikinews_1`` and ``Wikinews_3``. Their "translations" would be
scored as relevant, so :func:`read_tico19_segments` leaves such documents out of that
language (:func:`misaligned_documents`, a model-free number check) unless asked to keep
them (``tico-19[misaligned=keep]``); :data:`LAST_MISALIGNED` says what the last read left out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hybriddash.data.bitext import Segment, translation_pool_corpus
from hybriddash.data.corpus import Corpus
from hybriddash.languages import UnknownLanguageError, normalize_language

FILE_PATTERN = "all.en-*.tmx.zip"
N_SEGMENTS = 3071  # per language variant (README of the shared data)
#: tuid prefix (before the first ``_`` or ``:``) -> domain
DOMAIN_OF_PREFIX: dict[str, str] = {
    "PubMed": "pubmed",
    "Wikipedia": "wikipedia",
    "wiki": "wikipedia",
    "Wikivoyage": "wikivoyage",
    "Wikinews": "wikinews",
    "CMU": "cmu",
    "Wikisource": "wikisource",
}
DOMAINS: tuple[str, ...] = ("pubmed", "wikipedia", "wikivoyage", "wikinews", "cmu", "wikisource")
#: segments per domain in every language (shared README: PubMed 939, Wikipedia 1,538, ...)
DOMAIN_COUNTS: dict[str, int] = {
    "pubmed": 939,
    "wikipedia": 1538,
    "wikivoyage": 243,
    "cmu": 141,
    "wikisource": 122,
    "wikinews": 88,
}
#: file -> English segments differing from the kept copy, from the last read
LAST_ENGLISH_DIFFERENCES: dict[str, int] = {}
#: file -> {document: (numbered English segments whose numbers the translation has,
#: numbered English segments)} left out by the last read as misaligned
LAST_MISALIGNED: dict[str, dict[str, tuple[int, int]]] = {}
#: the number check (:func:`misaligned_documents`): a document (or, for a document with
#: fewer numbered segments, its collection) is misaligned below this agreement ...
MIN_NUMBER_AGREEMENT = 0.5
#: ... over at least this many English segments that carry a number
MIN_NUMBERED_SEGMENTS = 5
_NUMBER = re.compile(r"\d+")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NAME = re.compile(r"^all\.en-(?P<lang>[A-Za-z_-]+)\.tmx\.zip$")


class Tico19FormatError(ValueError):
    """A TICO-19 file that is not the expected TMX; the message names file and line."""


@dataclass(frozen=True)
class TicoSegment:
    """One segment: ``tuid`` (parallel id), canonical ``lang``, ``text``, ``domain``."""

    tuid: str
    lang: str
    text: str
    domain: str

    @property
    def document(self) -> str:
        return self.tuid.split(":", 1)[0]


def domain_of(tuid: str) -> str:
    """The domain of a tuid from its prefix (:data:`DOMAIN_OF_PREFIX`); ValueError if unknown."""
    prefix = re.split(r"[_:]", tuid, maxsplit=1)[0]
    try:
        return DOMAIN_OF_PREFIX[prefix]
    except KeyError:
        raise ValueError(
            f"tuid {tuid!r}: unknown source prefix {prefix!r} (expected one of "
            f"{', '.join(DOMAIN_OF_PREFIX)})"
        ) from None


def file_language(path: Path) -> str:
    """Canonical code of the target language of ``all.en-<lang>.tmx.zip``."""
    match = _NAME.match(path.name)
    if not match:
        raise Tico19FormatError(f"{path}: expected a file named all.en-<lang>.tmx.zip")
    try:
        return normalize_language(match["lang"])
    except UnknownLanguageError as exc:
        raise Tico19FormatError(f"{path}: {exc}") from None


def read_tmx_zip(path: Path) -> list[tuple[str, str, str]]:
    """``(tuid, source-language tag, text)`` for every ``<tuv>`` of the zip's TMX, in order.

    Raises :class:`Tico19FormatError` naming the file (and, for XML errors and bad
    records, the line) when the zip holds no single ``.tmx``, the XML is malformed, a
    ``<tu>`` lacks a tuid or a ``<tuv>`` lacks ``xml:lang`` or a ``<seg>``.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Tico19FormatError(f"{path}: not a readable zip file ({exc})") from None
    with archive:
        members = [n for n in archive.namelist() if n.endswith(".tmx")]
        if len(members) != 1:
            raise Tico19FormatError(f"{path}: expected one .tmx file inside, found {members}")
        where = f"{path}!{members[0]}"
        rows: list[tuple[str, str, str]] = []
        with archive.open(members[0]) as stream:
            parser = ET.XMLPullParser(events=("end",))
            line_of_tu = 0
            try:
                # feed line by line so that a record's error can name its line
                for line_no, raw in enumerate(stream, start=1):
                    parser.feed(raw)
                    for _event, elem in parser.read_events():
                        if elem.tag == "tuv":
                            line_of_tu = line_of_tu or line_no
                        if elem.tag != "tu":
                            continue
                        tuid = elem.get("tuid")
                        if not tuid:
                            raise Tico19FormatError(f"{where}, line {line_no}: <tu> without a tuid")
                        for tuv in elem.findall("tuv"):
                            lang = tuv.get(_XML_LANG)
                            seg = tuv.find("seg")
                            if not lang or seg is None:
                                raise Tico19FormatError(
                                    f"{where}, line {line_no}: <tuv> of tu {tuid!r} lacks "
                                    "xml:lang or <seg>"
                                )
                            rows.append((tuid, lang, "".join(seg.itertext()).strip()))
                        elem.clear()
                parser.close()
            except ET.ParseError as exc:
                line = exc.position[0] if exc.position else "?"
                raise Tico19FormatError(f"{where}, line {line}: malformed XML ({exc})") from None
    return rows


def numbers_of(text: str) -> frozenset[int]:
    """The integers written in ``text``, in any script's digits (``"۱۲"`` and ``"12"`` are 12)."""
    return frozenset(int(m) for m in _NUMBER.findall(text))


def misaligned_documents(
    rows: Iterable[tuple[str, str, str]],
    *,
    min_agreement: float = MIN_NUMBER_AGREEMENT,
    min_numbered: int = MIN_NUMBERED_SEGMENTS,
) -> dict[str, tuple[int, int]]:
    """The documents of one language file whose target side does not translate the English.

    ``rows``: ``(tuid, English text, target text)`` of one TMX file. A number check, as
    parallel-corpus cleaning uses (numbers survive translation), independent of any
    model: for a document D (the tuid before ``:``),

        agreement(D) = |{s in D : numbers(en_s) ⊆ numbers(x_s)}| / |{s in D : numbers(en_s) ≠ ∅}|

    D is misaligned when agreement(D) < ``min_agreement`` over at least ``min_numbered``
    numbered segments. A document with fewer numbered segments is judged by its
    collection (the document key without its trailing ``_<n>``: ``wiki_4`` -> ``wiki``)
    under the same two thresholds, so that a whole shifted collection is caught even in
    its short documents. Returns ``{document: (agreeing, numbered)}`` of the misaligned
    documents. Aligned files score near 1 (0.86-1.0 per collection at d97615f, the
    misses being numbers spelled out); a one-segment shift scores near 0.
    """
    docs: dict[str, list[int]] = {}
    collections: dict[str, list[int]] = {}
    for tuid, english, target in rows:
        doc = tuid.split(":", 1)[0]
        tally = docs.setdefault(doc, [0, 0])
        wanted = numbers_of(english)
        if not wanted:
            continue
        agrees = int(wanted <= numbers_of(target))
        tally[0] += agrees
        tally[1] += 1
        coll = collections.setdefault(re.sub(r"_\d+$", "", doc), [0, 0])
        coll[0] += agrees
        coll[1] += 1

    def low(tally: list[int]) -> bool:
        return tally[1] >= min_numbered and tally[0] < min_agreement * tally[1]

    out: dict[str, tuple[int, int]] = {}
    for doc, tally in docs.items():
        coll = collections.get(re.sub(r"_\d+$", "", doc), [0, 0])
        if low(tally) or (tally[1] < min_numbered and low(coll)):
            out[doc] = (tally[0], tally[1])
    return out


def read_tico19_segments(
    folder: Path, langs: list[str] | None = None, *, keep_misaligned: bool = False
) -> list[TicoSegment]:
    """Every segment of every language variant in ``folder`` (English once), by (tuid, lang).

    ``langs`` (canonical codes) restricts the files read (English always comes along).
    Order: English first, then the files in name order, each in file order. Raises
    :class:`Tico19FormatError` when a file is malformed, a segment is empty, a file
    or a tuid repeats in a file.

    The English side is kept from the first file that has the tuid (``all.en-ar``):
    the copies in the other files mostly agree, but 27 files carry spreadsheet
    quoting artefacts on 7 to 151 segments (``'" According to ... ""suspending ...'``);
    :data:`LAST_ENGLISH_DIFFERENCES` records how many per file.

    A file's misaligned documents (:func:`misaligned_documents`) are left out of its
    language unless ``keep_misaligned``; :data:`LAST_MISALIGNED` records them per file.
    """
    segments, differing, misaligned = _read_segments(folder, langs, keep_misaligned)
    LAST_ENGLISH_DIFFERENCES.clear()
    LAST_ENGLISH_DIFFERENCES.update(differing)
    LAST_MISALIGNED.clear()
    LAST_MISALIGNED.update(misaligned)
    return segments


def _read_segments(
    folder: Path, langs: list[str] | None, keep_misaligned: bool
) -> tuple[list[TicoSegment], dict[str, int], dict[str, dict[str, tuple[int, int]]]]:
    """:func:`read_tico19_segments` without touching the module's records: the segments,
    the English differences per file and the misaligned documents per file."""
    folder = Path(folder)
    files = sorted(folder.glob(FILE_PATTERN))
    if not files:
        raise FileNotFoundError(f"{folder}: no {FILE_PATTERN} files")
    english: dict[str, tuple[str, str]] = {}  # tuid -> (text, file it came from)
    differing: dict[str, int] = {}  # file -> English segments that differ from the kept copy
    misaligned: dict[str, dict[str, tuple[int, int]]] = {}
    targets: list[TicoSegment] = []
    for path in files:
        target = file_language(path)
        if langs is not None and target not in langs:
            continue
        seen: set[str] = set()
        rows = read_tmx_zip(path)
        bad = {} if keep_misaligned else misaligned_documents(_file_pairs(rows))
        if bad:
            misaligned[path.name] = bad
        for tuid, tag, text in rows:
            lang = normalize_language(tag) if tag.lower() == "en" else target
            if not text:
                raise Tico19FormatError(f"{path}: tu {tuid!r} has an empty {tag} segment")
            if lang == "en":
                if tuid in english and english[tuid][0] != text:
                    differing[path.name] = differing.get(path.name, 0) + 1
                english.setdefault(tuid, (text, path.name))
                continue
            if tuid in seen:
                raise Tico19FormatError(f"{path}: tu {tuid!r} occurs twice")
            seen.add(tuid)
            if tuid.split(":", 1)[0] in bad:
                continue
            try:
                domain = domain_of(tuid)
            except ValueError as exc:
                raise Tico19FormatError(f"{path}: {exc}") from None
            targets.append(TicoSegment(tuid, lang, text, domain))
    out = [TicoSegment(t, "en", text, domain_of(t)) for t, (text, _src) in english.items()]
    if langs is not None and "en" not in langs:
        out = []
    return out + targets, differing, misaligned


def _file_pairs(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """``(tuid, English, target)`` of one file's ``(tuid, tag, text)`` rows, in file order."""
    english: dict[str, str] = {}
    target: dict[str, str] = {}
    for tuid, tag, text in rows:
        (english if tag.lower() == "en" else target)[tuid] = text
    return [(t, english.get(t, ""), target[t]) for t in target]


def load_tico19(
    folder: Path, dataset_id: str = "tico-19", *, keep_misaligned: bool = False
) -> Corpus:
    """The pooled translation-retrieval corpus of all variants (:mod:`hybriddash.data.bitext`),
    less each language's misaligned documents unless ``keep_misaligned``."""
    segments, _differing, misaligned = _read_segments(Path(folder), None, keep_misaligned)
    notes = [
        "translation retrieval in one multilingual pool: each segment is a query, its "
        "translations are relevant, its own text is excluded from its pool",
    ]
    if misaligned:
        notes.append(misaligned_note(misaligned))
    corpus = translation_pool_corpus(
        (Segment(s.tuid, s.lang, s.text, s.document) for s in segments),
        dataset_id,
        notes=notes,
    )
    return corpus


def misaligned_note(misaligned: dict[str, dict[str, tuple[int, int]]]) -> str:
    """One line naming the documents left out per language (``tico-19[misaligned=keep]``
    keeps them)."""
    parts = []
    for name, docs in sorted(misaligned.items()):
        match = _NAME.match(name)
        lang = match["lang"] if match else name
        parts.append(f"{lang}: {', '.join(sorted(docs))}")
    return (
        "left out as misaligned upstream (the translation is of another English segment; "
        "number check, keep them with misaligned=keep): " + "; ".join(parts)
    )


def restrict_domain(corpus: Corpus, domain: str) -> Corpus:
    """The segments of one source domain (``tico-19[domain=pubmed]``)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown TICO-19 domain {domain!r}: expected one of {', '.join(DOMAINS)}")
    return corpus.restrict(
        lambda c: domain_of(c.groups[0]) == domain,
        lambda q: domain_of(q.group) == domain,
        {"domain": domain},
    )
