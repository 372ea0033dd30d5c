"""Store-level entry points of the Findings page (called through
:func:`hybriddash.ui_state.query`, cached on the store's version), and the display
frames the page draws: human labels, units, rounding, no empty cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hybriddash.reports.study import precomputed
from hybriddash.reports.study.comparisons import MEASURES, study_verdicts
from hybriddash.reports.study.curves import (
    _f,
    alpha_curve,
    language_gains,
    learning_curves,
    protocol_deviations,
    seed_table,
)
from hybriddash.reports.study.markdown import _num, _p, _pct, code_versions
from hybriddash.reports.study.roles import store_loader, study_runs


def page_comparisons(comps: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows with text cells for display (units and rounding per row)."""
    out = comps.copy()
    if out.empty:
        for col in (
            "comparison",
            "measure_label",
            "effect_text",
            "interval_text",
            "p_text",
            "seeds_text",
            "mde_text",
        ):
            out[col] = pd.Series(dtype="object")
        return out
    out["comparison"] = out["model_a"] + " vs " + out["model_b"]
    out["measure_label"] = out["measure"].map(lambda m: MEASURES[m][0])
    out["effect_text"] = [_num(e, u) for e, u in zip(out["effect"], out["unit"], strict=True)]
    out["interval_text"] = [
        f"{_pct(lv)} [{_num(lo, u)}, {_num(hi, u)}]" if math.isfinite(e) else "–"
        for e, lo, hi, lv, u in zip(
            out["effect"], out["ci_low"], out["ci_high"], out["level"], out["unit"], strict=True
        )
    ]
    out["p_text"] = [
        f"{_p(p)} (α' {a:.4f})" if math.isfinite(p) else "–"
        for p, a in zip(out["p"], out["alpha"], strict=True)
    ]
    out["seeds_text"] = [
        ", ".join(_num(x, u) for x in s) or "–"
        for s, u in zip(out["seed_diffs"], out["unit"], strict=True)
    ]
    out["mde_text"] = [
        ("margin " if k == "equivalence" else "") + _num(m, u, sign=False)
        for m, k, u in zip(out["mde"], out["kind"], out["unit"], strict=True)
    ]
    return out


def page_claims(claims: pd.DataFrame, comps: pd.DataFrame) -> pd.DataFrame:
    """The claim rows with ``claim_label`` ("(a) hybrid matches ...") and the deciding
    comparison's effect and interval as text in its unit."""
    out = claims.copy()
    if out.empty:
        out["claim_label"] = out["decided_by"] = pd.Series(dtype="object")
        return out
    out["claim_label"] = "(" + out["claim"] + ") " + out["text"]
    out["decided_by"] = [
        f"{lab}: {_num(e, u)} {u} [{_num(lo, u)}, {_num(hi, u)}]" if math.isfinite(e) else why
        for lab, e, lo, hi, u, why in zip(
            out["label"],
            out["effect"],
            out["ci_low"],
            out["ci_high"],
            out["unit"],
            out["reason"],
            strict=True,
        )
    ]
    out["mde_text"] = [
        "; ".join(
            f"{_num(v, u, sign=False)} {u}"
            for v, u in ((m, "mAP"), (r, "rank positions"))
            if math.isfinite(v)
        )
        or "–"
        for m, r in zip(out["mde_map"], out["mde_rank"], strict=True)
    ]
    return out


# ---- store-level entry points (what the Findings page calls, cached by store version) ---


def findings_verdicts(*, store: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(claims, comparisons)`` of every study in the store, as the page shows them:
    :func:`~hybriddash.reports.study.comparisons.study_verdicts` (read from the shipped
    results when they answer this store: :mod:`~hybriddash.reports.study.precomputed`)
    with display columns (``claim_label``, ``comparison``, ``effect_text``,
    ``interval_text``, ``p_text``, ``seeds_text``, ``mde_text``), every cell filled."""
    claims, comps = _result("findings_verdicts", (), store=store)
    return page_claims(claims, comps), page_comparisons(comps)


def findings_gains(
    other: str = "mono", by: str = "query_lang", *, store: Any = None
) -> pd.DataFrame:
    """:func:`language_gains` of every study in the store (shipped when they answer it)."""
    (gains,) = _result("findings_gains", (other, by), store=store)
    return gains


#: The page's slow results, by entry name: their frames' names and how each is computed
#: from the study's runs (what ``reproduce --profile standard --report`` ships).
_ENTRIES: dict[str, tuple[tuple[str, ...], Callable[..., Sequence[pd.DataFrame]]]] = {
    "findings_verdicts": (
        ("claims", "comparisons"),
        lambda runs, store: study_verdicts(runs, store_loader(store)),
    ),
    "findings_gains": (
        ("gains",),
        lambda runs, store, other, by: [
            language_gains(runs, store_loader(store), other=other, by=by)
        ],
    ),
}
#: Every (entry, arguments) the page can ask for by default, shipped precomputed.
SHIPPED = [("findings_verdicts", ())] + [
    ("findings_gains", (other, by)) for other in ("mono", "cross") for by in ("query_lang", "pair")
]


def _result(name: str, args: tuple, *, store: Any = None) -> list[pd.DataFrame]:
    parts, compute = _ENTRIES[name]
    runs = study_runs(store=store)
    return precomputed.cached(
        name, args, parts, runs, lambda: compute(runs, store, *args), store=store
    )


def write_shipped(folder: Path, *, store: Any = None) -> list[Path]:
    """Compute every :data:`SHIPPED` result on ``store`` and write it to ``folder``
    with its key (``reference/derived`` from ``reproduce --profile standard --report``)."""
    runs = study_runs(store=store)
    written = []
    for name, args in SHIPPED:
        parts, compute = _ENTRIES[name]
        frames = dict(zip(parts, compute(runs, store, *args), strict=True))
        key = precomputed.result_key(name, args, runs, store=store)
        written += precomputed.write(folder, name, args, frames, key)
    return written


def findings_alpha_curve(metric: str = "multilingual", *, store: Any = None) -> pd.DataFrame:
    """:func:`alpha_curve` of every study in the store."""
    return alpha_curve(study_runs(store=store), metric)


def findings_learning_curves(*, store: Any = None) -> pd.DataFrame:
    """:func:`learning_curves` of every study in the store."""
    return learning_curves(study_runs(store=store), store=store)


def findings_deviations(*, store: Any = None) -> list[str]:
    """:func:`protocol_deviations` of every study in the store."""
    return protocol_deviations(study_runs(store=store), store=store)


def seed_display(seeds: pd.DataFrame) -> pd.DataFrame:
    """:func:`seed_table` as the page shows it: "mean ± sd" per measure in its unit's
    precision (mAP 3 decimals, rank positions 1), "–" where one seed has no sd."""
    cols = {
        "monolingual": ("mono mAP", 3),
        "crosslingual": ("cross mAP", 3),
        "multilingual": ("multi mAP", 3),
        "rank_distance": ("rank distance (positions)", 1),
    }
    out = pd.DataFrame(
        {
            "evaluated on": seeds["eval_dataset"],
            "model": seeds["label"],
            "seeds": seeds["n_seeds"].astype(int),
        }
    )
    for measure, (name, digits) in cols.items():
        out[name] = [
            _f(m, digits) + " ± " + _f(s, digits)
            for m, s in zip(seeds[measure], seeds[measure + "_sd"], strict=True)
        ]
    return out


def findings_seed_display(*, store: Any = None) -> pd.DataFrame:
    """:func:`seed_display` of every study in the store."""
    return seed_display(seed_table(study_runs(store=store)))


def findings_seeds(*, store: Any = None) -> pd.DataFrame:
    """:func:`seed_table` of every study in the store."""
    return seed_table(study_runs(store=store))


def reference_info(*, store: Any = None) -> list[dict[str, Any]]:
    """The reference bundles loaded into the store (label, machine, date, command, code)."""
    from hybriddash.store.bundle import reference_bundles

    return [
        {
            "label": m.get("label"),
            "machine": (m.get("machine") or {}).get("cpu"),
            "date": m.get("updated") or m.get("created"),
            "command": m.get("command"),
            "code_version": code_versions(m),
            "loaded_at": m.get("loaded_at"),
            "n_models": len(m.get("pieces", {})),
            "complete": m.get("complete"),
        }
        for m in reference_bundles(store if store is not None else None)
    ]


# ---- the research questions (issue 24) ---------------------------------------------------


def question_rows_display(rows: pd.DataFrame) -> pd.DataFrame:
    """The questions' comparison rows as the page shows them: human labels, each value
    in its unit's precision, '–' where there is no number."""
    from hybriddash.reports.study.question_markdown import (
        interval_text,
        p_text,
        seeds_text,
        value_text,
    )
    from hybriddash.reports.study.question_verdicts import QuestionRow

    cols = ["question", "#", "A vs B", "measure", "evaluated on", "unit", "effect", "interval",
            "p", "seeds: A − mean B", "seeds A / B", "MDE (80% power)", "reading", "why"]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=cols)
    fields = list(QuestionRow.__dataclass_fields__)
    out = []
    for rec in rows[fields].to_dict("records"):
        r = QuestionRow(**{**rec, "seed_diffs": tuple(rec["seed_diffs"])})
        out.append(
            [r.question, r.row, f"{r.model_a} vs {r.model_b}", r.measure, r.suite, r.unit,
             value_text(r.effect, r.unit), interval_text(r), p_text(r), seeds_text(r),
             f"{r.n_seeds_a} / {r.n_seeds_b}", value_text(r.mde, r.unit, sign=False),
             r.reading, r.reason]
        )  # fmt: skip
    return pd.DataFrame(out, columns=cols)


#: The frames of the questions' decision, as shipped in ``reference/derived``.
QUESTION_PARTS = ("verdicts", "rows", "points")


def _decide_question_frames(runs: pd.DataFrame, store: Any = None) -> list[pd.DataFrame]:
    """The questions' decision on ``runs`` as the frames of :data:`QUESTION_PARTS`."""
    from hybriddash.reports.study.question_verdicts import (
        decide_questions,
        store_probe,
        store_values,
    )

    return question_frames(decide_questions(runs, store_values(store), store_probe(store)))


def question_frames(verdicts: Sequence[Any]) -> list[pd.DataFrame]:
    """The frames of :data:`QUESTION_PARTS` from decided questions."""
    from hybriddash.reports.study.question_verdicts import rows_frame, verdicts_frame

    points = [v.points for v in verdicts if not v.points.empty]
    return [
        verdicts_frame(verdicts),
        rows_frame(verdicts),
        pd.concat(points, ignore_index=True) if points else pd.DataFrame(),
    ]


def write_shipped_questions(
    folder: Path, *, store: Any = None, verdicts: Sequence[Any] | None = None
) -> list[Path]:
    """Write the research questions' decision on ``store`` (``verdicts`` when already
    decided there) as the frames the Findings page reads (:data:`QUESTION_PARTS`) to
    ``folder``, with their key (``reproduce --profile questions --report``, into
    ``reference/derived``)."""
    from hybriddash.reports.study.question_runs import question_runs

    runs = question_runs(store=store)
    parts = (
        question_frames(verdicts) if verdicts is not None else _decide_question_frames(runs, store)
    )
    frames = dict(zip(QUESTION_PARTS, parts, strict=True))
    key = precomputed.result_key("findings_questions", (), runs, store=store)
    return precomputed.write(folder, "findings_questions", (), frames, key)


def findings_questions(*, store: Any = None) -> dict[str, pd.DataFrame]:
    """Everything the page's questions sections draw, from one decision: ``verdicts``
    (one row per question), ``rows`` (raw comparison rows), ``display`` (the rows as
    text), ``points`` (Q5's per-language gains), ``domains`` (Q1's bars), ``before_after``
    (Q3), ``tydi`` (Q4's per-language mAP), ``bitext`` (Q2's heatmap), ``xnli_umap`` (Q2's
    shipped UMAP of base, X-X-mono and hybrid) and ``fit`` (Q5's fitted line and band)."""
    from hybriddash.reports.study.question_charts import (
        before_after,
        bitext_heatmap,
        domain_bars,
        long_tail_fit,
        tydi_languages,
        xnli_projections,
    )
    from hybriddash.reports.study.question_runs import question_runs
    from hybriddash.reports.study.question_verdicts import store_values

    runs = question_runs(store=store)
    # the decision (seconds: B = 10,000 per row) ships precomputed with the reference
    verdicts, rows, points_frame = precomputed.cached(
        "findings_questions", (), QUESTION_PARTS, runs, lambda: _decide_question_frames(runs, store),
        store=store,
    )  # fmt: skip
    values = store_values(store)
    return {
        "verdicts": verdicts,
        "rows": rows,
        "display": question_rows_display(rows),
        "points": points_frame,
        "fit": long_tail_fit(points_frame, rows),
        "domains": domain_bars(runs),
        "before_after": before_after(runs),
        "tydi": tydi_languages(runs, values),
        "bitext": bitext_heatmap(runs, store=store),
        "xnli_umap": xnli_projections(runs, store=store),
    }
