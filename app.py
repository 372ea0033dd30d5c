"""hybriddash dashboard: ``streamlit run app.py``.

Declares the pages (``st.navigation``) and the shared sidebar (dataset and model
selectors, kept in session state); each page in ``views/`` reads cached frames from
:mod:`hybriddash.ui_state` and draws them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hybriddash import ui_jobs, ui_state

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="hybriddash", page_icon="🌐", layout="wide")

PAGES = [
    ("views/overview.py", "Overview", ":material/home:", True),
    ("views/findings.py", "Findings", ":material/fact_check:", False),
    ("views/language_pairs.py", "Language pairs", ":material/grid_on:", False),
    ("views/dominance.py", "Top-k language dominance", ":material/bar_chart:", False),
    ("views/alignment.py", "Embedding alignment", ":material/scatter_plot:", False),
    ("views/explorer.py", "Query explorer", ":material/search:", False),
    # written by the upload/export engineer; listed when present
    ("views/upload.py", "Upload a corpus", ":material/upload:", False),
    ("views/export.py", "Export", ":material/download:", False),
    ("views/train.py", "Train a model", ":material/model_training:", False),
    ("views/jobs.py", "Jobs", ":material/list:", False),
]

navigation = st.navigation(
    [
        st.Page(path, title=title, icon=icon, default=default)
        for path, title, icon, default in PAGES
        if (HERE / path).is_file()
    ]
)
# The sidebar is drawn here for every page; pages read the selection through
# ui_state.selection(). It is dropped after the page ran: Streamlit runs a page file
# directly (without this script) when a fresh server process is first asked for a deep
# link, and AppTest does so on every rerun; such a page then draws the sidebar itself.
ui_state.keep_forms(navigation.title)  # e.g. the Train form survives a visit elsewhere
st.session_state[ui_state.SELECTION_KEY] = ui_state.sidebar()
ui_jobs.sidebar_status()  # running jobs on every page; reruns the app when one ends
try:
    navigation.run()
finally:
    st.session_state.pop(ui_state.SELECTION_KEY, None)
ui_state.mark_store_seen()  # the polls compare with the store as this run left it
ui_jobs.freeze_startup_heap()  # cheap garbage collection after every later run
