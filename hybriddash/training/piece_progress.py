"""What a study piece had done when its process stopped, so the process that finishes it
counts that work in the piece's time.

A piece's work is cached as it goes: its model is saved when training ends (a later run
with the same configuration reuses it) and each evaluation's run lands in the store. A
study killed mid-piece (a session ends, a cluster job is preempted) and resumed therefore
finishes the piece in less time than the piece costs. The runner writes a checkpoint
after each step (training, each evaluation) into a ledger in the artifacts folder, beside
the caches it describes: the net seconds (wall less stopped, see
:mod:`hybriddash.training.pauses`) the piece had taken by then, and what the step left
(the model folder, the store's runs). The next process reads the ledger when it starts
the piece and records ``earlier_process_seconds``: the net seconds of the last checkpoint
whose results are all still there (work after it was lost and is done again, so it is
counted once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hybriddash.atomic_json import write_json_atomically

LEDGER_VERSION = 1


def ledger_path(bundle_dir: str | os.PathLike[str], artifacts: Path | None = None) -> Path:
    """The ledger of the study writing into ``bundle_dir`` (one per bundle folder)."""
    from hybriddash.config import artifacts_dir

    key = hashlib.sha256(str(Path(bundle_dir).resolve()).encode()).hexdigest()[:16]
    return (artifacts or artifacts_dir()) / "studies" / f"progress-{key}.json"


@dataclass
class Checkpoint:
    """After a step of a piece: ``net_seconds`` of the piece's work so far (earlier
    processes' included), and what the step left: ``model_dirs`` (folders that must
    exist) and ``run_ids`` (runs the store must hold)."""

    step: str
    net_seconds: float
    model_dirs: tuple[str, ...] = ()
    run_ids: tuple[str, ...] = ()


@dataclass
class PieceProgress:
    """The checkpoints of one unfinished piece (``pid``: the process that wrote them, for
    whoever reads the file)."""

    piece: str
    pid: int
    checkpoints: list[Checkpoint] = field(default_factory=list)


def read_progress(path: Path) -> PieceProgress | None:
    """The ledger at ``path``, or None when there is none or it cannot be read (a ledger
    is a record of work, not a result: an unreadable one counts no earlier work)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != LEDGER_VERSION:
            return None
        return PieceProgress(
            str(data["piece"]),
            int(data["pid"]),
            [
                Checkpoint(
                    str(c["step"]),
                    float(c["net_seconds"]),
                    tuple(c.get("model_dirs", ())),
                    tuple(c.get("run_ids", ())),
                )
                for c in data["checkpoints"]
            ],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_progress(path: Path, progress: PieceProgress) -> None:
    """Replace the ledger atomically."""
    write_json_atomically(path, {"version": LEDGER_VERSION, **asdict(progress)})


def earlier_seconds(
    progress: PieceProgress | None,
    piece: str,
    *,
    has_run: Callable[[str], bool],
) -> float:
    """Net seconds that earlier attempts spent on ``piece`` and whose results are still
    cached: the last checkpoint, in order, whose model folders and runs all exist (a
    checkpoint after a missing one is not counted: its step may have reused the missing
    result's time). 0 for another piece's ledger. (An attempt that finished its piece
    removed its ledger, so any ledger of ``piece`` is an earlier, unfinished attempt's.)"""
    if progress is None or progress.piece != piece:
        return 0.0
    kept = 0.0
    for checkpoint in progress.checkpoints:
        if not all(Path(d).is_dir() for d in checkpoint.model_dirs):
            break
        if not all(has_run(r) for r in checkpoint.run_ids):
            break
        kept = checkpoint.net_seconds
    return kept


class PieceLedger:
    """The running piece's ledger: made when the piece starts, it reads what earlier
    attempts left (``earlier``); :meth:`checkpoint` records each step, :meth:`finish`
    removes it once the piece is in the bundle."""

    def __init__(self, path: Path, piece: str, *, has_run: Callable[[str], bool]) -> None:
        self.path = path
        self.piece = piece
        self.earlier = earlier_seconds(read_progress(path), piece, has_run=has_run)
        self.progress = PieceProgress(piece, os.getpid())

    def checkpoint(
        self,
        step: str,
        own_net_seconds: float,
        *,
        model_dirs: Sequence[str | os.PathLike[str]] = (),
        run_ids: Sequence[str] = (),
    ) -> None:
        """Record that ``step`` is done after ``own_net_seconds`` of this process."""
        self.progress.checkpoints.append(
            Checkpoint(
                step,
                round(self.earlier + own_net_seconds, 1),
                tuple(str(Path(d).resolve()) for d in model_dirs),
                tuple(run_ids),
            )
        )
        # a ledger that cannot be written costs only this accounting, not the study
        with contextlib.suppress(OSError):
            write_progress(self.path, self.progress)

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
