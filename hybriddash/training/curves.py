"""Training curves: the loss per step and, at each validation, validation loss and mAP.

A training run appends one JSON line per measurement to a *live curve file*
(``<artifacts>/training/<out>.curve.jsonl``, truncated when the run starts), so any
process (the dashboard, a job monitor) can draw the curve while the run is going, with
no store connection held by the trainer. When the run ends, the same rows go into the
training card (``card["curve"]``) and, when the model is registered, into the store's
``training_curves`` table in the registration transaction: a cancelled or killed run
leaves only its live file, never a half curve in the store.

Row format (one dict per measurement)::

    {"step": int, "split": "train" | "validation",
     "metric": "loss" | "map_multilingual", "value": float, "elapsed_s": float}

``elapsed_s`` is wall time since the run started; ``map_multilingual`` is the
multilingual mAP (query language X against candidates in every language, macro over X;
see :func:`validation_map`) of the held-out validation groups.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybriddash import config

CURVE_COLUMNS = ("step", "split", "metric", "value", "elapsed_s")
LIVE_SUFFIX = ".curve.jsonl"


def live_curve_path(out: str) -> Path:
    """Where the run named ``out`` (``train --out``) writes its live curve."""
    return config.artifacts_dir() / "training" / f"{out}{LIVE_SUFFIX}"


class CurveLog:
    """Appends curve rows to a JSONL file and keeps them in memory for the card.

    Each row is written with one ``write`` of a whole line and flushed, so a reader
    never sees half a row except possibly a last partial line, which
    :func:`read_curve` skips.
    """

    def __init__(self, path: Path | None, *, started: float | None = None) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.started = time.time() if started is None else started
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add(self, step: int, split: str, metric: str, value: float) -> None:
        if value is None or not math.isfinite(float(value)):
            return
        row = {
            "step": int(step),
            "split": split,
            "metric": metric,
            "value": round(float(value), 6),
            "elapsed_s": round(time.time() - self.started, 3),
        }
        self.rows.append(row)
        if self._fh is not None:
            self._fh.write(json.dumps(row) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_curve(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The rows of a live curve file (empty frame when it does not exist yet)."""
    rows: list[dict[str, Any]] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written right now
        if isinstance(row, dict) and all(c in row for c in CURVE_COLUMNS):
            rows.append(row)
    return curve_frame(rows)


def curve_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Curve rows as a frame with :data:`CURVE_COLUMNS` (typed even when empty)."""
    frame = pd.DataFrame(list(rows), columns=list(CURVE_COLUMNS))
    return frame.astype(
        {"step": "int64", "split": "string", "metric": "string", "value": "float64"}
    ).astype({"elapsed_s": "float64"})


def curve_from_card(card: dict[str, Any] | None) -> pd.DataFrame:
    """The curve a training card holds (``card["curve"]``); empty for older cards."""
    return curve_frame((card or {}).get("curve") or [])


def validation_map(
    query_emb: np.ndarray,
    query_lang: Sequence[str],
    cand_emb: np.ndarray,
    relevant: np.ndarray,
) -> float:
    """Multilingual mAP of held-out validation queries against all validation passages.

    For query language X: ``mAP(X -> all) = mean over queries q in X of AP(q)``, where
    ``AP(q) = (1/R) * sum_{i=1..R} i / rank_i`` over the R positive passages of q
    (``relevant[q]``, a boolean row over the candidates) in the pooled (all-language) candidate set, ranked by descending cosine score (inputs are
    L2-normalised, so cosine = dot product; ties broken by candidate position). The
    result is the macro mean over query languages, as the paper's multilingual mAP.
    Queries with no positive passage count as NaN and are skipped.
    """
    q_lang = np.asarray(query_lang)
    relevant = np.asarray(relevant, dtype=bool)
    scores = np.asarray(query_emb, dtype=np.float32) @ np.asarray(cand_emb, dtype=np.float32).T
    # stable descending order: rank = 1 + #higher + #equal-at-earlier-position
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks_of = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks_of[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    # training sits before metrics in the flow, so AP is computed here, not imported
    ap = np.full(len(q_lang), np.nan)
    for i in range(len(q_lang)):
        rel_ranks = np.sort(ranks_of[i, relevant[i]])
        if rel_ranks.size:
            ap[i] = float(np.mean(np.arange(1, rel_ranks.size + 1) / rel_ranks))
    per_lang = [
        np.nanmean(ap[q_lang == lang])
        for lang in sorted(set(q_lang.tolist()))
        if np.isfinite(ap[q_lang == lang]).any()
    ]
    return float(np.mean(per_lang)) if per_lang else float("nan")
