"""First Findings view on a fresh install (issue 25, item 4: target <= 10 s).

    python bench/bench_findings_first_view.py [--reference reference]

In a new temporary artifacts folder (fresh store), the app's first run under Streamlit's
AppTest loads the reference bundles (``reference/`` and the bundles nested in it) into
the store; then the Findings page runs for the first time in the process: the standard
claims' verdicts (hierarchical bootstrap, B = 10,000) and the research questions. Prints
both times, the load average and the CPU model. Run it alone on the machine.

Baseline, measured in the same run: the same reference without its precomputed results
(a copy without ``derived/``), so the page decides every verdict itself; the ratio is
baseline / shipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def first_view(reference: Path) -> tuple[float, float, int]:
    """(first start s, first Findings view s, charts) of a fresh app on ``reference``."""
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory(prefix="hybriddash-findings-") as tmp:
        os.environ["HYBRIDDASH_ARTIFACTS"] = tmp
        os.environ["HYBRIDDASH_STORE"] = str(Path(tmp) / "hybriddash.duckdb")
        os.environ["HYBRIDDASH_REFERENCE"] = str(reference.resolve())
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=900)
        start = time.perf_counter()
        at.run()  # first start: the reference bundles go into the empty store
        first_start = time.perf_counter() - start
        at.switch_page("views/findings.py")
        start = time.perf_counter()
        at.run()
        findings = time.perf_counter() - start
        if at.exception:
            raise SystemExit(f"the Findings page raised: {[e.value for e in at.exception]}")
        return first_start, findings, len(at.get("plotly_chart"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=REPO / "reference")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_idle_cpu import cpu_model

    load = os.getloadavg()[0]
    shipped = first_view(args.reference)
    with tempfile.TemporaryDirectory(prefix="hybriddash-reference-") as tmp:
        bare = Path(tmp) / "reference"
        shutil.copytree(args.reference, bare, ignore=shutil.ignore_patterns("derived"))
        computed = first_view(bare)
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; load (1 min) at start {load:.2f}")
    for name, (start_s, view_s, charts) in (
        ("shipped (reference/derived read)", shipped),
        ("baseline (no derived/: computed)", computed),
    ):
        print(
            f"{name}: first start {start_s:.1f} s; first Findings view {view_s:.1f} s "
            f"({charts} charts)"
        )
    print(f"first Findings view, baseline / shipped: {computed[1] / shipped[1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
