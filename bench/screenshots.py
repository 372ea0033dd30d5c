"""Screenshots of every dashboard page, taken by headless Chromium against a running app.

    python bench/screenshots.py --store artifacts/hybriddash.duckdb --out docs/screenshots

Starts ``streamlit run app.py`` on a free local port with ``HYBRIDDASH_STORE`` pointing at
``--store`` (and ``HYBRIDDASH_ARTIFACTS`` at ``--artifacts`` when given, so the alignment
page finds the embedding cache), opens each page in Chromium (selenium, Debian's
``/usr/bin/chromium`` + ``/usr/bin/chromedriver``), waits until its plotly charts are drawn
and saves ``<out>/<page>.png``. ``tests/test_browser.py`` drives the same functions.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("HYBRIDDASH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HYBRIDDASH_CHROMEDRIVER", "/usr/bin/chromedriver")

# (url path, screenshot name, whether the page draws a plotly chart with data)
PAGES = [
    ("", "overview", True),
    ("language_pairs", "language_pairs", True),
    ("dominance", "dominance", True),
    ("alignment", "alignment", True),
    ("explorer", "explorer", True),
]
OPTIONAL_PAGES = [("upload", "upload", False), ("export", "export", False)]
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def browser_available() -> str | None:
    """None when Chromium, chromedriver and selenium are usable, else why not."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} not found (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_app(
    store: Path,
    *,
    artifacts: Path | None = None,
    port: int | None = None,
    timeout: float = 90,
    log_path: Path | None = None,
) -> Iterator[str]:
    """``streamlit run app.py`` on a local port; yields its base URL, stops it afterwards.

    The server's output goes to ``log_path`` (kept) or to a temporary file (removed).
    """
    port = port or free_port()
    env = dict(os.environ, HYBRIDDASH_STORE=str(store))
    if artifacts is not None:
        env["HYBRIDDASH_ARTIFACTS"] = str(artifacts)
    log = (
        open(log_path, "w+", encoding="utf-8")  # noqa: SIM115 - the server's log, kept
        if log_path is not None
        else tempfile.NamedTemporaryFile(  # noqa: SIM115 - outlives this block: the server's log
            "w+", prefix="hybriddash-app-", suffix=".log", delete=False
        )
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"streamlit did not start on {url}:\n{log.read()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if log_path is None:
            os.unlink(log.name)


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1800) -> Iterator[object]:
    """A headless Chromium webdriver with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hybriddash-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class PageShot:
    page: str
    path: Path
    n_charts: int
    seconds: float
    exceptions: list[str]


def capture(
    driver: object,
    url: str,
    out: Path,
    pages: list[tuple[str, str, bool]] | None = None,
    *,
    timeout: float = 120,
    dataset: str | None = None,
) -> list[PageShot]:
    """Open each page, wait for its plotly charts (or the app to settle), save a PNG.

    Raises ``TimeoutError`` naming the page when a page that should draw a chart
    shows none within ``timeout`` seconds.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    for path, name, expects_chart in pages or PAGES:
        start = time.monotonic()
        link = f"{url}/{path}" + (f"?dataset={urllib.parse.quote(dataset)}" if dataset else "")
        driver.get(link)  # type: ignore[attr-defined]
        wait = WebDriverWait(driver, timeout, poll_frequency=0.5)

        def settled(d: object, expects: bool = expects_chart) -> bool:
            running = d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')  # type: ignore[attr-defined]
            app = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"]')  # type: ignore[attr-defined]
            charts = d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")  # type: ignore[attr-defined]
            return bool(app) and not running and (bool(charts) or not expects)

        try:
            wait.until(settled)
        except Exception as exc:
            driver.save_screenshot(str(out / f"{name}-timeout.png"))  # type: ignore[attr-defined]
            raise TimeoutError(f"page /{path} drew no plotly chart within {timeout:.0f} s") from exc
        time.sleep(1.0)  # let plotly finish its transitions before the picture
        charts = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")  # type: ignore[attr-defined]
        errors = [
            e.text[:300]
            for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')  # type: ignore[attr-defined]
        ]
        target = out / f"{name}.png"
        _full_page_screenshot(driver, target)
        shots.append(PageShot(name, target, len(charts), time.monotonic() - start, errors))
    return shots


def _full_page_screenshot(driver: object, target: Path) -> None:
    """Resize the window to the page's scroll height (Streamlit scrolls inside a div)."""
    height = driver.execute_script(  # type: ignore[attr-defined]
        "const m = document.querySelector('[data-testid=\"stMain\"]');"
        "return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);"
    )
    width = driver.get_window_size()["width"]  # type: ignore[attr-defined]
    driver.set_window_size(width, min(max(int(height) + 150, 900), 6000))  # type: ignore[attr-defined]
    time.sleep(0.5)
    driver.save_screenshot(str(target))  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path, help="DuckDB store to show")
    parser.add_argument("--artifacts", type=Path, help="artifacts folder (embedding cache)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--port", type=int, help="port for the app (default: a free one)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per page")
    parser.add_argument("--dataset", help="corpus name or fingerprint to show (?dataset= link)")
    args = parser.parse_args(argv)
    missing = browser_available()
    if missing:
        print(f"screenshots: {missing}", file=sys.stderr)
        return 2
    if not args.store.is_file():
        print(f"screenshots: {args.store}: no such store file", file=sys.stderr)
        return 2
    pages = PAGES + [p for p in OPTIONAL_PAGES if (REPO / "views" / f"{p[0]}.py").is_file()]
    with (
        running_app(args.store.resolve(), artifacts=args.artifacts, port=args.port) as url,
        chromium() as driver,
    ):
        shots = capture(driver, url, args.out, pages, timeout=args.timeout, dataset=args.dataset)
    for shot in shots:
        note = f"  EXCEPTION: {shot.exceptions}" if shot.exceptions else ""
        print(f"{shot.page:16s} {shot.n_charts} chart(s) {shot.seconds:6.1f} s  {shot.path}{note}")
    return 1 if any(s.exceptions for s in shots) else 0


if __name__ == "__main__":
    sys.exit(main())
