"""The research questions on a store and in the docs (issue 24): the store's runs give the
frames' verdicts, the Findings page shows one section per question (AppTest), and
``reproduce --profile questions --report`` writes the verdicts into docs/results.md and
the README's opening answers from a bundle, leaving the rules section as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from questions_toy_store import build_questions, write_store
from study_toy_store import build_study_store, open_findings

from hybriddash.reports.study.question_runs import question_runs, question_runs_from
from hybriddash.reports.study.question_verdicts import (
    NOT_RUN,
    decide_questions,
    question_verdicts,
    store_probe,
    store_values,
)

# a small study: every role on the suites two questions need, 20 groups
ROLES_Q24 = {
    "base": ("tydiqa-goldp", "xnli"),
    "mono": ("tydiqa-goldp", "xnli", "xnli-bitext"),
    "hybrid": ("tydiqa-goldp", "xnli", "xnli-bitext"),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    toy = build_questions(roles=ROLES_Q24, n_groups=20)
    path = tmp_path_factory.mktemp("q") / "questions.duckdb"
    return toy, write_store(toy, path)


def test_the_store_gives_the_frames_verdicts(small):
    toy, store = small
    from_store = question_runs(store=store)
    from_frames = question_runs_from(toy.runs, toy.models)
    key = ["run_id", "role", "suite", "seed"]
    assert from_store[key].sort_values("run_id").values.tolist() == (
        from_frames[key].sort_values("run_id").values.tolist()
    )
    a = decide_questions(
        from_store, store_values(store), store_probe(store), n_resamples=500, questions=["Q2", "Q4"]
    )
    b = decide_questions(
        from_frames, toy.value_source(), toy.probe_source(), n_resamples=500, questions=["Q2", "Q4"]
    )
    for va, vb in zip(a, b, strict=True):
        assert va.verdict == vb.verdict
        for ra, rb in zip(va.rows, vb.rows, strict=True):
            assert ra.reading == rb.reading
            assert ra.effect == pytest.approx(rb.effect, abs=1e-12, nan_ok=True)
            assert ra.ci_low == pytest.approx(rb.ci_low, abs=1e-12, nan_ok=True)


def test_findings_page_shows_each_question(small, tmp_path, monkeypatch):
    _toy, store = small
    at = open_findings(monkeypatch, Path(store.path))
    subheaders = [s.value for s in at.subheader]
    for q in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        assert any(s.startswith(f"{q}. ") for s in subheaders), subheaders
    infos = [i.value for i in at.info]
    # Q1, Q3 and Q5 have no runs: one short line each, no chart, no table
    for q in ("Q1", "Q3", "Q5"):
        assert any(i.startswith(f"{q}: not run yet") for i in infos), infos
    verdicts = [m.value for m in at.markdown if m.value.startswith("**Verdict:")]
    assert any("does not degrade" in v for v in verdicts), verdicts
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("XNLI aligned rows: bitext accuracy") for t in titles), titles
    assert any(t.startswith("TyDi QA GoldP monolingual mAP per language") for t in titles)
    assert not any("TICO-19" in t or "Per-language gain of hybrid over" in t for t in titles)
    tables = [d.value for d in at.dataframe if "reading" in d.value.columns]
    assert [len(t) for t in tables] == [4, 4]  # Q2, Q4
    q4 = tables[1]
    assert q4["unit"].eq("mAP").all() and q4["effect"].str.fullmatch(r"[+-]\d\.\d{3}").all()
    assert not q4.isna().any().any()


def test_findings_page_without_questions_runs(tmp_path, monkeypatch):
    build_study_store(tmp_path / "std.duckdb")
    at = open_findings(monkeypatch, tmp_path / "std.duckdb")
    infos = [i.value for i in at.info]
    assert sum(i.split(":")[0] in {"Q1", "Q2", "Q3", "Q4", "Q5"} and "not run yet" in i
               for i in infos) == 5  # fmt: skip
    assert not any(m.value.startswith("**Verdict:") for m in at.markdown)


def test_report_writes_the_verdicts_and_keeps_the_rules(small, tmp_path, monkeypatch):
    from hybriddash.cli import main
    from hybriddash.store import bundle

    _toy, store = small
    folder = tmp_path / "questions"
    bundle.export_store(folder, store=store, label="questions", command="toy")
    results = tmp_path / "results.md"
    rules = (
        "<!-- questions_rule:start -->\n## Research questions: decision rules\nrule text\n"
        "<!-- questions_rule:end -->\n"
    )
    results.write_text("# Results\n\n" + rules, encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# hybriddash\n\nintro\n\n## Set up and run\n\nsteps\n", encoding="utf-8")
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(tmp_path / "art"))
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", "off")
    args = ["reproduce", "--profile", "questions", "--report", "--bundle", str(folder),
            "--shared-bundle", "none", "--results", str(results), "--readme", str(readme)]  # fmt: skip
    assert main(args) == 0
    text = results.read_text(encoding="utf-8")
    assert rules in text  # the rules section untouched
    section = text.split("<!-- questions_results:start -->")[1].split(
        "<!-- questions_results:end -->"
    )[0]
    for q in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        assert f"### {q}. " in section
    assert "**Verdict: does not degrade.**" in section
    assert section.count("**Verdict: not run yet.**") == 3
    assert "repro-questions-mlqa-r-hybrid-pairs-s3" in section  # what is missing, by piece
    # the same numbers as a decision on the store the bundle came from
    q4 = next(v for v in question_verdicts(store=store) if v.question == "Q4")
    assert f"{q4.rows[0].effect:+.3f}" in section
    answers = readme.read_text(encoding="utf-8")
    head = answers.split("## Set up and run")[0]
    assert "<!-- questions-answers:start -->" in head
    assert head.count("\n- **Q") == 5 and "does not degrade" in head
    assert (
        "- **Q3 Domain-specific parallel data in the hybrid batches:** not run yet (6 of " in head
    )
    # rerunning rewrites the same sections in place
    assert main(args) == 0
    assert results.read_text(encoding="utf-8") == text
    assert readme.read_text(encoding="utf-8") == answers
    assert NOT_RUN in section


def test_each_question_exports_in_every_format(small, tmp_path, monkeypatch):
    import pandas as pd

    from hybriddash.cli import main

    _toy, store = small
    monkeypatch.setenv("HYBRIDDASH_STORE", str(store.path))
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(tmp_path / "art"))
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", "off")
    for suffix in ("csv", "md", "tex", "parquet"):
        assert main(["export", "--question", "Q4", "--out", str(tmp_path / f"q4.{suffix}")]) == 0
    q4 = next(v for v in question_verdicts(store=store) if v.question == "Q4")
    csv = pd.read_csv(tmp_path / "q4.csv")
    assert len(csv) == 4 and set(csv["verdict"]) == {q4.verdict}
    assert csv["effect"].tolist() == pytest.approx([r.effect for r in q4.rows], abs=1e-15)
    assert pd.read_parquet(tmp_path / "q4.parquet")["reading"].tolist() == [
        r.reading for r in q4.rows
    ]
    md = (tmp_path / "q4.md").read_text(encoding="utf-8")
    assert f"Verdict: {q4.verdict}" in md and f"{q4.rows[0].effect:+.3f}" in md
    tex = (tmp_path / "q4.tex").read_text(encoding="utf-8")
    assert "\\toprule" in tex and "non-inferior" in tex
    # a question without runs exports its rows as "not run yet", numbers left empty
    assert main(["export", "--question", "Q1", "--out", str(tmp_path / "q1.csv")]) == 0
    q1 = pd.read_csv(tmp_path / "q1.csv")
    assert set(q1["reading"]) == {NOT_RUN} and q1["effect"].isna().all()


@pytest.mark.slow  # the full constructed study, every suite decided at B = 10,000: ~30 s
def test_findings_page_draws_every_question_chart(tmp_path, monkeypatch):
    """The full constructed study: Q1's bars by domain and model, Q3's before / after,
    Q5's scatter of per-language gain on log10 CC-100 size with its fitted line, band
    and every language labelled."""
    toy = build_questions(n_groups=30)
    write_store(toy, tmp_path / "full.duckdb")
    at = open_findings(monkeypatch, tmp_path / "full.duckdb")
    assert not any("not run yet" in i.value for i in at.info)
    charts = {
        c["layout"]["title"]["text"].split(" (")[0]: c
        for c in (json.loads(p.proto.spec) for p in at.get("plotly_chart"))
    }
    bars = charts["TICO-19 multilingual mAP by domain and model"]
    assert [t["name"] for t in bars["data"]] == ["base (no training)", "X-X-mono", "X-Y", "Hybrid"]
    assert bars["data"][0]["x"] == ["wikipedia", "pubmed", "cmu", "wikivoyage", "wikinews",
                                    "wikisource"]  # fmt: skip
    before = charts["Before / after the biomedical pairs: multilingual mAP"]
    assert [t["name"] for t in before["data"]] == ["Hybrid", "Hybrid + domain pairs"]
    assert len(before["data"][0]["x"]) == 3  # biomedical, other domains, XQuAD-R
    scatter = next(c for t, c in charts.items() if t.startswith("Per-language gain of hybrid over"))
    names = [t["name"] for t in scatter["data"]]
    assert names == ["slope's 99.57% interval", "OLS fit", "languages"]
    points = scatter["data"][2]
    assert "ber" not in points["text"] and {"ha", "ru", "de"} <= set(points["text"])
    fit = scatter["data"][1]
    slope = (fit["y"][-1] - fit["y"][0]) / (fit["x"][-1] - fit["x"][0])
    assert slope == pytest.approx(-0.10, abs=0.03)  # the constructed slope
    verdicts = [m.value for m in at.markdown if m.value.startswith("**Verdict:")]
    assert len(verdicts) == 5 and verdicts[0].startswith("**Verdict: improves.**")


def test_q2_draws_the_shipped_xnli_umap_of_each_model(tmp_path, monkeypatch):
    """A bundle piece ships the XNLI projection of X-X-mono and hybrid (seed 3), not of
    the base: the section draws two panels coloured by language and names the base."""
    import pandas as pd

    from hybriddash.reports.study.question_charts import xnli_projections

    toy = build_questions(roles=ROLES_Q24, n_groups=20)
    store = write_store(toy, tmp_path / "q.duckdb")
    runs = question_runs(store=store)
    xnli = runs[(runs["suite"] == "xnli") & (runs["seed"] == 3)].set_index("role")
    folder = tmp_path / "bundle"
    pieces = {}
    for role in ("mono", "hybrid"):
        run = xnli.loc[role]
        rows = pd.DataFrame(
            {"projection_id": "p", "model_id": run["model_id"], "corpus_fp": run["corpus_fp"],
             "item_id": [f"h{i}/{lang}" for i in range(3) for lang in ("de", "en")],
             "item_kind": "candidate", "lang": ["de", "en"] * 3,
             "group_id": [f"p{i}" for i in range(3) for _ in range(2)],
             "x": range(6), "y": range(6)}
        )  # fmt: skip
        (folder / "pieces" / role).mkdir(parents=True)
        rows.to_parquet(folder / "pieces" / role / "alignment_projection.parquet")
        pieces[role] = {
            "model_ids": [run["model_id"]],
            "files": {"alignment_projection": {"path": "alignment_projection.parquet"}},
        }
    with store.write() as con:
        con.execute(
            "INSERT INTO reference_bundles (bundle_id, path, manifest, loaded_at) "
            "VALUES ('q', ?, ?, current_timestamp)",
            [str(folder), json.dumps({"pieces": pieces})],
        )
    umap = xnli_projections(runs, store=store)
    assert umap.groupby("model").size().to_dict() == {"Hybrid": 6, "X-X-mono": 6}
    assert set(umap["seed"]) == {3}
    at = open_findings(monkeypatch, Path(store.path))
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "X-X-mono (seed 3)" in titles and "Hybrid (seed 3)" in titles
    captions = [c.value for c in at.caption]
    assert any(c.startswith("No shipped XNLI projection for base (no training)") for c in captions)


def test_questions_detail_keeps_what_the_questions_read_and_no_texts(tmp_path):
    """The questions bundle's detail level: per-query AP the verdicts read (TICO-19's
    cross-lingual pools left out), the probe's items, no texts; the verdicts from a
    fresh store loaded from it are the source's."""
    from hybriddash.store import bundle
    from hybriddash.store.db import Store

    roles = {"mono": ("xnli", "tico-19:pubmed"), "hybrid": ("xnli", "tico-19:pubmed")}
    toy = build_questions(roles=roles, n_groups=20)
    source = write_store(toy, tmp_path / "src.duckdb")
    runs = question_runs(store=source)
    tico = runs.loc[runs["suite"] == "tico-19:pubmed", "run_id"].tolist()
    with source.write() as con:  # a cross-lingual TICO-19 pool no question reads
        con.execute(
            "INSERT INTO query_metrics (run_id, query_id, query_lang, group_id, cand_lang, "
            "setting, ap) VALUES (?, 'x', 'en', 'g', 'fr', 'crosslingual', 0.5)",
            [tico[0]],
        )
        con.execute(
            "INSERT INTO corpus_queries VALUES (?, 'x', 'en', 'g', 'a text')",
            [runs["corpus_fp"].iloc[0]],
        )
    folder = tmp_path / "b"
    bundle.open_bundle(folder)
    for model, part in runs.groupby("model_id"):
        bundle.export_piece(
            folder, model.replace("/", "-"), model_ids=[model], run_ids=part["run_id"].tolist(),
            store=source, run_detail=dict.fromkeys(part["run_id"], "questions"),
        )  # fmt: skip
    manifest = bundle.verify_bundle(folder)
    assert not any(bundle._has_texts(c) for c in manifest["corpora"].values())
    fresh = Store(tmp_path / "fresh.duckdb")
    bundle.load_bundle(folder, fresh)
    with fresh.read() as con:
        cross = con.execute(
            "SELECT count(*) FROM query_metrics WHERE setting = 'crosslingual' AND "
            "list_contains(?, run_id)",
            [tico],
        ).fetchone()[0]
        items = con.execute("SELECT count(*) FROM run_language_probe_items").fetchone()[0]
        texts = con.execute("SELECT count(*) FROM corpus_queries").fetchone()[0]
    assert cross == 0 and items > 0 and texts == 0
    got = decide_questions(
        question_runs(store=fresh), store_values(fresh), store_probe(fresh), n_resamples=300,
        questions=["Q2"],
    )  # fmt: skip
    want = decide_questions(
        runs, store_values(source), store_probe(source), n_resamples=300, questions=["Q2"]
    )
    for g, w in zip(got[0].rows, want[0].rows, strict=True):
        assert g.reading == w.reading
        assert g.effect == pytest.approx(w.effect, abs=1e-12, nan_ok=True)
        assert g.ci_low == pytest.approx(w.ci_low, abs=1e-12, nan_ok=True)
