"""From exact ranks to the metric tables of a run (monolingual, cross-lingual, multilingual).

Settings, for a query language X and candidate language Y:

- monolingual  X->X: queries in X searched against the candidates in X only;
- cross-lingual X->Y (X != Y): against the candidates in Y only;
- multilingual X->all: against all candidates pooled (``cand_lang = 'all'``).

In each pool, a query's relevant candidates are ALL its relevant candidates in that
pool (LAReQA: one per language; MLQA-R: a group exists in 2 to 4 languages, so a query
has no relevant candidate in some pools). A query contributes to a pool only if it has
at least one relevant candidate there; a pair (X, Y) no query of X can be answered in
has no row.

Aggregation (the paper's macro-averaging)::

    mAP(X->Y)    = mean over queries of X with a relevant candidate in Y of AP
    monolingual  = mean over X of mAP(X->X)
    crosslingual = mean over ordered pairs X != Y of mAP(X->Y)
    multilingual = mean over X of mAP(X->all)
    rank_distance = mean over X of (mean over queries of X of rank_distance)  (NaN left out)
    ndcg_at_10, recall_at_100 = mean over X of the query-mean in X->all

Frames match the store tables in ``hybriddash/store/schema.sql`` (without ``run_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hybriddash.metrics.average_precision import average_precision_segments
from hybriddash.metrics.bitext_accuracy import bitext_accuracy
from hybriddash.metrics.first_relevant import first_relevant_rank_segments
from hybriddash.metrics.language_preference import (
    TOP1_CELLS,
    chance_preference_segments,
    language_preference_segments,
    top1_cells,
)
from hybriddash.metrics.language_probe import ProbeResult
from hybriddash.metrics.ndcg import ndcg_at_k_segments
from hybriddash.metrics.rank_correlation import (
    mean_rank_correlation,
    parallel_pair_correlations,
    rank_correlation_by_language,
)
from hybriddash.metrics.rank_distance import rank_distance_segments
from hybriddash.metrics.recall import recall_at_k_segments
from hybriddash.metrics.topk_share import language_share_at_k

if TYPE_CHECKING:
    from hybriddash.data.corpus import Corpus
    from hybriddash.retrieval.exact_ranks import RelevantRanks

POOLED = "all"
MONOLINGUAL, CROSSLINGUAL, MULTILINGUAL = "monolingual", "crosslingual", "multilingual"
NDCG_K = 10
RECALL_K = 100

PER_QUERY_COLUMNS = [
    "query_id", "query_lang", "group_id", "cand_lang", "setting", "ap", "ndcg_at_10",
    "recall_at_100", "first_relevant_rank", "n_relevant",
]  # fmt: skip
PAIR_COLUMNS = [
    "query_lang", "cand_lang", "setting", "map", "ndcg_at_10", "recall_at_100", "n_queries",
]  # fmt: skip
HEADLINE_COLUMNS = [
    "monolingual", "crosslingual", "multilingual", "rank_distance", "ndcg_at_10", "recall_at_100",
]  # fmt: skip
LANG_PREF_COLUMNS = [
    "query_lang", "lpr", "lpr_chance", "n_lpr", *TOP1_CELLS, "n_queries", "mrc", "n_mrc_pairs",
    "mrc_k",
]  # fmt: skip


@dataclass(frozen=True)
class MetricFrames:
    """The metric tables of one run (store tables without ``run_id``).

    - ``per_query``: ``query_metrics`` rows, one per (query, pool with a relevant candidate).
    - ``bias``: ``query_bias`` rows, one per query (``rank_distance`` nullable Int64).
    - ``relevant_ranks``: ``query_relevant_ranks`` rows, one per (query, relevant candidate).
    - ``pairs``: ``run_pair_metrics`` rows, one per (query_lang, cand_lang incl. 'all').
    - ``headline``: ``run_headline``, a single row.
    """

    per_query: pd.DataFrame
    bias: pd.DataFrame
    relevant_ranks: pd.DataFrame
    pairs: pd.DataFrame
    headline: pd.DataFrame

    def headline_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.headline.iloc[0].items()}


def _as_str_array(values: Sequence[str] | np.ndarray, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got shape {arr.shape}")
    return arr


def _strings(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    # Convert each distinct-length source once (13k ids), then `take` rows from it:
    # converting 150k Python strings per column would cost more than the metrics.
    return pd.array(values, dtype=str)


def compute_metrics(
    query_ids: Sequence[str] | np.ndarray,
    query_langs: Sequence[str] | np.ndarray,
    query_groups: Sequence[str] | np.ndarray,
    cand_ids: Sequence[str] | np.ndarray,
    cand_langs: Sequence[str] | np.ndarray,
    ranks: RelevantRanks,
) -> MetricFrames:
    """All metric frames of a run from the exact ranks (see the module docstring).

    Args:
        query_ids, query_langs, query_groups: (nq,) per query row of ``ranks``.
        cand_ids, cand_langs: (nc,) per candidate row (``ranks.indices`` index them).
        ranks: :func:`hybriddash.retrieval.exact_ranks.relevant_ranks` output.

    ``per_query`` rows come in query order, each query's language pools in language
    order, then its pooled row.
    """
    nq = ranks.n_queries
    qid = _as_str_array(query_ids, "query_ids", nq)
    qlang = _as_str_array(query_langs, "query_langs", nq)
    qgroup = _as_str_array(query_groups, "query_groups", nq)
    cid = np.asarray(cand_ids, dtype=object)
    clang = _as_str_array(cand_langs, "cand_langs", cid.shape[0])
    if ranks.indices.size and ranks.indices.max() >= cid.shape[0]:
        raise ValueError(f"ranks index candidate {ranks.indices.max()}, only {cid.shape[0]} given")

    # Integer codes over query and candidate languages; code n_lang stands for 'all'.
    languages, codes = np.unique(np.r_[qlang, clang].astype(str), return_inverse=True)
    n_lang = languages.shape[0]
    if POOLED in languages:
        raise ValueError(f"language code {POOLED!r} is reserved for the pooled setting")
    q_code, c_code = codes[:nq].astype(np.int64), codes[nq:].astype(np.int64)
    pool_names = _strings(np.r_[languages.astype(object), [POOLED]])
    setting_names = _strings(np.array([MONOLINGUAL, CROSSLINGUAL, MULTILINGUAL], dtype=object))

    pair_q = ranks.query_of_pair
    pair_code = c_code[ranks.indices]

    # ---- one segment per (query, candidate language) pool --------------------------
    # Ranks ascending inside each segment already, so the kernels need not sort them.
    order = np.lexsort((ranks.lang_rank, pair_code, pair_q))
    key = pair_q[order] * n_lang + pair_code[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else key
    lang_ptr = np.r_[starts, key.shape[0]].astype(np.int64)
    lang_ranks = ranks.lang_rank[order]
    lang_q = pair_q[order][starts]
    lang_pool = pair_code[order][starts]

    # ---- one segment per query in the pooled set (queries with >= 1 relevant) ---------
    counts = np.diff(ranks.indptr)
    pooled_q = np.flatnonzero(counts > 0)
    pooled_ptr = np.r_[0, np.cumsum(counts[pooled_q])].astype(np.int64)
    pooled_ranks = ranks.pooled_rank[np.lexsort((ranks.pooled_rank, pair_q))]

    def both(kernel, **kw) -> np.ndarray:
        values = np.r_[kernel(lang_ranks, lang_ptr, **kw), kernel(pooled_ranks, pooled_ptr, **kw)]
        return values[row_order]

    seg_q = np.r_[lang_q, pooled_q]
    seg_pool = np.r_[lang_pool, np.full(pooled_q.shape[0], n_lang, dtype=np.int64)]
    row_order = np.lexsort((seg_pool, seg_q))  # query order, language pools, then 'all'
    seg_q, seg_pool = seg_q[row_order], seg_pool[row_order]
    seg_setting = np.where(seg_pool == n_lang, 2, np.where(seg_pool == q_code[seg_q], 0, 1))
    qid_s, qlang_s, qgroup_s = _strings(qid), _strings(qlang), _strings(qgroup)

    per_query = pd.DataFrame(
        {
            "query_id": qid_s.take(seg_q),
            "query_lang": qlang_s.take(seg_q),
            "group_id": qgroup_s.take(seg_q),
            "cand_lang": pool_names.take(seg_pool),
            "setting": setting_names.take(seg_setting),
            "ap": both(average_precision_segments),
            "ndcg_at_10": both(ndcg_at_k_segments, k=NDCG_K),
            "recall_at_100": both(recall_at_k_segments, k=RECALL_K),
            "first_relevant_rank": both(first_relevant_rank_segments),
            "n_relevant": np.r_[np.diff(lang_ptr), np.diff(pooled_ptr)][row_order],
        },
        columns=PER_QUERY_COLUMNS,
    )

    distance = rank_distance_segments(pooled_ranks, pooled_ptr)
    bias = pd.DataFrame(
        {
            "query_id": qid_s.take(pooled_q),
            "query_lang": qlang_s.take(pooled_q),
            # NaN (fewer than 2 relevant candidates) becomes <NA>, NULL in the store.
            "rank_distance": pd.Series(distance).astype("Int64").array,
        }
    )

    relevant = pd.DataFrame(
        {
            "query_id": qid_s.take(pair_q),
            "query_lang": qlang_s.take(pair_q),
            "cand_lang": pool_names.take(pair_code),
            "candidate_id": _strings(cid).take(ranks.indices),
            "pooled_rank": ranks.pooled_rank.astype(np.int64),
        }
    )

    pairs = pair_table(per_query, q_code[seg_q] * (n_lang + 1) + seg_pool, languages.astype(object))
    headline = headline_table(pairs, bias)
    return MetricFrames(per_query, bias, relevant, pairs, headline)


def pair_table(
    per_query: pd.DataFrame, pair_key: np.ndarray, languages: np.ndarray
) -> pd.DataFrame:
    """``run_pair_metrics``: per (query_lang, cand_lang) the mean over its queries.

    ``pair_key`` (per ``per_query`` row) is ``query_lang_code * (L + 1) + pool_code`` over
    ``languages`` (L of them, pool code L = 'all'): integer sums, ~10x faster than a pandas
    groupby over the string columns.
    """
    keys, inverse = np.unique(pair_key, return_inverse=True)
    n_queries = np.bincount(inverse, minlength=keys.shape[0])

    def mean(column: str) -> np.ndarray:
        return np.bincount(inverse, weights=per_query[column].to_numpy(float)) / n_queries

    n_pool = languages.shape[0] + 1
    query_lang, pool = keys // n_pool, keys % n_pool
    names = np.r_[languages, [POOLED]]
    pairs = pd.DataFrame(
        {
            "query_lang": names[query_lang].astype(str),
            "cand_lang": names[pool].astype(str),
            "setting": np.where(
                pool == n_pool - 1,
                MULTILINGUAL,
                np.where(pool == query_lang, MONOLINGUAL, CROSSLINGUAL),
            ),
            "map": mean("ap"),
            "ndcg_at_10": mean("ndcg_at_10"),
            "recall_at_100": mean("recall_at_100"),
            "n_queries": n_queries.astype(np.int64),
        }
    )
    return pairs.sort_values(["query_lang", "cand_lang", "setting"], ignore_index=True)[
        PAIR_COLUMNS
    ]


def headline_table(pairs: pd.DataFrame, bias: pd.DataFrame) -> pd.DataFrame:
    """``run_headline`` (one row), macro-averaged over languages / pairs (module docstring)."""

    def mean(values: pd.Series) -> float:
        return float(values.mean()) if len(values) else float("nan")

    multi = pairs[pairs["setting"] == MULTILINGUAL]
    per_lang_distance = bias.dropna(subset=["rank_distance"]).groupby("query_lang")["rank_distance"]
    row = {
        "monolingual": mean(pairs.loc[pairs["setting"] == MONOLINGUAL, "map"]),
        "crosslingual": mean(pairs.loc[pairs["setting"] == CROSSLINGUAL, "map"]),
        "multilingual": mean(multi["map"]),
        "rank_distance": mean(per_lang_distance.mean().astype(float)),
        "ndcg_at_10": mean(multi["ndcg_at_10"]),
        "recall_at_100": mean(multi["recall_at_100"]),
    }
    return pd.DataFrame([row], columns=HEADLINE_COLUMNS)


def compute_corpus_metrics(corpus: Corpus, ranks: RelevantRanks) -> MetricFrames:
    """:func:`compute_metrics` for ranks computed on ``corpus`` in corpus order."""
    return compute_metrics(
        [q.id for q in corpus.queries],
        [q.lang for q in corpus.queries],
        [q.group for q in corpus.queries],
        [c.id for c in corpus.candidates],
        [c.lang for c in corpus.candidates],
        ranks,
    )


def topk_frames(
    query_ids: Sequence[str] | np.ndarray,
    query_langs: Sequence[str] | np.ndarray,
    cand_ids: Sequence[str] | np.ndarray,
    cand_langs: Sequence[str] | np.ndarray,
    rel_indptr: np.ndarray,
    rel_indices: np.ndarray,
    scores: np.ndarray,
    indices: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``topk_hits`` and ``run_lang_share`` frames from pooled top-k lists.

    ``scores``/``indices`` (nq, K) come from :func:`hybriddash.retrieval.search.topk`
    (column 0 = rank 1). The share table has a row per (query_lang, k = 1..K, cand_lang)
    (see :mod:`hybriddash.metrics.topk_share`).
    """
    nq = np.asarray(indices).shape[0]
    qid = _as_str_array(query_ids, "query_ids", nq)
    qlang = _as_str_array(query_langs, "query_langs", nq)
    cid = np.asarray(cand_ids, dtype=object)
    clang = _as_str_array(cand_langs, "cand_langs", cid.shape[0])
    idx = np.asarray(indices, dtype=np.int64)
    k_max = idx.shape[1]
    nc = cid.shape[0]

    rel_q = np.repeat(np.arange(nq, dtype=np.int64), np.diff(rel_indptr))
    rel_keys = np.sort(rel_q * nc + np.asarray(rel_indices, dtype=np.int64))
    hit_keys = (np.arange(nq, dtype=np.int64)[:, None] * nc + idx).ravel()
    pos = np.searchsorted(rel_keys, hit_keys).clip(max=max(rel_keys.shape[0] - 1, 0))
    relevant = (rel_keys[pos] == hit_keys) if rel_keys.size else np.zeros_like(hit_keys, bool)
    hits = pd.DataFrame(
        {
            "query_id": np.repeat(qid, k_max),
            "rank": np.tile(np.arange(1, k_max + 1, dtype=np.int64), nq),
            "candidate_id": cid[idx.ravel()],
            "cand_lang": clang[idx.ravel()],
            "score": np.asarray(scores, dtype=np.float32).ravel(),
            "relevant": relevant,
        }
    )

    cand_languages = sorted(set(clang.tolist()))
    c_code = {x: i for i, x in enumerate(cand_languages)}
    cand_code = np.fromiter((c_code[x] for x in clang), np.int64, nc)
    query_languages = sorted(set(qlang.tolist()))
    q_code = {x: i for i, x in enumerate(query_languages)}
    query_code = np.fromiter((q_code[x] for x in qlang), np.int64, nq)
    share = language_share_at_k(
        cand_code[idx], query_code, len(query_languages), len(cand_languages)
    )
    g, k, lang = np.meshgrid(
        np.arange(len(query_languages)), np.arange(k_max), np.arange(len(cand_languages)),
        indexing="ij",
    )  # fmt: skip
    share_frame = pd.DataFrame(
        {
            "query_lang": np.asarray(query_languages, dtype=object)[g.ravel()],
            "k": k.ravel() + 1,
            "cand_lang": np.asarray(cand_languages, dtype=object)[lang.ravel()],
            "share": share.ravel(),
        }
    )
    return hits, share_frame


def language_preference_table(
    query_langs: Sequence[str] | np.ndarray,
    query_groups: Sequence[str] | np.ndarray,
    rel_query: np.ndarray,
    rel_rank: np.ndarray,
    rel_lang: Sequence[str] | np.ndarray,
    top1_relevant: np.ndarray,
    top1_lang: Sequence[str] | np.ndarray,
    topk: np.ndarray,
) -> pd.DataFrame:
    """``run_language_preference`` rows: query-language preference and rank agreement.

    Per query language X (and ``'all'``), from the pooled exact ranks and top-k lists:

    - ``lpr``: MLAIRE's Language Preference Rate, the mean over X's queries of the
      indicator "the answer in X is ranked above its translations"
      (:func:`~hybriddash.metrics.language_preference.language_preference_segments`);
      ``lpr_chance`` the same for a ranking indifferent to language; ``n_lpr`` the
      queries it is defined for;
    - ``relevant_same, relevant_other, wrong_same, wrong_other``: the 4-way split of
      the top-1 (:data:`~hybriddash.metrics.language_preference.TOP1_CELLS`), shares
      of X's queries; ``n_queries``;
    - ``mrc``: mean Kendall tau-b between the top-k of X's queries and of their parallel
      versions (:mod:`~hybriddash.metrics.rank_correlation`), ``n_mrc_pairs``,
      ``mrc_k`` = k.

    ``'all'``: LPR, chance and the top-1 shares macro-averaged over query languages (as
    the headline), ``mrc`` the mean over parallel groups of their pairs' mean (MRC).

    Args:
        query_langs, query_groups: (nq,) per query.
        rel_query, rel_rank, rel_lang: (nnz,) per (query, relevant candidate): the query's
            row, the candidate's pooled 1-based rank and language.
        top1_relevant, top1_lang: (nq,) whether each query's rank-1 candidate is relevant,
            and its language.
        topk: (nq, k) candidate ids or indices of each query's pooled top-k, best first.
    """
    qlang = np.asarray(query_langs, dtype=object).astype(str)
    nq = qlang.shape[0]
    rel_query = np.asarray(rel_query, dtype=np.int64)
    order = np.lexsort((np.asarray(rel_rank), rel_query))
    rel_query = rel_query[order]
    rel_rank = np.asarray(rel_rank, dtype=np.int64)[order]
    rel_lang = np.asarray(rel_lang, dtype=object).astype(str)[order]
    indptr = np.r_[0, np.cumsum(np.bincount(rel_query, minlength=nq))].astype(np.int64)
    same = rel_lang == qlang[rel_query]
    lpr = language_preference_segments(rel_rank, same, indptr)
    chance = chance_preference_segments(rel_lang, same, indptr)
    cells = top1_cells(top1_relevant, np.asarray(top1_lang, dtype=object).astype(str) == qlang)
    topk = np.asarray(topk)
    k = int(topk.shape[1]) if topk.ndim == 2 else 0
    pairs = (
        parallel_pair_correlations(topk, query_groups, qlang)
        if k
        else pd.DataFrame(columns=["group_id", "lang_a", "lang_b", "tau"])
    )
    by_lang = rank_correlation_by_language(pairs).set_index("query_lang")
    rows = []
    for lang in sorted(set(qlang.tolist())):
        mask = qlang == lang
        lpr_x, chance_x = lpr[mask], chance[mask]
        defined = ~np.isnan(lpr_x)
        counts = np.bincount(cells[mask], minlength=len(TOP1_CELLS))
        row = {
            "query_lang": lang,
            "lpr": float(lpr_x[defined].mean()) if defined.any() else np.nan,
            "lpr_chance": float(chance_x[defined].mean()) if defined.any() else np.nan,
            "n_lpr": int(defined.sum()),
            **{name: float(counts[i] / mask.sum()) for i, name in enumerate(TOP1_CELLS)},
            "n_queries": int(mask.sum()),
            "mrc": float(by_lang.loc[lang, "mrc"]) if lang in by_lang.index else np.nan,
            "n_mrc_pairs": int(by_lang.loc[lang, "n_pairs"]) if lang in by_lang.index else 0,
            "mrc_k": k,
        }
        rows.append(row)
    frame = pd.DataFrame(rows, columns=LANG_PREF_COLUMNS)
    if frame.empty:
        return frame

    def macro(column: str) -> float:
        values = frame[column].dropna()
        return float(values.mean()) if len(values) else np.nan

    overall = {
        "query_lang": POOLED,
        "lpr": macro("lpr"),
        "lpr_chance": macro("lpr_chance"),
        "n_lpr": int(frame["n_lpr"].sum()),
        **{name: macro(name) for name in TOP1_CELLS},
        "n_queries": int(frame["n_queries"].sum()),
        "mrc": mean_rank_correlation(pairs),
        "n_mrc_pairs": int(pairs["tau"].notna().sum()) if len(pairs) else 0,
        "mrc_k": k,
    }
    return pd.concat([frame, pd.DataFrame([overall])], ignore_index=True)[LANG_PREF_COLUMNS]


def run_language_preference(
    corpus: Corpus,
    ranks: RelevantRanks,
    topk_indices: np.ndarray,
    rel_indptr: np.ndarray,
    rel_indices: np.ndarray,
) -> pd.DataFrame:
    """:func:`language_preference_table` of a run on ``corpus`` (corpus order throughout).

    ``topk_indices`` (nq, k): candidate rows of the pooled top-k; ``rel_indptr``/
    ``rel_indices``: the relevance CSR (:func:`hybriddash.retrieval.exact_ranks.relevance_csr`).
    """
    cand_langs = corpus.candidate_langs.astype(str)
    idx = np.asarray(topk_indices, dtype=np.int64)
    nq = len(corpus.queries)
    if idx.shape[0] != nq:
        raise ValueError(f"topk_indices has {idx.shape[0]} rows for {nq} queries")
    top1 = idx[:, 0] if idx.ndim == 2 and idx.shape[1] else np.zeros(nq, dtype=np.int64)
    rel_q = np.repeat(np.arange(nq, dtype=np.int64), np.diff(rel_indptr))
    nc = len(corpus.candidates)
    rel_keys = np.sort(rel_q * nc + np.asarray(rel_indices, dtype=np.int64))
    top_keys = np.arange(nq, dtype=np.int64) * nc + top1
    pos = np.searchsorted(rel_keys, top_keys).clip(max=max(rel_keys.shape[0] - 1, 0))
    top1_relevant = (rel_keys[pos] == top_keys) if rel_keys.size else np.zeros(nq, bool)
    return language_preference_table(
        [q.lang for q in corpus.queries],
        [q.group for q in corpus.queries],
        ranks.query_of_pair,
        ranks.pooled_rank,
        cand_langs[ranks.indices],
        top1_relevant,
        cand_langs[top1],
        idx,
    )


BITEXT_COLUMNS = ["query_lang", "cand_lang", "accuracy", "n_queries"]
PROBE_COLUMNS = ["lang", "accuracy", "chance", "n_samples", "n_folds"]
PROBE_ITEM_COLUMNS = ["item_id", "lang", "group_id", "correct"]


def bitext_accuracy_table(per_query: pd.DataFrame) -> pd.DataFrame:
    """``run_bitext_accuracy`` rows: P@1 per cross-lingual pair X -> Y.

    From ``per_query``'s cross-lingual rows (one per query with a relevant candidate in
    Y): :func:`~hybriddash.metrics.bitext_accuracy.bitext_accuracy` of their
    ``first_relevant_rank`` in Y's pool, and the number of those queries.
    """
    cross = per_query[per_query["setting"] == CROSSLINGUAL]
    rows = [
        {
            "query_lang": str(q),
            "cand_lang": str(c),
            "accuracy": bitext_accuracy(group["first_relevant_rank"].to_numpy()),
            "n_queries": int(len(group)),
        }
        for (q, c), group in cross.groupby(["query_lang", "cand_lang"], sort=True)
    ]
    return pd.DataFrame(rows, columns=BITEXT_COLUMNS)


def language_probe_table(result: ProbeResult) -> pd.DataFrame:
    """``run_language_probe`` rows: one per language (recall) and ``'all'`` (accuracy)."""
    rows = [
        {
            "lang": lang,
            "accuracy": recall,
            "chance": result.chance,
            "n_samples": result.counts[lang],
            "n_folds": result.n_folds,
        }
        for lang, recall in sorted(result.recall.items())
    ]
    rows.append(
        {
            "lang": POOLED,
            "accuracy": result.accuracy,
            "chance": result.chance,
            "n_samples": result.n_samples,
            "n_folds": result.n_folds,
        }
    )
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def language_probe_items(
    result: ProbeResult,
    item_ids: Sequence[str],
    item_langs: Sequence[str],
    item_groups: Sequence[str],
) -> pd.DataFrame:
    """``run_language_probe_items`` rows: each probed item (``result.rows`` into the
    item arrays) with its language, parallel group and whether the out-of-fold probe
    named its language (``correct``; their mean is ``result.accuracy``)."""
    rows = np.asarray(result.rows, dtype=np.int64)
    return pd.DataFrame(
        {
            "item_id": np.asarray(item_ids, dtype=object)[rows],
            "lang": np.asarray(item_langs, dtype=object)[rows],
            "group_id": np.asarray(item_groups, dtype=object)[rows],
            "correct": np.asarray(result.correct, dtype=bool),
        },
        columns=PROBE_ITEM_COLUMNS,
    )
