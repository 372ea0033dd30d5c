"""One human label per model, for every page: strategy, alpha, seed, training data, correction.

``trained/repro-standard-mlqa-r-hybrid-a0.25-s1 + center-docs`` reads as
``Hybrid α=0.25 · seed 1 · trained on mlqa-r + center-docs``. Pages show the label and
keep the id for hover texts and tooltips. Strategy names come from
:func:`hybriddash.reports.study.roles.role_label` (the Findings page's), so both agree.

Pure functions over the ``tables.models_table`` frame.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hybriddash.reports.study.roles import role_label

STUDY_PREFIX = "trained/repro-"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _seed(card: Any) -> int | None:
    if isinstance(card, str) and card:
        try:
            card = json.loads(card)
        except json.JSONDecodeError:
            return None
    seed = ((card or {}).get("config") or {}).get("seed") if isinstance(card, dict) else None
    return int(seed) if isinstance(seed, int | float) and not math.isnan(seed) else None


def model_label(model_id: str, models: pd.DataFrame) -> str:
    """The human label of ``model_id`` (the id itself when the store does not know it).

    Trained models: strategy (with α for hybrids other than 0.5), seed, training data,
    and the model's own name unless it is one of the study's (``trained/repro-*``); the
    base: ``base · <id>``; a post-hoc corrected encoder: its model's label ``+ <method>``.
    """
    row = models[models["model_id"] == model_id]
    if row.empty:
        return model_id
    correction = _text(row["correction"].iloc[0]) if "correction" in row else ""
    underlying = _text(row["correction_of"].iloc[0]) if correction else model_id
    base = models[models["model_id"] == underlying]
    r = (base if len(base) else row).iloc[0]
    sampler = _text(r.get("sampler"))
    if r.get("kind") == "trained" and sampler:
        alpha = r.get("alpha")
        alpha = float(alpha) if isinstance(alpha, int | float) and not math.isnan(alpha) else None
        parts = [role_label(sampler, alpha)]
        seed = _seed(r.get("training_card"))
        if seed is not None:
            parts.append(f"seed {seed}")
        if _text(r.get("train_dataset")):
            parts.append(f"trained on {r['train_dataset']}")
        if not underlying.startswith(STUDY_PREFIX):
            parts.append(underlying.removeprefix("trained/"))
        label = " · ".join(parts)
    elif r.get("kind") == "offline-base":
        label = f"base · {underlying}"
    else:
        label = underlying
    return f"{label} + {correction}" if correction else label


def default_comparison(available: Sequence[str], models: pd.DataFrame, n: int = 4) -> list[str]:
    """The models a new session starts on: the question's four, base vs X-X-mono vs X-Y
    vs hybrid (α 0.5), the lowest seed of each, uncorrected, among ``available``;
    the first ``n`` available when the store has no such set."""
    rows = models[models["model_id"].isin(list(available))]
    if "correction" in rows:
        rows = rows[rows["correction"].isna() | (rows["correction"] == "")]
    chosen: list[str] = []
    bases = rows[rows["kind"] == "offline-base"]["model_id"].tolist()
    if bases:
        chosen.append(bases[0])
    for sampler in ("mono", "cross", "hybrid"):
        part = rows[(rows["kind"] == "trained") & (rows["sampler"] == sampler)]
        if sampler == "hybrid":
            part = part[part["alpha"].sub(0.5).abs() < 1e-9]
        if part.empty:
            continue
        seeds = part["training_card"].map(_seed).fillna(10**9)
        chosen.append(
            str(part.assign(_s=seeds).sort_values(["_s", "model_id"])["model_id"].iloc[0])
        )
    if len(chosen) < 4:
        return list(available)[:n]
    order = {m: i for i, m in enumerate(available)}
    return sorted(chosen, key=lambda m: (m not in bases, order.get(m, 0)))
