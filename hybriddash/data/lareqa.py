"""LAReQA benchmarks (XQuAD-R, MLQA-R) -> :class:`~hybriddash.data.corpus.Corpus`.

Input: one SQuAD v1.1 JSON file per language (``<lang>.json``) whose paragraphs carry
``sentences`` (strings) and ``sentence_breaks`` (``[start, end)`` character offsets
into ``context``).

The task (Roy et al. 2020, arXiv 2004.05484, section 3.1):

- candidates: every sentence of every paragraph of every language, pooled. A
  sentence is identified by its position, not its text: identical sentence texts
  (e.g. a repeated heading-like sentence, or the same sentence in two paragraphs)
  stay separate candidates. This is what makes the counts equal the published
  table exactly (XQuAD-R 13,014; MLQA-R 20,534): no sentence is empty and none is
  dropped, while deduplicating by text within a language would give 13,005 and 20,522.
  Candidate id ``f"{lang}:{article}:{paragraph}:{sentence}"`` (0-based positions in
  that language's file); ``text`` is ``sentences[i]``; ``context`` the paragraph.
- queries: every question of every language; id ``f"{lang}:{qid}"``, ``group`` = the
  SQuAD question id (the same id in every language that has the question).
- relevant: for question id ``qid``, in each language that has ``qid``, the sentence
  whose ``sentence_breaks`` interval ``[start, end)`` contains the answer's
  ``answer_start``. The breaks (not the sentence strings) locate the answer, as in
  LAReQA; in ``xquad-r/tr.json`` one paragraph's breaks are shifted by one character
  against its sentence strings, which does not move any answer to another sentence.
  Every language of a question id must yield exactly one relevant sentence, else
  :class:`LareqaFormatError`. XQuAD-R: 11 relevant per query; MLQA-R: 2 to 4.

Articles (for ``Corpus.subset_by(articles=N)``): the key is the *English* article
title of the question ids a paragraph holds. XQuAD-R's article list is parallel
across languages, so this equals "article i in every language". MLQA-R's files
hold different article lists per language (en 520, others 217-281), but every
non-English article's questions all come from one English article, so keying by
the English article keeps every question together with its answers in all of its
languages. Candidates and queries are ordered article-major (English file order),
then by language, paragraph and sentence, so ``Corpus.articles()`` lists the English
article order and "the first N articles" is the same set of parallel material in
every language. A paragraph without questions inherits the key of its article's
other paragraphs (or ``f"{lang}:{title}"`` when none has questions).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.languages import normalize_language

HUB_LANGUAGE = "en"


class LareqaFormatError(ValueError):
    """A LAReQA file that does not fit the format or the task's invariants."""


@dataclass
class _Sentence:
    cid: str
    text: str
    context: str
    art_index: int  # article index in this language's file
    para_index: int
    sent_index: int
    groups: list[str]


def _read(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            payload = json.load(f)
    except json.JSONDecodeError as exc:
        raise LareqaFormatError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise LareqaFormatError(f"{path}: expected a SQuAD object with a 'data' list")
    return data


def load_lareqa(folder: Path, dataset_id: str) -> Corpus:
    """Load a LAReQA folder (``xquad-r`` or ``mlqa-r`` layout) as a sentence-retrieval corpus.

    ``folder`` holds ``<lang>.json`` files (lang: a code ``normalize_language``
    accepts) and must include ``en.json``, whose articles key the corpus. See the
    module docstring for ids, relevance and article order. Raises
    :class:`LareqaFormatError` naming file, article/paragraph index and field.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{folder}: no <lang>.json files")
    by_lang: dict[str, Path] = {}
    for path in files:
        lang = normalize_language(path.stem)
        if lang in by_lang:
            raise LareqaFormatError(
                f"{folder}: {by_lang[lang].name} and {path.name} are both {lang!r}"
            )
        by_lang[lang] = path
    if HUB_LANGUAGE not in by_lang:
        raise LareqaFormatError(
            f"{folder}: missing {HUB_LANGUAGE}.json (the English file keys articles across languages)"
        )
    langs = sorted(by_lang)

    # per language: sentences, questions, and qid -> relevant sentence id
    sentences: dict[str, list[_Sentence]] = {}
    questions: dict[str, list[tuple[str, str, int]]] = {}  # lang -> [(qid, text, art_index)]
    answer_of: dict[str, dict[str, str]] = {}
    para_qids: dict[str, dict[tuple[int, int], list[str]]] = {}
    titles: dict[str, list[str]] = {}
    for lang in langs:
        path = by_lang[lang]
        sents, qs, answers, pq, tl = _parse_language(path, lang)
        sentences[lang], questions[lang], answer_of[lang], para_qids[lang], titles[lang] = (
            sents,
            qs,
            answers,
            pq,
            tl,
        )

    # article key of every question id: the English article that holds it
    hub_article: dict[str, int] = {}
    for qid, _text, art in questions[HUB_LANGUAGE]:
        hub_article[qid] = art
    hub_titles = titles[HUB_LANGUAGE]

    def para_key(lang: str, art: int, para: int) -> str | None:
        qids = para_qids[lang].get((art, para), [])
        arts = {hub_article[q] for q in qids if q in hub_article}
        missing = [q for q in qids if q not in hub_article]
        if missing:
            raise LareqaFormatError(
                f"{by_lang[lang]}: article {art}, paragraph {para}: question id {missing[0]!r} "
                f"is not in {HUB_LANGUAGE}.json"
            )
        if len(arts) > 1:
            # would split a paragraph's questions across articles (never in the pinned data)
            raise LareqaFormatError(
                f"{by_lang[lang]}: article {art}, paragraph {para}: its questions come from "
                f"{len(arts)} different {HUB_LANGUAGE} articles; cannot key it to one article"
            )
        return hub_titles[arts.pop()] if arts else None

    hub_order = {title: i for i, title in enumerate(hub_titles)}
    keyed: list[tuple[tuple, Candidate]] = []
    for lang in langs:
        # resolve per paragraph, then let question-less paragraphs inherit the article's key
        para_keys: dict[tuple[int, int], str | None] = {}
        for s in sentences[lang]:
            k = (s.art_index, s.para_index)
            if k not in para_keys:
                para_keys[k] = para_key(lang, *k)
        art_keys: dict[int, str] = {}
        for (art, _para), key in para_keys.items():
            if key is not None:
                art_keys.setdefault(art, key)
        for s in sentences[lang]:
            key = para_keys[(s.art_index, s.para_index)] or art_keys.get(s.art_index)
            if key is None:
                key = f"{lang}:{titles[lang][s.art_index]}"
            order = (
                hub_order.get(key, len(hub_order)),
                key,
                lang,
                s.art_index,
                s.para_index,
                s.sent_index,
            )
            keyed.append((order, Candidate(s.cid, lang, s.text, s.context, key, tuple(s.groups))))
    keyed.sort(key=lambda item: item[0])
    candidates = [c for _, c in keyed]

    # relevance: one sentence per language having the qid
    rel_langs: dict[str, list[str]] = defaultdict(list)
    for lang in langs:
        for qid, cid in answer_of[lang].items():
            rel_langs[qid].append(cid)
    relevant_of_group = {qid: frozenset(cids) for qid, cids in rel_langs.items()}

    keyed_q: list[tuple[tuple, Query]] = []
    relevant: dict[str, frozenset[str]] = {}
    for lang in langs:
        for position, (qid, text, _art) in enumerate(questions[lang]):
            key = hub_titles[hub_article[qid]]
            query = Query(f"{lang}:{qid}", lang, text, qid, key)
            keyed_q.append(((hub_order[key], lang, position), query))
            relevant[query.id] = relevant_of_group[qid]
    keyed_q.sort(key=lambda item: item[0])
    queries = [q for _, q in keyed_q]

    dup_notes = []
    for lang in langs:
        counts = Counter(s.text for s in sentences[lang])
        n_dup = sum(n - 1 for n in counts.values() if n > 1)
        if n_dup:
            dup_notes.append(f"{lang} {n_dup}")
    notes = [
        f"LAReQA task over {folder}: every sentence of every paragraph is a candidate "
        f"({len(candidates)}), every question in every language a query ({len(queries)})",
        "articles keyed by the English article of each paragraph's questions",
    ]
    if dup_notes:
        notes.append(
            "repeated sentence texts kept as separate candidates (as in the published counts): "
            + ", ".join(dup_notes)
        )
    return Corpus(dataset_id, candidates, queries, relevant, notes=notes)


def _parse_language(
    path: Path, lang: str
) -> tuple[
    list[_Sentence],
    list[tuple[str, str, int]],
    dict[str, str],
    dict[tuple[int, int], list[str]],
    list[str],
]:
    """Sentences, questions, qid -> answer sentence id, paragraph -> qids, article titles."""
    data = _read(path)
    sentences: list[_Sentence] = []
    questions: list[tuple[str, str, int]] = []
    answer_of: dict[str, str] = {}
    para_qids: dict[tuple[int, int], list[str]] = {}
    titles: list[str] = []
    for ai, article in enumerate(data):
        titles.append(str(article.get("title", f"article {ai}")))
        for pi, para in enumerate(article.get("paragraphs", [])):
            where = f"{path}: article {ai}, paragraph {pi}"
            context = para.get("context")
            sents = para.get("sentences")
            breaks = para.get("sentence_breaks")
            if (
                not isinstance(context, str)
                or not isinstance(sents, list)
                or not isinstance(breaks, list)
            ):
                raise LareqaFormatError(
                    f"{where}: expected 'context', 'sentences' and 'sentence_breaks' (is this a "
                    "LAReQA file with sentence breaks?)"
                )
            if len(sents) != len(breaks):
                raise LareqaFormatError(
                    f"{where}: {len(sents)} sentences but {len(breaks)} sentence_breaks"
                )
            first = len(sentences)
            for si, text in enumerate(sents):
                if not isinstance(text, str) or not text.strip():
                    raise LareqaFormatError(f"{where}, sentences[{si}]: empty sentence")
                sentences.append(_Sentence(f"{lang}:{ai}:{pi}:{si}", text, context, ai, pi, si, []))
            qids = para_qids.setdefault((ai, pi), [])
            for qi, qa in enumerate(para.get("qas", [])):
                qid = qa.get("id")
                question = (qa.get("question") or "").strip()
                if not qid or not question:
                    raise LareqaFormatError(f"{where}, qas[{qi}]: missing 'id' or empty 'question'")
                if qid in answer_of:
                    raise LareqaFormatError(f"{where}, qas[{qi}]: question id {qid!r} occurs twice")
                answers = qa.get("answers") or []
                if not answers or not isinstance(answers[0].get("answer_start"), int):
                    raise LareqaFormatError(
                        f"{where}, qas[{qi}] ({qid}): no answer with 'answer_start'"
                    )
                start = answers[0]["answer_start"]
                hit = None
                for si, (b, e) in enumerate(breaks):
                    if b <= start < e:
                        hit = si
                        break
                if hit is None:
                    raise LareqaFormatError(
                        f"{where}, qas[{qi}] ({qid}): answer_start {start} lies in no sentence_breaks "
                        "interval"
                    )
                sentence = sentences[first + hit]
                sentence.groups.append(qid)
                answer_of[qid] = sentence.cid
                questions.append((qid, question, ai))
                qids.append(qid)
    return sentences, questions, answer_of, para_qids, titles
