"""A newcomer's first five minutes, in a real browser (headless Chromium).

From an empty store and an empty artifacts folder: open the app, check that its first
paint shows the app's own navigation (never raw file names), press the Overview's
*Evaluate* for the built-in sample corpus with the real base model, and wait, polling
the page (and reloading it while it is idle), until the results show. Records:

- ``first_paint_s``: from the request to the app's navigation on screen;
- ``stored_run_s``: from the click to the run in the store (target <= 60 s, the base
  model's build included);
- ``results_shown_s``: from the click to the headline table on the page;
- ``first_umap_s``: from opening *Embedding alignment* to its first drawn UMAP
  (target <= 20 s);
- the same again with a fresh store and server but the artifacts of the first run
  (``warm_stored_run_s``, target <= 15 s).

The server's log must hold no file-watcher overflow. ``HYBRIDDASH_FIRST_RUN_REPORT=<file>``
writes the numbers as JSON (``docs/benchmarks.md`` quotes them). The test does not
depend on how the evaluation runs (in the page's script or as a background job).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the navigation titles app.py declares: the first paint may show these and nothing else
TITLES = set(re.findall(r'\("views/[a-z_]+\.py", "([^"]+)"', (REPO / "app.py").read_text("utf-8")))
STORED_RUN_LIMIT_S = 60.0
WARM_STORED_RUN_LIMIT_S = 15.0
FIRST_UMAP_LIMIT_S = 20.0


def _screenshots_module():
    spec = importlib.util.spec_from_file_location(
        "hd_screenshots", REPO / "bench" / "screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _nav_labels(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
    # a link's text is "<material icon name>\n<label>" (the icon is a ligature)
    return [link.text.strip().splitlines()[-1] for link in links if link.text.strip()]


def _page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    mains = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"]')
    try:
        return mains[0].text if mains else ""
    except Exception:  # the element was replaced while reading it
        return ""


def _running(driver) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))


def _first_paint(driver, url: str, timeout: float = 60) -> tuple[float, set[str]]:
    """Seconds until the Overview shows, and every navigation label seen meanwhile."""
    seen: set[str] = set()
    start = time.monotonic()
    driver.get(url)
    while time.monotonic() - start < timeout:
        seen.update(_nav_labels(driver))
        if "Overview" in seen and "hybriddash" in _page_text(driver):
            return time.monotonic() - start, seen
        time.sleep(0.05)
    raise TimeoutError(f"the Overview did not paint within {timeout:.0f} s (saw {seen})")


def _stored_runs(store_path: Path) -> int:
    if not store_path.is_file():
        return 0
    from hybriddash.store.db import Store

    try:
        return int(Store(store_path).query("SELECT count(*) AS n FROM runs")["n"].iloc[0])
    except Exception:  # the schema is being created by the app's first write
        return 0


def _evaluate_sample_from_overview(driver, url: str, store_path: Path, timeout: float) -> dict:
    """Click *Evaluate* (sample corpus is the default) and wait for stored and shown results."""
    from selenium.webdriver.common.by import By

    waited = time.monotonic()
    while True:  # the form sits below the first paint; wait for the page to finish
        buttons = [
            b
            for b in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] button')
            if b.text.strip().startswith("Evaluate")
        ]
        if buttons and not _running(driver):
            break
        assert time.monotonic() - waited < 120, "the Overview shows no Evaluate button"
        time.sleep(0.2)
    page = _page_text(driver)
    assert "sample" in page, "the evaluate form does not offer the sample corpus"
    start = time.monotonic()
    # the button may sit below the window; Streamlit scrolls inside its own container
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", buttons[0]
    )
    stored = shown = None
    last_reload = start
    while time.monotonic() - start < timeout:
        now = time.monotonic() - start
        if stored is None and _stored_runs(store_path):
            stored = now
        if "Headline results on" in _page_text(driver):
            shown = now
            if stored is None:
                stored = now
            break
        # a page that is idle without results (the job runs elsewhere): look again
        if stored is not None and not _running(driver) and time.monotonic() - last_reload > 10:
            driver.get(url)
            last_reload = time.monotonic()
        time.sleep(0.5)
    if shown is None:
        raise TimeoutError(f"no results shown {timeout:.0f} s after Evaluate (stored: {stored})")
    return {"stored_run_s": round(stored, 1), "results_shown_s": round(shown, 1)}


def _first_umap(driver, url: str, timeout: float = 300) -> float:
    from selenium.webdriver.common.by import By

    start = time.monotonic()
    driver.get(f"{url}/alignment")
    while time.monotonic() - start < timeout:
        charts = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
        if charts and "Embedding alignment" in _page_text(driver):
            return time.monotonic() - start
        time.sleep(0.2)
    raise TimeoutError(f"no UMAP drawn within {timeout:.0f} s")


@pytest.mark.browser
@pytest.mark.slow
def test_first_run_from_an_empty_store_and_artifacts_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
    # as a newcomer's app runs: first-use tuning and the UMAP warm-up on (the test
    # session switches both off for the other tests)
    monkeypatch.setenv("HYBRIDDASH_AUTOTUNE", "1")
    monkeypatch.setenv("HYBRIDDASH_UMAP_WARM_UP", "1")
    monkeypatch.delenv("HYBRIDDASH_ENCODE_MODE", raising=False)
    report: dict[str, object] = {}
    logs = []
    for attempt in ("cold", "warm"):
        store_path = tmp_path / f"{attempt}.duckdb"
        monkeypatch.setenv("HYBRIDDASH_STORE", str(store_path))
        log_path = tmp_path / f"app-{attempt}.log"
        logs.append(log_path)
        with (
            shots.running_app(store_path, artifacts=artifacts, log_path=log_path) as url,
            shots.chromium() as driver,
        ):
            paint_s, labels = _first_paint(driver, url)
            assert labels <= TITLES, f"raw navigation on the first paint: {labels - TITLES}"
            timing = _evaluate_sample_from_overview(driver, url, store_path, timeout=600)
            umap_s = _first_umap(driver, url)
            shots._full_page_screenshot(driver, tmp_path / f"alignment-{attempt}.png")
        prefix = "" if attempt == "cold" else "warm_"
        report.update(
            {
                f"{prefix}first_paint_s": round(paint_s, 2),
                **{prefix + k: v for k, v in timing.items()},
                f"{prefix}first_umap_s": round(umap_s, 1),
            }
        )
    report["load_average"] = os.getloadavg()
    out = os.environ.get("HYBRIDDASH_FIRST_RUN_REPORT")
    if out:
        Path(out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report))
    for log_path in logs:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        assert "inotify" not in text.lower(), text[-2000:]  # "Inotify queue overflowed"
    assert report["stored_run_s"] <= STORED_RUN_LIMIT_S, report
    assert report["first_umap_s"] <= FIRST_UMAP_LIMIT_S, report
    assert report["warm_stored_run_s"] <= WARM_STORED_RUN_LIMIT_S, report


@pytest.mark.browser
@pytest.mark.slow
def test_a_run_stored_by_another_process_appears_in_the_open_sidebar(
    tmp_artifacts: Path, sample_corpus, tiny_model_spec
) -> None:
    """Item 8 of issue 14: the sidebar refreshes when the store changes, no navigation.
    With no job active it looks once every ``IDLE_POLL_S`` (issue 25: an idle app costs
    <= 2 % of a core), so the run shows within that period plus a rerun."""
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    from selenium.webdriver.common.by import By

    from hybriddash.evaluation import evaluate
    from hybriddash.store.db import Store

    store = Store(tmp_artifacts / "watch.duckdb")
    with (
        shots.running_app(store.path, artifacts=tmp_artifacts) as url,
        shots.chromium() as driver,
    ):
        _first_paint(driver, url)
        sidebar = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
        assert "no evaluation run yet" in sidebar.text
        evaluate(tiny_model_spec, sample_corpus, k=10, store=store, progress=False)
        from hybriddash.ui_jobs import IDLE_POLL_S

        wait_s = IDLE_POLL_S + 30
        start = time.monotonic()
        while time.monotonic() - start < wait_s:
            sidebar = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
            # the dataset selector and the new model's chip replace the empty-store note
            if tiny_model_spec.model_id in sidebar.text and "Dataset" in sidebar.text:
                break
            time.sleep(0.25)
        else:
            pytest.fail(
                f"the sidebar did not list the new run within {wait_s:.0f} s: {sidebar.text!r}"
            )
        # the whole app reran: the Overview below the sidebar shows the run too
        start = time.monotonic()
        while "Headline results on sample" not in _page_text(driver):
            assert time.monotonic() - start < 30, _page_text(driver)[:500]
            time.sleep(0.25)
