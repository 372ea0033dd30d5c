"""Query-language preference (MLAIRE): pure functions over pooled ranks and top-1 hits.

Source: Jang, Hong, Moon & Lim (2026), *MLAIRE: Multilingual Language-Aware Information
Retrieval Evaluation Protocol*, arXiv 2605.07249. MLAIRE builds pools in which every
query's relevant passage exists in several languages (parallel translations, as in
LAReQA's pooled setting) and measures, apart from semantic accuracy, whether the
retriever prefers the passage in the *query's* language: the **Language Preference Rate
(LPR)** and a **4-way decomposition** of the top-ranked passage into (semantically
correct or not) x (in the query language or not).

The exact published formulas could not be retrieved here (only the abstract and
summaries were available), so the definitions below are our precise reading of them:

**Language Preference Rate.** For a query ``q`` in language ``X`` whose relevant
candidates exist in ``X`` and in at least one other language::

    LPR_q = 1  if  min(rank of q's relevant candidates in X) < min(rank of q's relevant
                   candidates in every other language)
            0  otherwise

i.e. "among the parallel versions of the answer, the query-language version is ranked
first". Queries without a relevant candidate in their own language, or without one in
any other language, have no LPR (NaN) and are left out of means. ``LPR(X)`` is the mean
over the queries of ``X``; the run's LPR is the macro mean over query languages (as every
headline number here). The **chance level** of a query is ``1 / n`` with ``n`` the number of
languages of its relevant candidates (a ranking indifferent to language puts any of
the ``n`` versions first equally often): LPR above chance is query-language preference,
below chance is a preference for other languages.

**4-way decomposition of the top-1 (pooled ranking).** Every query falls in exactly one
cell::

    relevant_same     the top-1 candidate is relevant and in the query language
    relevant_other    relevant, in another language (right content, "wrong" language)
    wrong_same        not relevant, in the query language: a query-language
                      preference failure (a wrong passage won because of its language)
    wrong_other       not relevant, in another language: a semantic failure

Failures are the two ``wrong_*`` cells (top-1 not relevant); MLAIRE's split of failures
into *semantic* and *query-language preference* failures is ``wrong_other`` vs
``wrong_same``. ``relevant_other`` is a success for language-agnostic retrieval (the
LAReQA view) and a language mismatch for a user who wants answers in their language
(the MLAIRE view); both are shown.
"""

from __future__ import annotations

import numpy as np

TOP1_CELLS = ("relevant_same", "relevant_other", "wrong_same", "wrong_other")


def language_preference_segments(
    ranks: np.ndarray, same_lang: np.ndarray, indptr: np.ndarray
) -> np.ndarray:
    """LPR indicator per query: 1.0, 0.0 or NaN (see the module docstring).

    Args:
        ranks: (nnz,) pooled 1-based ranks of every relevant candidate of every query.
        same_lang: (nnz,) bool, True where that candidate is in its query's language.
        indptr: (nq + 1,) CSR pointer: query ``i`` owns ``ranks[indptr[i]:indptr[i+1]]``.

    Returns:
        (nq,) float: 1.0 when the best-ranked relevant candidate in the query language is
        ranked above every relevant candidate in another language, 0.0 when not, NaN when
        the query has no relevant candidate in its language or none in another.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    same = np.asarray(same_lang, dtype=bool)
    indptr = np.asarray(indptr, dtype=np.int64)
    if ranks.shape != same.shape:
        raise ValueError(f"ranks {ranks.shape} and same_lang {same.shape} differ in shape")
    nq = indptr.shape[0] - 1
    big = np.iinfo(np.int64).max
    best_same = np.full(nq, big, dtype=np.int64)
    best_other = np.full(nq, big, dtype=np.int64)
    query_of = np.repeat(np.arange(nq, dtype=np.int64), np.diff(indptr))
    np.minimum.at(best_same, query_of[same], ranks[same])
    np.minimum.at(best_other, query_of[~same], ranks[~same])
    out = (best_same < best_other).astype(float)
    out[(best_same == big) | (best_other == big)] = np.nan
    return out


def chance_preference_segments(
    cand_lang: np.ndarray, same_lang: np.ndarray, indptr: np.ndarray
) -> np.ndarray:
    """Chance level of the LPR indicator per query: ``1 / (languages of its relevant set)``.

    NaN where :func:`language_preference_segments` is NaN (no relevant candidate in the
    query language or none in another). ``cand_lang`` (nnz,) holds any hashable language
    code per relevant candidate.
    """
    cand_lang = np.asarray(cand_lang)
    same = np.asarray(same_lang, dtype=bool)
    indptr = np.asarray(indptr, dtype=np.int64)
    nq = indptr.shape[0] - 1
    out = np.full(nq, np.nan)
    for i in range(nq):
        lo, hi = indptr[i], indptr[i + 1]
        if lo == hi:
            continue
        seg_same = same[lo:hi]
        if seg_same.any() and (~seg_same).any():
            out[i] = 1.0 / len(set(cand_lang[lo:hi].tolist()))
    return out


def top1_cells(top1_relevant: np.ndarray, top1_same_lang: np.ndarray) -> np.ndarray:
    """Cell index into :data:`TOP1_CELLS` per query from its top-1 candidate.

    ``top1_relevant`` and ``top1_same_lang`` (nq,) bool: whether the rank-1 candidate of
    the pooled ranking is relevant, and whether it is in the query's language.
    0 = relevant_same, 1 = relevant_other, 2 = wrong_same, 3 = wrong_other.
    """
    rel = np.asarray(top1_relevant, dtype=bool)
    same = np.asarray(top1_same_lang, dtype=bool)
    if rel.shape != same.shape:
        raise ValueError(f"top1_relevant {rel.shape} and top1_same_lang {same.shape} differ")
    return np.where(rel, np.where(same, 0, 1), np.where(same, 2, 3)).astype(np.int64)


def top1_shares(cells: np.ndarray) -> dict[str, float]:
    """Fraction of queries in each cell of :data:`TOP1_CELLS` (NaN each when empty)."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.size == 0:
        return {name: float("nan") for name in TOP1_CELLS}
    counts = np.bincount(cells, minlength=len(TOP1_CELLS))
    return {name: float(counts[i] / cells.size) for i, name in enumerate(TOP1_CELLS)}
