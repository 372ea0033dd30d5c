"""What each job kind runs: the same backend function as its CLI command.

A job's ``params`` are the keyword arguments of that function (for ``train``: the
:class:`~hybriddash.training.trainer.TrainConfig` fields plus keyword arguments of
:func:`~hybriddash.training.trainer.train`), passed through unchanged, so an option
added to the backend function works in a job without a change here.

=========  ===================================================================
kind       backend call (the CLI command's)
=========  ===================================================================
evaluate   ``hybriddash.evaluation.evaluate(**params)`` (``evaluate``)
train      ``train(TrainConfig(**config_fields), **other_params)`` (``train``)
reproduce  ``run_reproduction(**params)`` + ``render_results`` to ``results`` (``reproduce``)
import     ``hybriddash.store.uploads.import_upload(**params)`` (``import``)
=========  ===================================================================

Each function runs inside the job's own process (:mod:`hybriddash.jobs.child`) and
gets a ``report(fraction, stage, eta_s=None, step_s=None)`` callable for progress.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybriddash import config

Report = Callable[..., None]
KINDS = ("evaluate", "train", "reproduce", "import")


def split_train_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params`` of a train job -> (TrainConfig fields, other keyword arguments of train())."""
    from hybriddash.training.trainer import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return (
        {k: v for k, v in params.items() if k in fields},
        {k: v for k, v in params.items() if k not in fields},
    )


def title_of(kind: str, params: dict[str, Any]) -> str:
    """A short human title for the jobs list."""
    if kind == "evaluate":
        return f"evaluate {params.get('model')} on {params.get('dataset')}"
    if kind == "train":
        sampler = params.get("sampler", "hybrid")
        return f"train trained/{params.get('out')} ({sampler}, {params.get('steps', 100)} steps)"
    if kind == "reproduce":
        return f"reproduce (profile {params.get('profile', 'quick')})"
    if kind == "import":
        from hybriddash.data.upload.validation import default_name

        return f"import upload:{params.get('name') or default_name(params.get('sources') or [])}"
    raise ValueError(f"unknown job kind {kind!r}; expected one of {KINDS}")


def check_params(kind: str, params: dict[str, Any]) -> None:
    """Refuse a job that cannot start, before it is queued (clear message, no queue entry)."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; expected one of {KINDS}")
    if kind == "train":
        from hybriddash.training.trainer import TrainConfig

        cfg_fields, _ = split_train_params(params)
        TrainConfig(**cfg_fields)  # raises ValueError naming the option at fault
    elif kind == "evaluate":
        for key in ("model", "dataset"):
            if not params.get(key):
                raise ValueError(f"an evaluate job needs {key!r}; got params {params!r}")
    elif kind == "import":
        # an empty name is allowed: the import takes the first file's stem
        for key in ("sources",):
            if not params.get(key):
                raise ValueError(f"an import job needs {key!r}; got params {params!r}")


# ---- what a job may leave behind ---------------------------------------------------


def snapshot(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """State of what the job may create, taken before it starts (for :func:`discard_partial`)."""
    if kind != "train" or not params.get("out"):
        return {}
    from hybriddash.training.trainer import read_card, trained_dir

    card = read_card(trained_dir() / params["out"])
    return {"out": params["out"], "fingerprint": None if card is None else card.get("fingerprint")}


def discard_partial(kind: str, before: dict[str, Any] | None) -> list[str]:
    """After a cancelled or failed train job: remove a model folder it saved but did not
    register (the process was stopped between the atomic save and the registration), and
    leftover ``.<name>.tmp-*`` folders. Returns what was removed.

    A folder whose card fingerprint is the one before the job, or which the store has
    registered with that fingerprint, is kept.
    """
    if kind != "train" or not before or not before.get("out"):
        return []
    from hybriddash.store.db import Store
    from hybriddash.store.reads import list_models
    from hybriddash.training.trainer import read_card, trained_dir

    root = trained_dir()
    name = before["out"]
    removed = []
    for stale in root.glob(f".{name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(str(stale))
    target = root / name
    card = read_card(target)
    if card is None or card.get("fingerprint") == before.get("fingerprint"):
        return removed
    registered = False
    store_file = config.store_path()
    if store_file.exists():
        models = list_models(store=Store(store_file))
        row = models[models["model_id"] == f"trained/{name}"]
        registered = bool(len(row)) and str(row["fingerprint"].iloc[0]) == card.get("fingerprint")
    if not registered:
        shutil.rmtree(target, ignore_errors=True)
        removed.append(str(target))
    return removed


# ---- the calls ----------------------------------------------------------------------


def run(kind: str, params: dict[str, Any], report: Report) -> dict[str, Any]:
    """Run one job in this process; returns the JSON summary kept in the job record."""
    return {
        "evaluate": _evaluate,
        "train": _train,
        "reproduce": _reproduce,
        "import": _import,
    }[kind](params, report)


def _evaluate(params: dict[str, Any], report: Report) -> dict[str, Any]:
    from hybriddash.commands.evaluate import print_summary
    from hybriddash.evaluation import evaluate

    kwargs = {"progress": True, **params}
    kwargs.setdefault("progress_callback", lambda stage, fraction: report(fraction, stage))
    summary = evaluate(**kwargs)
    print_summary(summary, sys.stdout)
    return {
        "run_id": summary.run_id,
        "model_id": summary.model_id,
        "corpus_fp": summary.corpus_fp,
        "corpus_name": summary.corpus_name,
        "reused": summary.reused,
        "headline": summary.headline,
    }


class CurveWatcher(threading.Thread):
    """Reads a run's live curve file each second and reports step, step time and ETA.

    The ETA is :func:`hybriddash.training.estimate.remaining_seconds`, the model of the
    estimate before the run: the steps left at the run's median step time plus the
    validation passes left at their measured time (``val_s_prior``, from earlier runs'
    cards, until this run has timed one of its own). Rows older than the job (a previous
    run's file) are ignored until the trainer truncates the file at its start.
    """

    def __init__(
        self,
        path: Path,
        steps: int,
        report: Report,
        started: float,
        *,
        eval_every: int | None = None,
        val_s_prior: float | None = None,
        finish_s: float = 0.0,
    ) -> None:
        from hybriddash.training.estimate import default_eval_every

        super().__init__(daemon=True, name="curve-watcher")
        self.path, self.steps, self.report, self.started = path, steps, report, started
        self.eval_every = int(eval_every or default_eval_every(steps))
        self.val_s_prior, self.finish_s = val_s_prior, finish_s
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            self.poll()

    def poll(self) -> None:
        from hybriddash.training.curves import read_curve
        from hybriddash.training.estimate import curve_timing, remaining_seconds

        try:
            if self.path.stat().st_mtime < self.started:
                return
        except FileNotFoundError:
            return
        curve = read_curve(self.path)
        train = curve[(curve["split"] == "train") & (curve["metric"] == "loss")]
        if train.empty:
            self.report(0.0, "loading model and data; validation before training")
            return
        timing = curve_timing(curve.to_dict("records"))
        step = timing.step
        val_s = timing.val_s if timing.val_s is not None else self.val_s_prior
        eta = (
            remaining_seconds(
                step,
                self.steps,
                self.eval_every,
                timing.step_s,
                val_s,
                pending_validation=step % self.eval_every == 0 and step not in timing.validated,
                finish_s=self.finish_s,
            )
            if timing.step_s is not None
            else None
        )
        self.report(
            min(step / self.steps, 1.0),
            f"step {step}/{self.steps}, loss {train['value'].iloc[-1]:.4f}",
            eta_s=eta,
            step_s=timing.step_s,
        )


def _train(params: dict[str, Any], report: Report) -> dict[str, Any]:
    from hybriddash.training.curves import live_curve_path
    from hybriddash.training.estimate import estimate_wall_time, finish_seconds, record_finish
    from hybriddash.training.trainer import TrainConfig, train

    cfg_fields, options = split_train_params(params)
    cfg = TrainConfig(**cfg_fields)
    prior = estimate_wall_time(
        base_model=cfg.base,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        max_length=cfg.max_length,
        freeze_embeddings=cfg.freeze_embeddings,
        freeze_layers=cfg.freeze_layers,
        bf16=cfg.bf16,
        eval_every=cfg.effective_eval_every,
    )
    watcher = CurveWatcher(
        live_curve_path(cfg.out),
        cfg.steps,
        report,
        time.time(),
        eval_every=cfg.effective_eval_every,
        val_s_prior=None if prior is None else prior.val_s,
        finish_s=finish_seconds(cfg.base),
    )
    watcher.start()
    try:
        result = train(cfg, **{"progress": True, **options})
    finally:
        watcher.stop_event.set()
    if not result.reused:  # saving and registering after the last curve row, for next ETAs
        with contextlib.suppress(OSError):
            record_finish(cfg.base, time.time() - watcher.path.stat().st_mtime)
    card = result.card
    print(f"model {result.model_id} (fingerprint {result.fingerprint}) saved in {result.folder}")
    return {
        "model_id": result.model_id,
        "fingerprint": result.fingerprint,
        "folder": str(result.folder),
        "reused": result.reused,
        "steps_done": card.get("steps_done"),
        "best_val_loss": card.get("best_val_loss"),
        "wall_seconds": card.get("wall_seconds"),
        "step_seconds_median": card.get("step_seconds_median"),
    }


def default_results_path(profile: str) -> Path:
    """Where a reproduce job writes its Markdown (the CLI's default is docs/results.md)."""
    return config.artifacts_dir() / "reproduce" / f"results-{profile}.md"


def _reproduce(params: dict[str, Any], report: Report) -> dict[str, Any]:
    from hybriddash.training.reproduce import render_results, run_reproduction

    kwargs = dict(params)
    profile = kwargs.setdefault("profile", "quick")
    path = Path(kwargs.pop("results", None) or default_results_path(str(profile)))
    kwargs.setdefault("command", f"dashboard job: reproduce --profile {profile}")

    def log(line: str) -> None:
        print(line, flush=True)
        report(None, line[:200])

    kwargs.setdefault("log", log)
    kwargs.setdefault("progress", True)
    result = run_reproduction(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_results(result) + "\n", encoding="utf-8")
    print(f"wrote {path} ({result.wall_seconds / 60:.1f} min)")
    return {"results": str(path), "wall_seconds": result.wall_seconds}


def staging_root() -> Path:
    """``<artifacts>/jobs/staging``: files a page handed to an import job (one folder a job)."""
    return config.artifacts_dir() / "jobs" / "staging"


def stage_files(files: list[tuple[str, bytes]]) -> Path:
    """Write uploaded ``(file name, bytes)`` pairs into a fresh staging folder for an
    import job (job parameters are JSON, so the bytes travel as files). Folders older
    than a day (their job was cancelled before it started) are swept first."""
    import tempfile

    root = staging_root()
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    for name, data in files:
        base = Path(name).name
        if not base or base in (".", ".."):
            raise ValueError(f"an uploaded file has no usable name: {name!r}")
        (folder / base).write_bytes(data)
    return folder


def discard_staged(params: dict[str, Any]) -> bool:
    """Remove an import job's staging folder (the job was cancelled before it started).

    Only a folder under :func:`staging_root` is removed; returns whether one was.
    """
    staged = params.get("staged_folder")
    if not staged:
        return False
    folder = Path(staged).resolve()
    if not folder.is_relative_to(staging_root().resolve()) or not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _import(params: dict[str, Any], report: Report) -> dict[str, Any]:
    # the store's wrapper registers the corpus (the sidebar's dataset list), as the CLI does
    from hybriddash.data.upload import UploadRejected
    from hybriddash.store.uploads import import_upload

    kwargs = dict(params)
    staged = kwargs.pop("staged_folder", None)
    report(0.0, "validating")
    try:
        imported = import_upload(**kwargs)
    except UploadRejected as exc:
        for problem in exc.problems:
            print(f"problem: {problem.file}:{problem.line} {problem.field}: {problem.message}")
        # the job record keeps every problem, so the page can table them (child.main)
        exc.job_result = {  # type: ignore[attr-defined]
            "problems": [
                {"file": p.file, "line": p.line, "field": p.field, "problem": p.message}
                for p in exc.problems
            ],
            "notices": list(exc.notices),
        }
        raise
    finally:
        if staged and Path(staged).resolve().is_relative_to(staging_root().resolve()):
            shutil.rmtree(staged, ignore_errors=True)
    result = dataclasses.asdict(imported)
    result["path"] = str(imported.path)
    print(f"imported {result['dataset_id']} -> {result['path']}")
    return result
