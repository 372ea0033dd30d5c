"""Contamination guard: overlap of a model's training groups/texts with an evaluation corpus."""

from __future__ import annotations

from hybriddash.data.corpus import Candidate, Corpus, Query
from hybriddash.training.contamination import (
    TrainingGroup,
    check_contamination,
    normalize_text,
    text_hash,
    training_groups_of,
)


def corpus(groups: dict[str, str], dataset_id: str = "eval") -> Corpus:
    """One English query per group (text given), each with its own answer."""
    cands = [Candidate(f"c-{g}", "en", f"answer to {g}") for g in groups]
    qs = [Query(f"q-{g}", "en", text, g) for g, text in groups.items()]
    return Corpus(dataset_id, cands, qs, {f"q-{g}": frozenset({f"c-{g}"}) for g in groups})


def test_normalisation_ignores_case_width_and_spacing_but_not_words():
    assert normalize_text("  What  is\tTHE capital?\n") == "what is the capital?"
    assert normalize_text("Ｐａｒｉｓ") == "paris"  # NFKC folds full-width letters
    assert text_hash("Who wrote Faust?") == text_hash("who  wrote faust?")
    assert text_hash("Who wrote Faust?") != text_hash("Who wrote Hamlet?")
    assert len(text_hash("x")) == 40


def test_disjoint_corpus_is_clean():
    train = corpus({"g1": "Who wrote Faust?", "g2": "Where is Lima?"})
    report = check_contamination(corpus({"h1": "How tall is K2?"}), training_groups_of(train))
    assert not report.contaminated and report.fraction == 0 and report.note() == ""


def test_shared_group_ids_are_flagged():
    train = corpus({"g1": "Who wrote Faust?", "g2": "Where is Lima?"})
    evalc = corpus({"g1": "A reworded question", "h1": "How tall is K2?"})
    report = check_contamination(evalc, training_groups_of(train))
    assert report.shared_groups == ["g1"]
    assert report.contaminated_queries == ["q-g1"]
    assert report.fraction == 0.5
    assert "1 of 2 queries" in report.note() and "1 of 2 parallel groups" in report.note()


def test_same_question_text_under_another_id_is_flagged():
    train = corpus({"g1": "Who wrote Faust?"})
    evalc = corpus({"copy-7": "who wrote  FAUST?", "h1": "How tall is K2?"})
    report = check_contamination(evalc, training_groups_of(train))
    assert report.shared_groups == []
    assert report.shared_text_queries == ["q-copy-7"]
    assert report.contaminated


def test_store_rows_as_tuples_and_missing_hashes_are_accepted():
    evalc = corpus({"g1": "Who wrote Faust?", "h1": "How tall is K2?"})
    report = check_contamination(evalc, [("g1", None), ("zz", text_hash("How tall is K2?"))])
    assert report.contaminated_queries == ["q-g1", "q-h1"]
    assert check_contamination(evalc, []).contaminated is False


def test_training_groups_can_be_restricted_and_are_deduplicated():
    train = corpus({"g1": "Who wrote Faust?", "g2": "Where is Lima?"})
    rows = training_groups_of(train, groups=["g2"])
    assert rows == [TrainingGroup("g2", text_hash("Where is Lima?"))]


def test_sample_corpus_against_itself_is_fully_contaminated(sample_corpus):
    report = check_contamination(sample_corpus, training_groups_of(sample_corpus))
    assert report.fraction == 1.0
    assert len(report.shared_groups) == report.n_groups
