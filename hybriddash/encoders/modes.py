"""Which encode mode runs, and why: the override order and the tuning cache.

Order (first that applies wins):

1. an explicit mode (``--mode`` on the command line, ``mode=`` in the API);
2. the environment variable ``HYBRIDDASH_ENCODE_MODE``;
3. the mode the tuner measured fastest on this machine
   (:mod:`hybriddash.encoders.tuning`, ``python -m hybriddash models tune``), kept in
   ``<artifacts>/tuning/``;
4. the CPU-flag fallback: ``onnx-int8`` where ``/proc/cpuinfo`` shows VNNI, else ``onnx``
   (what docs/benchmarks.md measured on the CPUs met before the tuner existed).

A tuning record is valid for one **tuning key**: the CPU (model name and the
instruction-set flags that decide the kernels: VMs of one name differ in generation),
the versions of the libraries that run the modes, and the base model's fingerprint.
Any change of one of them makes the record stale: it is ignored and the next first use
tunes again. This module reads and writes records only; the measuring is in
:mod:`hybriddash.encoders.tuning`, above the encoders that it times.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hybriddash import config
from hybriddash.atomic_json import write_json_atomically
from hybriddash.cpu import cpu_model_name, has_vnni, kernel_flags

ENCODE_MODES = (
    "float32",
    "bf16",
    "int8",
    "onnx",
    "onnx-int8",
    "openvino-bf16",
    "openvino-int8",
)
# Modes that run on the CPU only (ONNX Runtime's and OpenVINO's CPU paths, torch's int8).
CPU_ONLY_MODES = ("int8", "onnx", "onnx-int8", "openvino-bf16", "openvino-int8")
# The modes the tuner times: those measured within 0.005 mAP of float32 on
# xquad-r[articles=8] (docs/benchmarks.md; openvino-int8 recipe 2 on xquad-r[articles=2]
# and 8, issue 26). torch "int8" is not (-0.023 multi). The tuner skips the ones this CPU
# would emulate or where they cannot win (hybriddash.encoders.tuning.skip_reason).
TUNE_CANDIDATES = ("float32", "bf16", "onnx", "onnx-int8", "openvino-bf16", "openvino-int8")
# Below this many texts an untuned evaluation does not tune: building the candidate modes
# once (ONNX export ~5 s, int8 calibration ~49 s, OpenVINO compile; docs/benchmarks.md,
# "First run") costs more than the fastest mode can save. At ~130 texts/s in float32 and
# a best ratio of ~3.3x, encoding N texts saves N / 130 * (1 - 1 / 3.3) s: ~60 s of build
# pays back from ~11,000 texts. The sample corpus (624 texts) and one XQuAD-R article
# (~1,000) run untuned in float32; a full benchmark (~26,000) tunes first.
TUNE_MIN_TEXTS = 10_000
UNTUNED_SMALL_MODE = "float32"  # nothing to build: the model as loaded
ENV_MODE = "HYBRIDDASH_ENCODE_MODE"
# "0" switches first-use tuning off (the CPU-flag fallback is used until `models tune`)
ENV_AUTOTUNE = "HYBRIDDASH_AUTOTUNE"
# The libraries whose kernels the modes run: a new version can change the winner.
TUNED_LIBRARIES = (
    "torch",
    "onnxruntime",
    "openvino",
    "sentence-transformers",
    "transformers",
    "numpy",
)
# bump when the measurement changes (texts, timing rule, candidates). 2: emulated modes
# skipped, openvino-int8 recipe 2 a candidate
TUNING_VERSION = 2


def check_mode(mode: str) -> None:
    """Raise a ValueError naming the valid modes unless ``mode`` is one."""
    if mode not in ENCODE_MODES:
        raise ValueError(f"encode mode must be one of {ENCODE_MODES}, got {mode!r}")


def cpu_flag_default() -> str:
    """The fallback without a tuning record: ``onnx-int8`` where the CPU has VNNI
    (measured fastest within 0.005 mAP on such CPUs), else ``onnx`` (float32 embeddings;
    int8 without VNNI was not measured within tolerance)."""
    return "onnx-int8" if has_vnni() else "onnx"


def env_mode() -> str | None:
    """``HYBRIDDASH_ENCODE_MODE`` when set to a mode; None when unset. A value that is no
    mode is refused with a warning naming the variable (this runs at import, where an
    exception would break every command, ``--help`` included)."""
    chosen = os.environ.get(ENV_MODE, "").strip()
    if not chosen:
        return None
    if chosen not in ENCODE_MODES:
        warnings.warn(
            f"{ENV_MODE}={chosen!r} is not an encode mode (expected one of "
            f"{', '.join(ENCODE_MODES)}); ignoring it",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return chosen


def autotune_enabled() -> bool:
    """False when ``HYBRIDDASH_AUTOTUNE`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get(ENV_AUTOTUNE, "1").strip().lower() not in {"0", "false", "no", "off"}


# ----------------------------------------------------------------------- the key
def library_versions() -> dict[str, str]:
    """Installed version of each of :data:`TUNED_LIBRARIES` (``"absent"`` if not installed);
    read from package metadata, nothing is imported."""
    versions = {}
    for name in TUNED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def tuning_key(model_fingerprint: str, libraries: dict[str, str] | None = None) -> dict[str, Any]:
    """What a tuning record is valid for: CPU, kernel flags, library versions, model."""
    return {
        "cpu": cpu_model_name(),
        "cpu_flags": kernel_flags(),
        "cores": len(os.sched_getaffinity(0)),
        "libraries": libraries if libraries is not None else library_versions(),
        "model_fingerprint": model_fingerprint,
        "tuning_version": TUNING_VERSION,
    }


def key_digest(key: dict[str, Any]) -> str:
    """16 hex chars of the sha256 of the key's canonical JSON."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def tuning_dir() -> Path:
    return config.artifacts_dir() / "tuning"


def record_path(key: dict[str, Any]) -> Path:
    return tuning_dir() / f"encode-mode-{key_digest(key)}.json"


@dataclass
class TuningRecord:
    """One tuner result: the winner and each candidate's measured throughput."""

    mode: str
    texts_per_s: dict[str, float]  # candidate mode -> best pass, texts per second
    key: dict[str, Any]
    measured_at: str  # UTC, ISO 8601
    n_texts: int  # texts in the timed slice
    seconds: float  # wall time of the timing (builds excluded)
    load_average: float
    skipped: dict[str, str] = field(default_factory=dict)  # mode -> why not timed
    # builds (first use: export, quantization, compilation) and warm-up passes, seconds
    build_seconds: float = 0.0

    def ratio_to_float32(self, mode: str | None = None) -> float | None:
        base = self.texts_per_s.get("float32")
        speed = self.texts_per_s.get(mode or self.mode)
        return None if not base or speed is None else speed / base


def save_record(record: TuningRecord) -> Path:
    """Write ``record`` atomically under its key; returns the path."""
    path = record_path(record.key)
    write_json_atomically(path, asdict(record), indent=2)
    return path


def load_record(key: dict[str, Any]) -> TuningRecord | None:
    """The record kept for ``key``; None when there is none, it is unreadable, or it
    was written for another key (a digest collision or a hand-edited file)."""
    path = record_path(key)
    try:
        raw = json.loads(path.read_text())
        record = TuningRecord(**raw)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        warnings.warn(f"{path}: unreadable tuning record ({exc}); it will be measured again",
                      RuntimeWarning, stacklevel=2)  # fmt: skip
        return None
    if record.key != key or record.mode not in ENCODE_MODES:
        return None
    return record


def base_fingerprint_if_built() -> str | None:
    """The offline default model's fingerprint when its folder is built (a marker read,
    no hashing); None otherwise (then no tuning record can exist for it)."""
    from hybriddash.encoders._folder import read_marker
    from hybriddash.encoders.spec import OFFLINE_DEFAULT

    try:
        marker = read_marker(config.models_dir() / OFFLINE_DEFAULT)
    except ValueError:
        return None
    return None if marker is None else str(marker.get("fingerprint"))


def tuned_record(model_fingerprint: str | None = None) -> TuningRecord | None:
    """The valid tuning record of this machine for the base model (or the model of
    ``model_fingerprint``); None when not tuned for the current key."""
    fingerprint = model_fingerprint or base_fingerprint_if_built()
    if fingerprint is None:
        return None
    return load_record(tuning_key(fingerprint))


def describe_record(record: TuningRecord) -> str:
    ratio = record.ratio_to_float32()
    vs = f", {ratio:.2f}x torch float32" if ratio else ""
    return (
        f"measured fastest on this machine by `models tune` ({record.measured_at[:16]} UTC"
        f"{vs}; {len(record.texts_per_s)} modes timed)"
    )


def describe_encode_mode(explicit: str | None = None) -> tuple[str, str]:
    """(mode, reason): the CPU encode mode that runs now when none is given and why,
    following the override order of the module docstring. Reads only: never tunes."""
    if explicit is not None:
        check_mode(explicit)
        return explicit, "chosen with --mode"
    chosen = env_mode()
    if chosen is not None:
        return chosen, f"set by {ENV_MODE}"
    record = tuned_record()
    if record is not None:
        return record.mode, describe_record(record)
    return cpu_flag_default(), (
        f"CPU-flag default ({'VNNI' if has_vnni() else 'no VNNI'}); not tuned on this machine "
        f"yet: the first evaluation of {TUNE_MIN_TEXTS:,} texts or more, or `python -m "
        f"hybriddash models tune`, measures it (smaller corpora run in "
        f"{UNTUNED_SMALL_MODE} until then)"
    )


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
