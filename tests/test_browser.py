"""The dashboard in a real browser: ``streamlit run app.py`` + headless Chromium.

Skips when Chromium, chromedriver or selenium are missing (Debian: ``apt-get install
chromium chromium-driver``). Uses the same driver code as ``bench/screenshots.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _screenshots_module():
    spec = importlib.util.spec_from_file_location(
        "hd_screenshots", REPO / "bench" / "screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_draws_plotly_charts_in_chromium(
    tmp_artifacts: Path, sample_corpus, tiny_model_spec, tmp_path: Path
) -> None:
    shots = _screenshots_module()
    missing = shots.browser_available()
    if missing:
        pytest.skip(missing)
    from hybriddash.evaluation import evaluate
    from hybriddash.store.db import Store

    store = Store(tmp_artifacts / "browser.duckdb")
    evaluate(tiny_model_spec, sample_corpus, k=20, store=store, progress=False)
    out = tmp_path / "screenshots"
    with (
        shots.running_app(store.path, artifacts=tmp_artifacts) as url,
        shots.chromium() as driver,
    ):
        taken = shots.capture(driver, url, out, shots.PAGES, timeout=240)
    assert [s.page for s in taken] == [name for _, name, _ in shots.PAGES]
    for shot in taken:
        assert shot.n_charts >= 1, shot
        assert not shot.exceptions, shot
        assert shot.path.stat().st_size > 10_000  # a real picture, not a blank page
