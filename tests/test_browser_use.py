"""The dashboard under real use, in headless Chromium (issue 25).

One app on a fresh store that loads a small reference bundle by itself: a model whose
weights are gone (as in the shipped study) with its alignment view in the bundle, and
its post-hoc corrected run stored without top-k detail. While a training job runs:

- a refused upload's problems appear within 15 s (validation does not wait for the queue);
- the dominance page says "not stored for this run" for the corrected model instead of
  an LPR of None or a top-1 split of zeros;
- the alignment page shows the reference model's shipped projection at once.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest
from test_browser_jobs import _by, _click, _screenshots_module, _settle, _wait_job

BAD_CSV = b"group_id,lang,question\ng1,en,What is the capital of France?\n"


def _reference_bundle(folder: Path, spec, corpus, work: Path) -> str:
    """A bundle with one piece: ``trained/ref-tiny`` (weights deleted afterwards) and its
    center-docs run at the "verdicts" detail level; returns the model id."""
    from hybriddash.evaluation import evaluate
    from hybriddash.reports.alignment_shipped import write_piece_alignment
    from hybriddash.store import bundle
    from hybriddash.store.db import Store

    weights = work / "ref-tiny"
    shutil.copytree(spec.source, weights)
    ref = dataclasses.replace(spec, model_id="trained/ref-tiny", source=str(weights))
    store = Store(work / "build.duckdb")
    plain = evaluate(ref, corpus, k=20, store=store, progress=False)
    corrected = evaluate(ref, corpus, k=20, store=store, progress=False, correction="center-docs")
    bundle.open_bundle(folder)
    bundle.export_piece(
        folder,
        "ref-tiny",
        model_ids=[plain.model_id, corrected.model_id],
        run_ids=[plain.run_id, corrected.run_id],
        store=store,
        run_detail={corrected.run_id: "verdicts"},
    )
    write_piece_alignment(folder, "ref-tiny", [(plain.model_id, plain.corpus_fp)], store=store)
    shutil.rmtree(weights)  # as in the shipped study: results, no weights
    return plain.model_id


def _main_text(driver) -> str:
    return driver.find_element(_by().CSS_SELECTOR, '[data-testid="stMain"]').text


def _wait_text(driver, text: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if text in _main_text(driver):
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not shown within {timeout:.0f} s:\n{_main_text(driver)[:2000]}")


def _wait_element(driver, by: str, selector: str, timeout: float):
    """The first element matching ``selector``, once the page has drawn it."""
    start = time.monotonic()
    while True:
        found = driver.find_elements(by, selector)
        if found:
            return found[0]
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{selector!r} not drawn within {timeout:.0f} s")
        time.sleep(0.2)


@pytest.mark.browser
@pytest.mark.slow
def test_upload_refusal_dominance_gaps_and_shipped_alignment_while_training(
    tmp_artifacts: Path, sample_corpus, tiny_model_spec, tmp_path: Path, monkeypatch
) -> None:
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    from hybriddash import jobs

    monkeypatch.setenv("HYBRIDDASH_SHIP_ALIGNMENT", "1")
    bundle_dir = tmp_path / "bundle"
    model_id = _reference_bundle(bundle_dir, tiny_model_spec, sample_corpus, tmp_path)
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(bundle_dir))
    monkeypatch.setenv("HYBRIDDASH_JOBS_IDLE_EXIT", "300")
    store = tmp_artifacts / "fresh.duckdb"  # empty: the app loads the bundle at start
    bad = tmp_path / "broken.csv"
    bad.write_bytes(BAD_CSV)
    By = _by()
    try:
        train = jobs.submit(
            "train",
            {
                "out": "busy",
                "base": tiny_model_spec.source,
                "train_data": "sample",
                "steps": 100_000,
                "batch_size": 8,
                "max_length": 32,
            },
        )
        _wait_job(lambda j: j.id == train and j.state == "running", "training runs", 120)
        with shots.running_app(store, artifacts=tmp_artifacts) as url, shots.chromium() as driver:
            # 1. a refused upload, answered in the page while the training holds the queue
            driver.get(f"{url}/upload")
            _wait_text(driver, "Upload a corpus", 120)
            # the navigation names the page before the page itself has drawn: wait for
            # the uploader, not for the title
            _wait_element(driver, By.CSS_SELECTOR, 'input[type="file"]', 120).send_keys(str(bad))
            # the button is enabled once the file reached the server (slower under load)
            button = '//button[.//p[normalize-space()="Validate and import"]]'
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = driver.find_elements(By.XPATH, button)
                if found and found[0].is_enabled() and "broken.csv" in _main_text(driver):
                    break
                time.sleep(0.3)
            _settle(driver)
            start = time.monotonic()
            _click(driver, "Validate and import")
            _wait_text(driver, "Upload refused", 15)
            assert time.monotonic() - start <= 15
            assert jobs.get_job(train).state == "running"
            assert not [j for j in jobs.list_jobs() if j.kind == "import"]  # no job queued
            assert "answer" in _main_text(driver)  # the missing column is named

            # 2. the corrected run without top-k detail: said, not drawn as None / 0.000
            driver.get(f"{url}/dominance")
            _wait_text(driver, "not stored for this run", 120)
            _settle(driver)
            text = _main_text(driver)
            assert "None" not in text and "nan" not in text.lower().split()
            table = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
            assert table  # the uncorrected run's LPR table is still there

            # 3. the alignment page shows the reference model's shipped projection at once
            driver.get(f"{url}/alignment")
            start = time.monotonic()
            deadline = start + 60
            while time.monotonic() < deadline:
                if driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"):
                    break
                time.sleep(0.2)
            shown_s = time.monotonic() - start
            _settle(driver)
            text = _main_text(driver)
            # named by its label (which keeps a non-study model's own name), not a raw id
            assert model_id.removeprefix("trained/") in text, text[:2000]
            assert "cannot project" not in text, text[:2000]
            assert "does not exist" not in text  # no raw path error
            assert shown_s <= 30, shown_s
            errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
            assert not errors, [e.text[:300] for e in errors]
    finally:
        for job in jobs.list_jobs():
            if job.active:
                jobs.cancel(job.id)
        jobs.stop_worker()
