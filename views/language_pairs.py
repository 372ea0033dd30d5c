"""Language pairs: mAP per (query language, candidate language), and a model difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from hybriddash import ui_state
from hybriddash.reports.tables import LANGUAGE_ORDERS, as_matrix, order_languages

sel = ui_state.selection()
st.title("Language pairs")
st.markdown(
    "mAP of queries in one language (rows) against the candidates of one language "
    "(columns). The outlined diagonal is **monolingual** retrieval; off-diagonal cells are "
    "**cross-lingual**; the optional last column pools all languages (**multilingual**)."
)
if not ui_state.require_runs(sel):
    st.stop()


def heatmap(
    matrix: pd.DataFrame, counts: pd.DataFrame, *, diverging: bool, title: str
) -> go.Figure:
    """A language x language heatmap with values printed and the diagonal outlined."""
    z = matrix.to_numpy(dtype=float)
    text = np.vectorize(lambda v: "" if np.isnan(v) else f"{v:+.3f}" if diverging else f"{v:.3f}")(
        z
    )
    if z.shape[0] > 24 or z.shape[1] > 24:  # numbers would not fit the cells: hover only
        text = np.full(z.shape, "", dtype=object)
    custom = counts.reindex(index=matrix.index, columns=matrix.columns).to_numpy()
    if diverging:
        bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
        colour = {"colorscale": "RdBu", "zmid": 0.0, "zmin": -bound, "zmax": bound}
    else:
        colour = {"colorscale": "Viridis", "zmin": 0.0, "zmax": 1.0}
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(matrix.columns),
            y=list(matrix.index),
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate="query %{y} → candidates %{x}<br>value %{z:.4f}"
            "<br>queries %{customdata}<extra></extra>",
            colorbar={"title": "Δ mAP" if diverging else "mAP"},
            **colour,
        )
    )
    for i, lang in enumerate(matrix.index):
        if lang in matrix.columns:
            j = list(matrix.columns).index(lang)
            fig.add_shape(
                type="rect",
                x0=j - 0.5,
                x1=j + 0.5,
                y0=i - 0.5,
                y1=i + 0.5,
                line={"color": "white" if not diverging else "black", "width": 3},
            )
    fig.update_layout(
        title=title,
        height=120 + min(42, max(14, 1600 // max(len(matrix.index), 1))) * len(matrix.index),
        margin={"t": 50, "b": 10},
        xaxis={"title": "candidate language", "side": "top"},
        yaxis={"title": "query language", "autorange": "reversed"},
    )
    return fig


ui_state.keep_valid("hd_pairs_model", sel.model_ids)
c1, c2, c3 = st.columns([2, 2, 1])
model_a = c1.selectbox("Model", sel.model_ids, format_func=sel.label, key="hd_pairs_model")
others = [m for m in sel.model_ids if m != model_a]
ui_state.keep_valid("hd_pairs_compare", [None, *others])
model_b = c2.selectbox(
    "Compare with",
    [None, *others],
    format_func=lambda m: "—" if m is None else sel.label(m),
    index=1 if others else 0,
    key="hd_pairs_compare",
)
pooled = c3.toggle("Pooled column", value=False, key="hd_pairs_pooled")

run_a = sel.run_of(model_a)
pairs_a = ui_state.query("tables:pair_matrix", run_a, include_pooled=pooled)
if pairs_a.empty:
    st.warning(f"Run {run_a} of {sel.label(model_a)} has no per-pair rows in the store.")
    st.stop()
# 100+ languages (Tatoeba, TICO-19): order, filter and cut the matrix to stay readable
all_langs = sorted(set(pairs_a["query_lang"]))
o1, o2, o3 = st.columns([1, 1, 2])
order = o1.selectbox(
    "Order languages by",
    LANGUAGE_ORDERS,
    format_func={
        "code": "code",
        "value": "row mean (best first)",
        "cc100": "CC-100 size (XLM-R pre-training data)",
        "script": "script",
    }.__getitem__,
    key="hd_pairs_order",
)
top_n = o2.number_input(
    "Top N languages",
    min_value=1,
    max_value=max(len(all_langs), 1),
    value=min(len(all_langs), 20),
    key="hd_pairs_top_n",
)
keep = o3.multiselect("Only these languages", all_langs, key="hd_pairs_keep") or None


def shown(matrix: pd.DataFrame) -> pd.DataFrame:
    return order_languages(matrix, by=order, keep=keep, top_n=int(top_n))


if len(all_langs) > int(top_n):
    st.caption(f"Showing {int(top_n)} of {len(all_langs)} query languages (order: {order}).")
counts = as_matrix(pairs_a, "n_queries")
matrix_a = shown(as_matrix(pairs_a))
st.plotly_chart(
    heatmap(matrix_a, counts, diverging=False, title=f"{sel.label(model_a)}: mAP"),
    key="hd_pairs_heatmap_a",
)
if model_b is not None:
    run_b = sel.run_of(model_b)
    pairs_b = ui_state.query("tables:pair_matrix", run_b, include_pooled=pooled)
    st.plotly_chart(
        heatmap(
            shown(as_matrix(pairs_b)), counts, diverging=False, title=f"{sel.label(model_b)}: mAP"
        ),
        key="hd_pairs_heatmap_b",
    )
    diff = ui_state.query("tables:pair_difference", run_b, run_a, include_pooled=pooled)
    diff_matrix = shown(as_matrix(diff.rename(columns={"diff": "value"}), "value"))
    st.plotly_chart(
        heatmap(
            diff_matrix,
            counts,
            diverging=True,
            title=f"{sel.label(model_b)} − {sel.label(model_a)}: Δ mAP (blue: {sel.label(model_b)} better)",
        ),
        key="hd_pairs_heatmap_diff",
    )
    table = diff.rename(
        columns={
            "map_a": f"mAP {sel.label(model_b)}",
            "map_b": f"mAP {sel.label(model_a)}",
            "diff": "Δ mAP",
        }
    )
else:
    table = pairs_a.rename(columns={"map": f"mAP {sel.label(model_a)}"})
bitext_a = ui_state.query("tables:bitext_pairs", run_a)
if not bitext_a.empty:
    st.subheader("Bitext accuracy (P@1)")
    st.caption(
        "Share of a language's queries whose nearest candidate in the target language is "
        "relevant: Tatoeba/XTREME accuracy when each query has one translation."
    )
    st.plotly_chart(
        heatmap(
            shown(as_matrix(bitext_a.rename(columns={"accuracy": "map"}))),
            as_matrix(bitext_a, "n_queries"),
            diverging=False,
            title=f"{sel.label(model_a)}: bitext accuracy",
        ),
        key="hd_pairs_heatmap_bitext",
    )
probe_a = ui_state.query("tables:language_probe", run_a)
if not probe_a.empty:
    overall = probe_a[probe_a["lang"] == "all"].iloc[0]
    st.metric(
        "Language-ID probe accuracy (lower = more language-agnostic)",
        f"{overall['accuracy']:.3f}",
        help=f"{int(overall['n_folds'])}-fold linear probe on {int(overall['n_samples'])} "
        f"candidate embeddings; chance {overall['chance']:.3f} (Libovicky et al. 2020).",
    )
st.subheader("Per language pair")
st.dataframe(table, hide_index=True, key="hd_pairs_table")
ui_state.deviation_note()
