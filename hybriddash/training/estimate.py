"""Estimated wall time of a training run, from this machine's measured step speed.

Every training card records ``step_seconds_median`` (median seconds per optimizer
step, the warm-up step excluded), the configuration and the machine's CPU. The
estimate for a new configuration takes the cards of earlier runs *on this CPU* with the
same base model, prefers those with the same step-cost options (frozen embeddings,
frozen layers, bf16), and scales their step time by the tokens per batch::

    step_s(new) = step_s(card) * (batch_size * max_length) / (batch_size_card * max_length_card)
    wall_s(new) = steps * step_s(new) + overhead_s(card)

where ``overhead_s(card) = wall_seconds - steps_done * step_seconds_median`` (loading,
validations, saving) of the card used. (Attention cost grows faster than linearly in
the length, so long ``max_length`` values are underestimated somewhat.) With no card
of that base model on this CPU there is no estimate: a first run measures it.

Validation passes are counted apart when the cards' curves show them: a pass runs before
the first step and after every ``eval_every``-th step, and one costs ``val_s`` (measured
in the curve as the gap between two training steps around a validation, less one step)::

    wall_s(new) = steps * step_s + passes(0, steps, E) * val_s + load_s(card)
    load_s(card) = wall_seconds - steps_done * step_s(card) - passes(0, steps_done, E') * val_s

The live ETA of a running job (:func:`remaining_seconds`, fed by the run's own curve) uses
the same model from the current step on, so the estimate before the run and the ETA
during it agree; it adds the validation of the current step when not logged yet, and
the time earlier runs of the base model took after their last validation to save and
register the model (:func:`finish_seconds`, measured by the job system).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from hybriddash import config
from hybriddash.cpu import cpu_model_name

# the registry's name for the card (importing the trainer would load the training stack,
# seconds on a page's first visit, for one file name)
from hybriddash.encoders.registry import TRAINING_CARD

SPEED_OPTIONS = ("freeze_embeddings", "freeze_layers", "bf16")


@dataclass(frozen=True)
class WallTimeEstimate:
    """``wall_s`` and ``step_s`` in seconds; ``basis`` says which measurement it scales."""

    wall_s: float
    step_s: float
    basis: str
    same_options: bool
    val_s: float | None = None  # one validation pass, when the cards' curves show it


def validation_passes(step: int, steps: int, eval_every: int, *, at_start: bool = False) -> int:
    """Validation passes still to come after ``step`` of ``steps`` (one after each step
    that is a multiple of ``eval_every``), plus the pass before step 1 when ``at_start``."""
    every = max(1, int(eval_every))
    return max(0, steps // every - step // every) + (1 if at_start else 0)


def default_eval_every(steps: int) -> int:
    """The trainer's default ``eval_every``: a tenth of the steps (at least 1)."""
    return max(1, int(steps) // 10)


@dataclass(frozen=True)
class CurveTiming:
    """What a (live or finished) curve says about speed, in seconds.

    ``step_s``: median gap between consecutive training steps without a validation
    between them; ``val_s``: median extra gap where a validation ran (None before the
    first one after the start); ``step``: the last logged training step; ``load_s``:
    seconds before the first row (loading the model and data), the measure of what
    saving the model costs at the end; ``validated``: steps with a logged validation.
    """

    step: int
    step_s: float | None
    val_s: float | None
    load_s: float = 0.0
    validated: frozenset[int] = frozenset()


def curve_timing(rows: list[dict[str, Any]]) -> CurveTiming:
    """Step and validation-pass times of curve rows (see :mod:`hybriddash.training.curves`)."""
    train = sorted(
        (int(r["step"]), float(r["elapsed_s"]))
        for r in rows
        if r.get("split") == "train" and r.get("metric") == "loss"
    )
    validated = {
        int(r["step"]) for r in rows if r.get("split") == "validation" and int(r["step"]) > 0
    }
    first = min((float(r["elapsed_s"]) for r in rows), default=0.0)
    all_validated = frozenset(int(r["step"]) for r in rows if r.get("split") == "validation")
    if not train:
        return CurveTiming(0, None, None, first, all_validated)
    plain, around = [], []
    for (s0, t0), (s1, t1) in zip(train, train[1:], strict=False):
        if s1 != s0 + 1:
            continue
        (around if s0 in validated else plain).append(t1 - t0)
    step_s = statistics.median(plain) if plain else None
    val_s = (
        statistics.median(max(0.0, gap - step_s) for gap in around)
        if around and step_s is not None
        else None
    )
    return CurveTiming(train[-1][0], step_s, val_s, first, all_validated)


def remaining_seconds(
    step: int,
    steps: int,
    eval_every: int,
    step_s: float,
    val_s: float | None,
    *,
    pending_validation: bool = False,
    finish_s: float = 0.0,
) -> float:
    """Seconds left after ``step``::

        (steps - step) * step_s + (passes + pending) * val_s + finish_s

    ``passes`` = :func:`validation_passes` after ``step``; ``pending``: the validation of
    ``step`` itself has not been logged yet; ``finish_s``: saving and registering the
    model after the last step (``val_s`` None counts the passes as free)."""
    rest = max(0, steps - step) * step_s + finish_s
    if val_s:
        passes = validation_passes(step, steps, eval_every) + (1 if pending_validation else 0)
        rest += passes * val_s
    return rest


def _finish_log() -> Any:
    return config.artifacts_dir() / "training" / "finish_seconds.jsonl"


def record_finish(base_model: str, seconds: float) -> None:
    """Keep how long a run of ``base_model`` took after its last curve row (the last
    validation) until it was saved and registered: one JSON line per run, this CPU named."""
    import json

    path = _finish_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"base_model": base_model, "cpu": cpu_model_name(fallback=""), "finish_s": seconds}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


def finish_seconds(base_model: str) -> float:
    """Median of :func:`record_finish` of ``base_model`` on this CPU; 0.0 before any."""
    import json

    cpu = cpu_model_name(fallback="")
    try:
        lines = _finish_log().read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0.0
    found = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if row.get("base_model") == base_model and row.get("cpu") == cpu:
            found.append(float(row["finish_s"]))
    return statistics.median(found) if found else 0.0


def measured_runs(*, cpu: str | None = None) -> list[dict[str, Any]]:
    """Step-speed measurements of the training cards saved on ``cpu`` (default: this one).

    Each: ``model_id, base_model, batch_size, max_length, freeze_embeddings,
    freeze_layers, bf16, steps_done, step_s, wall_s, trained_at``.
    """
    import json

    cpu = cpu_model_name(fallback="") if cpu is None else cpu
    rows = []
    for path in sorted((config.models_dir() / "trained").glob(f"*/{TRAINING_CARD}")):
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        cfg = card.get("config") or {}
        step_s = card.get("step_seconds_median")
        if not step_s or (card.get("machine") or {}).get("cpu", "") != cpu:
            continue
        rows.append(
            {
                "model_id": card.get("model_id"),
                "base_model": card.get("base_model"),
                "batch_size": int(cfg.get("batch_size", 0)),
                "max_length": int(cfg.get("max_length", 0)),
                "freeze_embeddings": bool(cfg.get("freeze_embeddings", True)),
                "freeze_layers": int(cfg.get("freeze_layers", 0) or 0),
                "bf16": bool(cfg.get("bf16", False)),
                "steps_done": int(card.get("steps_done") or 0),
                "eval_every": int(
                    cfg.get("eval_every") or default_eval_every(int(cfg.get("steps", 0) or 0))
                ),
                "val_s": curve_timing(card.get("curve") or []).val_s,
                "step_s": float(step_s),
                "wall_s": float(card.get("wall_seconds") or 0.0),
                "trained_at": card.get("trained_at", ""),
            }
        )
    return rows


def estimate_wall_time(
    *,
    base_model: str,
    steps: int,
    batch_size: int,
    max_length: int,
    freeze_embeddings: bool = True,
    freeze_layers: int = 0,
    bf16: bool = False,
    eval_every: int | None = None,
    runs: list[dict[str, Any]] | None = None,
) -> WallTimeEstimate | None:
    """The estimate for one configuration (see the module docstring); None without a
    measurement of ``base_model`` on this CPU."""
    runs = measured_runs() if runs is None else runs
    same_base = [r for r in runs if r["base_model"] == base_model and r["batch_size"] > 0]
    if not same_base:
        return None
    wanted = {"freeze_embeddings": freeze_embeddings, "freeze_layers": freeze_layers, "bf16": bf16}
    same_opts = [r for r in same_base if all(r[k] == v for k, v in wanted.items())]
    pool = same_opts or same_base
    tokens = batch_size * max_length
    scaled = [r["step_s"] * tokens / (r["batch_size"] * r["max_length"]) for r in pool]
    step_s = statistics.median(scaled)
    val_times = [r["val_s"] for r in pool if r.get("val_s") is not None]
    val_s = statistics.median(val_times) if val_times else None

    def load_s(r: dict[str, Any]) -> float:
        spent = r["steps_done"] * r["step_s"]
        if val_s is not None and r.get("val_s") is not None:
            spent += validation_passes(0, r["steps_done"], r["eval_every"], at_start=True) * val_s
        return max(0.0, r["wall_s"] - spent)

    every = int(eval_every or default_eval_every(steps))
    passes = validation_passes(0, steps, every, at_start=True) if val_s is not None else 0
    wall_s = steps * step_s + passes * (val_s or 0.0) + statistics.median(map(load_s, pool))
    latest = max(pool, key=lambda r: r["trained_at"])
    basis = (
        f"median of {len(pool)} earlier run(s) of {base_model} on this CPU"
        + ("" if same_opts else " with other freezing/bf16 options")
        + f", scaled by tokens per batch (latest: {latest['model_id']}, "
        f"{latest['step_s']:.3f} s/step at batch {latest['batch_size']} x "
        f"{latest['max_length']} tokens)"
    )
    if val_s is not None:
        basis += f"; {passes} validation passes of {val_s:.1f} s each"
    return WallTimeEstimate(wall_s, step_s, basis, bool(same_opts), val_s)
