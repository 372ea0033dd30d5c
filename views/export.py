"""Export: the comparison tables of the selected dataset and models, as files."""

from __future__ import annotations

import streamlit as st

from hybriddash import ui_state
from hybriddash.reports.export import EXTENSIONS, FORMATS, MIME_TYPES, TABLES, build_export, render

sel = ui_state.selection()
st.title("Export")
st.markdown(
    "Download the tables the pages show — from the same store queries — as **CSV** and "
    "**Parquet** (raw values, p-values) or **Markdown** and **LaTeX** (booktabs; best value "
    "in bold; markers for significant differences from the baseline, with a legend). "
    "The command line gives the same files: `python -m hybriddash export --help`."
)
if not ui_state.require_runs(sel):
    st.stop()

LABELS = {
    "headline": "Headline (mono / cross / multi / rank distance)",
    "pairs": "Language-pair matrix",
    "shares": "Top-k language shares",
    "queries": "Per-query results",
    "bitext": "Bitext accuracy (P@1) per language pair",
    "probe": "Language-ID probe (language-agnosticism) + CC-100 size",
}
c1, c2, c3 = st.columns([2, 2, 1])
table = c1.selectbox("Table", list(TABLES), format_func=LABELS.__getitem__, key="hd_export_table")
ui_state.keep_valid("hd_export_baseline", sel.model_ids)
baseline = c2.selectbox(
    "Baseline (significance markers compare with it)",
    sel.model_ids,
    format_func=sel.label,
    key="hd_export_baseline",
)
k = c3.number_input(
    "k (shares)",
    min_value=1,
    max_value=max(sel.top_k, 1),
    value=min(10, max(sel.top_k, 1)),
    key="hd_export_k",
)
significance = st.toggle(
    "Significance tests (paired randomization, Holm-corrected)",
    value=len(sel.model_ids) > 1,
    key="hd_export_sig",
)


@st.cache_data(show_spinner="Building the table…", max_entries=32)
def _export(
    table: str,
    corpus_fp: str,
    models: tuple[str, ...],
    baseline: str,
    k: int,
    significance: bool,
    store_path: str,
    version: tuple[int, int],
) -> dict[str, bytes | object]:
    exported = build_export(
        table,
        corpus_fp,
        list(models),
        baseline=baseline,
        k=k,
        significance=significance,
        store=ui_state.current_store(),
    )
    return {"preview": exported.data, **{fmt: render(exported, fmt) for fmt in FORMATS}}


store = ui_state.current_store()
try:
    files = _export(
        table,
        sel.corpus_fp,
        tuple(sel.model_ids),
        baseline,
        int(k),
        significance,
        str(store.path),
        ui_state.store_version(store),
    )
except ValueError as exc:  # e.g. shares not stored for any selected run: say which
    st.warning(str(exc))
    st.stop()
st.dataframe(files["preview"], hide_index=True, key="hd_export_preview")
slug = f"hybriddash-{table}-{(sel.corpus_name or 'corpus').replace(':', '-').replace('/', '-')}"
for column, fmt in zip(st.columns(len(FORMATS)), FORMATS, strict=True):
    column.download_button(
        f"Download {fmt.upper() if fmt != 'latex' else 'LaTeX'}",
        data=files[fmt],
        file_name=slug + EXTENSIONS[fmt],
        mime=MIME_TYPES[fmt],
        key=f"hd_export_download_{fmt}",
    )
with st.expander("Markdown preview"):
    st.markdown(files["md"].decode("utf-8"))
