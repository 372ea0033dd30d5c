"""What this machine's CPU is and can do, read once from ``/proc/cpuinfo``.

Which encode mode is fastest, and whether bf16 autocast is native or emulated, depend
on the CPU generation (VMs of one kind differ: docs/benchmarks.md), so the encoders,
the training profiles and the benchmarks ask here rather than assume.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


#: CPU flags that select the kernels of the encode modes and decide bf16 training; what
#: benchmarks and study pieces record next to the CPU's name.
KERNEL_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)


@functools.cache
def _cpuinfo_lines() -> tuple[str, ...] | None:
    try:
        return tuple(CPUINFO.read_text().splitlines())
    except OSError:
        return None


def cpu_flags() -> frozenset[str] | None:
    """The instruction-set flags of the first CPU (``avx2``, ``avx512_vnni`` …); None
    where ``/proc/cpuinfo`` is unreadable or has no flags line."""
    for line in _cpuinfo_lines() or ():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def kernel_flags() -> list[str]:
    """The :data:`KERNEL_FLAGS` this CPU has, in that order ([] where unknown)."""
    flags = cpu_flags() or frozenset()
    return [f for f in KERNEL_FLAGS if f in flags]


def cpu_model_name(fallback: str = "unknown CPU") -> str:
    """``model name`` from ``/proc/cpuinfo``, else ``platform.processor()``, else ``fallback``."""
    for line in _cpuinfo_lines() or ():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or fallback


def has_native_bf16() -> bool | None:
    """Whether the CPU has bf16 instructions (AVX512_BF16 / AMX); None where unknown."""
    flags = cpu_flags()
    return None if flags is None else bool(flags & {"avx512_bf16", "amx_bf16"})


def has_vnni() -> bool | None:
    """Whether the CPU has VNNI int8 dot-product instructions; None where unknown."""
    flags = cpu_flags()
    return None if flags is None else bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
