"""Markdown of the research questions (issue 24): their verdict section of
``docs/results.md`` and the README's opening answers, from the questions' bundle.

Numbers come from :mod:`~hybriddash.reports.study.question_verdicts`; a question whose
runs are missing says "not run yet" and names the missing pieces, never a number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hybriddash.reports.study.hierarchical_bootstrap import N_RESAMPLES
from hybriddash.reports.study.markdown import _p, _pct, code_versions, wall_time_markdown
from hybriddash.reports.study.question_verdicts import (
    ALPHA_Q,
    M_Q,
    NOT_RUN,
    QuestionRow,
    QuestionVerdict,
)


def value_text(x: float, unit: str, *, sign: bool = True) -> str:
    """A value in its unit's precision: mAP and accuracy to 3 decimals, ratios to 2,
    slopes (per decade) to 3; '–' when not finite."""
    if x is None or not math.isfinite(x):
        return "–"
    digits = 2 if unit == "ratio" else 3
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def interval_text(r: QuestionRow) -> str:
    if not (math.isfinite(r.ci_low) and math.isfinite(r.ci_high)):
        return "–"
    return f"{_pct(r.level)} [{value_text(r.ci_low, r.unit)}, {value_text(r.ci_high, r.unit)}]"


def seeds_text(r: QuestionRow) -> str:
    return ", ".join(value_text(x, r.unit) for x in r.seed_diffs) or "–"


def p_text(r: QuestionRow) -> str:
    """The deciding test's p: non-inferiority rows their own, TOST rows TOST's,
    three-way rows both one-sided and TOST, the others the one-sided p."""
    if r.kind == "non-inferiority":
        return _p(r.p_noninferiority)
    if r.kind == "TOST":
        return _p(r.p_equivalence)
    if r.kind == "three-way":
        return f"{_p(r.p)} / TOST {_p(r.p_equivalence)}"
    return _p(r.p)


def row_markdown(r: QuestionRow) -> str:
    mde = value_text(r.mde, r.unit, sign=False)
    return (
        f"| {r.row} | {r.model_a} vs {r.model_b} | {r.measure} | {r.suite} | {r.unit} | "
        f"{value_text(r.effect, r.unit)} | {interval_text(r)} | {p_text(r)} | "
        f"{seeds_text(r)} | {r.n_seeds_a} / {r.n_seeds_b} | {mde} | **{r.reading}** | "
        f"{r.reason} |"
    )


def question_markdown(v: QuestionVerdict) -> list[str]:
    """One question: heading, verdict sentence, comparison rows, missing pieces,
    deviations (and Q5's languages outside CC-100)."""
    lines = [f"### {v.question}. {v.title}", ""]
    if all(r.reading == NOT_RUN for r in v.rows):
        keys = missing_piece_keys(v.missing)
        lines += [
            f"**Verdict: {NOT_RUN}.** None of its {len(v.rows)} comparisons has runs yet"
            + (f"; pieces missing: {', '.join(keys)}." if keys else "."),
            "",
        ]
        return lines
    lines += [f"**Verdict: {v.verdict}.** {v.summary}", ""]
    lines += [
        "| # | A vs B | measure | evaluated on | unit | effect | interval | p | "
        "seeds: A − mean B | seeds A / B | MDE (80%) | reading | why |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(row_markdown(r) for r in v.rows),
        "",
    ]
    if v.missing:
        lines += ["Not run yet: " + "; ".join(v.missing) + ".", ""]
    if v.deviations:
        lines += ["Deviations: " + "; ".join(v.deviations) + ".", ""]
    return lines


#: How the code reads the rules where they leave a choice (stated with every report).
APPLICATION_NOTES = (
    "How the rules are applied (`hybriddash/reports/study/question_verdicts.py`): a "
    "statistic pooled over suites (Q1's out-of-domain mean, Q3's biomedical and other-domain "
    "means) is the mean of the suites' headlines, each suite drawing its own groups (a "
    "TICO-19 segment has one domain) while a model's seed draw is shared by every suite; "
    "Q5 draws groups within each language (the languages level is drawn on top); the "
    "per-language intervals of Q5 and of the TyDi chart are descriptive 95%. The "
    "agnosticism row resamples the language-ID probe's per-item out-of-fold hits by group "
    "and seed like any other row (a run stored without those items, before schema 6, "
    "leaves the row inconclusive and says why). Q2's bitext row reads runs on "
    "`xnli[split=test]` (the aligned rows), one of the profile's suites.",
)


def questions_markdown(manifest: dict[str, Any] | None, verdicts: Sequence[QuestionVerdict]) -> str:
    """The section of ``docs/results.md`` (without its markers): the bundle, each
    question's verdict with its rows, and the measured wall time of every piece."""
    manifest = manifest or {}
    pieces = manifest.get("pieces", {})
    plan = manifest.get("plan") or []
    left = [k for k in plan if k not in pieces]
    lines = [
        "## The research questions: verdicts",
        "",
        "Written by `python -m hybriddash reproduce --profile questions --report` from the "
        "bundle `reference/questions/` (nothing computed beyond the bundle), by the rules of "
        f"the section above: hierarchical bootstrap (B = {N_RESAMPLES:,}), m_Q = {M_Q} rows "
        f"each at α' = {ALPHA_Q:.4f} (interval {_pct(1 - 2 * ALPHA_Q)}). "
        + (
            f"{len(pieces)} of {len(plan)} pieces finished"
            + (f"; not yet run: {', '.join(left)}" if left else "")
            + f" (`{manifest.get('command')}`, code {code_versions(manifest)})."
            if pieces
            else "The bundle holds no finished piece yet: every question is not run yet."
        ),
        "",
    ]
    lines += [*APPLICATION_NOTES, ""]
    for v in verdicts:
        lines += question_markdown(v)
    wall = wall_time_markdown(manifest) if pieces else []
    if wall:
        lines += ["### Wall time of the questions' pieces", *wall[1:], ""]
    return "\n".join(lines).rstrip() + "\n"


def missing_piece_keys(missing: Sequence[str]) -> list[str]:
    """The piece keys of missing-piece lines (``"KEY (role seed): ..."``, see
    :func:`~hybriddash.reports.study.question_runs.missing_pieces`), each once."""
    return list(dict.fromkeys(line.split(" (", 1)[0] for line in missing))


def readme_answers(verdicts: Sequence[QuestionVerdict]) -> str:
    """The README's opening answers: one line per question, its verdict and effect (or
    "not run yet")."""
    lines = [
        "**The research questions** (verdicts by the rules in "
        "[docs/results.md](docs/results.md), from the shipped `reference/questions/`):",
        "",
    ]
    for v in verdicts:
        short = v.title.split(":")[0]
        if v.verdict == NOT_RUN:
            keys = missing_piece_keys(v.missing)
            text = "not run yet" + (
                f" ({len(keys)} of the profile's pieces missing)" if keys else ""
            )
        else:
            text = v.summary
        lines.append(f"- **{v.question} {short}:** {text}")
    return "\n".join(lines)
