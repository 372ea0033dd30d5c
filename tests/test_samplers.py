"""Pair table and mono / cross / hybrid batch samplers, checked over thousands of batches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.training.pairs import build_pairs, split_by_group
from hybriddash.training.samplers import ParallelPairBatchSampler, make_batch_sampler

LANGS = ["ar", "de", "en", "es", "zh"]


def parallel_corpus(
    n_groups: int = 120,
    langs: list[str] = LANGS,
    shared_every: int = 0,
    partial: bool = False,
    uneven: bool = False,
) -> Corpus:
    """A synthetic parallel QA corpus: group g has a question and one answer per language.

    ``shared_every = k``: groups 2j and 2j+1 with j % k == 0 share their answer passage
    (as mlqa-train paragraphs do). ``partial``: group g lacks language g % len(langs)
    (MLQA-R groups have 2 to 4 languages). ``uneven``: language i only in groups with
    g % len(langs) >= i, so the languages have 5:4:3:2:1 groups.
    """
    candidates, queries, relevant = [], [], {}
    for g in range(n_groups):
        owner = g - 1 if shared_every and g % 2 == 1 and (g // 2) % shared_every == 0 else g
        for li, lang in enumerate(langs):
            if partial and li == g % len(langs):
                continue
            if uneven and g % len(langs) < li:
                continue
            cid = f"c{owner}-{lang}"
            if owner == g:
                candidates.append(
                    Candidate(cid, lang, f"answer {g} in {lang}", article=f"a{g // 10}")
                )
            qid = f"q{g}-{lang}"
            queries.append(
                Query(qid, lang, f"question {g} in {lang}?", f"g{g}", article=f"a{g // 10}")
            )
            relevant[qid] = frozenset({cid})
    # relevance in every language of the group, as LAReQA has it
    by_group: dict[str, set[str]] = {}
    for q in queries:
        by_group.setdefault(q.group, set()).update(relevant[q.id])
    relevant = {q.id: frozenset(by_group[q.group]) for q in queries}
    return Corpus("synthetic", candidates, queries, relevant)


def monolingual_only_corpus() -> Corpus:
    cands = [Candidate(f"c{g}", "en", f"answer {g}") for g in range(20)]
    qs = [Query(f"q{g}", "en", f"question {g}", f"g{g}") for g in range(20)]
    return Corpus("mono-only", cands, qs, {f"q{g}": frozenset({f"c{g}"}) for g in range(20)})


@pytest.fixture(scope="module")
def table():
    return build_pairs(parallel_corpus(shared_every=3))


# ---- pairs -------------------------------------------------------------------------


def test_pairs_cover_every_language_pair_of_every_group():
    corpus = parallel_corpus(n_groups=10)
    t = build_pairs(corpus)
    assert len(t) == 10 * len(LANGS) ** 2
    assert t.n_mono == 10 * len(LANGS)
    assert t.n_cross == 10 * len(LANGS) * (len(LANGS) - 1)
    for q, p, g, cid in zip(t.qlang, t.plang, t.group, t.candidate_id, strict=True):
        assert cid == f"c{g[1:]}-{p}"
        assert q in LANGS


def test_partial_groups_only_pair_their_own_languages():
    t = build_pairs(parallel_corpus(n_groups=10, partial=True))
    for g, q, p in zip(t.group, t.qlang, t.plang, strict=True):
        missing = LANGS[int(g[1:]) % len(LANGS)]
        assert missing not in (q, p)
    assert len(t) == 10 * (len(LANGS) - 1) ** 2


def test_groups_sharing_a_passage_form_one_component(table):
    comp = dict(zip(table.group, table.component, strict=True))
    assert comp["g0"] == comp["g1"]  # g1 reuses g0's passage
    assert comp["g2"] != comp["g3"]
    assert comp["g6"] == comp["g7"]
    assert len(set(comp.values())) < len(comp)


def test_identical_passage_texts_under_different_ids_are_one_component():
    cands = [Candidate("c1", "en", "Same  paragraph."), Candidate("c2", "en", "same paragraph.")]
    cands.append(Candidate("c3", "en", "other"))
    qs = [Query(f"q{i}", "en", f"question {i}", f"g{i}") for i in (1, 2, 3)]
    rel = {f"q{i}": frozenset({f"c{i}"}) for i in (1, 2, 3)}
    t = build_pairs(Corpus("dup", cands, qs, rel))
    comp = dict(zip(t.group, t.component, strict=True))
    assert comp["g1"] == comp["g2"] != comp["g3"]


def test_validation_split_is_by_group_seeded_and_disjoint(table):
    train, val = split_by_group(table, val_fraction=0.2, seed=3)
    assert set(train.group).isdisjoint(val.group)
    assert set(train.component).isdisjoint(val.component)
    assert set(train.passage_text).isdisjoint(val.passage_text)
    assert len(train) + len(val) == len(table)
    n_comp = len(set(table.component))
    assert len(set(val.component)) == round(0.2 * n_comp)
    # a held-out group keeps all its language pairs
    for g in set(val.group):
        assert sum(1 for x in val.group if x == g) == len(LANGS) ** 2
    again, _ = split_by_group(table, val_fraction=0.2, seed=3)
    other, _ = split_by_group(table, val_fraction=0.2, seed=4)
    assert again.group == train.group
    assert other.group != train.group


def test_empty_corpus_pairs_raise():
    with pytest.raises(ValueError, match="no \\(question"):
        build_pairs(Corpus("empty", [], [], {}))


# ---- samplers ----------------------------------------------------------------------


def draw(table, kind, alpha=0.5, n=3000, batch_size=16, seed=0, epoch=0):
    s = ParallelPairBatchSampler(
        table, batch_size=batch_size, seed=seed, kind=kind, alpha=alpha, num_batches=n
    )
    return s.plan(epoch)


def assert_batch_invariants(table, plans):
    for b in plans:
        rows = list(b.rows)
        groups = [table.group[r] for r in rows]
        comps = [table.component[r] for r in rows]
        texts = [table.passage_text[r] for r in rows]
        assert len(set(groups)) == len(groups), "a parallel group repeats within a batch"
        assert len(set(comps)) == len(comps)
        assert len(set(texts)) == len(texts), "a passage text repeats within a batch"
        if b.kind == "mono":
            assert {table.qlang[r] for r in rows} == {b.lang}
            assert {table.plang[r] for r in rows} == {b.lang}
        else:
            assert all(table.qlang[r] != table.plang[r] for r in rows)


def test_mono_batches_are_single_language_and_languages_uniform(table):
    plans = draw(table, "mono")
    assert all(b.kind == "mono" for b in plans)
    assert_batch_invariants(table, plans)
    assert all(len(b.rows) == 16 for b in plans)
    counts = np.array([sum(b.lang == lang for b in plans) for lang in LANGS])
    assert counts.sum() == 3000
    assert stats.chisquare(counts).pvalue > 1e-3, counts


def test_mono_draws_languages_uniformly_even_when_sizes_differ():
    t = build_pairs(parallel_corpus(n_groups=200, uneven=True))
    sizes = [sum(1 for q, p in zip(t.qlang, t.plang, strict=True) if q == p == x) for x in LANGS]
    assert sizes == [200, 160, 120, 80, 40]
    plans = draw(t, "mono", n=2500, batch_size=8)
    counts = np.array([sum(b.lang == lang for b in plans) for lang in LANGS])
    assert stats.chisquare(counts).pvalue > 1e-3, counts
    assert_batch_invariants(t, plans)


def test_cross_batches_cross_languages_in_every_pair(table):
    plans = draw(table, "cross")
    assert all(b.kind == "cross" for b in plans)
    assert_batch_invariants(table, plans)
    # every ordered language pair appears, about equally often
    pairs: dict[tuple[str, str], int] = {}
    for b in plans:
        for r in b.rows:
            key = (table.qlang[r], table.plang[r])
            pairs[key] = pairs.get(key, 0) + 1
    assert len(pairs) == len(LANGS) * (len(LANGS) - 1)
    assert stats.chisquare(np.array(list(pairs.values()))).pvalue > 1e-3


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
def test_hybrid_share_of_mono_batches_matches_alpha(table, alpha):
    n = 4000
    plans = draw(table, "hybrid", alpha=alpha, n=n)
    assert_batch_invariants(table, plans)
    n_mono = sum(b.kind == "mono" for b in plans)
    lo, hi = stats.binomtest(n_mono, n, alpha).proportion_ci(confidence_level=0.999)
    assert lo <= alpha <= hi, (n_mono / n, alpha)


def test_hybrid_alpha_extremes_are_cross_and_mono(table):
    assert all(b.kind == "cross" for b in draw(table, "hybrid", alpha=0.0, n=500))
    assert all(b.kind == "mono" for b in draw(table, "hybrid", alpha=1.0, n=500))


def test_same_seed_same_batches_other_seed_or_epoch_differ(table):
    a = draw(table, "hybrid", n=200, seed=7)
    b = draw(table, "hybrid", n=200, seed=7)
    assert a == b
    assert a != draw(table, "hybrid", n=200, seed=8)
    assert a != draw(table, "hybrid", n=200, seed=7, epoch=1)


def test_iteration_follows_set_epoch(table):
    s = ParallelPairBatchSampler(table, batch_size=8, seed=1, kind="hybrid", num_batches=20)
    first = list(s)
    assert first == list(s)
    s.set_epoch(1)
    assert list(s) != first
    assert len(s) == 20 == len(list(s))


def test_default_epoch_length_is_one_pass_over_components(table):
    s = ParallelPairBatchSampler(table, batch_size=16, kind="mono")
    assert len(s) == len(set(table.component)) // 16


def test_trainer_calling_convention_reads_metadata_from_dataset(table):
    ds = table.to_dataset()
    assert ds.column_names[:2] == ["anchor", "positive"]
    assert set(ds[0]) == {"anchor", "positive"}  # the collator sees only the texts
    assert ds[0]["anchor"].startswith("query: ") and ds[0]["positive"].startswith("passage: ")
    factory = make_batch_sampler("cross")
    s = factory(ds, batch_size=8, drop_last=False, valid_label_columns=None, generator=None, seed=0)
    for batch in list(s)[:50]:
        rows = ds.with_format(None).select(batch)
        assert all(q != p for q, p in zip(rows["qlang"], rows["plang"], strict=True))


def test_small_pools_give_short_batches_marked_variable(table):
    small = build_pairs(parallel_corpus(n_groups=6))
    s = ParallelPairBatchSampler(small, batch_size=16, kind="hybrid", num_batches=50)
    assert s.batch_size is None  # accelerate must not drop short batches
    assert_batch_invariants(small, s.plan())
    assert all(len(b.rows) == 6 for b in s.plan())
    full = ParallelPairBatchSampler(table, batch_size=16, kind="hybrid")
    assert full.batch_size == 16


def test_invalid_settings_are_rejected(table):
    with pytest.raises(ValueError, match="alpha"):
        ParallelPairBatchSampler(table, batch_size=4, kind="hybrid", alpha=1.5)
    with pytest.raises(ValueError, match="kind"):
        make_batch_sampler("random")
    mono_only = build_pairs(monolingual_only_corpus())
    with pytest.raises(ValueError, match="cross-lingual"):
        ParallelPairBatchSampler(mono_only, batch_size=4, kind="cross")
    assert len(list(ParallelPairBatchSampler(mono_only, batch_size=4, kind="mono"))) == 5


def test_ddp_ranks_take_disjoint_shares_of_one_global_sequence(table, monkeypatch):
    from accelerate.data_loader import BatchSamplerShard

    monkeypatch.setenv("WORLD_SIZE", "2")
    s = ParallelPairBatchSampler(table, batch_size=8, seed=5, kind="hybrid", num_batches=7)
    assert len(s) == 8  # rounded up to a multiple of the world size
    global_batches = list(s)
    shares = [
        list(BatchSamplerShard(s, num_processes=2, process_index=r, even_batches=False))
        for r in (0, 1)
    ]
    assert len(shares[0]) == len(shares[1]) == 4
    assert shares[0] == global_batches[0::2]
    assert shares[1] == global_batches[1::2]
