"""Training step time on the CPU: frozen word embeddings and bf16 autocast, on and off.

    python bench/bench_train.py                  # base model, 6 steps x 16 pairs per variant
    python bench/bench_train.py --steps 4 --batch-size 32 --variants frozen,frozen+bf16

Runs the real training path (:func:`hybriddash.training.trainer.measure_steps`: the
pair table, the hybrid sampler, sentence-transformers' trainer with
MultipleNegativesRankingLoss) on the offline base model (multilingual-e5-small-q4
dequantized, 118M parameters of which 96M are the word-embedding matrix), without
validation or saving. The step time is the median over the steps after the first
(warm-up) one; each variant loads the model afresh. Training data: the first
``--articles`` articles of MLQA-R when the benchmark folder is configured, else the
built-in sample corpus (stated in the output).

Prints a Markdown block for docs/benchmarks.md (the lead collects it). With the
defaults it takes about 2-4 CPU-minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.cpu import cpu_flags, cpu_model_name  # noqa: E402
from hybriddash.training.trainer import TrainConfig, measure_steps  # noqa: E402

VARIANTS = {
    "full": {"freeze_embeddings": False, "bf16": False},
    "frozen": {"freeze_embeddings": True, "bf16": False},
    "full+bf16": {"freeze_embeddings": False, "bf16": True},
    "frozen+bf16": {"freeze_embeddings": True, "bf16": True},
    "frozen+layers3": {"freeze_embeddings": True, "freeze_layers": 3, "bf16": False},
    "frozen+layers6": {"freeze_embeddings": True, "freeze_layers": 6, "bf16": False},
    "frozen+layers3+bf16": {"freeze_embeddings": True, "freeze_layers": 3, "bf16": True},
}
DEFAULT_VARIANTS = "full,frozen,frozen+layers3,frozen+layers6"


def _bf16_native() -> str:
    flags = cpu_flags()
    if flags is None:
        return "unknown"
    native = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return ", ".join(native) if native else "no native bf16 (emulated)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="multilingual-e5-small-q4")
    parser.add_argument("--steps", type=int, default=6, help="steps per variant (first is warm-up)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument(
        "--articles", type=int, default=6, help="MLQA-R articles to draw pairs from"
    )
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"subset of {list(VARIANTS)}")
    args = parser.parse_args(argv)

    import torch

    from hybriddash.config import data_dir
    from hybriddash.data.datasets import load_dataset
    from hybriddash.encoders.registry import resolve_model

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; expected {list(VARIANTS)}")
    data = data_dir()
    if data is not None and (data / "mlqa-r").is_dir():
        corpus = load_dataset("mlqa-r", articles=args.articles)
    else:
        corpus = load_dataset("sample")
    spec = resolve_model(args.base)
    rows = []
    started = time.time()
    for name in variants:
        cfg = TrainConfig(
            out="bench",
            sampler="hybrid",
            base=args.base,
            steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            warmup_ratio=0.0,
            **VARIANTS[name],
        )
        card = measure_steps(cfg, spec, corpus)
        rows.append((name, card))
        print(
            f"{name:12s} median {card['step_seconds_median']:.3f} s/step "
            f"(steps {card['step_seconds']}), wall {card['wall_seconds']:.1f} s",
            file=sys.stderr,
        )
    total = time.time() - started

    def mean_step(card: dict) -> float:
        # Every variant draws the same batches (same seed): the mean over steps 2..N
        # compares like with like; a median would pick different batches per variant
        # (mono batches of short texts take a fraction of a cross batch's time).
        steps = card["step_seconds"][1:] or card["step_seconds"]
        return sum(steps) / len(steps)

    base_time = next((mean_step(c) for n, c in rows if n == "full"), None)
    print(f"### Training step time (CPU), {spec.model_id}\n")
    print(
        f"`python bench/bench_train.py --steps {args.steps} --batch-size {args.batch_size} "
        f"--max-length {args.max_length}` on {cpu_model_name()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; bf16: {_bf16_native()}. "
        f"Training pairs: {corpus.name} (hybrid batches, alpha 0.5; the same batches for every "
        f"variant). Mean over steps 2..{args.steps} (step 1 is warm-up). Total {total:.0f} s; "
        f"load average at the end {os.getloadavg()[0]:.1f}.\n"
    )
    print("| variant | trainable params | s/step | pairs/s | vs full |")
    print("|---|---|---|---|---|")
    for name, card in rows:
        opts = card["cpu_options"]
        trainable = opts["parameters"] - opts["frozen_parameters"]
        t = mean_step(card)
        speed = f"{base_time / t:.2f}x" if base_time else "-"
        print(
            f"| {name} | {trainable / 1e6:.1f}M of {opts['parameters'] / 1e6:.1f}M | {t:.3f} | "
            f"{args.batch_size / t:.1f} | {speed} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
