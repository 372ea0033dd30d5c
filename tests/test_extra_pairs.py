"""Extra parallel pairs on the cross-lingual side of the batches; the segment-id split."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from test_samplers import parallel_corpus

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.training.contamination import check_contamination, text_hash, training_groups_of
from hybriddash.training.extra_pairs import (
    extra_pair_table,
    parse_pair_source,
    segment_split,
    split_corpus,
    split_proof,
    with_extra_pairs,
)
from hybriddash.training.pairs import build_pairs, split_by_group
from hybriddash.training.samplers import ParallelPairBatchSampler
from hybriddash.training.trainer import TrainConfig, config_fingerprint


def test_the_segment_split_is_the_documented_hash_and_about_half():
    ids = [f"PubMed_{i}:{j}" for i in range(60) for j in range(20)]
    for tuid in ids[:50]:
        digest = hashlib.sha256(f"tico-19-split-v1:{tuid}".encode()).hexdigest()
        expected = "test" if int(digest[:8], 16) < 2**31 else "train"
        assert segment_split(tuid) == expected
    share = Counter(map(segment_split, ids))["test"] / len(ids)
    assert 0.46 < share < 0.54  # binomial sd over 1,200 ids: 0.014
    assert [segment_split(t) for t in ids] == [segment_split(t) for t in ids]


def test_train_and_test_share_no_segment_by_id_or_by_text():
    corpus = parallel_corpus(n_groups=80)
    train, test = split_corpus(corpus, "train"), split_corpus(corpus, "test")
    train_groups, test_groups = {q.group for q in train.queries}, {q.group for q in test.queries}
    assert train_groups.isdisjoint(test_groups)
    assert train_groups | test_groups == {q.group for q in corpus.queries}
    assert all(segment_split(g) == "test" for g in test_groups)
    assert not check_contamination(test, training_groups_of(train)).contaminated
    assert check_contamination(train, training_groups_of(train)).contaminated
    assert train.fingerprint != test.fingerprint != corpus.fingerprint
    proof = split_proof(corpus)
    assert proof["clean"] and proof["shared_groups"] == proof["shared_text_queries"] == 0


def test_a_train_segment_with_a_test_segments_text_is_dropped():
    groups = [f"s{i}" for i in range(40)]
    test_g = next(g for g in groups if segment_split(g) == "test")
    train_g = next(g for g in groups if segment_split(g) == "train")
    cands, queries, rel = [], [], {}
    for g in groups:
        # train_g's French text is test_g's: the same sentence under two ids
        for lang in ("en", "fr"):
            text = f"sentence {test_g} {lang}" if (g, lang) == (train_g, "fr") else None
            text = text or f"sentence {g} {lang}"
            cands.append(Candidate(f"c-{g}-{lang}", lang, text))
            queries.append(Query(f"q-{g}-{lang}", lang, text, g))
        for lang, other in (("en", "fr"), ("fr", "en")):
            rel[f"q-{g}-{lang}"] = frozenset({f"c-{g}-{other}"})
    corpus = Corpus("dup", cands, queries, rel)
    train = split_corpus(corpus, "train")
    assert train_g not in {q.group for q in train.queries}
    assert split_proof(corpus)["clean"]
    # without the drop the guard would find the shared text
    naive = [q for q in corpus.queries if segment_split(q.group) == "train"]
    test = split_corpus(corpus, "test")
    assert check_contamination(test, [(q.group, text_hash(q.text)) for q in naive]).contaminated


def test_pair_source_specs_parse_and_bad_ones_say_why():
    src = parse_pair_source("tico-19[domain=pubmed,segments=train]")
    assert (src.dataset, src.split, src.langs) == ("tico-19[domain=pubmed]", "train", None)
    # the loader's own selector syntax: parts by ';', languages by ','
    src = parse_pair_source("tico-19[domain=cmu;langs=en,fr;segments=test]")
    assert (src.dataset, src.split, src.langs) == ("tico-19[domain=cmu]", "test", ("en", "fr"))
    src = parse_pair_source("sample[segments=test,langs=en+de]")
    assert (src.dataset, src.split, src.langs) == ("sample", "test", ("de", "en"))
    for bad, why in (
        ("tico-19[segments=dev]", "segments must be one of"),
        ("tico-19[domain]", "is not key=value"),
        ("tico-19[a=1", "expected DATASET"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_pair_source(bad)


def _tables(share: float = 0.25):
    main = build_pairs(parallel_corpus(n_groups=120))
    train, _val = split_by_group(main, 0.1, seed=0)
    extra = extra_pair_table(
        split_corpus(parallel_corpus(n_groups=200, langs=["en", "sw", "ha"]), "train"),
        component_offset=max(main.component) + 1,
    )
    return train, extra, with_extra_pairs(train, extra)


def test_extra_pairs_fill_their_share_of_cross_batches_and_never_mono_ones():
    _train, extra, joined = _tables()
    assert set(np.flatnonzero(joined.extra)) == set(range(len(_train), len(joined)))
    assert all(q != p for q, p in zip(extra.qlang, extra.plang, strict=True))
    ds = joined.to_dataset()
    sampler = ParallelPairBatchSampler(ds, 16, seed=3, kind="hybrid", extra_share=0.25)
    kinds = Counter()
    for e in range(20):
        for batch in sampler.plan(e):
            flags = [joined.extra[r] for r in batch.rows]
            comps = [joined.component[r] for r in batch.rows]
            assert len(set(comps)) == len(comps)  # one row per conflict component
            if batch.kind == "mono":
                assert not any(flags)
            else:
                assert sum(flags) == 4 and len(flags) == 16
            kinds[batch.kind] += 1
    assert kinds["mono"] and kinds["cross"]
    cross = ParallelPairBatchSampler(ds, 16, seed=3, kind="cross", extra_share=1.0)
    assert all(all(joined.extra[r] for r in b.rows) for b in cross.plan(0))
    with pytest.raises(ValueError, match="extra_share"):
        ParallelPairBatchSampler(ds, 16, kind="cross", extra_share=1.5)


def test_a_table_without_extra_pairs_plans_as_before():
    train, _extra, joined = _tables()
    plain = ParallelPairBatchSampler(train.to_dataset(), 16, seed=1, kind="hybrid")
    assert "extra" not in train.to_dataset().with_format(None).column_names
    same = ParallelPairBatchSampler(train, 16, seed=1, kind="hybrid", extra_share=0.9)
    assert plain.plan(0) == same.plan(0) and plain.plan(3) == same.plan(3)
    # the rows of the extra table never reach a monolingual pool
    mono = ParallelPairBatchSampler(joined.to_dataset(), 16, seed=1, kind="mono")
    assert max(r for b in mono.plan(0) for r in b.rows) < len(train)


def test_extra_pairs_enter_the_fingerprint_and_keep_old_ones():
    plain = TrainConfig(out="m", sampler="hybrid")
    assert config_fingerprint(plain, "b", "d") == config_fingerprint(
        TrainConfig(out="m", sampler="hybrid", extra_share=0.9), "b", "d"
    )
    with_pairs = TrainConfig(out="m", sampler="hybrid", extra_pairs="sample[segments=train]")
    assert config_fingerprint(with_pairs, "b", "d") != config_fingerprint(plain, "b", "d")
    with pytest.raises(ValueError, match="X-X-mono batches have none"):
        TrainConfig(out="m", sampler="mono", extra_pairs="sample[segments=train]")
    with pytest.raises(ValueError, match="segments must be one of"):
        TrainConfig(out="m", extra_pairs="sample[segments=validation]")


def test_a_model_trained_with_extra_pairs_records_them_and_their_segments(
    tmp_artifacts, sample_corpus, tiny_model_spec
):
    from hybriddash.store.db import Store
    from hybriddash.training.extra_pairs import load_pair_source
    from hybriddash.training.trainer import train

    store = Store()
    cfg = TrainConfig(
        out="hx",
        sampler="hybrid",
        base=tiny_model_spec.source,
        train_data="sample",
        steps=2,
        batch_size=4,
        max_length=24,
        eval_every=2,
        freeze_layers=1,
        extra_pairs="sample[segments=train]",
        extra_share=0.5,
    )
    result = train(
        cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False, store=store
    )
    info = result.card["extra_pairs"]
    assert info["split"] == ["train"] and info["split_proof"]["sample[segments=train]"]["clean"]
    assert info["n_pairs"] > 0 and info["share_of_cross_batches"] == 0.5
    assert "+ sample[segments=train] pairs" in result.card["description"]
    extra = load_pair_source("sample[segments=train]")
    with store.read() as con:
        groups = con.execute(
            "SELECT group_id, text_hash FROM model_training_groups WHERE model_id = ?",
            [result.model_id],
        ).fetchall()
    held = {h for _g, h in groups}
    assert {g.text_hash for g in training_groups_of(extra)} <= held
    # the test side of the split was never trained on: the store's groups prove it for
    # the extra source (the main corpus here is the whole sample, so it is excluded)
    test = split_corpus(sample_corpus, "test")
    assert not check_contamination(test, training_groups_of(extra)).contaminated


def test_several_sources_join_into_one_corpus(sample_corpus):
    from hybriddash.training.extra_pairs import load_pair_source

    joined = load_pair_source("sample[segments=train]; sample[segments=test]")
    train, test = split_corpus(sample_corpus, "train"), split_corpus(sample_corpus, "test")
    assert len(joined.queries) == len(train.queries) + len(test.queries)
    assert joined.subset["sources"] == ["sample[segments=train]", "sample[segments=test]"]
    with pytest.raises(ValueError, match="no source given"):
        TrainConfig(out="m", extra_pairs=" ; ")
