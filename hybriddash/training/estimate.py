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
    overheads = [max(0.0, r["wall_s"] - r["steps_done"] * r["step_s"]) for r in pool]
    wall_s = steps * step_s + statistics.median(overheads)
    latest = max(pool, key=lambda r: r["trained_at"])
    basis = (
        f"median of {len(pool)} earlier run(s) of {base_model} on this CPU"
        + ("" if same_opts else " with other freezing/bf16 options")
        + f", scaled by tokens per batch (latest: {latest['model_id']}, "
        f"{latest['step_s']:.3f} s/step at batch {latest['batch_size']} x "
        f"{latest['max_length']} tokens)"
    )
    return WallTimeEstimate(wall_s, step_s, basis, bool(same_opts))
