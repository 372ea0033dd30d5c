"""The study's runs sorted into roles (strategy, alpha, seed, correction) per benchmark.

Whatever runs the store holds (the reference study, a user's own study with another base
or other data) are sorted into *roles*: for each evaluation corpus, the untrained base,
X-X-mono, X-Y and hybrid models (each alpha), each seed, each training-free correction.
Roles come from the ``models`` table (``sampler``, ``alpha``, the training card's
``config.seed``) and, for corrected runs, from ``runs.correction`` / ``runs.correction_of``
when the store has those columns, else from a model id ``"<model> + <correction>"``.

When a corpus holds trained models of several budgets (training configurations apart
from sampler, alpha and seed), the budget with the most runs is the study of that corpus.

Every function here is pure over frames, or reads the store through
:mod:`hybriddash.store.reads`; pages draw what these return.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hybriddash.reports.significance import headline_samples

HYBRID_ALPHA = 0.5
STRATEGY_LABELS = {"base": "base (no training)", "mono": "X-X-mono", "cross": "X-Y"}
# card config fields that are not part of a study's budget. bf16 follows the machine
# (Profile.bf16 None: autocast only where the CPU has native bf16), so the pieces of one
# study resumed on another machine differ in it; it moved mAP by at most 0.001
# (docs/benchmarks.md), and protocol_deviations says which models ran how.
_NOT_BUDGET = {"out", "sampler", "alpha", "seed", "val_map_queries", "bf16"}

Loader = Callable[[str], tuple[pd.DataFrame, pd.DataFrame]]


def role_label(strategy: str, alpha: float | None = None, correction: str = "") -> str:
    """Display name of a role: ``X-X-mono``, ``Hybrid``, ``Hybrid α=0.25``, ``… + center-docs``."""
    if strategy == "hybrid":
        label = (
            "Hybrid"
            if alpha is None or math.isclose(alpha, HYBRID_ALPHA)
            else f"Hybrid α={alpha:g}"
        )
    else:
        label = STRATEGY_LABELS.get(strategy, strategy)
    return f"{label} + {correction}" if correction else label


def _budget(card: dict[str, Any] | None) -> str:
    config = (card or {}).get("config") or {}
    payload = {k: v for k, v in config.items() if k not in _NOT_BUDGET}
    if not payload.get("extra_pairs"):
        # cards written since TrainConfig has extra pairs carry extra_pairs=None and
        # extra_share; without extra pairs that is the budget of the cards before them (the
        # trainer's fingerprint drops both the same way), so seeds trained later still join
        payload.pop("extra_pairs", None)
        payload.pop("extra_share", None)
    if not payload:
        return ""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _card(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return None


def classify_runs(runs: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """Add the study roles to ``runs`` (``reads.list_runs`` rows) from ``models`` rows.

    Added columns: ``underlying`` (the uncorrected model id), ``correction`` ('' none),
    ``strategy`` (``base | mono | cross | hybrid | other``), ``alpha`` (1 for mono, 0 for
    cross, NaN for the base), ``seed`` (-1 for untrained models), ``train_dataset``,
    ``base_model_id``, ``budget`` (8 hex chars; '' untrained), ``label``.
    """
    out = runs.copy()
    if out.empty:
        for col in ("underlying", "correction", "strategy", "train_dataset", "base_model_id"):
            out[col] = pd.Series(dtype="object")
        out["alpha"] = pd.Series(dtype="float64")
        out["seed"] = pd.Series(dtype="int64")
        out["budget"] = out["label"] = pd.Series(dtype="object")
        return out
    corr = out["correction"] if "correction" in out else pd.Series([None] * len(out))
    corr_of = out["correction_of"] if "correction_of" in out else pd.Series([None] * len(out))
    underlying, corrections = [], []
    for model_id, c, of in zip(out["model_id"], corr.tolist(), corr_of.tolist(), strict=True):
        if isinstance(c, str) and c and isinstance(of, str) and of:
            underlying.append(of)
            corrections.append(c)
        elif " + " in str(model_id):
            head, _, tail = str(model_id).rpartition(" + ")
            underlying.append(head)
            corrections.append(tail)
        else:
            underlying.append(str(model_id))
            corrections.append("")
    out["underlying"] = underlying
    out["correction"] = corrections
    by_id = {row["model_id"]: row for row in models.to_dict("records")}
    strategies, alphas, seeds, trains, bases, budgets = [], [], [], [], [], []
    for model_id in underlying:
        m = by_id.get(model_id, {})
        card = _card(m.get("training_card"))
        sampler = m.get("sampler") or (card or {}).get("sampler")
        if sampler in ("mono", "cross", "hybrid"):
            strategies.append(sampler)
            alpha = {"mono": 1.0, "cross": 0.0}.get(sampler, m.get("alpha"))
            if alpha is None or (isinstance(alpha, float) and math.isnan(alpha)):
                alpha = (card or {}).get("alpha", HYBRID_ALPHA)
            alphas.append(float(alpha))
            seeds.append(int(((card or {}).get("config") or {}).get("seed", 0)))
            trains.append(m.get("train_dataset") or (card or {}).get("train_dataset"))
            bases.append(m.get("base_model_id") or (card or {}).get("base_model_id"))
            budgets.append(_budget(card))
        else:
            strategies.append("base" if m.get("kind") != "trained" else "other")
            alphas.append(math.nan)
            seeds.append(-1)
            trains.append(None)
            bases.append(model_id)
            budgets.append("")
    out["strategy"] = strategies
    out["alpha"] = alphas
    out["seed"] = seeds
    out["train_dataset"] = trains
    out["base_model_id"] = bases
    out["budget"] = budgets
    out["label"] = [
        role_label(s, a if s == "hybrid" else None, c)
        for s, a, c in zip(out["strategy"], out["alpha"], out["correction"], strict=True)
    ]
    return out


def select_study(classified: pd.DataFrame) -> pd.DataFrame:
    """Per evaluation corpus, the runs of one study: its base and the trained models of
    the budget with the most runs (ties: the newest), one run per model (the newest).

    Runs of other strategies (``other``) are dropped. Adds a ``study`` column (the corpus
    name) and ``n_budgets`` (how many budgets the corpus held).
    """
    if classified.empty:
        out = classified.copy()
        out["study"] = pd.Series(dtype="object")
        out["n_budgets"] = pd.Series(dtype="int64")
        return out
    frame = classified[classified["strategy"] != "other"].copy()
    if "created_at" in frame:
        frame = frame.sort_values("created_at", ascending=False, kind="stable")
    frame = frame.drop_duplicates(["corpus_fp", "model_id"], keep="first")
    parts = []
    for _fp, runs in frame.groupby("corpus_fp", sort=False):
        trained = runs[runs["strategy"] != "base"]
        if trained.empty:
            chosen, n_budgets = runs, 0
        else:
            counts = trained.groupby(["base_model_id", "budget"], sort=False).size()
            (base_id, budget) = counts.idxmax()
            n_budgets = int(len(counts))
            chosen = runs[
                (
                    (runs["strategy"] != "base")
                    & (runs["budget"] == budget)
                    & (runs["base_model_id"] == base_id)
                )
                | ((runs["strategy"] == "base") & (runs["underlying"] == base_id))
            ]
        chosen = chosen.copy()
        bases = chosen["strategy"] == "base"
        if chosen.loc[bases, "underlying"].nunique() > 1:
            # several untrained models and no study to pick one: name each
            chosen.loc[bases, "label"] = [
                f"{u} (no training)" + (f" + {c}" if c else "")
                for u, c in zip(
                    chosen.loc[bases, "underlying"], chosen.loc[bases, "correction"], strict=True
                )
            ]
        chosen["study"] = str(runs["corpus_name"].iloc[0])
        chosen["n_budgets"] = n_budgets
        parts.append(chosen)
    return pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0]


def study_runs(*, store: Any = None) -> pd.DataFrame:
    """:func:`select_study` of the store's runs (classified), but those on the research
    questions' suites (TICO-19, XNLI, Tatoeba, TyDi QA: :data:`hybriddash.data.datasets.
    DEFAULT_SUBSETS`) and those a questions bundle shipped (:func:`questions_bundle_runs`):
    those runs answer the questions by their own rules and family
    (:mod:`~hybriddash.reports.study.question_verdicts`); counted here they would add
    corpora or seeds to claims (a)-(f) and change the claims' Bonferroni family."""
    from hybriddash.data.datasets import DEFAULT_SUBSETS
    from hybriddash.store import reads

    runs = reads.list_runs(store=store)
    if "dataset_id" in runs:
        runs = runs[~runs["dataset_id"].isin(list(DEFAULT_SUBSETS))]
    shipped = questions_bundle_runs(store=store)
    if shipped and "run_id" in runs:
        runs = runs[~runs["run_id"].isin(shipped)]
    return select_study(classify_runs(runs, reads.list_models(store=store)))


def questions_bundle_runs(*, store: Any = None) -> set[str]:
    """Run ids of the loaded reference bundles of a questions profile (one with
    ``suites``): their XQuAD-R runs (hybrid seed 5, hybrid + domain pairs) answer the
    questions; in claims (a)-(f) they would add a sixth hybrid seed that the standard
    study's report (``reference/`` alone) does not have."""
    from hybriddash.store.bundle import reference_bundles

    return {
        run
        for manifest in reference_bundles(store)
        if (manifest.get("profile") or {}).get("suites")
        for piece in manifest.get("pieces", {}).values()
        for run in piece.get("run_ids", [])
    }


def store_loader(store: Any = None) -> Loader:
    """A loader of (query_metrics, query_bias) per run id, reading the store once per run."""
    from hybriddash.store import reads

    cache: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def load(run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        if run_id not in cache:
            cache[run_id] = (
                reads.query_metrics(run_id, store=store),
                reads.query_bias(run_id, store=store),
            )
        return cache[run_id]

    load.store = store  # type: ignore[attr-defined]  # the verdicts read the store directly
    return load


# ---- roles -> paired per-query values ---------------------------------------------


def role_runs(
    study: pd.DataFrame,
    strategy: str,
    *,
    alpha: float | None = None,
    correction: str = "",
) -> pd.DataFrame:
    """The runs (one per seed) of one role in ``study`` (one corpus)."""
    mask = (study["strategy"] == strategy) & (study["correction"] == correction)
    if strategy == "hybrid":
        target = HYBRID_ALPHA if alpha is None else alpha
        mask &= np.isclose(study["alpha"].astype(float), target)
    return study[mask].sort_values("seed")


def seed_mean_values(run_ids: Sequence[str], setting: str, loader: Loader) -> pd.Series:
    """Per-query value in ``setting`` averaged over the runs (seeds); index ``query_id``.

    Only queries present in every run are kept. ``setting`` is a headline setting of
    :func:`hybriddash.reports.significance.headline_samples` (AP in monolingual,
    crosslingual, multilingual; or rank_distance).
    """
    series = []
    for run_id in run_ids:
        qm, qb = loader(run_id)
        samples = headline_samples(qm, qb)
        s = samples[samples["setting"] == setting].set_index("query_id")["value"]
        series.append(s.astype(float))
    if not series:
        return pd.Series(dtype="float64")
    return pd.concat(series, axis=1, join="inner").mean(axis=1)


def paired_difference(
    runs_a: pd.DataFrame, runs_b: pd.DataFrame, setting: str, loader: Loader
) -> np.ndarray:
    """``d_q = mean_s a_{q,s} - mean_s b_{q,s}`` over the queries both roles scored."""
    a = seed_mean_values(runs_a["run_id"].tolist(), setting, loader)
    b = seed_mean_values(runs_b["run_id"].tolist(), setting, loader)
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    return (joined["a"] - joined["b"]).to_numpy()
