"""Pick the encode mode by measurement on this machine (``python -m hybriddash models tune``).

Which mode is fastest depends on the CPU generation (docs/benchmarks.md: onnx-int8
3.07x torch float32 on one AVX-512/VNNI VM, 1.24-1.55x on another of the same kind), so
the default is measured, not assumed. :func:`tune_encode_mode` times every candidate
(:data:`~hybriddash.encoders.modes.TUNE_CANDIDATES`: the modes measured within 0.005 mAP
of float32) that can run here natively (:func:`skip_reason`: modes this CPU would
emulate, or cannot win with, are neither built nor timed), on a fixed slice of the built-in sample corpus
(:data:`TUNE_TEXTS` texts spread over its languages, both prefixes), through the
product's encode path without the cache:

- each mode is built first (export, quantization, compilation: kept in ``artifacts/``,
  not timed) and warmed up on the slice;
- then passes over the slice go round-robin over the modes until the budget is spent
  (10 s for ``models tune``, 5 s on first use, where every mode was just built), at
  least :data:`MIN_PASSES` per mode; a mode's speed is its best pass, which on a shared
  machine is the least disturbed one.

The winner is kept per tuning key (:func:`hybriddash.encoders.modes.tuning_key`). The
override order and the record format are in :mod:`hybriddash.encoders.modes`.
:func:`select_encode_mode` applies the order and tunes on first use.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hybriddash.cpu import cpu_flags
from hybriddash.encoders.encode import effective_mode, encode_batches, resolve_devices
from hybriddash.encoders.modes import (
    TUNE_CANDIDATES,
    TUNE_MIN_TEXTS,
    UNTUNED_SMALL_MODE,
    TuningRecord,
    autotune_enabled,
    check_mode,
    cpu_flag_default,
    describe_record,
    env_mode,
    load_record,
    save_record,
    tuned_record,
    tuning_key,
    utc_now,
)
from hybriddash.encoders.spec import ModelSpec

TUNE_TEXTS = 128  # texts in the timed slice of the sample corpus
TUNE_BUDGET_S = 10.0  # seconds of timed passes, all modes together (`models tune`)
# First use runs inside an evaluation, after building every candidate once: a shorter
# budget keeps a cold first evaluation of the sample corpus near a minute.
FIRST_USE_BUDGET_S = 5.0
MIN_PASSES = 2
BATCH_SIZE = 64  # as the product


def tuning_texts(spec: ModelSpec, n: int = TUNE_TEXTS) -> list[str]:
    """The fixed slice: every k-th prefixed query and candidate of the sample corpus
    (sorted as the corpus is, so all its languages are in), ``n`` texts in all."""
    from hybriddash.data.sample import load_sample

    corpus = load_sample()
    texts = [spec.prefix("query") + q.text for q in corpus.queries] + [
        spec.prefix("passage") + c.text for c in corpus.candidates
    ]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def skip_reason(mode: str, flags: frozenset[str] | None) -> str | None:
    """Why ``mode`` is not worth timing on a CPU with instruction-set ``flags`` (None:
    unknown); None when it is. Timing or building a mode that cannot win costs first
    use its time (``openvino-bf16``, emulated, took 3 passes of ~20 s on the VNNI-only
    Xeon of issue 26). Measurements: docs/benchmarks.md, "Static int8 for VNNI-only CPUs".

    - ``bf16`` (torch autocast) without AVX512-BF16 / AMX-BF16: emulated, ~8x slower
      than float32.
    - ``openvino-bf16`` on an AVX-512 CPU without them: OpenVINO emulates bf16 on
      AVX-512 (6.4 texts/s against float32's 160.9 on the VNNI-only Xeon). Without
      AVX-512 (the AMD EPYC with AVX2) it computes in float32 instead: timed.
    - ``openvino-int8`` without VNNI (AVX512-VNNI, AVX-VNNI or AMX-INT8): oneDNN's int8
      kernels fall back to 16-bit multiply-adds there, a path not measured within
      0.005 mAP. And where the CPU has native bf16: ``openvino-bf16`` is faster on real
      text there (AMX Xeon, xquad-r[articles=2]: 362.6 against 234.1 texts/s), while
      the tuner's warm slice favours static int8, whose kernels are rebuilt for every
      new batch shape; skipping it also saves its ~20 s calibration on first use.
    """
    native_bf16 = None if flags is None else bool(flags & {"avx512_bf16", "amx_bf16"})
    vnni = None if flags is None else bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    if mode == "bf16" and native_bf16 is not True:
        return "no native bf16 on this CPU (emulated: ~8x slower than float32)"
    if mode == "openvino-bf16" and native_bf16 is False and "avx512f" in (flags or ()):
        return (
            "no native bf16 on this CPU (AVX512-BF16 or AMX): OpenVINO would emulate bf16 "
            "on AVX-512 (~25x slower than float32)"
        )
    if mode == "openvino-int8" and vnni is not True:
        known = "no VNNI on this CPU" if vnni is False else "CPU flags unknown, no VNNI seen"
        return (
            f"{known}: static int8 would run on 16-bit multiply-adds, not measured within 0.005 mAP"
        )
    if mode == "openvino-int8" and native_bf16:
        return (
            "native bf16 here: openvino-bf16 is faster on real text (static int8 "
            "recompiles its kernels for each new batch shape)"
        )
    return None


def runnable_candidates(
    spec: ModelSpec, candidates: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """(modes to time, {mode: why skipped}) for ``spec`` on this machine's CPU: a mode
    is skipped when the CPU would emulate it or it cannot win here (:func:`skip_reason`) or it cannot
    run here (a missing runtime, a model the export does not handle)."""
    run, skipped = [], {}
    flags = cpu_flags()
    for mode in candidates:
        check_mode(mode)
        why = skip_reason(mode, flags)
        if why is not None:
            skipped[mode] = why
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ran = effective_mode(mode, spec)
        if ran != mode:
            skipped[mode] = str(caught[0].message) if caught else f"runs as {ran} here"
            continue
        run.append(mode)
    if "float32" not in run:
        run.insert(0, "float32")  # the reference every ratio is to
    return run, skipped


def fastest_mode(texts_per_s: dict[str, float]) -> str:
    """The tuner's rule: of the timed modes (candidates measured within 0.005 mAP of
    float32 that run natively here), the one with the most texts per second; a tie goes
    to the mode timed first (float32 first, the candidates' order after it)."""
    if not texts_per_s:
        raise ValueError("no mode was timed")
    return max(texts_per_s, key=texts_per_s.__getitem__)


def _encode_once(spec: ModelSpec, texts: list[str], mode: str) -> np.ndarray:
    out: np.ndarray | None = None

    def on_batch(idx: list[int], vectors: np.ndarray) -> None:
        nonlocal out
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors

    encode_batches(spec, texts, mode=mode, batch_size=BATCH_SIZE, on_batch=on_batch)
    assert out is not None
    return out


def tune_encode_mode(
    spec: ModelSpec | None = None,
    *,
    budget_s: float | None = None,
    candidates: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> TuningRecord:
    """Time the candidate modes on this machine, keep and return the record.

    ``spec``: the model to time (default: the offline base model, built if needed); the
    record is kept under its fingerprint. ``budget_s``: seconds of timed passes
    (default :data:`TUNE_BUDGET_S`); ``candidates``: default :data:`TUNE_CANDIDATES`.
    ``log`` receives one line per step.
    """
    budget_s = TUNE_BUDGET_S if budget_s is None else budget_s
    candidates = TUNE_CANDIDATES if candidates is None else candidates
    if spec is None:
        from hybriddash.encoders.registry import OFFLINE_DEFAULT, resolve_model

        spec = resolve_model(OFFLINE_DEFAULT)
    say = log or (lambda _line: None)
    modes, skipped = runnable_candidates(spec, candidates)
    texts = tuning_texts(spec)
    builds_started = time.perf_counter()
    for mode in modes:
        started = time.perf_counter()
        _encode_once(spec, texts, mode)  # builds the mode (kept in artifacts/) + warm-up
        say(f"{mode}: built and warmed up in {time.perf_counter() - started:.1f} s")
    build_seconds = time.perf_counter() - builds_started
    best: dict[str, float] = {m: float("inf") for m in modes}
    passes = dict.fromkeys(modes, 0)
    started = time.perf_counter()
    while True:
        round_started = time.perf_counter()
        for mode in modes:
            t0 = time.perf_counter()
            _encode_once(spec, texts, mode)
            best[mode] = min(best[mode], time.perf_counter() - t0)
            passes[mode] += 1
        spent = time.perf_counter() - started
        last_round = time.perf_counter() - round_started
        # stop before a round that would overrun the budget, once each mode has its passes
        if min(passes.values()) >= MIN_PASSES and spent + last_round > budget_s:
            break
    speeds = {m: round(len(texts) / best[m], 1) for m in modes}
    for mode in modes:
        say(f"{mode}: {speeds[mode]:.1f} texts/s (best of {passes[mode]} passes)")
    winner = fastest_mode(speeds)
    record = TuningRecord(
        mode=winner,
        texts_per_s=speeds,
        key=tuning_key(spec.fingerprint),
        measured_at=utc_now(),
        n_texts=len(texts),
        seconds=round(time.perf_counter() - started, 2),
        load_average=round(os.getloadavg()[0], 2),
        skipped=skipped,
        build_seconds=round(build_seconds, 2),
    )
    save_record(record)
    return record


def planned_encode_mode(n_texts: int, spec: ModelSpec | None = None) -> str:
    """The mode an evaluation of ``n_texts`` texts without ``--mode`` will run in, without
    tuning anything (for time estimates): what :func:`select_encode_mode` picks, with the
    CPU-flag default standing in for a tuning that has not happened yet."""
    chosen = env_mode()
    if chosen is not None:
        return chosen
    record = tuned_record(None if spec is None else spec.fingerprint)
    if record is not None:
        return record.mode
    if autotune_enabled() and n_texts < TUNE_MIN_TEXTS:
        return UNTUNED_SMALL_MODE
    return cpu_flag_default()


def select_encode_mode(
    mode: str | None = None,
    devices: str | Sequence[str] | None = None,
    *,
    spec: ModelSpec | None = None,
    tune: bool | None = None,
    n_texts: int | None = None,
) -> tuple[str, str]:
    """(mode, reason) by the override order of :mod:`hybriddash.encoders.modes`:
    ``mode`` (``--mode``) > ``HYBRIDDASH_ENCODE_MODE`` > this machine's tuning record >
    the CPU-flag default; on GPUs float32. Without a valid record the base model is
    tuned now (first use: :data:`FIRST_USE_BUDGET_S` of timing plus building the modes
    once), unless ``tune`` is False or ``HYBRIDDASH_AUTOTUNE=0``, or the work is too
    small for tuning to pay (``n_texts`` below :data:`TUNE_MIN_TEXTS`: float32, nothing
    to build, and no record written, so a later big evaluation still tunes). ``spec``: the model
    whose record counts (default: the offline base model; the winner depends on the
    architecture, which trained models share with it)."""
    if mode is not None:
        check_mode(mode)
        return mode, "chosen with --mode"
    where = resolve_devices(devices)
    if any(d.startswith("cuda") for d in where):
        return "float32", "float32 on GPUs (the CPU modes do not run there)"
    chosen = env_mode()
    if chosen is not None:
        return chosen, "set by HYBRIDDASH_ENCODE_MODE"
    if spec is None:
        from hybriddash.encoders.base_model import base_model_spec

        spec = base_model_spec()
    record = load_record(tuning_key(spec.fingerprint))
    if record is not None:
        return record.mode, describe_record(record)
    if tune is None:
        tune = autotune_enabled()
    if not tune:
        return cpu_flag_default(), "CPU-flag default (tuning switched off)"
    if n_texts is not None and n_texts < TUNE_MIN_TEXTS:
        return UNTUNED_SMALL_MODE, (
            f"not tuned yet; {n_texts:,} texts are too few for tuning to pay (building the "
            f"modes costs more than they save below {TUNE_MIN_TEXTS:,}): float32 as loaded. "
            "The first evaluation of a full benchmark, or `python -m hybriddash models "
            "tune`, measures the fastest mode"
        )
    try:
        record = tune_encode_mode(
            spec if Path(spec.source).is_dir() else None, budget_s=FIRST_USE_BUDGET_S
        )
    except Exception as exc:  # a failed measurement must not block an evaluation
        warnings.warn(
            f"encode-mode tuning failed ({type(exc).__name__}: {exc}); using the CPU-flag "
            f"default {cpu_flag_default()!r}",
            RuntimeWarning,
            stacklevel=2,
        )
        return cpu_flag_default(), "CPU-flag default (tuning failed)"
    return record.mode, describe_record(record)
