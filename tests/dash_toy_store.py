"""A hand-written store with known numbers, for tests of the dashboard's queries.

Not a conftest: tests import :func:`build_toy_store` explicitly. The rows follow
``hybriddash/store/schema.sql``; the numbers are chosen so each query of
``hybriddash.reports.tables`` has an answer that can be worked out by hand (see the
comments), independent of the evaluation code that normally writes the store.

Corpus ``toy`` (fp ``TOY_FP``): languages en, de, zh; group g1 has a question and an
answer in all three languages, group g2 in en and de only (so g2's queries have two
relevant candidates, g1's three); one distractor ``d:en``.
"""

from __future__ import annotations

from pathlib import Path

from hybriddash.store.db import Store

TOY_FP = "70790000000000aa"
OTHER_FP = "70790000000000bb"
LANGS = ("de", "en", "zh")
GROUP_LANGS = {"g1": ("de", "en", "zh"), "g2": ("de", "en")}

# model -> headline (mono, cross, multi, rank distance, ndcg@10, recall@100)
HEADLINES = {
    "base": (0.80, 0.60, 0.40, 3.0, 0.5, 1.0),
    "hybrid": (0.82, 0.70, 0.55, 1.0, 0.6, 1.0),
    # contaminated: best on paper, must not be marked best
    "leaky": (0.95, 0.90, 0.90, 0.5, 0.9, 1.0),
}
RUN_IDS = {"base": "run-base", "hybrid": "run-hybrid", "leaky": "run-leaky"}


def _pair_map(model: str, q: str, c: str) -> float:
    """Per-pair mAP: a fixed pattern per model; hybrid = base + 0.1 off the diagonal."""
    base = 0.9 if q == c else 0.5 + 0.05 * LANGS.index(c)
    if model == "hybrid" and q != c:
        return base + 0.1
    if model == "leaky":
        return 0.99
    return base


def build_toy_store(path: Path) -> Store:
    """Write the toy store to ``path`` and return it."""
    store = Store(path)
    queries = [(f"{g}/{lang}", lang, g) for g, langs in GROUP_LANGS.items() for lang in langs]
    cands = [(f"{g}/{lang}", lang, [g]) for g, langs in GROUP_LANGS.items() for lang in langs]
    cands.append(("d:en", "en", []))
    with store.write() as con:
        for model in HEADLINES:
            kind = "offline-base" if model == "base" else "trained"
            con.execute(
                "INSERT INTO models (model_id, fingerprint, kind, description, sampler, "
                "base_model_id, train_dataset) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    model,
                    f"{model:0<16}"[:16],
                    kind,
                    f"toy {model}",
                    None if model == "base" else "hybrid",
                    None if model == "base" else "base",
                    None if model == "base" else "toy",
                ],
            )
        for fp, name in ((TOY_FP, "toy"), (OTHER_FP, "toy[en]")):
            con.execute(
                "INSERT INTO corpora (corpus_fp, dataset_id, name, languages, n_queries, "
                "n_candidates) VALUES (?, 'toy', ?, ?, 5, 6)",
                [fp, name, list(LANGS)],
            )
        for qid, lang, g in queries:
            con.execute(
                "INSERT INTO corpus_queries VALUES (?, ?, ?, ?, ?)",
                [TOY_FP, qid, lang, g, f"question {g} in {lang}?"],
            )
        for cid, lang, groups in cands:
            con.execute(
                "INSERT INTO corpus_candidates VALUES (?, ?, ?, ?, ?)",
                [TOY_FP, cid, lang, f"answer {cid}", groups],
            )
        for i, (model, head) in enumerate(HEADLINES.items()):
            run = RUN_IDS[model]
            con.execute(
                "INSERT INTO runs (run_id, model_id, model_fp, corpus_fp, dataset_id, corpus_name, "
                "encode_mode, top_k, n_queries, n_candidates, contaminated, contamination_note, "
                "created_at) VALUES (?, ?, ?, ?, 'toy', 'toy', 'float32', 3, 5, 6, ?, ?, "
                "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (?) MINUTE)",
                [
                    run,
                    model,
                    f"{model:0<16}"[:16],
                    TOY_FP,
                    model == "leaky",
                    "trained on toy" if model == "leaky" else None,
                    i,
                ],
            )
            con.execute("INSERT INTO run_headline VALUES (?, ?, ?, ?, ?, ?, ?)", [run, *head])
            for q in LANGS:
                for c in LANGS:
                    setting = "monolingual" if q == c else "crosslingual"
                    n = sum(1 for g, langs in GROUP_LANGS.items() if q in langs and c in langs)
                    con.execute(
                        "INSERT INTO run_pair_metrics VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)",
                        [run, q, c, setting, _pair_map(model, q, c), n],
                    )
                con.execute(
                    "INSERT INTO run_pair_metrics VALUES (?, ?, 'all', 'multilingual', ?, NULL, "
                    "NULL, ?)",
                    [run, q, head[2], sum(q in langs for langs in GROUP_LANGS.values())],
                )
            _write_query_rows(con, run, model, queries)
        # a run on another corpus, for the "different corpora" error
        con.execute(
            "INSERT INTO runs (run_id, model_id, model_fp, corpus_fp, dataset_id, corpus_name, "
            "encode_mode, top_k) VALUES ('run-other', 'base', 'base000000000000', ?, 'toy', "
            "'toy[en]', 'float32', 3)",
            [OTHER_FP],
        )
    return store


def _write_query_rows(con, run: str, model: str, queries: list[tuple[str, str, str]]) -> None:
    """Per-query rows. Pooled ranking of every query (base and leaky alike): its own
    language's answer first, then the other answers of its group in language order,
    then the distractor; hybrid swaps the first two for en queries."""
    for qid, lang, g in queries:
        group_answers = [f"{g}/{lang}"] + [f"{g}/{x}" for x in GROUP_LANGS[g] if x != lang]
        if model == "hybrid" and lang == "en":
            group_answers[0], group_answers[1] = group_answers[1], group_answers[0]
        ranking = [*group_answers, "d:en"]
        for rank, cid in enumerate(ranking[:3], start=1):
            cl = "en" if cid == "d:en" else cid.split("/")[1]
            con.execute(
                "INSERT INTO topk_hits VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run, qid, rank, cid, cl, 1.0 - 0.1 * rank, cid != "d:en"],
            )
        for rank, cid in enumerate(group_answers, start=1):
            con.execute(
                "INSERT INTO query_relevant_ranks VALUES (?, ?, ?, ?, ?, ?)",
                [run, qid, lang, cid.split("/")[1], cid, rank],
            )
        n_rel = len(group_answers)
        # rank distance = last relevant rank - first = n_rel - 1; AP = 1 (all on top),
        # except the g2 en query, given AP 0.25 so it is the worst en query.
        ap = 0.25 if qid == "g2/en" else 1.0
        con.execute(
            "INSERT INTO query_metrics VALUES (?, ?, ?, ?, 'all', 'multilingual', ?, NULL, NULL, "
            "1, ?)",
            [run, qid, lang, g, ap, n_rel],
        )
        con.execute("INSERT INTO query_bias VALUES (?, ?, ?, ?)", [run, qid, lang, n_rel - 1])
        # share@k per query language is written below for k = 1..3 from these rankings
    for k in (1, 2, 3):
        for q in LANGS:
            qs = [(qid, g) for qid, lang, g in queries if lang == q]
            shares = dict.fromkeys(LANGS, 0.0)
            for _qid, g in qs:
                group_answers = [f"{g}/{q}"] + [f"{g}/{x}" for x in GROUP_LANGS[g] if x != q]
                if model == "hybrid" and q == "en":
                    group_answers[0], group_answers[1] = group_answers[1], group_answers[0]
                for cid in [*group_answers, "d:en"][:k]:
                    cl = "en" if cid == "d:en" else cid.split("/")[1]
                    shares[cl] += 1.0 / k / len(qs)
            for c, s in shares.items():
                if s > 0:
                    con.execute(
                        "INSERT INTO run_lang_share VALUES (?, ?, ?, ?, ?)", [run, q, k, c, s]
                    )
