"""Each research question's table (issue 24) in the export formats of
:mod:`hybriddash.reports.export` (CSV, Markdown, LaTeX, Parquet).

CSV and Parquet hold every field of the question's :class:`QuestionRow` rows at full
precision (per-seed values joined by ``;``); Markdown and LaTeX the rounded text the
Findings page and ``docs/results.md`` show, the verdict in the caption and the verdict
sentence, missing pieces and deviations as notes."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hybriddash.reports.export import Cell, ExportTable
from hybriddash.reports.study.question_markdown import (
    interval_text,
    p_text,
    value_text,
)
from hybriddash.reports.study.question_verdicts import QUESTION_TITLES, QuestionVerdict

QUESTION_IDS = tuple(QUESTION_TITLES)


def question_table(verdicts: Sequence[QuestionVerdict], question: str) -> ExportTable:
    """The :class:`ExportTable` of ``question`` (``Q1`` .. ``Q5``) from decided verdicts."""
    found = [v for v in verdicts if v.question == question]
    if not found:
        raise ValueError(f"unknown question {question!r}: expected one of {QUESTION_IDS}")
    v = found[0]
    data = pd.DataFrame([r.as_dict() for r in v.rows])
    data["seed_diffs"] = [";".join(repr(x) for x in s) for s in data["seed_diffs"]]
    data.insert(0, "verdict", v.verdict)
    header = ["#", "A vs B", "Measure", "Evaluated on", "Unit", "Effect", "Interval", "p",
              "Seeds A/B", "MDE (80%)", "Reading"]  # fmt: skip
    body = [
        [
            Cell(str(r.row), numeric=True),
            Cell(f"{r.model_a} vs {r.model_b}"),
            Cell(r.measure),
            Cell(r.suite),
            Cell(r.unit),
            Cell(value_text(r.effect, r.unit), numeric=True),
            Cell(interval_text(r)),
            Cell(p_text(r)),
            Cell(f"{r.n_seeds_a}/{r.n_seeds_b}"),
            Cell(value_text(r.mde, r.unit, sign=False), numeric=True),
            Cell(r.reading, bold=r.reading in ("better", "non-inferior", "unchanged")),
        ]
        for r in v.rows
    ]
    notes = [v.summary]
    if v.missing:
        notes.append("Not run yet: " + "; ".join(v.missing) + ".")
    if v.deviations:
        notes.append("Deviations: " + "; ".join(v.deviations) + ".")
    notes.append(
        "Rule: docs/results.md, 'Research questions: decision rules' (hierarchical bootstrap "
        "over groups and seeds, 23 rows under Bonferroni)."
    )
    caption = f"{v.question}. {v.title} Verdict: {v.verdict}."
    return ExportTable(f"question-{question.lower()}", data, header, body, caption, notes)
