"""``hybriddash train``: fine-tune an encoder with mono / cross / hybrid batches."""

from __future__ import annotations

import argparse
import sys

from hybriddash.training import SAMPLER_KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a model with X-X-mono, X-Y or hybrid batches (InfoNCE)",
        description="Fine-tune an encoder on (question, answer) pairs of a parallel QA "
        "corpus with MultipleNegativesRankingLoss (in-batch negatives, scale 20). Each "
        "batch is monolingual in one language (mono), has query and passage in different "
        "languages in every pair (cross), or is mono with probability --alpha (hybrid). "
        "A held-out tenth of the groups gives the validation loss; the best state is "
        "kept. The model goes to <artifacts>/models/trained/<NAME>/ with "
        "training_card.json (written atomically) and is registered in the store. The same "
        "configuration run again reuses the saved model. Works under torchrun / "
        "accelerate launch (data parallel; --batch-size is per process).",
    )
    parser.add_argument("--sampler", choices=SAMPLER_KINDS, default="hybrid", help="batch kind")
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="hybrid: probability of a mono batch, 0..1 (0 = cross, 1 = mono; default 0.5)",
    )
    parser.add_argument(
        "--base",
        default="multilingual-e5-small-q4",
        help="base model id, folder or hub id (default: multilingual-e5-small-q4)",
    )
    parser.add_argument(
        "--train-data",
        default="mlqa-r",
        help="training dataset id: mlqa-r, xquad-r, mlqa-train, sample, upload:<name>",
    )
    parser.add_argument("--langs", help="comma-separated languages to train on (default: all)")
    parser.add_argument("--articles", type=int, help="train on the first N articles only")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps (default 100)")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="pairs per batch and process (default 32)"
    )
    parser.add_argument("--lr", type=float, default=3e-5, help="AdamW learning rate (3e-5)")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    parser.add_argument(
        "--warmup-ratio", type=float, default=0.1, help="linear warm-up share of the steps (0.1)"
    )
    parser.add_argument(
        "--max-length", type=int, default=96, help="token limit while training (default 96)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of split, batches and init")
    parser.add_argument("--out", required=True, help="name of the trained model (a folder name)")
    parser.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="freeze the word-embedding matrix (96M of e5-small's 118M parameters; "
        "~2.5x faster steps on CPU; default on)",
    )
    parser.add_argument(
        "--freeze-layers",
        type=int,
        default=0,
        help="also freeze the embedding block and the lowest N transformer layers: "
        "backpropagation stops above them (see docs/benchmarks.md for speed and quality)",
    )
    parser.add_argument(
        "--bf16", action="store_true", help="bf16 autocast (fast only on CPUs with native bf16)"
    )
    parser.add_argument(
        "--eval-every", type=int, help="validation every N steps (default: steps / 10)"
    )
    parser.add_argument(
        "--patience", type=int, help="stop after N validations without improvement (default: off)"
    )
    parser.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of groups held out (0.1)"
    )
    parser.add_argument(
        "--val-map-queries",
        type=int,
        default=256,
        help="held-out questions whose multilingual mAP is measured at each validation "
        "(the validation curve; 0: off; default 256)",
    )
    parser.add_argument(
        "--extra-pairs",
        metavar="SOURCE",
        help="parallel sentence pairs mixed into the cross-lingual side of X-Y and hybrid "
        "batches: DATASET[key=value,...], e.g. 'tico-19[domain=pubmed,segments=train]' "
        "(segments=train|test: the segment-id split; langs=a+b; other keys go to the loader)",
    )
    parser.add_argument(
        "--extra-share",
        type=float,
        default=0.5,
        help="share of each cross-lingual batch taken from --extra-pairs (default 0.5)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a model of the same name trained with another configuration",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from hybriddash.commands.evaluate import parse_langs
    from hybriddash.training.trainer import TrainConfig, train, trained_dir

    if args.articles is not None and args.articles < 1:
        raise ValueError(f"--articles must be >= 1, got {args.articles}")
    cfg = TrainConfig(
        out=args.out,
        sampler=args.sampler,
        alpha=args.alpha,
        base=args.base,
        train_data=args.train_data,
        langs=parse_langs(args.langs),
        articles=args.articles,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        max_length=args.max_length,
        seed=args.seed,
        freeze_embeddings=args.freeze_embeddings,
        freeze_layers=args.freeze_layers,
        bf16=args.bf16,
        eval_every=args.eval_every,
        patience=args.patience,
        val_fraction=args.val_fraction,
        val_map_queries=args.val_map_queries,
        extra_pairs=args.extra_pairs,
        extra_share=args.extra_share,
    )
    result = train(cfg, overwrite=args.overwrite, progress=not args.quiet)
    card = result.card
    if card.get("cpu_options", {}).get("world_size", 1) > 1 and not _is_rank_zero():
        return 0
    out = sys.stdout
    if result.reused:
        print(
            f"{result.model_id}: already trained with this configuration "
            f"(fingerprint {result.fingerprint}); reused {result.folder}",
            file=out,
        )
        return 0
    vals = card.get("val_losses") or []
    first = vals[0]["val_loss"] if vals else None
    print(f"model      {result.model_id}  (fingerprint {result.fingerprint})", file=out)
    print(f"saved      {trained_dir() / args.out}", file=out)
    print(
        f"data       {card['train_dataset']}: {card['n_train_groups']} training groups, "
        f"{card['n_val_groups']} held out; languages {','.join(card['languages'])}",
        file=out,
    )
    print(
        f"batches    {cfg.sampler}"
        + (f" (alpha {cfg.alpha:g})" if cfg.sampler == "hybrid" else "")
        + f", {card['steps_done']} steps x {cfg.batch_size} pairs",
        file=out,
    )
    if first is not None:
        print(
            f"val loss   {first:.4f} before training -> best {card['best_val_loss']:.4f} "
            f"at step {card['best_step']} (kept)",
            file=out,
        )
    print(
        f"time       {card['wall_seconds']:.0f} s wall, median step "
        f"{card['step_seconds_median']:.3f} s (frozen embeddings: {cfg.freeze_embeddings}, "
        f"bf16: {cfg.bf16}, {card['cpu_options']['torch_threads']} threads)",
        file=out,
    )
    return 0


def _is_rank_zero() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0
