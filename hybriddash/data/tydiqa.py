"""TyDi QA GoldP v1.1 dev (``tydiqa.goldp.<lang>.dev.json``, SQuAD v1.1 JSON) -> corpus.

Question -> gold paragraph: the candidates are the distinct paragraphs of each
language, the relevant item of a question is the paragraph that holds it (answers
are empty in this copy). Questions are not parallel (each id is asked in one
language), so the monolingual pool X -> X is the per-language task and the pooled
setting X -> all is the 9-language pool. Read by
:func:`hybriddash.data.squad_pairs.load_squad_pairs` with the language taken from
the file name.

Source: GautamGupta17/MESH @ 68f82e2, ``data/tydiqa/tydiqa-goldp-v1.1-dev/``;
TyDi QA is Apache-2.0.
"""

from __future__ import annotations

import re
from pathlib import Path

from hybriddash.data.corpus import Corpus
from hybriddash.data.squad_pairs import SquadPairsFormatError, load_squad_pairs
from hybriddash.languages import UnknownLanguageError, normalize_language

FILE_PATTERN = "tydiqa.goldp.*.dev.json"
_NAME = re.compile(r"^tydiqa\.goldp\.(?P<lang>[a-z]{2,3})\.dev\.json$")


def file_languages(path: Path) -> tuple[str, str]:
    """(paragraph language, question language) of ``tydiqa.goldp.<lang>.dev.json``."""
    match = _NAME.match(path.name)
    if not match:
        raise SquadPairsFormatError(f"{path}: expected a file named tydiqa.goldp.<lang>.dev.json")
    try:
        lang = normalize_language(match["lang"])
    except UnknownLanguageError as exc:
        raise SquadPairsFormatError(f"{path}: {exc}") from None
    return lang, lang


def load_tydiqa(folder: Path, dataset_id: str = "tydiqa-goldp") -> Corpus:
    """Question -> gold paragraph, per language and pooled (module docstring)."""
    return load_squad_pairs(folder, dataset_id, pattern=FILE_PATTERN, languages=file_languages)
