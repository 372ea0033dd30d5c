"""Extra parallel sentence pairs on the cross-lingual side of X-Y and hybrid batches.

``train --extra-pairs 'tico-19[domain=pubmed,segments=train]'`` adds the translation pairs
of a parallel corpus (every ordered pair of two languages of one segment) to the
training pairs of the main corpus. They go to the training part only (the validation
split of the main corpus is drawn first and stays the same), each segment is its own
conflict component (numbered after the main table's), and the batch sampler takes a
fixed share of every cross-lingual batch from them
(:class:`hybriddash.training.samplers.ParallelPairBatchSampler`, ``extra_share``).
Monolingual batches never see them: they have no monolingual side.

**Source spec.** ``DATASET[key=value,...]``: ``segments=train|test`` (the segment-id split
below) and ``langs=a+b+c`` are applied here; every other key (e.g. ``domain=pubmed``)
is passed on to :func:`hybriddash.data.datasets.load_dataset` as ``DATASET[key=value]``.

**Segment-id split** (:func:`segment_split`): a segment (parallel group) is in the
**test** split when the first 8 hex digits of ``sha256("tico-19-split-v1:" + group)``,
read as an integer, are below 2^31 (half of the ids), else in **train**. Deterministic,
independent of the order, of the languages and of the other segments. Segments that
share a normalised text (in any language) with a test segment, under another id, are
dropped from the train side, so the contamination guard
(:func:`hybriddash.training.contamination.check_contamination`) finds no overlap by id
or by text: :func:`split_proof` runs it and the training card stores the result.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hybriddash.data.corpus import Corpus
from hybriddash.training.contamination import (
    check_contamination,
    normalize_text,
    training_groups_of,
)
from hybriddash.training.pairs import ROW_FIELDS, PairTable, build_pairs

SPLIT_SALT = "tico-19-split-v1"
SPLITS = ("train", "test")
#: the selector key of the segment-id split (``split=`` is the loader's: XNLI dev / test)
SPLIT_KEY = "segments"
_SPEC = re.compile(r"^(?P<name>[^\[\]]+?)(?:\[(?P<opts>[^\[\]]*)\])?$")


def segment_split(group: str, *, salt: str = SPLIT_SALT) -> str:
    """``"test"`` or ``"train"`` for a segment id (see the module docstring)."""
    digest = hashlib.sha256(f"{salt}:{group}".encode()).hexdigest()
    return "test" if int(digest[:8], 16) < 2**31 else "train"


def split_corpus(corpus: Corpus, split: str) -> Corpus:
    """The queries of the segments in ``split`` and the candidates they need.

    Test: the segments whose id :func:`segment_split` puts in the test split. Train: the
    others, less any segment that shares a normalised text (query or relevant candidate,
    any language) with a test segment. Candidates relevant to a kept query are kept,
    candidates relevant to no query at all (distractors) are kept on both sides, the
    rest are dropped. The subset (``split``) is part of the corpus's fingerprint.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    texts: dict[str, set[str]] = {}
    cand_text = {c.id: c.text for c in corpus.candidates}
    for q in corpus.queries:
        bag = texts.setdefault(q.group, set())
        bag.add(normalize_text(q.text))
        bag.update(normalize_text(cand_text[c]) for c in corpus.relevant[q.id])
    test = {g for g in texts if segment_split(g) == "test"}
    if split == "test":
        keep = test
    else:
        seen = set().union(*(texts[g] for g in test)) if test else set()
        keep = {g for g in texts if g not in test and not texts[g] & seen}
    queries = [q for q in corpus.queries if q.group in keep]
    if not queries:
        raise ValueError(f"{corpus.name}: no segment in the {split} split")
    relevant = {q.id: corpus.relevant[q.id] for q in queries}
    needed = set().union(*relevant.values())
    judged = set().union(*corpus.relevant.values())
    candidates = [c for c in corpus.candidates if c.id in needed or c.id not in judged]
    return Corpus(
        corpus.dataset_id,
        candidates,
        queries,
        relevant,
        subset={**corpus.subset, SPLIT_KEY: split},
        notes=[*corpus.notes, f"segment-id split {split!r} ({SPLIT_SALT})"],
    )


def split_proof(corpus: Corpus) -> dict[str, object]:
    """The contamination guard run on the two sides of the split of ``corpus``: the
    test side against the train side's groups and text hashes. ``clean`` must be True."""
    train, test = split_corpus(corpus, "train"), split_corpus(corpus, "test")
    report = check_contamination(test, training_groups_of(train))
    return {
        "salt": SPLIT_SALT,
        "train_groups": len({q.group for q in train.queries}),
        "test_groups": report.n_groups,
        "test_queries": report.n_queries,
        "shared_groups": len(report.shared_groups),
        "shared_text_queries": len(report.shared_text_queries),
        "clean": not report.contaminated,
    }


@dataclass(frozen=True)
class PairSource:
    """A parsed ``--extra-pairs`` spec."""

    spec: str
    dataset: str  # what load_dataset gets: DATASET or DATASET[other keys]
    split: str | None
    langs: tuple[str, ...] | None


def parse_pair_source(spec: str) -> PairSource:
    """``tico-19[domain=pubmed,segments=train,langs=en+fr]`` -> its parts; ValueError naming
    the fault for anything else."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"--extra-pairs {spec!r}: expected DATASET or DATASET[key=value,...]")
    split = None
    langs = None
    rest = []
    # parts are separated by ';' (the loader's selector syntax) or by ',' before a key=
    parts = re.split(r"[;,]\s*(?=[A-Za-z_]+=)", m.group("opts") or "")
    for part in filter(None, (p.strip() for p in parts)):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"--extra-pairs {spec!r}: {part!r} is not key=value")
        key, value = key.strip(), value.strip()
        if key == SPLIT_KEY:
            if value not in SPLITS:
                raise ValueError(f"--extra-pairs {spec!r}: {SPLIT_KEY} must be one of {SPLITS}")
            split = value
        elif key == "langs":
            from hybriddash.languages import normalize_language

            langs = tuple(sorted({normalize_language(x) for x in re.split(r"[+,]", value) if x}))
        else:
            rest.append(f"{key}={value}")
    name = m.group("name").strip()
    dataset = f"{name}[{';'.join(rest)}]" if rest else name
    return PairSource(spec.strip(), dataset, split, langs)


def _top_level_split(text: str, sep: str = ";") -> list[str]:
    """``text`` cut at ``sep`` outside brackets."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if ch == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    return [*out, text[start:]]


def parse_pair_sources(spec: str) -> list[PairSource]:
    """A ``;``-separated list of source specs (e.g. two domains of one corpus)."""
    parts = [p for p in (x.strip() for x in _top_level_split(spec)) if p]
    if not parts:
        raise ValueError(f"--extra-pairs {spec!r}: no source given")
    return [parse_pair_source(p) for p in parts]


def load_pair_source(spec: str | PairSource) -> Corpus:
    """The corpus an ``--extra-pairs`` spec names (languages and split applied); several
    ``;``-separated sources are joined into one corpus (their ids must not collide)."""
    from hybriddash.data.datasets import load_dataset

    sources = parse_pair_sources(spec) if isinstance(spec, str) else [spec]
    parts = []
    for src in sources:
        corpus = load_dataset(src.dataset, langs=list(src.langs) if src.langs else None)
        parts.append(split_corpus(corpus, src.split) if src.split else corpus)
    if len(parts) == 1:
        return parts[0]
    # distractors (judged for no query) are on both sides of a split: keep one copy
    candidates = {}
    for c in (c for p in parts for c in p.candidates):
        if candidates.setdefault(c.id, c) != c:
            raise ValueError(f"--extra-pairs {spec}: candidate id {c.id!r} differs between sources")
    return Corpus(
        parts[0].dataset_id,
        list(candidates.values()),
        [q for p in parts for q in p.queries],
        {k: v for p in parts for k, v in p.relevant.items()},
        subset={"sources": [s.spec for s in sources]},
        notes=[n for p in parts for n in p.notes],
    )


def extra_pair_table(corpus: Corpus, *, component_offset: int) -> PairTable:
    """The cross-lingual rows of ``corpus`` (every ordered pair of two languages of a
    segment), marked extra, with conflict components numbered from ``component_offset``."""
    table = build_pairs(corpus)
    rows = [i for i, (q, p) in enumerate(zip(table.qlang, table.plang, strict=True)) if q != p]
    if not rows:
        raise ValueError(f"{corpus.name}: no cross-lingual pair (one language per segment?)")
    out = table.take(rows)
    out.component = [c + component_offset for c in out.component]
    out.extra = [True] * len(out)
    return out


def with_extra_pairs(main: PairTable, extra: PairTable) -> PairTable:
    """``main`` followed by the rows of ``extra`` (components must not overlap)."""
    if set(main.component) & set(extra.component):
        raise ValueError("extra pairs share conflict components with the main pairs")
    joined = PairTable(
        *(list(getattr(main, f)) + list(getattr(extra, f)) for f in ROW_FIELDS),
        source_fp=main.source_fp,
    )
    joined.extra = [False] * len(main) + [True] * len(extra)
    return joined
