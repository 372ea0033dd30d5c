"""Detached helper processes of the package: the job worker and the UMAP warm-up.

Both outlive the page or command that starts them, run this checkout's code, and use the
same artifacts folder as their starter. Each holds an exclusive ``flock`` on a lock file
for its lifetime (the kernel releases it however the process ends), which is how others
tell that it runs (:func:`lock_held`).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hybriddash import config


def spawn_detached(args: list[str], log_path: Path, **popen: Any) -> subprocess.Popen:
    """Start ``python <args>`` in its own session (a closed tab or a Ctrl-C in the
    starter's terminal does not reach it), with this checkout on ``PYTHONPATH``, the
    starter's artifacts folder, and stdout and stderr appended to ``log_path``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(config.REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("HYBRIDDASH_ARTIFACTS", str(config.artifacts_dir()))
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(config.REPO_ROOT),
            env=env,
            start_new_session=True,
            **popen,
        )


def lock_held(path: Path) -> bool:
    """Whether another open file (another process) holds an exclusive ``flock`` on
    ``path``; creates the file when missing."""
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
