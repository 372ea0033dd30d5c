"""The lab in a real browser: train from the Train page, watch the curve, cancel a job.

``streamlit run app.py`` + headless Chromium (as ``tests/test_browser.py``), the tiny
model on the sample corpus. The app starts the job worker by itself.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _screenshots_module():
    spec = importlib.util.spec_from_file_location(
        "hd_screenshots", REPO / "bench" / "screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ---- small selenium helpers for Streamlit widgets ----------------------------------------


def _by():
    from selenium.webdriver.common.by import By

    return By


def _settle(driver, seconds: float = 1.5) -> None:
    """Give a rerun time to start, then wait until the app is not running."""
    By = _by()
    time.sleep(seconds)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'):
            return
        time.sleep(0.3)


def _widget(driver, testid: str, label: str, timeout: float = 60):
    By = _by()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for el in driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]'):
            labels = el.find_elements(By.CSS_SELECTOR, '[data-testid="stWidgetLabel"]')
            if labels and labels[0].text.strip().startswith(label):
                return el
        time.sleep(0.3)
    raise AssertionError(f"no {testid} labelled {label!r}")


def _choose(driver, testid: str, label: str, option: str) -> None:
    """Type ``option`` into a selectbox / multiselect and take the first match."""
    from selenium.webdriver.common.keys import Keys

    By = _by()
    box = _widget(driver, testid, label).find_element(By.CSS_SELECTOR, "input")
    box.click()
    box.send_keys(option)
    time.sleep(0.5)
    box.send_keys(Keys.ENTER)
    box.send_keys(Keys.ESCAPE)
    _settle(driver)


def _type(driver, testid: str, label: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    By = _by()
    box = _widget(driver, testid, label).find_element(By.CSS_SELECTOR, "input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(value)
    box.send_keys(Keys.ENTER)
    _settle(driver)


def _click(driver, text: str, nth: int = 0) -> None:
    By = _by()
    xpath = f'//button[.//p[normalize-space()="{text}"]]'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        buttons = driver.find_elements(By.XPATH, xpath)
        if len(buttons) > nth:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", buttons[nth])
            buttons[nth].click()
            _settle(driver)
            return
        time.sleep(0.3)
    raise AssertionError(f"no button {text!r}")


def _sidebar_model_options(driver) -> list[str]:
    """The options the sidebar's model selector offers (selected ones are chips)."""
    from selenium.webdriver.common.keys import Keys

    By = _by()
    sidebar = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
    selects = [
        el
        for el in sidebar.find_elements(By.CSS_SELECTOR, '[data-testid="stMultiSelect"]')
        if el.text.strip().startswith("Models")
    ]
    if not selects:
        return []
    chips = [
        c.get_attribute("aria-label")
        for c in selects[0].find_elements(By.CSS_SELECTOR, "[data-tag]")
    ]
    box = selects[0].find_element(By.CSS_SELECTOR, "input")
    box.click()
    time.sleep(0.8)
    options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, '[role="option"]')]
    box.send_keys(Keys.ESCAPE)
    return chips + options


def _wait_job(predicate, what: str, timeout: float):
    from hybriddash import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [j for j in jobs.list_jobs() if predicate(j)]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(
        f"{what}: not within {timeout:.0f} s; jobs: "
        + "; ".join(f"#{j.id} {j.title} {j.state} {j.error or ''}" for j in jobs.list_jobs())
    )


@pytest.mark.browser
@pytest.mark.slow
def test_train_watch_curve_see_model_and_cancel_second_job_in_chromium(
    tmp_artifacts: Path, sample_corpus, tiny_model_spec, tmp_path: Path, monkeypatch
) -> None:
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    from hybriddash import jobs
    from hybriddash.evaluation import evaluate
    from hybriddash.store.db import Store
    from hybriddash.store.reads import list_models, list_runs

    monkeypatch.setenv("HYBRIDDASH_JOBS_IDLE_EXIT", "300")
    store = Store(tmp_artifacts / "test.duckdb")
    evaluate(tiny_model_spec, sample_corpus, k=20, store=store, progress=False)
    By = _by()
    try:
        with (
            shots.running_app(store.path, artifacts=tmp_artifacts) as url,
            shots.chromium(height=2400) as driver,
        ):
            # 1. a training from the Train page, with an evaluation after it
            driver.get(f"{url}/train")
            _widget(driver, "stSelectbox", "Base model", timeout=120)
            _choose(driver, "stSelectbox", "Base model", "tiny-random-bert")
            _choose(driver, "stSelectbox", "Training data", "sample")
            # long enough for the page to see it running: 30 steps took 2.3 s on an idle
            # 2-core AMD EPYC, over before the curve's first refresh
            _type(driver, "stNumberInput", "Steps", "300")
            _type(driver, "stNumberInput", "Batch size", "8")
            _type(driver, "stNumberInput", "Max length", "32")
            _type(driver, "stTextInput", "Model name", "lab1")
            _choose(driver, "stMultiSelect", "Evaluate the new model on", "sample")
            _click(driver, "Start training")
            train = _wait_job(lambda j: j.kind == "train", "train job queued", 30)
            assert train.params["out"] == "lab1" and train.params["steps"] == 300
            assert train.params["base"] == tiny_model_spec.source

            # 2. the curve appears while the job runs (the page is not reloaded)
            deadline = time.monotonic() + 400
            seen_running_curve = False
            while time.monotonic() < deadline and not seen_running_curve:
                charts = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
                state = jobs.get_job(train.id).state
                if charts and state == "running":
                    seen_running_curve = True
                elif state not in ("queued", "running"):
                    break
                time.sleep(0.5)
            driver.save_screenshot(str(tmp_path / "train-live.png"))
            assert seen_running_curve, (
                f"no curve while job #{train.id} ran ({jobs.get_job(train.id).state}): "
                + jobs.get_job(train.id).log_tail(30)
            )
            assert (
                "training-loss points"
                in driver.find_element(By.CSS_SELECTOR, '[data-testid="stMain"]').text
            )

            # 3. training and evaluation end; the model shows in the sidebar's selector
            done = _wait_job(lambda j: j.id == train.id and not j.active, "training ends", 600)
            assert done.state == "done", done.error
            evaluation = _wait_job(
                lambda j: j.kind == "evaluate" and j.depends_on == train.id and not j.active,
                "evaluation ends",
                600,
            )
            assert evaluation.state == "done", evaluation.error
            deadline = time.monotonic() + 90
            options: list[str] = []
            while time.monotonic() < deadline:
                options = _sidebar_model_options(driver)
                if any("lab1" in o for o in options):  # the label ends with the name
                    break
                time.sleep(2)
            driver.save_screenshot(str(tmp_path / "train-done.png"))
            assert any("lab1" in o for o in options), options

            # 4. a second job, cancelled from the Jobs page: nothing of it is registered
            _type(driver, "stTextInput", "Model name", "lab2")
            _type(driver, "stNumberInput", "Steps", "3000")
            _click(driver, "Start training")
            second = _wait_job(
                lambda j: j.kind == "train" and j.params.get("out") == "lab2", "second job", 30
            )
            _wait_job(lambda j: j.id == second.id and j.state == "running", "second runs", 300)
            driver.get(f"{url}/jobs")
            _click(driver, "Cancel")  # the first in the queue: the running training
            cancelled = _wait_job(
                lambda j: j.id == second.id and not j.active, "second job ends", 60
            )
            assert cancelled.state == "cancelled", cancelled.error
            skipped = _wait_job(
                lambda j: j.depends_on == second.id and not j.active, "its evaluation", 60
            )
            assert skipped.state == "cancelled"
            driver.save_screenshot(str(tmp_path / "jobs.png"))
            errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
            assert not errors, [e.text[:300] for e in errors]
    finally:
        jobs.stop_worker()
    models = list_models(store=store)["model_id"].tolist()
    assert "trained/lab1" in models and "trained/lab2" not in models
    assert not (tmp_artifacts / "models" / "trained" / "lab2").exists()
    assert not list(tmp_artifacts.glob("models/trained/.lab2.tmp-*"))
    assert "trained/lab2" not in set(list_runs(store=store)["model_id"])
