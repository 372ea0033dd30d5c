"""Exact ranks of relevant candidates: blocked counting vs a brute-force stable sort."""

from __future__ import annotations

import numpy as np
import pytest

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.retrieval.exact_ranks import (
    corpus_relevant_ranks,
    language_codes,
    relevance_csr,
    relevant_ranks,
)


def brute_force_ranks(q, c, lang, indptr, indices):
    """Reference: rank = 1 + position in a stable argsort of -score (the tie rule)."""
    scores = q.astype(np.float32) @ c.astype(np.float32).T
    lang_ranks, pooled_ranks = [], []
    for qi in range(q.shape[0]):
        row = scores[qi]
        order = np.argsort(-row, kind="stable")
        for r in indices[indptr[qi] : indptr[qi + 1]]:
            pooled_ranks.append(int(np.flatnonzero(order == r)[0]) + 1)
            members = np.flatnonzero(lang == lang[r])  # ascending candidate index
            sub_order = members[np.argsort(-row[members], kind="stable")]
            lang_ranks.append(int(np.flatnonzero(sub_order == r)[0]) + 1)
    return np.array(lang_ranks), np.array(pooled_ranks)


def random_case(seed, nq=40, nc=250, d=16, n_langs=5, integer=False, max_rel=4):
    rng = np.random.default_rng(seed)
    if integer:  # small integer vectors: many exact score ties
        q = rng.integers(-2, 3, (nq, d)).astype(np.float32)
        c = rng.integers(-2, 3, (nc, d)).astype(np.float32)
    else:
        q = rng.standard_normal((nq, d)).astype(np.float32)
        c = rng.standard_normal((nc, d)).astype(np.float32)
    lang = rng.integers(0, n_langs, nc)
    counts = rng.integers(1, max_rel + 1, nq)
    indptr = np.r_[0, np.cumsum(counts)]
    indices = np.concatenate([rng.choice(nc, k, replace=False) for k in counts])
    return q, c, lang, n_langs, indptr, indices


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("integer", [False, True])
def test_ranks_match_stable_sort_reference(seed, integer):
    q, c, lang, n_langs, indptr, indices = random_case(seed, integer=integer)
    got = relevant_ranks(q, c, lang, n_langs, indptr, indices, block_size=7)
    want_lang, want_pooled = brute_force_ranks(q, c, lang, indptr, indices)
    np.testing.assert_array_equal(got.lang_rank, want_lang)
    np.testing.assert_array_equal(got.pooled_rank, want_pooled)
    # Blocked sgemm may round differently from one full matmul in the last bit.
    np.testing.assert_allclose(got.score, (q @ c.T)[got.query_of_pair, indices], rtol=1e-5)
    np.testing.assert_array_equal(got.cand_lang, lang[indices])
    np.testing.assert_array_equal(got.lang_sizes, np.bincount(lang, minlength=n_langs))


def test_integer_case_really_has_relevant_ties():
    # Guards the tie test above against silently testing nothing.
    q, c, lang, n_langs, indptr, indices = random_case(0, integer=True)
    scores = q @ c.T
    pair_q = np.repeat(np.arange(q.shape[0]), np.diff(indptr))
    rel_scores = scores[pair_q, indices]
    n_tied = sum(int((scores[qi] == s).sum()) - 1 for qi, s in zip(pair_q, rel_scores, strict=True))
    assert n_tied > 50


def test_tie_between_relevant_and_nonrelevant_follows_candidate_index():
    # Candidates 0, 2 and 3 are identical, so every query scores them equally.
    c = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [-1, 0]], dtype=np.float32)
    lang = np.array([0, 0, 1, 0, 1])
    q = np.array([[1, 0], [1, 0]], dtype=np.float32)
    # query 0: relevant candidate 2 (lang 1); query 1: relevant candidates 0 and 3 (lang 0)
    got = relevant_ranks(q, c, lang, 2, np.array([0, 1, 3]), np.array([2, 3, 0]))
    # pooled order: 0, 2, 3 (tied, by index), then 1 (score 0), then 4 (score -1)
    np.testing.assert_array_equal(got.pooled_rank, [2, 3, 1])
    # lang 1 pool = {2, 4}: 2 first. lang 0 pool = {0, 1, 3}: order 0, 3, 1.
    np.testing.assert_array_equal(got.lang_rank, [1, 2, 1])


def test_block_size_does_not_change_ranks():
    q, c, lang, n_langs, indptr, indices = random_case(5, nq=33, integer=True)
    ref = relevant_ranks(q, c, lang, n_langs, indptr, indices, block_size=1000)
    for block_size in (1, 4, 32, 33):
        got = relevant_ranks(q, c, lang, n_langs, indptr, indices, block_size=block_size)
        np.testing.assert_array_equal(got.pooled_rank, ref.pooled_rank)
        np.testing.assert_array_equal(got.lang_rank, ref.lang_rank)


@pytest.mark.parametrize("block_size", [1, 7, None])
def test_worker_count_does_not_change_anything(block_size):
    q, c, lang, n_langs, indptr, indices = random_case(6, nq=45, integer=True)
    ref = relevant_ranks(
        q, c, lang, n_langs, indptr, indices, block_size=block_size, top_k=10, n_threads=1
    )
    for n_threads in (2, 3, 8):
        got = relevant_ranks(
            q, c, lang, n_langs, indptr, indices, block_size=block_size, top_k=10,
            n_threads=n_threads,
        )  # fmt: skip
        for field in ("pooled_rank", "lang_rank", "score", "topk_indices", "topk_scores"):
            np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
    with pytest.raises(ValueError, match="n_threads"):
        relevant_ranks(q, c, lang, n_langs, indptr, indices, n_threads=0)


def test_a_failing_worker_raises_in_the_caller(monkeypatch: pytest.MonkeyPatch):
    from hybriddash.retrieval import exact_ranks

    def broken(*args):
        raise RuntimeError("kernel failed")

    monkeypatch.setattr(exact_ranks, "_count_block", broken)
    q, c, lang, n_langs, indptr, indices = random_case(7)
    with pytest.raises(RuntimeError, match="kernel failed"):
        relevant_ranks(q, c, lang, n_langs, indptr, indices, block_size=8, n_threads=2)


def test_queries_without_relevant_candidates_and_empty_languages():
    q, c, lang, _, _, _ = random_case(3, nq=5, nc=30, n_langs=3)
    indptr = np.array([0, 2, 2, 3, 3, 5])
    indices = np.array([4, 7, 1, 0, 29])
    got = relevant_ranks(q, c, lang, 6, indptr, indices)  # codes 3..5 have no candidate
    want_lang, want_pooled = brute_force_ranks(q, c, lang, indptr, indices)
    np.testing.assert_array_equal(got.lang_rank, want_lang)
    np.testing.assert_array_equal(got.pooled_rank, want_pooled)
    assert got.lang_sizes[3:].sum() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(indices=np.array([1, 1, 2])), "twice"),
        (lambda a: a.update(indices=np.array([1, 2, 99])), "out of range"),
        (lambda a: a.update(indptr=np.array([0, 2])), "rel_indptr"),
        (lambda a: a["q"].__setitem__((1, 0), np.nan), "row 1"),
        (lambda a: a.update(lang=np.full(10, 3)), r"\[0, 2\)"),
        (lambda a: a.update(c=np.ones((10, 3), np.float32)), "dimension"),
    ],
)
def test_bad_inputs_raise_naming_the_field(change, message):
    args = {
        "q": np.ones((2, 4), np.float32),
        "c": np.ones((10, 4), np.float32),
        "lang": np.zeros(10, dtype=np.int64),
        "indptr": np.array([0, 2, 3]),
        "indices": np.array([1, 2, 3]),
    }
    change(args)
    with pytest.raises(ValueError, match=message):
        relevant_ranks(args["q"], args["c"], args["lang"], 2, args["indptr"], args["indices"])


def _tiny_corpus() -> Corpus:
    cands = [
        Candidate("en-0", "en", "a"),
        Candidate("de-0", "de", "b"),
        Candidate("en-1", "en", "c"),
        Candidate("de-1", "de", "d"),
    ]
    queries = [Query("q1-en", "en", "x", "q1"), Query("q1-de", "de", "y", "q1")]
    relevant = {"q1-en": frozenset({"en-1", "de-1"}), "q1-de": frozenset({"de-1", "en-1"})}
    return Corpus("test", cands, queries, relevant)


def test_corpus_helpers_build_csr_and_codes_in_corpus_order():
    corpus = _tiny_corpus()
    indptr, indices = relevance_csr(corpus)
    np.testing.assert_array_equal(indptr, [0, 2, 4])
    np.testing.assert_array_equal(indices, [2, 3, 2, 3])
    codes, names = language_codes(corpus.candidate_langs)
    assert names == ["de", "en"]
    np.testing.assert_array_equal(codes, [1, 0, 1, 0])
    with pytest.raises(ValueError, match="'en' is not in"):
        language_codes(corpus.candidate_langs, ["de"])

    q = np.array([[1, 0], [0, 1]], np.float32)
    c = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.1, 0.9]], np.float32)
    got = corpus_relevant_ranks(corpus, q, c)
    # query 0 scores: .9 .2 .5 .1 -> pooled order en-0, en-1, de-0, de-1
    np.testing.assert_array_equal(got.pooled_rank[:2], [2, 4])
    np.testing.assert_array_equal(got.lang_rank[:2], [2, 2])
    with pytest.raises(ValueError, match="corpus has 2 x 4"):
        corpus_relevant_ranks(corpus, q[:1], c)
