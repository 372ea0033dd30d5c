"""First views of the alignment page in headless Chromium (issue 25).

    /work/cpu python bench/bench_alignment_views.py --staged /work/staging/alignment \
        --work /work/art-ui/views

Two fresh installs, each a fresh artifacts folder whose empty store loads a copy of
``reference/`` at start (as a new clone does), with UMAP's kernels compiled beforehand
(the app does that in the background at its first start):

1. *shipped*: the copy with the alignment files of ``--staged`` added
   (``bench/alignment_bundle.py add``): the first view of a reference model reads them;
2. *fresh*: the copy as it is: the first view of the base model (weights provisioned
   offline) encodes the default sample of 40 parallel groups, runs UMAP, and measures
   the translation statistics on a 300-group sample (cold embedding cache).

For each: seconds from opening ``/alignment?dataset=<dataset>`` until the UMAP chart is
drawn, and until the page settled (statistics chart and table too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))


def _first_view(shots, artifacts: Path, bundle: Path, dataset: str) -> tuple[float, float, str]:
    from selenium.webdriver.common.by import By

    env_before = dict(os.environ)
    os.environ.update(HYBRIDDASH_ARTIFACTS=str(artifacts), HYBRIDDASH_REFERENCE=str(bundle))
    os.environ.pop("HYBRIDDASH_STORE", None)
    try:
        # UMAP's kernels into this artifacts folder's cache first (the app's warm-up)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from hybriddash.reports.alignment import warm_up_umap as w; w()",
            ],
            check=True,
            env=os.environ,
        )
        with (
            shots.running_app(
                artifacts / "hybriddash.duckdb", artifacts=artifacts, timeout=300
            ) as url,
            shots.chromium() as driver,
        ):
            driver.get(url)  # the first start loads the bundle; not part of the view
            shots.capture(driver, url, artifacts / "shots", [("", "overview", True)], timeout=300)
            start = time.monotonic()
            driver.get(f"{url}/alignment?dataset={dataset}")
            chart = None
            while time.monotonic() - start < 600:
                if chart is None and driver.find_elements(
                    By.CSS_SELECTOR, ".js-plotly-plot .main-svg"
                ):
                    chart = time.monotonic() - start
                running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
                n = len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot"))
                if chart is not None and not running and n >= 2:
                    break
                time.sleep(0.1)
            settled = time.monotonic() - start
            model = driver.find_element(By.CSS_SELECTOR, '[data-testid="stMain"]').text
            first_line = next((ln for ln in model.splitlines() if "Model" in ln), "")
            driver.save_screenshot(str(artifacts / "alignment.png"))
        return chart if chart is not None else float("nan"), settled, first_line
    finally:
        os.environ.clear()
        os.environ.update(env_before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--staged", type=Path, required=True, help="alignment_bundle.py write --out"
    )
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (replaced)")
    parser.add_argument("--dataset", default="xquad-r")
    args = parser.parse_args(argv)
    from bench_idle_cpu import _screenshots, cpu_model

    from hybriddash.reports.alignment_shipped import add_piece_files

    shots = _screenshots()
    shutil.rmtree(args.work, ignore_errors=True)
    results = {}
    for name in ("shipped", "fresh"):
        bundle = args.work / f"bundle-{name}"
        shutil.copytree(REPO / "reference", bundle)
        if name == "shipped":
            for folder in sorted(p for p in args.staged.iterdir() if p.is_dir()):
                add_piece_files(bundle, folder.name, folder)
        results[name] = _first_view(shots, args.work / f"artifacts-{name}", bundle, args.dataset)
    load = os.getloadavg()
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; load at end {load[0]:.2f}")
    for name, (chart, settled, line) in results.items():
        print(
            f"{name:8s} /alignment?dataset={args.dataset}: UMAP chart after {chart:.1f} s, "
            f"page settled after {settled:.1f} s  [{line.strip()[:80]}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
