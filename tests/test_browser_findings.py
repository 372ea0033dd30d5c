"""The Findings page of a fresh install in headless Chromium (issue 24): the app loads the
committed ``reference/`` (with ``reference/questions``) into an empty store by itself and
shows a section per research question, from committed results, before any compute."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_browser_jobs import _by, _screenshots_module, _settle

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = ("Q1", "Q2", "Q3", "Q4", "Q5")


@pytest.mark.browser
@pytest.mark.slow
def test_a_fresh_install_shows_every_research_question_in_chromium(
    tmp_artifacts: Path, tmp_path: Path, monkeypatch
) -> None:
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    manifest = json.loads((REPO / "reference" / "questions" / "manifest.json").read_text())
    if not manifest.get("pieces"):
        pytest.skip("reference/questions holds no piece yet")
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(REPO / "reference"))
    store = tmp_artifacts / "fresh.duckdb"  # empty: the app loads the reference at start
    By = _by()
    with shots.running_app(store, artifacts=tmp_artifacts) as url, shots.chromium() as driver:
        driver.get(f"{url}/findings")
        main = '[data-testid="stMain"]'
        deadline = time.monotonic() + 400  # first start: the reference is loaded, then decided
        text = ""
        while time.monotonic() < deadline:
            text = driver.find_element(By.CSS_SELECTOR, main).text
            if all(f"{q}. " in text for q in QUESTIONS) and "Research questions" in text:
                break
            time.sleep(1.0)
        _settle(driver)
        text = driver.find_element(By.CSS_SELECTOR, main).text
        assert "Research questions" in text, text[:2000]
        for q in QUESTIONS:
            assert f"{q}. " in text, (q, text[:2000])
        # each question reads a verdict or says it has not run: none is silently empty
        verdicts = text.count("Verdict: ") + text.count("not run yet")
        assert verdicts >= len(QUESTIONS), text[:3000]
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        driver.save_screenshot(str(tmp_path / "findings-questions.png"))
