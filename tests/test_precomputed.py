"""The Findings page's slow results ship precomputed (issue 25: first view <= 10 s) and
are read only when their key answers the store asked (issue 22: no stale verdict)."""

from __future__ import annotations

import pandas as pd
import pytest
from study_toy_store import build_study_store

from hybriddash import config
from hybriddash.reports.study import page, precomputed
from hybriddash.store.db import Store


def _computed(name: str, args: tuple, store: Store) -> list[pd.DataFrame]:
    parts, compute = page._ENTRIES[name]
    return list(compute(page.study_runs(store=store), store, *args))


def _refuse_to_compute(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("computed although a shipped result answers the store")

    for name, (parts, _compute) in list(page._ENTRIES.items()):
        monkeypatch.setitem(page._ENTRIES, name, (parts, refuse))


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    store = build_study_store(tmp_path / "s.duckdb")
    reference = tmp_path / "ref"
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(reference))
    written = page.write_shipped(reference / precomputed.FOLDER, store=store)
    assert len(written) == 2 + 4  # verdicts (claims, comparisons) and 4 gains views
    return store


def test_a_shipped_result_is_read_and_equals_the_computed_one(toy, monkeypatch):
    want = {(n, a): _computed(n, a, toy) for n, a in page.SHIPPED}
    _refuse_to_compute(monkeypatch)
    for (name, args), frames in want.items():
        got = page._result(name, args, store=toy)
        for g, w in zip(got, frames, strict=True):
            pd.testing.assert_frame_equal(g, w)
    claims, comps = page.findings_verdicts(store=toy)
    assert comps["seeds_text"].str.len().gt(0).all()


def test_another_store_or_changed_code_computes_afresh(toy, tmp_path, monkeypatch):
    calls = []
    parts, compute = page._ENTRIES["findings_gains"]

    def counting(*a):
        calls.append(a[2:])
        return compute(*a)

    monkeypatch.setitem(page._ENTRIES, "findings_gains", (parts, counting))
    page.findings_gains("mono", "query_lang", store=toy)
    assert calls == []  # shipped
    with toy.write() as con:  # one run loses a query row: the inputs changed
        run = con.execute("SELECT run_id FROM query_metrics LIMIT 1").fetchone()[0]
        con.execute(
            "DELETE FROM query_metrics WHERE rowid = (SELECT min(rowid) FROM query_metrics "
            "WHERE run_id = ?)",
            [run],
        )
    page.findings_gains("mono", "query_lang", store=toy)
    assert calls == [("mono", "query_lang")]
    monkeypatch.setattr(precomputed, "code_digest", lambda root=None, sources=None: "another rule")
    other = build_study_store(tmp_path / "other.duckdb")
    page.findings_gains("mono", "pair", store=other)
    assert calls[-1] == ("mono", "pair")


def test_a_damaged_or_foreign_file_is_not_used(toy, tmp_path, monkeypatch):
    folder = tmp_path / "ref" / precomputed.FOLDER
    target = next(folder.glob("findings_gains-cross-pair.*"))
    target.write_bytes(b"not parquet")
    want = _computed("findings_gains", ("cross", "pair"), toy)[0]
    pd.testing.assert_frame_equal(page.findings_gains("cross", "pair", store=toy), want)


def test_the_shipped_results_answer_the_shipped_bundle(fresh_install, monkeypatch):
    """Fails when the bundle or the deciding code changed without
    ``python -m hybriddash reproduce --profile standard --report`` writing them again."""
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(config.REPO_ROOT / "reference"))
    runs = page.study_runs(store=fresh_install)
    for name, args in page.SHIPPED:
        parts, _ = page._ENTRIES[name]
        key = precomputed.result_key(name, args, runs, store=fresh_install)
        got = precomputed.read(precomputed.shipped_folder(), name, args, parts, key)
        assert got is not None, f"{name}{args}: stale; rerun reproduce --profile standard --report"
    shipped = page._result("findings_verdicts", (), store=fresh_install)
    for g, w in zip(shipped, _computed("findings_verdicts", (), fresh_install), strict=True):
        pd.testing.assert_frame_equal(g, w)


def test_the_shipped_questions_decision_answers_the_shipped_bundles(fresh_install, monkeypatch):
    """Fails when a questions piece landed, or the questions' deciding code changed,
    without ``python -m hybriddash reproduce --profile questions --report``."""
    from hybriddash.reports.study.question_runs import question_runs

    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(config.REPO_ROOT / "reference"))
    runs = question_runs(store=fresh_install)
    if runs.empty:
        pytest.skip("reference/questions holds no piece")
    key = precomputed.result_key("findings_questions", (), runs, store=fresh_install)
    got = precomputed.read(
        precomputed.shipped_folder(), "findings_questions", (), page.QUESTION_PARTS, key
    )
    assert got is not None, "stale: rerun reproduce --profile questions --report"


@pytest.mark.slow
def test_the_shipped_questions_decision_equals_a_fresh_one(fresh_install, monkeypatch):
    from hybriddash.reports.study.question_runs import question_runs

    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(config.REPO_ROOT / "reference"))
    runs = question_runs(store=fresh_install)
    if runs.empty:
        pytest.skip("reference/questions holds no piece")
    shipped = page.findings_questions(store=fresh_install)
    fresh = page._decide_question_frames(runs, fresh_install)
    for name, want in zip(page.QUESTION_PARTS, fresh, strict=True):
        pd.testing.assert_frame_equal(
            shipped[name].reset_index(drop=True), want.reset_index(drop=True), check_dtype=False
        )


def test_a_changed_questions_rule_is_not_answered_by_the_shipped_file(fresh_install, monkeypatch):
    from hybriddash.reports.study.question_runs import question_runs

    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(config.REPO_ROOT / "reference"))
    runs = question_runs(store=fresh_install)
    real = precomputed.code_digest
    monkeypatch.setattr(
        precomputed,
        "code_digest",
        lambda root=config.REPO_ROOT, sources=precomputed.SOURCES: (
            "edited" if sources == precomputed.QUESTION_SOURCES else real(root, sources)
        ),
    )
    key = precomputed.result_key("findings_questions", (), runs, store=fresh_install)
    assert (
        precomputed.read(
            precomputed.shipped_folder(), "findings_questions", (), page.QUESTION_PARTS, key
        )
        is None
    )
    # the standard claims' files do not read the questions' code
    std = precomputed.result_key("findings_verdicts", (), page.study_runs(store=fresh_install),
                                 store=fresh_install)  # fmt: skip
    assert precomputed.read(
        precomputed.shipped_folder(), "findings_verdicts", (), ("claims", "comparisons"), std
    )
