"""SQuAD files without sentence breaks (``mlqa-train``) -> question -> paragraph corpus.

Input folder: SQuAD v1.x JSON files named ``...context-<C>-question-<Q>.json`` (MLQA
naming: the paragraph is in language C, the question in language Q) or
``<lang>.json`` (both in one language). The same question id across files gives
parallel versions of one question: its question in every Q and its paragraph in
every C of the files that hold the id.

Corpus built (no spans are used or invented):

- candidates: the distinct paragraphs of each context language (deduplicated by
  text; several question ids often share one paragraph). Id ``f"{lang}:p{n}"``,
  ``n`` counting distinct paragraphs of that language in file-name order;
  ``Candidate.groups`` = every question id asked about the paragraph;
  ``text`` = ``context`` = the paragraph.
- queries: one per (question id, question language); id ``f"{lang}:{qid}"``,
  ``group`` = the question id.
- relevant: the question id's paragraph in each context language that has it.
- articles: no titles exist in this copy, so an article is a connected component
  of paragraphs linked by shared question ids (the same source passage in its
  different languages), keyed ``f"c{n}"`` in order of first appearance; "first N
  articles" then keeps whole parallel groups.

In ``mlqa-train`` every answer is empty (``answer_start`` 0, ``text`` ""), so only
question -> paragraph pairs exist (recorded in ``Corpus.notes``). No file there
has C == Q, but joining on the question id still gives same-language pairs where
a question language is also a context language of the id (e.g. a ``de`` question
from ``context-vi-question-de`` and the ``de`` paragraph of ``context-de-question-ar``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.languages import normalize_language

_PAIR_NAME = re.compile(r"context-(?P<c>[A-Za-z_-]+?)-question-(?P<q>[A-Za-z_-]+)\.json$")


class SquadPairsFormatError(ValueError):
    """A SQuAD pairs file that does not fit the format or disagrees with another file."""


def file_languages(path: Path) -> tuple[str, str]:
    """(context language, question language) from a file name; see the module docstring."""
    match = _PAIR_NAME.search(path.name)
    if match:
        return normalize_language(match["c"]), normalize_language(match["q"])
    lang = normalize_language(path.stem)
    return lang, lang


def load_squad_pairs(
    folder: Path,
    dataset_id: str = "mlqa-train",
    *,
    pattern: str = "*.json",
    languages: Callable[[Path], tuple[str, str]] = file_languages,
) -> Corpus:
    """Load question -> paragraph pairs from a folder of SQuAD files.

    ``pattern`` selects the files; ``languages(path)`` gives a file's (context,
    question) languages (default: :func:`file_languages`, the MLQA naming).

    Raises :class:`SquadPairsFormatError` naming the file and position when a record
    is malformed, or when two files disagree on a question's text (same id and
    question language) or on its paragraph (same id and context language).
    """
    folder = Path(folder)
    files = sorted(folder.glob(pattern))
    if not files:
        raise FileNotFoundError(f"{folder}: no SQuAD files matching {pattern}")

    para_ids: dict[str, dict[str, str]] = defaultdict(dict)  # lang -> text -> cid
    para_text: dict[str, str] = {}  # cid -> text
    para_groups: dict[str, list[str]] = defaultdict(list)
    question_of: dict[tuple[str, str], str] = {}  # (qid, lang) -> text
    question_src: dict[tuple[str, str], str] = {}
    context_of: dict[tuple[str, str], str] = {}  # (qid, context lang) -> cid
    context_src: dict[tuple[str, str], str] = {}
    query_order: list[tuple[str, str]] = []
    n_nonempty_answers = 0
    same_lang_files = 0

    for path in files:
        c_lang, q_lang = languages(path)
        same_lang_files += c_lang == q_lang
        try:
            with path.open(encoding="utf-8") as f:
                data = json.load(f).get("data")
        except json.JSONDecodeError as exc:
            raise SquadPairsFormatError(
                f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})"
            ) from None
        except AttributeError as exc:
            raise SquadPairsFormatError(f"{path}: not a SQuAD JSON object ({exc})") from None
        if not isinstance(data, list):
            raise SquadPairsFormatError(f"{path}: expected a 'data' list")
        for ai, article in enumerate(data):
            for pi, para in enumerate(article.get("paragraphs", [])):
                where = f"{path.name}: data[{ai}].paragraphs[{pi}]"
                context = para.get("context")
                if not isinstance(context, str) or not context.strip():
                    raise SquadPairsFormatError(f"{where}: empty 'context'")
                cid = para_ids[c_lang].get(context)
                if cid is None:
                    cid = f"{c_lang}:p{len(para_ids[c_lang])}"
                    para_ids[c_lang][context] = cid
                    para_text[cid] = context
                for qi, qa in enumerate(para.get("qas", [])):
                    qid = qa.get("id")
                    question = (qa.get("question") or "").strip()
                    if not qid or not question:
                        raise SquadPairsFormatError(
                            f"{where}.qas[{qi}]: missing 'id' or empty 'question'"
                        )
                    if any(a.get("text") for a in qa.get("answers") or []):
                        n_nonempty_answers += 1
                    qkey = (qid, q_lang)
                    if qkey in question_of:
                        if question_of[qkey] != question:
                            raise SquadPairsFormatError(
                                f"{where}.qas[{qi}]: question {qid!r} ({q_lang}) differs from its "
                                f"text in {question_src[qkey]}"
                            )
                    else:
                        question_of[qkey] = question
                        question_src[qkey] = path.name
                        query_order.append(qkey)
                    ckey = (qid, c_lang)
                    if ckey in context_of:
                        if context_of[ckey] != cid:
                            raise SquadPairsFormatError(
                                f"{where}.qas[{qi}]: question {qid!r} has a different {c_lang} "
                                f"paragraph in {context_src[ckey]}"
                            )
                    else:
                        context_of[ckey] = cid
                        context_src[ckey] = path.name
                        para_groups[cid].append(qid)

    # articles: connected components of paragraphs linked by question ids (union-find)
    parent: dict[str, str] = {cid: cid for cid in para_text}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    cids_of_qid: dict[str, list[str]] = defaultdict(list)
    for (qid, _lang), cid in context_of.items():
        cids_of_qid[qid].append(cid)
    for cids in cids_of_qid.values():
        root = find(cids[0])
        for other in cids[1:]:
            r = find(other)
            if r != root:
                parent[r] = root
    # first-appearance order of paragraphs across files (cid creation order)
    appearance = {cid: i for i, cid in enumerate(para_text)}
    component_key: dict[str, str] = {}
    for cid in sorted(para_text, key=appearance.__getitem__):
        root = find(cid)
        if root not in component_key:
            component_key[root] = f"c{len(component_key)}"
    article_of = {cid: component_key[find(cid)] for cid in para_text}
    article_rank = {key: int(key[1:]) for key in component_key.values()}

    candidates = [
        Candidate(cid, cid.split(":", 1)[0], text, text, article_of[cid], tuple(para_groups[cid]))
        for cid, text in para_text.items()
    ]
    candidates.sort(key=lambda c: (article_rank[c.article], c.lang, appearance[c.id]))

    relevant_of_group = {qid: frozenset(cids) for qid, cids in cids_of_qid.items()}
    queries: list[Query] = []
    relevant: dict[str, frozenset[str]] = {}
    for qid, lang in query_order:
        article = article_of[cids_of_qid[qid][0]]
        query = Query(f"{lang}:{qid}", lang, question_of[(qid, lang)], qid, article)
        queries.append(query)
        relevant[query.id] = relevant_of_group[qid]
    order = {q.id: i for i, q in enumerate(queries)}
    queries.sort(key=lambda q: (article_rank[q.article], q.lang, order[q.id]))

    notes = [
        f"question -> paragraph pairs from {len(files)} SQuAD files in {folder}: "
        f"{len(cids_of_qid)} question ids, {len(queries)} queries, {len(candidates)} distinct paragraphs",
    ]
    if n_nonempty_answers == 0:
        notes.append(
            "every answer in these files is empty: no answer spans or answer sentences, "
            "only question -> paragraph relevance"
        )
    if same_lang_files == 0:
        notes.append(
            "no file pairs a question with a paragraph in its own language; same-language "
            "relevance comes only from joining parallel files on the question id"
        )
    return Corpus(dataset_id, candidates, queries, relevant, notes=notes)
