"""How the app starts: its own navigation only, and no file watcher over the checkout."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_streamlit_reads_a_config_that_switches_the_file_watcher_off() -> None:
    # Streamlit reads .streamlit/config.toml from the working directory, as
    # `streamlit run app.py` in the checkout does.
    code = (
        "from streamlit import config\n"
        "config.get_config_options(force_reparse=True)\n"
        "print(config.get_option('server.fileWatcherType'), config.get_option('server.runOnSave'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-2:] == ["none", "False"], out.stdout + out.stderr


def test_no_pages_folder_beside_app_py_and_every_declared_page_exists() -> None:
    # A pages/ folder next to the main script makes Streamlit list its file names as
    # navigation before st.navigation runs (the raw "app, alignment, ..." first paint).
    assert not (REPO / "pages").exists()
    declared = re.findall(r'\("(views/[a-z_]+\.py)"', (REPO / "app.py").read_text("utf-8"))
    files = {f"views/{path.name}" for path in (REPO / "views").glob("*.py")}
    assert declared and set(declared) == files, (declared, files)
