"""CPU the dashboard's server uses while one tab is open and nobody acts (issue 25).

    /work/cpu python bench/bench_idle_cpu.py --artifacts /work/art-ui --seconds 60

Starts ``streamlit run app.py`` (as ``bench/screenshots.py`` does) with
``HYBRIDDASH_ARTIFACTS`` at ``--artifacts`` (a fresh folder loads the reference bundle),
opens ``--page`` in headless Chromium, waits until the page has settled and
``--warm`` seconds more, then reads the server process's CPU time (user + system, its
child processes included, via psutil) at the start and end of a ``--seconds`` window.
Prints the share of one core, the command, the load average and the CPU model.

With no job queued or running, the sidebar must not poll (issue 25: <= 2 % of a core).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path


def _screenshots():
    import screenshots  # bench/screenshots.py: this script's folder is on sys.path

    return screenshots


def cpu_model() -> str:
    """``Model name`` of lscpu (the platform's processor string when lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def server_cpu_seconds(port: int) -> float:
    """User + system CPU seconds of the streamlit process listening on ``port`` and its children."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if "streamlit" in cmd and str(port) in cmd:
            total = 0.0
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    continue
            return total
    raise RuntimeError(f"no streamlit process on port {port}")


def wait_for_children(port: int, timeout: float = 300.0) -> float:
    """Wait until the server on ``port`` has no child process left (the UMAP warm-up the
    app starts once in a fresh artifacts folder); returns the seconds waited."""
    import psutil

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        servers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "streamlit" in (p.info.get("cmdline") or []) and str(port) in p.info["cmdline"]
        ]
        if not servers or not servers[0].children(recursive=True):
            break
        time.sleep(1.0)
    return time.monotonic() - start


def measure(artifacts: Path, page: str, seconds: float, warm: float, windows: int = 1) -> dict:
    """Open ``page`` in one tab, wait, return CPU share of one core over ``seconds``
    (and of each of ``windows`` consecutive windows of ``seconds``: is a first-start cost
    one-time or lasting?)."""
    shots = _screenshots()
    missing = shots.browser_available()
    if missing:
        raise SystemExit(f"bench_idle_cpu: {missing}")
    os.environ["HYBRIDDASH_ARTIFACTS"] = str(artifacts)
    store = artifacts / "hybriddash.duckdb"
    port = shots.free_port()
    with (
        shots.running_app(store, artifacts=artifacts, port=port, timeout=180) as url,
        shots.chromium() as driver,
    ):
        shots.capture(driver, url, artifacts / "idle-shot", [(page, "idle", False)], timeout=300)
        waited = wait_for_children(port)  # a fresh folder's one-time UMAP warm-up
        time.sleep(warm)
        windows_measured = []  # (cpu seconds, wall seconds) per window
        for _ in range(windows):
            start_cpu, start = server_cpu_seconds(port), time.monotonic()
            time.sleep(seconds)
            windows_measured.append(
                (server_cpu_seconds(port) - start_cpu, time.monotonic() - start)
            )
    used, wall = windows_measured[0]
    return {
        "cpu_s": used,
        "wall_s": wall,
        "share": used / wall,
        "shares": [c / w for c, w in windows_measured],
        "waited_s": waited,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=Path, required=True, help="artifacts folder")
    parser.add_argument("--page", default="", help="url path of the page to open ('' = Overview)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warm", type=float, default=10.0, help="seconds to wait after load")
    parser.add_argument("--windows", type=int, default=1, help="consecutive windows to measure")
    args = parser.parse_args(argv)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    result = measure(args.artifacts.resolve(), args.page, args.seconds, args.warm, args.windows)
    load = os.getloadavg()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores")
    print(f"load average (1/5/15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"page /{args.page}: server used {result['cpu_s']:.2f} CPU s in the first "
        f"{result['wall_s']:.1f} s "
        f"= {100 * result['share']:.2f} % of one core (one tab open, no job; measured after "
        f"waiting {result['waited_s']:.0f} s for the first start's UMAP warm-up process)"
    )
    if len(result["shares"]) > 1:
        print(
            f"each {args.seconds:.0f} s window, in order: "
            + ", ".join(f"{100 * x:.2f} %" for x in result["shares"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
