"""One training run: pairs -> sampler -> sentence-transformers' trainer -> saved, registered model.

The loop is the library's (``SentenceTransformerTrainer`` with
``MultipleNegativesRankingLoss``, i.e. InfoNCE over in-batch negatives with cosine
similarity times ``scale`` = 20, temperature 0.05); hybriddash contributes the pair
table, the batch sampler (:mod:`hybriddash.training.samplers`) and three callbacks
(progress bar, step timing, best-state keeping).

Run protocol:

1. the training corpus is turned into a pair table and split by group into training
   and validation parts (:mod:`hybriddash.training.pairs`);
2. the validation loss (the same loss over deterministic batches of the held-out
   groups, drawn by the same sampler kind) is measured before training and every
   ``eval_every`` steps; the weights with the lowest one are kept in memory and
   restored at the end (optionally stopping after ``patience`` evaluations without
   improvement); at each validation the multilingual mAP of up to
   ``val_map_queries`` held-out questions against the held-out passages is measured
   too, and every measurement is appended to the live curve file
   (:mod:`hybriddash.training.curves`), which the dashboard draws while the run goes;
3. the model is written to a temporary folder beside
   ``<artifacts>/models/trained/<name>/`` with ``training_card.json``, then renamed
   onto it (one ``os.rename``): a killed run leaves only a ``.<name>.tmp-*`` folder,
   which no loader lists and the next run removes;
4. the model and its training groups (for the contamination guard) are registered
   in the store.

A run whose folder already holds a card with the same ``fingerprint`` (sha256 of
the configuration, the base model's fingerprint and the training data's fingerprint)
is not repeated: the saved model is reused and (re-)registered.

Under ``torchrun``/``accelerate launch`` the same function runs data-parallel: each
process takes its own share of the batches (see the samplers), ``--batch-size`` is per
process (in-batch negatives stay within one process's batch, so a batch's kind and
its no-duplicate guarantee hold), and only the main process writes and registers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybriddash import config
from hybriddash.cpu import cpu_model_name
from hybriddash.training.contamination import training_groups_of
from hybriddash.training.curves import CurveLog, live_curve_path, validation_map
from hybriddash.training.pairs import PairTable, build_pairs, split_by_group
from hybriddash.training.samplers import SAMPLER_KINDS, ParallelPairBatchSampler

if TYPE_CHECKING:
    from hybriddash.data.corpus import Corpus
    from hybriddash.encoders.registry import ModelSpec

TRAINING_CARD = "training_card.json"
# Bump when a change of this module changes what a given configuration produces.
TRAINING_CODE_VERSION = "1"
LOSS_SCALE = 20.0


@dataclass
class TrainConfig:
    """Everything that determines a training run (and its fingerprint).

    ``alpha`` is the share of mono batches for ``hybrid`` (normalised to 1.0 for
    ``mono`` and 0.0 for ``cross``). ``batch_size`` is (query, passage) pairs per batch
    and per process. ``max_length`` is the token limit during training only; the saved
    model keeps its base's limit for encoding. ``freeze_layers`` > 0 freezes the whole
    embedding block and the lowest N transformer layers, so backpropagation stops above
    them (fewer FLOPs per step, not just fewer optimizer updates). ``eval_every`` (steps; default: 10
    evaluations per run) also sets the granularity of the kept best state.
    ``val_map_queries`` caps the held-out questions whose validation mAP is measured at
    each validation (0: no validation mAP); it does not change the weights, so it is not
    part of the fingerprint. ``extra_pairs`` (a source spec such as
    ``tico-19[domain=pubmed,segments=train]``) adds parallel sentence pairs to the
    cross-lingual side of X-Y and hybrid batches, ``extra_share`` of each cross batch
    (:mod:`hybriddash.training.extra_pairs`).
    """

    out: str
    sampler: str = "hybrid"
    alpha: float = 0.5
    base: str = "multilingual-e5-small-q4"
    train_data: str = "mlqa-r"
    langs: list[str] | None = None
    articles: int | None = None
    steps: int = 100
    batch_size: int = 32
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 96
    seed: int = 0
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    bf16: bool = False
    eval_every: int | None = None
    patience: int | None = None
    val_fraction: float = 0.1
    val_map_queries: int = 256
    extra_pairs: str | None = None
    extra_share: float = 0.5

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLER_KINDS:
            raise ValueError(f"--sampler must be one of {SAMPLER_KINDS}, got {self.sampler!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"--alpha must be in [0, 1], got {self.alpha}")
        self.alpha = {"mono": 1.0, "cross": 0.0}.get(self.sampler, float(self.alpha))
        if self.val_map_queries < 0:
            raise ValueError(f"--val-map-queries must be >= 0, got {self.val_map_queries}")
        if self.freeze_layers < 0:
            raise ValueError(f"--freeze-layers must be >= 0, got {self.freeze_layers}")
        for name in ("steps", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if self.batch_size < 2:
            raise ValueError("--batch-size must be >= 2: in-batch negatives need a second pair")
        if self.extra_pairs:
            from hybriddash.training.extra_pairs import parse_pair_sources

            parse_pair_sources(self.extra_pairs)
            if self.sampler == "mono":
                raise ValueError(
                    "--extra-pairs feeds the cross-lingual side of X-Y and hybrid batches; "
                    "X-X-mono batches have none (use --sampler cross or hybrid)"
                )
            if not 0.0 <= self.extra_share <= 1.0:
                raise ValueError(f"--extra-share must be in [0, 1], got {self.extra_share}")
        if not self.out or "/" in self.out or self.out.startswith("."):
            raise ValueError(f"--out must be a plain folder name, got {self.out!r}")
        if self.langs:
            from hybriddash.languages import normalize_language

            self.langs = sorted({normalize_language(x) for x in self.langs})

    @property
    def effective_eval_every(self) -> int:
        return self.eval_every or max(1, self.steps // 10)


def config_fingerprint(cfg: TrainConfig, base_fp: str, data_fp: str) -> str:
    """sha256 (16 hex chars) of what determines the trained weights.

    Covers every :class:`TrainConfig` field except ``out`` (the name) and
    ``val_map_queries`` (a measurement setting), the base model's
    and the training corpus's fingerprints, the loss scale and the code version.
    """
    # val_map_queries only chooses what is measured, not what is trained
    excluded = {"out", "val_map_queries"}
    payload = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in excluded}
    if not cfg.freeze_layers:
        del payload["freeze_layers"]  # added later: keeps earlier models' fingerprints
    if not cfg.extra_pairs:
        del payload["extra_pairs"], payload["extra_share"]  # the same: added later
    payload.update(
        base_fingerprint=base_fp,
        data_fingerprint=data_fp,
        loss_scale=LOSS_SCALE,
        code_version=TRAINING_CODE_VERSION,
    )
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class TrainResult:
    """Where the model went and what the run measured (``reused``: nothing was trained)."""

    model_id: str
    folder: Path
    fingerprint: str
    card: dict[str, Any]
    reused: bool = False


def trained_dir() -> Path:
    path = config.models_dir() / "trained"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_card(folder: Path) -> dict[str, Any] | None:
    """The folder's training card, or None when absent or unreadable."""
    path = folder / TRAINING_CARD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def train(
    cfg: TrainConfig,
    *,
    corpus: Corpus | None = None,
    base_spec: ModelSpec | None = None,
    overwrite: bool = False,
    register: bool = True,
    progress: bool = True,
    store: Any = None,
) -> TrainResult:
    """Train one model as ``cfg`` says, save it atomically and register it.

    ``corpus`` / ``base_spec`` replace loading ``cfg.train_data`` / resolving
    ``cfg.base`` (tests, the reproduce protocol). ``overwrite`` replaces a model of the
    same name trained with another configuration (otherwise that is an error); a model
    saved with the same configuration fingerprint is always reused.
    ``store`` is a :class:`hybriddash.store.db.Store` (default: the configured one).
    """
    if base_spec is None:
        from hybriddash.encoders.registry import resolve_model

        base_spec = resolve_model(cfg.base)
    if corpus is None:
        from hybriddash.data.datasets import load_dataset

        corpus = load_dataset(cfg.train_data, langs=cfg.langs, articles=cfg.articles)
    elif cfg.langs or cfg.articles:
        corpus = corpus.subset_by(langs=cfg.langs, articles=cfg.articles)
    extra = _extra_source(cfg)
    data_fp = corpus.fingerprint + (f"+{extra.fingerprint}" if extra is not None else "")
    fingerprint = config_fingerprint(cfg, base_spec.fingerprint, data_fp)
    model_id = f"trained/{cfg.out}"
    target = trained_dir() / cfg.out

    existing = read_card(target)
    if existing is not None and existing.get("fingerprint") == fingerprint:
        result = TrainResult(model_id, target, fingerprint, existing, reused=True)
        if register and _is_main_process():
            register_trained(result, corpus, store=store, extra=extra)
        return result
    if existing is not None and not overwrite:
        raise ValueError(
            f"{target}: a model named {cfg.out!r} already exists, trained with another "
            f"configuration (fingerprint {existing.get('fingerprint')} != {fingerprint}); "
            "choose another --out or pass --overwrite"
        )

    table = build_pairs(corpus)
    train_table, val_table = split_by_group(table, cfg.val_fraction, seed=cfg.seed)
    if len(train_table) == 0:
        raise ValueError(f"{corpus.name}: no training pair left after the validation split")
    extra_card: dict[str, Any] = {}
    if extra is not None:
        from hybriddash.training.extra_pairs import extra_pair_table, with_extra_pairs

        extra_table = extra_pair_table(extra, component_offset=max(table.component) + 1)
        train_table = with_extra_pairs(train_table, extra_table)
        extra_card = _extra_card(cfg, extra, extra_table)

    identity = {
        "model_id": model_id,
        "fingerprint": fingerprint,
        "description": (
            f"{base_spec.model_id} fine-tuned with {cfg.sampler} batches"
            + (f" (alpha {cfg.alpha:g})" if cfg.sampler == "hybrid" else "")
            + f" on {corpus.name}"
            + (f" + {cfg.extra_pairs} pairs" if extra is not None else "")
            + f", {cfg.steps} steps x {cfg.batch_size} pairs, seed {cfg.seed}"
        ),
        **extra_card,
    }
    card = _run_trainer(
        cfg, base_spec, corpus, train_table, val_table, identity=identity, progress=progress
    )
    if not _is_main_process():
        return TrainResult(model_id, target, fingerprint, card)
    result = TrainResult(model_id, target, fingerprint, card)
    if register:
        register_trained(result, corpus, store=store, extra=extra)
    return result


def _extra_source(cfg: TrainConfig) -> Corpus | None:
    """The corpus of ``cfg.extra_pairs`` (split and languages applied), or None."""
    if not cfg.extra_pairs:
        return None
    from hybriddash.training.extra_pairs import load_pair_source

    return load_pair_source(cfg.extra_pairs)


def _extra_card(cfg: TrainConfig, extra: Corpus, table: PairTable) -> dict[str, Any]:
    """What the training card says about the extra pairs, with the split's proof: the
    contamination guard run on the test side against the train side."""
    from hybriddash.data.datasets import load_dataset
    from hybriddash.training.extra_pairs import parse_pair_sources, split_proof

    sources = parse_pair_sources(cfg.extra_pairs or "")
    info: dict[str, Any] = {
        "spec": cfg.extra_pairs,
        "sources": [s.dataset for s in sources],
        "split": sorted({s.split for s in sources if s.split}),
        "corpus_fp": extra.fingerprint,
        "share_of_cross_batches": cfg.extra_share,
        "n_groups": len({q.group for q in extra.queries}),
        "n_pairs": len(table),
        "languages": table.languages,
    }
    proofs = {}
    for src in sources:
        if not src.split:
            continue
        full = load_dataset(src.dataset, langs=list(src.langs) if src.langs else None)
        proofs[src.spec] = proof = split_proof(full)
        if not proof["clean"]:
            raise ValueError(
                f"--extra-pairs {src.spec}: the test side of the split shares segments with "
                f"the train side ({proof}); refusing to train on it"
            )
    if proofs:
        info["split_proof"] = proofs
    return {"extra_pairs": info}


def register_trained(
    result: TrainResult, corpus: Corpus, *, store: Any = None, extra: Corpus | None = None
) -> None:
    """Register a trained model and its training groups (question ids + text hashes).

    All groups of the training corpus are registered, the held-out validation groups
    included: they chose the kept checkpoint, so evaluating on them is not zero-shot.
    The segments of extra pairs (``extra``) are registered too, so an evaluation on a
    corpus that holds one of them is flagged as contaminated.
    """
    from hybriddash.encoders.registry import resolve_model
    from hybriddash.store.writes import register_model

    spec = resolve_model(result.model_id)
    card = result.card
    groups = [(g.group_id, g.text_hash) for g in training_groups_of(corpus)]
    if extra is not None:
        groups += [(g.group_id, g.text_hash) for g in training_groups_of(extra)]
    register_model(
        store,
        spec,
        sampler=card.get("sampler"),
        alpha=card.get("alpha"),
        base_model_id=card.get("base_model"),
        train_dataset=card.get("train_dataset"),
        train_corpus_fp=card.get("train_corpus_fp"),
        training_groups=groups,
    )


# ---- the run itself ------------------------------------------------------------------


def _run_trainer(
    cfg: TrainConfig,
    base_spec: ModelSpec,
    corpus: Corpus,
    train_table: PairTable,
    val_table: PairTable,
    *,
    identity: dict[str, Any],
    progress: bool,
    save: bool = True,
) -> dict[str, Any]:
    """Train, keep the best state, save atomically (``save``); returns the training card."""
    import torch
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybriddash.encoders._folder import file_lock, quiet_transformers

    started = time.time()
    local = Path(base_spec.source).is_dir()
    if local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # a fresh copy: the registry's cached models are shared, training must not touch them
    torch.manual_seed(cfg.seed)
    with quiet_transformers():
        model = SentenceTransformer(base_spec.source, device="cpu", local_files_only=local)
    base_max_length = model.max_seq_length
    model.max_seq_length = min(cfg.max_length, base_max_length or cfg.max_length)
    n_params = sum(p.numel() for p in model.parameters())
    if cfg.freeze_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    if cfg.freeze_layers:
        for module in frozen_bottom(model[0].auto_model, cfg.freeze_layers):
            module.requires_grad_(False)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)

    train_ds = train_table.to_dataset(base_spec.query_prefix, base_spec.passage_prefix)
    val_ds = (
        val_table.to_dataset(base_spec.query_prefix, base_spec.passage_prefix)
        if len(val_table)
        else None
    )
    n_val_comp = len(set(val_table.component))
    # at least 4 validation batches: one short batch would make a noisy selection signal
    val_batches = max(4, n_val_comp // cfg.batch_size) if val_ds is not None else 0

    def sampler_factory(dataset: Any, **kwargs: Any) -> ParallelPairBatchSampler:
        is_val = val_ds is not None and dataset is val_ds
        return ParallelPairBatchSampler(
            dataset,
            kind=cfg.sampler,
            alpha=cfg.alpha,
            num_batches=val_batches if is_val else None,
            extra_share=cfg.extra_share,
            **kwargs,
        )

    eval_every = cfg.effective_eval_every
    work = Path(tempfile.mkdtemp(prefix="hybriddash-train-"))
    world = _world_size()
    ddp_kwargs: dict[str, Any] = {}
    if world > 1 and not torch.cuda.is_available():
        ddp_kwargs["ddp_backend"] = "gloo"
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        max_steps=cfg.steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=round(cfg.warmup_ratio * cfg.steps),
        lr_scheduler_type="linear",
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=cfg.bf16,
        use_cpu=not torch.cuda.is_available(),
        batch_sampler=sampler_factory,
        eval_strategy="steps" if val_ds is not None else "no",
        eval_steps=eval_every,
        eval_on_start=val_ds is not None,
        save_strategy="no",
        logging_strategy="steps",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        **ddp_kwargs,
    )
    loss = MultipleNegativesRankingLoss(model, scale=LOSS_SCALE)
    recorder = _Recorder(cfg.patience)
    curve = CurveLog(live_curve_path(cfg.out) if _is_main_process() else None, started=started)
    validation = _ValidationSet.from_table(val_table, base_spec, cfg.val_map_queries)
    callbacks: list[Any] = [_CurveLogger(curve, validation, cfg.batch_size), recorder]
    if progress and _is_main_process():
        callbacks.append(_ProgressBar(cfg.steps, f"train {cfg.out} ({cfg.sampler})"))
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        loss=loss,
        callbacks=callbacks,
    )
    # HF's own tqdm/printing callbacks would print a dict per logged step
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    try:
        trainer.train()
        if recorder.best_state is not None:
            recorder.restore(model)
    finally:
        curve.close()
        shutil.rmtree(work, ignore_errors=True)
    wall = time.time() - started
    model.max_seq_length = base_max_length

    step_times = recorder.step_times[1:] or recorder.step_times  # first step warms up
    card: dict[str, Any] = {
        **identity,
        "base_model": base_spec.model_id,
        "base_model_id": base_spec.model_id,
        "base_fingerprint": base_spec.fingerprint,
        "query_prefix": base_spec.query_prefix,
        "passage_prefix": base_spec.passage_prefix,
        "train_dataset": corpus.name,
        "train_corpus_fp": corpus.fingerprint,
        "data_fingerprint": corpus.fingerprint,
        "languages": train_table.languages,
        "sampler": cfg.sampler,
        "alpha": cfg.alpha,
        "config": dataclasses.asdict(cfg),
        "n_train_groups": len(train_table.groups),
        "n_val_groups": len(val_table.groups),
        "n_train_pairs": len(train_table),
        "n_train_mono_pairs": train_table.n_mono,
        "n_train_cross_pairs": train_table.n_cross,
        "loss": "MultipleNegativesRankingLoss (InfoNCE, in-batch negatives, cosine)",
        "loss_scale": LOSS_SCALE,
        "steps_done": recorder.last_step,
        "losses": recorder.losses,
        "val_losses": recorder.val_losses,
        "curve": curve.rows,
        "best_step": recorder.best_step,
        "best_val_loss": None if recorder.best_loss is None else round(recorder.best_loss, 5),
        "stopped_early": recorder.stopped_early,
        "wall_seconds": round(wall, 2),
        "step_seconds_median": round(statistics.median(step_times), 4) if step_times else None,
        "step_seconds": [round(t, 4) for t in recorder.step_times],
        "cpu_options": {
            "freeze_embeddings": cfg.freeze_embeddings,
            "freeze_layers": cfg.freeze_layers,
            "frozen_parameters": frozen,
            "parameters": n_params,
            "bf16_autocast": cfg.bf16,
            "torch_threads": torch.get_num_threads(),
            "world_size": world,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        },
        "machine": _machine(),
        "library_versions": _versions(),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if save and _is_main_process():
        _save_atomically(model, card, trained_dir(), cfg.out, file_lock)
    return card


def frozen_bottom(encoder: Any, n_layers: int) -> list[Any]:
    """The modules to freeze for ``freeze_layers=n_layers``: embeddings + lowest N layers.

    Works on BERT-style encoders (``.embeddings`` + ``.encoder.layer``: BERT, XLM-R,
    MiniLM, e5); anything else raises ValueError naming what is missing.
    """
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    embeddings = getattr(encoder, "embeddings", None)
    if layers is None or embeddings is None:
        raise ValueError(
            f"--freeze-layers needs a BERT-style encoder (.embeddings and .encoder.layer); "
            f"{type(encoder).__name__} has no such layout"
        )
    if n_layers > len(layers):
        raise ValueError(f"--freeze-layers {n_layers}: the model has only {len(layers)} layers")
    return [embeddings, *layers[:n_layers]]


def measure_steps(cfg: TrainConfig, base_spec: ModelSpec, corpus: Corpus) -> dict[str, Any]:
    """Run ``cfg.steps`` training steps without validation or saving; for benchmarks.

    Returns the would-be training card (``step_seconds_median`` excludes the first,
    warm-up step; ``wall_seconds`` includes loading the model).
    """
    table = build_pairs(corpus)
    return _run_trainer(
        cfg, base_spec, corpus, table, table.take([]), identity={}, progress=False, save=False
    )


def _save_atomically(
    model: Any, card: dict[str, Any], root: Path, name: str, file_lock: Any
) -> Path:
    """Write model + card into ``.<name>.tmp-*`` under ``root``, then rename onto ``root/name``.

    Under ``.<name>.lock`` (one writer per name); leftovers of killed runs are removed
    first; an existing folder of that name (overwrite) is moved aside and deleted only
    after the new one is in place.
    """
    target = root / name
    with file_lock(root / f".{name}.lock"):
        for stale in root.glob(f".{name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
        try:
            model.save(str(tmp))
            tmp.chmod(0o755)  # mkdtemp makes it private; the model folder is shared
            (tmp / TRAINING_CARD).write_text(
                json.dumps(card, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
            )
            old = None
            if target.exists():
                old = root / f".{name}.tmp-old-{os.getpid()}"
                os.rename(target, old)
            os.rename(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def _machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model_name(fallback=""),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def _versions() -> dict[str, str]:
    import sentence_transformers
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }


# ---- callbacks -----------------------------------------------------------------------

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - transformers is a hard dependency
    TrainerCallback = object  # type: ignore[assignment,misc]


class _Recorder(TrainerCallback):  # type: ignore[misc]
    """Records losses and step times; keeps the trainable state of the best val loss.

    Only parameters with ``requires_grad`` are copied (frozen embeddings never change),
    so keeping the best state costs ~90 MB for the base model, not a disk checkpoint.
    """

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.losses: list[dict[str, float]] = []
        self.val_losses: list[dict[str, float]] = []
        self.step_times: list[float] = []
        self.best_loss: float | None = None
        self.best_step: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.bad_evals = 0
        self.stopped_early = False
        self.last_step = 0
        self._t0 = 0.0
        self._model: Any = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        self._model = model

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.step_times.append(time.perf_counter() - self._t0)
        self.last_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        if logs and "loss" in logs:
            self.losses.append({"step": state.global_step, "loss": round(float(logs["loss"]), 5)})

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):  # noqa: ANN001
        if not metrics or "eval_loss" not in metrics:
            return
        loss = float(metrics["eval_loss"])
        self.val_losses.append({"step": state.global_step, "val_loss": round(loss, 5)})
        if self.best_loss is None or loss < self.best_loss:
            self.best_loss, self.best_step, self.bad_evals = loss, state.global_step, 0
            target = model if model is not None else self._model
            if target is not None:
                self.best_state = {
                    n: p.detach().clone() for n, p in target.named_parameters() if p.requires_grad
                }
        else:
            self.bad_evals += 1
            if self.patience is not None and self.bad_evals >= self.patience:
                control.should_training_stop = True
                self.stopped_early = True

    def restore(self, model: Any) -> None:
        import torch

        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in (self.best_state or {}).items():
                params[name].copy_(value)


@dataclass
class _ValidationSet:
    """Held-out questions and passages (prefixed texts) for the validation mAP."""

    query_texts: list[str]
    query_langs: list[str]
    passage_texts: list[str]
    relevant: Any  # (n_queries, n_passages) bool

    @classmethod
    def from_table(
        cls, table: PairTable, spec: ModelSpec, max_queries: int
    ) -> _ValidationSet | None:
        """Up to ``max_queries`` held-out questions (whole components, in table order)
        and every passage of those components; None when there is nothing to measure."""
        import numpy as np

        if max_queries <= 0 or len(table) == 0:
            return None
        queries: dict[str, int] = {}
        passages: dict[str, int] = {}
        q_rows: list[tuple[str, str]] = []
        p_texts: list[str] = []
        pairs: list[tuple[int, int]] = []
        kept_components: set[int] = set()
        for i in range(len(table)):
            comp = table.component[i]
            if comp not in kept_components:
                if len(queries) >= max_queries:
                    continue
                kept_components.add(comp)
            qid, cid = table.query_id[i], table.candidate_id[i]
            if qid not in queries:
                queries[qid] = len(queries)
                q_rows.append((spec.query_prefix + table.query_text[i], table.qlang[i]))
            if cid not in passages:
                passages[cid] = len(passages)
                p_texts.append(spec.passage_prefix + table.passage_text[i])
            pairs.append((queries[qid], passages[cid]))
        relevant = np.zeros((len(queries), len(passages)), dtype=bool)
        for qi, pi in pairs:
            relevant[qi, pi] = True
        return cls([t for t, _ in q_rows], [lang for _, lang in q_rows], p_texts, relevant)

    def measure(self, model: Any, batch_size: int) -> float:
        import torch

        was_training = model.training
        with torch.no_grad():
            kwargs = {
                "batch_size": batch_size,
                "normalize_embeddings": True,
                "show_progress_bar": False,
            }
            q = model.encode(self.query_texts, **kwargs)
            p = model.encode(self.passage_texts, **kwargs)
        model.train(was_training)
        return validation_map(q, self.query_langs, p, self.relevant)


class _CurveLogger(TrainerCallback):  # type: ignore[misc]
    """Appends the training loss, the validation loss and the validation mAP to a curve."""

    def __init__(self, curve: CurveLog, validation: _ValidationSet | None, batch_size: int) -> None:
        self.curve, self.validation, self.batch_size = curve, validation, batch_size
        self._model: Any = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        self._model = model

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        if logs and "loss" in logs:
            self.curve.add(state.global_step, "train", "loss", logs["loss"])

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):  # noqa: ANN001
        if not metrics or "eval_loss" not in metrics:
            return
        self.curve.add(state.global_step, "validation", "loss", metrics["eval_loss"])
        target = model if model is not None else self._model
        if self.validation is not None and target is not None and _is_main_process():
            value = self.validation.measure(target, self.batch_size)
            self.curve.add(state.global_step, "validation", "map_multilingual", value)


class _ProgressBar(TrainerCallback):  # type: ignore[misc]
    """A tqdm bar over the steps with the latest training and validation loss."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc = total, desc
        self.bar: Any = None
        self.postfix: dict[str, str] = {}

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc=self.desc, unit="step", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        if self.bar is not None and logs and "loss" in logs:
            self.postfix["loss"] = f"{logs['loss']:.3f}"
            self.bar.set_postfix(self.postfix, refresh=False)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
        if self.bar is not None and metrics and "eval_loss" in metrics:
            self.postfix["val"] = f"{metrics['eval_loss']:.3f}"
            self.bar.set_postfix(self.postfix)

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.bar is not None:
            self.bar.close()


__all__ = [
    "TrainConfig",
    "TrainResult",
    "config_fingerprint",
    "measure_steps",
    "read_card",
    "register_trained",
    "train",
    "trained_dir",
]
