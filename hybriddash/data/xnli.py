"""XNLI in the XTREME layout (``dev-<lang>.tsv``, ``test-<lang>.tsv``) -> corpora.

Files: tab-separated, no header, UTF-8. ``dev-*``: premise, hypothesis, label
(``entailment``/``neutral``/``contradiction``), 2,490 rows = 830 premises x 3
hypotheses; ``test-*``: premise, hypothesis, 5,010 rows = 1,670 premises x 3. Row ``i``
is the same pair in all 15 languages; the three rows of a premise are consecutive
(rows ``3p .. 3p+2`` hold premise ``p``), which the reader checks.

``xnli`` (dev): a LAReQA-shaped task (:func:`load_xnli_dev`):

- queries: premise ``p`` in language X, id ``f"p{p}/{X}"``, group ``f"p{p}"``;
- candidates: every hypothesis (entailment, neutral, contradiction) in every language,
  id ``f"h{i}/{X}"`` for row ``i``; neutral and contradiction hypotheses are hard
  distractors (``Candidate.groups`` empty);
- relevant: the entailment hypothesis of ``p`` in all 15 languages;
- article ``f"p{p}"``: ``xnli[articles=N]`` keeps the first N premises.

``xnli[split=test]``: bitext alignment of the aligned test rows (:func:`load_xnli_test`):
the 1,670 premises of every language as a pooled translation-retrieval corpus
(:mod:`hybriddash.data.bitext`): a premise's translations are relevant, its own text is
excluded.

Source: GautamGupta17/MESH @ 68f82e2, ``data/xnli/``; XNLI is CC BY-NC 4.0.
"""

from __future__ import annotations

from pathlib import Path

from hybriddash.data.bitext import Segment, translation_pool_corpus
from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.languages import UnknownLanguageError, normalize_language

LABELS = ("entailment", "neutral", "contradiction")
DEV_ROWS, TEST_ROWS = 2490, 5010
LANGS: tuple[str, ...] = (
    "ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh",
)  # fmt: skip


class XnliFormatError(ValueError):
    """An XNLI file that does not fit the layout; the message names file and line."""


def read_tsv(path: Path, n_fields: int) -> list[list[str]]:
    """Rows of a headerless TSV with exactly ``n_fields`` non-empty fields each.

    Raises :class:`XnliFormatError` naming file and line on a wrong field count, an
    empty field, an unknown label (``n_fields == 3``) or a premise that changes inside
    its group of three rows.
    """
    rows: list[list[str]] = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != n_fields:
                raise XnliFormatError(
                    f"{path}, line {line_no}: expected {n_fields} tab-separated fields, "
                    f"got {len(fields)}"
                )
            if not all(x.strip() for x in fields):
                raise XnliFormatError(f"{path}, line {line_no}: empty field")
            if n_fields == 3 and fields[2] not in LABELS:
                raise XnliFormatError(
                    f"{path}, line {line_no}: label {fields[2]!r} is not one of {LABELS}"
                )
            if (line_no - 1) % 3 and fields[0] != rows[-1][0]:
                raise XnliFormatError(
                    f"{path}, line {line_no}: premise differs from line {line_no - 1}; "
                    "expected three consecutive rows per premise"
                )
            rows.append(fields)
    if len(rows) % 3:
        raise XnliFormatError(f"{path}: {len(rows)} rows, not a multiple of 3")
    return rows


def _files(folder: Path, split: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(Path(folder).glob(f"{split}-*.tsv")):
        code = path.stem.split("-", 1)[1]
        try:
            out[normalize_language(code)] = path
        except UnknownLanguageError as exc:
            raise XnliFormatError(f"{path}: {exc}") from None
    if not out:
        raise FileNotFoundError(f"{folder}: no {split}-<lang>.tsv files")
    return out


def _aligned(folder: Path, split: str, n_fields: int) -> dict[str, list[list[str]]]:
    files = _files(folder, split)
    rows = {lang: read_tsv(path, n_fields) for lang, path in files.items()}
    first = next(iter(rows))
    for lang, table in rows.items():
        if len(table) != len(rows[first]):
            raise XnliFormatError(
                f"{files[lang]}: {len(table)} rows but {files[first].name} has "
                f"{len(rows[first])}; rows must be aligned across languages"
            )
    return rows


def load_xnli_dev(folder: Path, dataset_id: str = "xnli") -> Corpus:
    """Premise -> entailment hypothesis in the 15-language pool (module docstring)."""
    rows = _aligned(folder, "dev", 3)
    files = _files(folder, "dev")
    first = next(iter(rows))
    for lang, table in rows.items():
        for i, (a, b) in enumerate(zip(table, rows[first], strict=True)):
            if a[2] != b[2]:
                raise XnliFormatError(
                    f"{files[lang]}, line {i + 1}: label {a[2]!r} but {b[2]!r} in "
                    f"{files[first].name}; labels must agree across languages"
                )
    candidates: list[Candidate] = []
    queries: list[Query] = []
    entailed: dict[str, list[str]] = {}
    for lang, table in rows.items():
        for i, (premise, hypothesis, label) in enumerate(table):
            group = f"p{i // 3}"
            cid = f"h{i}/{lang}"
            is_answer = label == "entailment"
            candidates.append(
                Candidate(cid, lang, hypothesis, premise, group, (group,) if is_answer else ())
            )
            if is_answer:
                entailed.setdefault(group, []).append(cid)
            if i % 3 == 0:
                queries.append(Query(f"{group}/{lang}", lang, premise, group, group))
    relevant = {q.id: frozenset(entailed[q.group]) for q in queries}
    return Corpus(
        dataset_id,
        candidates,
        queries,
        relevant,
        notes=[
            "premise -> its entailment hypothesis in all 15 languages; neutral and "
            "contradiction hypotheses are distractors (XNLI dev, CC BY-NC 4.0)"
        ],
    )


def load_xnli_test(folder: Path, dataset_id: str = "xnli") -> Corpus:
    """Bitext alignment of the aligned test premises (module docstring)."""
    rows = _aligned(folder, "test", 2)
    segments = [
        Segment(f"p{i // 3}", lang, table[i][0], f"p{i // 3}")
        for lang, table in rows.items()
        for i in range(0, len(table), 3)
    ]
    corpus = translation_pool_corpus(
        segments,
        dataset_id,
        notes=["XNLI test premises: translation retrieval in the 15-language pool"],
    )
    corpus.subset["split"] = "test"
    return corpus
