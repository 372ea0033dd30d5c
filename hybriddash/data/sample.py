"""The built-in sample corpus: small, parallel, always available.

``data/sample/sample_corpus.jsonl`` (parallel-table format, see
:mod:`hybriddash.data.parallel_table`) was written for this project, not taken from
any dataset: 42 general-knowledge question / answer-sentence groups in six languages
(en, de, es, zh, ar, ru: Latin, Han, Arabic and Cyrillic scripts), organised in five
articles (geography, astronomy, science, history, culture), plus four distractor
sentences per article and language that are on the same topic but answer none of
the questions. It is the default dataset when no benchmark folder is configured and
the fast fixture of the test suite.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from hybriddash.data.corpus import Corpus
from hybriddash.data.parallel_table import CorpusFormatError, corpus_from_parallel_rows

SAMPLE_DATASET_ID = "sample"
SAMPLE_FILE = "sample_corpus.jsonl"


def sample_path() -> str:
    """Filesystem path of the packaged sample file (for display)."""
    return str(resources.files("hybriddash.data").joinpath("sample", SAMPLE_FILE))


def read_jsonl_rows(text: str, source: str) -> tuple[list[int], list[dict]]:
    """Parse JSON Lines text into (1-based line numbers, row dicts); blank lines are skipped.

    Raises :class:`CorpusFormatError` naming ``source`` and the 1-based line number of
    a line that is not a JSON object.
    """
    numbers: list[int] = []
    rows: list[dict] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(source, number, None, f"invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise CorpusFormatError(source, number, None, "expected a JSON object per line")
        numbers.append(number)
        rows.append(record)
    return numbers, rows


@lru_cache(maxsize=1)
def _load() -> Corpus:
    text = resources.files("hybriddash.data").joinpath("sample", SAMPLE_FILE).read_text("utf-8")
    numbers, rows = read_jsonl_rows(text, SAMPLE_FILE)
    return corpus_from_parallel_rows(
        rows,
        SAMPLE_DATASET_ID,
        SAMPLE_FILE,
        row_numbers=numbers,
        notes=["built-in sample corpus written for hybriddash (not from any benchmark)"],
    )


def load_sample() -> Corpus:
    """The built-in sample corpus (dataset id ``"sample"``).

    Parsed once per process; each call returns a fresh :class:`Corpus` object sharing
    the (immutable) candidate and query records, so callers may not mutate lists.
    """
    base = _load()
    return Corpus(
        base.dataset_id,
        list(base.candidates),
        list(base.queries),
        dict(base.relevant),
        dict(base.subset),
        list(base.notes),
    )
