"""Comparison-table exports: same numbers as the store, valid LaTeX, Markdown tables,
significance markers; the export and compare CLIs."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybriddash.reports.export import TABLES, build_export, render, write_export


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_spec):
    """A store with two models evaluated on the sample corpus; yields (store, models)."""
    from hybriddash.evaluation import evaluate
    from hybriddash.store.db import Store

    root = tmp_path_factory.mktemp("export-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(root))
        mp.setenv("HYBRIDDASH_STORE", str(root / "store.duckdb"))
        store = Store(root / "store.duckdb")
        # a second "model": the same tiny weights without the e5 prefixes embed
        # differently; its own fingerprint keeps its runs apart
        plain = dataclasses.replace(
            tiny_model_spec,
            model_id="tiny-noprefix",
            fingerprint="00000000feedbeef",
            query_prefix="",
            passage_prefix="",
        )
        for spec in (tiny_model_spec, plain):
            evaluate(spec, "sample", store=store, progress=False, k=20)
        yield store, [tiny_model_spec.model_id, "tiny-noprefix"], root


def check_latex_table(text: str) -> list[str]:
    """Problems of a booktabs table: braces, rules, environments, cells per row."""
    problems = []
    depth = 0
    for i, ch in enumerate(text):
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth < 0:
                problems.append(f"unbalanced '}}' at offset {i}")
                depth = 0
    if depth:
        problems.append(f"{depth} unclosed '{{'")
    long = "\\begin{longtable}" in text
    for env in ("longtable",) if long else ("table", "tabular"):
        if text.count(f"\\begin{{{env}}}") != 1 or text.count(f"\\end{{{env}}}") != 1:
            problems.append(f"expected one \\begin/\\end{{{env}}}")
    rules = [r for r in re.findall(r"\\(toprule|midrule|bottomrule)", text)]
    if long:
        # head (first page), head (next pages), foot, then the body's group rules
        if rules[:5] != ["toprule", "midrule", "toprule", "midrule", "bottomrule"]:
            problems.append(f"longtable head/foot rules out of order: {rules[:5]}")
        for marker in ("\\endfirsthead", "\\endhead", "\\endfoot", "\\caption{"):
            if text.count(marker) != 1:
                problems.append(f"expected one {marker}")
    elif not rules or rules[0] != "toprule" or rules[-1] != "bottomrule" or "midrule" not in rules:
        problems.append(f"rules out of order: {rules}")
    env = "longtable" if long else "tabular"
    spec = re.search(r"\\begin\{" + env + r"\}\{([lrc]+)\}", text)
    if not spec:
        return [*problems, f"no {env} column spec"]
    n_cols = len(spec.group(1))
    body = text[spec.end() : text.index(f"\\end{{{env}}}")]
    for line in body.splitlines():
        line = line.strip()
        if (
            not line
            or line.startswith("\\")
            and line.rstrip("\\").strip()
            in (
                "\\toprule",
                "\\midrule",
                "\\bottomrule",
                "\\endfirsthead",
                "\\endhead",
                "\\endfoot",
            )
            or line.startswith("\\caption{")
        ):
            continue
        if not line.endswith("\\\\"):
            problems.append(f"row does not end with \\\\: {line[:40]}")
            continue
        cells = re.split(r"(?<!\\)&", line[:-2])
        if len(cells) != n_cols:
            problems.append(f"{len(cells)} cells, spec has {n_cols}: {line[:40]}")
    return problems


def parse_markdown_table(text: str) -> list[list[str]]:
    """Rows of the first pipe table in ``text`` (header first); asserts its shape."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(lines) >= 3, "no markdown table"
    assert re.fullmatch(r"\|( -{3,}:? \|)+", lines[1]), lines[1]
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
    width = len(rows[0])
    assert all(len(r) == width for r in rows), "ragged markdown table"
    return [rows[0], *rows[2:]]


@pytest.mark.parametrize("table", TABLES)
def test_csv_and_parquet_reread_equal_the_store(table: str, two_runs) -> None:
    store, models, _ = two_runs
    exported = build_export(table, "sample", models, store=store, n_resamples=500)
    from_csv = pd.read_csv(
        io.BytesIO(render(exported, "csv")), keep_default_na=False, na_values=[""]
    )
    from_parquet = pd.read_parquet(io.BytesIO(render(exported, "parquet")))
    assert len(from_csv) == len(exported.data) == len(from_parquet)
    numeric = exported.data.select_dtypes("number").columns
    for col in numeric:
        np.testing.assert_array_equal(
            from_csv[col].to_numpy(float), exported.data[col].to_numpy(float)
        )
        np.testing.assert_array_equal(
            from_parquet[col].to_numpy(float), exported.data[col].to_numpy(float)
        )


def test_headline_export_holds_the_stored_numbers(two_runs) -> None:
    from hybriddash.store import reads

    store, models, _ = two_runs
    exported = build_export("headline", "sample", models, store=store, n_resamples=500)
    stored = reads.headline(list(exported.data["run_id"]), store=store).set_index("run_id")
    for _, row in exported.data.iterrows():
        for m in ("monolingual", "crosslingual", "multilingual", "rank_distance"):
            assert row[m] == stored.loc[row["run_id"], m]
    # the baseline (first model) gets no marker; the other has p-values for all 4 settings
    base = exported.data[exported.data["model_id"] == models[0]].iloc[0]
    other = exported.data[exported.data["model_id"] == models[1]].iloc[0]
    assert np.isnan(base["p_monolingual"]) and base["sig_monolingual"] == ""
    assert all(
        0 <= other[f"p_{m}"] <= 1
        for m in ("monolingual", "crosslingual", "multilingual", "rank_distance")
    )


def test_pairs_export_matches_pair_metrics(two_runs) -> None:
    from hybriddash.store import reads

    store, models, _ = two_runs
    exported = build_export("pairs", "sample", models, store=store, n_resamples=500)
    for run_id, grp in exported.data.groupby("run_id"):
        stored = reads.pair_metrics(run_id, store=store).set_index(["query_lang", "cand_lang"])[
            "map"
        ]
        got = grp.set_index(["query_lang", "cand_lang"])["map"]
        assert got.sort_index().equals(stored.sort_index())


@pytest.mark.parametrize("table", TABLES)
def test_latex_export_is_a_valid_booktabs_table(table: str, two_runs, tmp_path: Path) -> None:
    store, models, _ = two_runs
    exported = build_export(table, "sample", models, store=store, n_resamples=500)
    text = render(exported, "latex").decode("utf-8")
    assert check_latex_table(text) == []
    if table in ("headline", "pairs"):
        assert "\\textbf{" in text
        assert "p \\textless{} 0.05" in text  # the legend of the markers
    if shutil.which("pdflatex"):
        doc = tmp_path / "t.tex"
        doc.write_text(
            "\\documentclass{article}\\usepackage{booktabs,longtable}\\usepackage[T1]{fontenc}"
            "\\begin{document}\n" + text + "\\end{document}\n",
            encoding="utf-8",
        )
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:]


def test_latex_checker_catches_broken_tables() -> None:
    good = "\\begin{table}\\begin{tabular}{lr}\n\\toprule\na & b \\\\\n\\midrule\nc & d \\\\\n\\bottomrule\n\\end{tabular}\\end{table}"
    assert check_latex_table(good) == []
    assert check_latex_table(good.replace("c & d", "c & d & e"))
    assert check_latex_table(good.replace("\\bottomrule", ""))
    assert check_latex_table(good.replace("{lr}", "{lr"))


@pytest.mark.parametrize("table", TABLES)
def test_markdown_export_renders_as_a_table(table: str, two_runs) -> None:
    store, models, _ = two_runs
    exported = build_export(table, "sample", models, store=store, n_resamples=500)
    rows = parse_markdown_table(render(exported, "md").decode("utf-8"))
    assert rows[0] == [h.replace("_", "\\_") for h in exported.header]
    assert len(rows) - 1 == len(exported.rows)


def test_markers_follow_the_significance_of_a_known_difference(two_runs) -> None:
    """Markers in the text exports are exactly those of the Holm-corrected tests."""
    from hybriddash.reports.significance import compare_models, significance_marker

    store, models, _ = two_runs
    exported = build_export("headline", "sample", models, store=store, n_resamples=2000)
    tests = compare_models(
        "sample", models[1], models[0], pairs=False, n_resamples=2000, store=store
    )
    row = exported.data[exported.data["model_id"] == models[1]].iloc[0]
    for _, t in tests.iterrows():
        assert row[f"sig_{t['setting']}"] == significance_marker(t["p_perm_holm"])
        assert row[f"p_{t['setting']}"] == t["p_perm_holm"]


def test_unknown_model_is_a_clear_error(two_runs) -> None:
    store, models, _ = two_runs
    with pytest.raises(LookupError, match="no run of model"):
        build_export("headline", "sample", [models[0], "nope"], store=store)


def test_cli_export_and_compare(
    two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from hybriddash.cli import main

    store, models, root = two_runs
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(root))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(store.path))
    out = tmp_path / "head.tex"
    assert (
        main(
            [
                "export",
                "--dataset",
                "sample",
                "--models",
                ",".join(models),
                "--table",
                "headline",
                "--out",
                str(out),
                "--resamples",
                "300",
            ]
        )
        == 0
    )
    assert check_latex_table(out.read_text("utf-8")) == []
    pq_out = tmp_path / "q.parquet"
    assert (
        main(
            [
                "export",
                "--dataset",
                "sample",
                "--models",
                models[0],
                "--table",
                "queries",
                "--format",
                "parquet",
                "--out",
                str(pq_out),
            ]
        )
        == 0
    )
    assert len(pd.read_parquet(pq_out)) == 252
    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                "--dataset",
                "sample",
                "--models",
                ",".join(models),
                "--resamples",
                "300",
                "--out",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "monolingual" in printed and "en -> all" in printed
    assert len(pd.read_csv(tmp_path / "c.csv")) == 4 + 6 * 7
    assert main(["compare", "--dataset", "sample", "--models", models[0]]) == 2


def test_write_export_is_atomic(two_runs, tmp_path: Path) -> None:
    store, models, _ = two_runs
    exported = build_export("shares", "sample", models, store=store)
    path = write_export(exported, "csv", tmp_path / "s.csv")
    assert path.read_bytes() == render(exported, "csv")
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def test_a_long_latex_table_is_a_longtable_a_short_one_a_float(two_runs) -> None:
    from hybriddash.reports.export import LONGTABLE_ROWS

    store, models, _ = two_runs
    per_query = render(build_export("queries", "sample", models, store=store), "latex").decode()
    assert per_query.count(" \\\\\n") > LONGTABLE_ROWS  # 252 queries x 2 models
    assert "\\begin{longtable}" in per_query and "\\begin{table}" not in per_query
    assert "\\endhead" in per_query  # the header repeats on every page
    assert check_latex_table(per_query) == []
    headline = render(
        build_export("headline", "sample", models, store=store, n_resamples=500), "latex"
    ).decode()
    assert "\\begin{table}" in headline and "longtable" not in headline


def test_exports_name_models_by_their_label_and_keep_the_id(two_runs) -> None:
    from hybriddash.reports import tables
    from hybriddash.reports.labels import model_label

    store, models, _root = two_runs
    catalogue = tables.models_table(store=store)
    for table in ("headline", "pairs", "queries"):
        exported = build_export(table, "sample", models, store=store, significance=False)
        labels = exported.data.drop_duplicates("model_id").set_index("model_id")["label"]
        assert {m: labels[m] for m in models} == {m: model_label(m, catalogue) for m in models}
        markdown = render(exported, "md").decode("utf-8")
        assert all(model_label(m, catalogue) in markdown for m in models)
