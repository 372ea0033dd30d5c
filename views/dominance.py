"""Top-k language dominance: which languages fill the pooled top-k, and rank distance."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from hybriddash import ui_state
from hybriddash.palette import language_colors

sel = ui_state.selection()
st.title("Top-k language dominance")
st.markdown(
    "In the pooled (multilingual) setting every query has one relevant candidate per "
    "language, so an encoder without language preference fills its top-k with the languages "
    "in the **ideal share** (the languages of the query's relevant candidates: 1/n each in a "
    "parallel corpus). A bar taller than the ideal for the query's own language is language "
    "bias."
)
if not ui_state.require_runs(sel):
    st.stop()

c1, c2 = st.columns([3, 2])
ui_state.keep_valid("hd_dom_models", sel.model_ids)
ui_state.init_state("hd_dom_models", sel.model_ids[:3])
models = c1.multiselect("Models", sel.model_ids, key="hd_dom_models")
k = c2.slider("k (top-k)", 1, max(1, sel.top_k), min(10, sel.top_k), key="hd_dom_k")
if not models:
    st.info("Pick at least one model.")
    st.stop()
runs = {m: sel.run_of(m) for m in models}

# stacked shares, one panel per model plus the ideal
frames = []
for model, run in runs.items():
    share = ui_state.query("tables:lang_share_table", run, k)
    frames.append(share.assign(source=model))
ideal = frames[0].assign(share=frames[0]["ideal_share"], source="ideal (no bias)")
shares = pd.concat([*frames, ideal], ignore_index=True)
fig = px.bar(
    shares,
    x="query_lang",
    y="share",
    color="cand_lang",
    facet_col="source",
    facet_col_wrap=4,
    labels={
        "query_lang": "query language",
        "cand_lang": "candidate language",
        "share": f"share of top-{k}",
    },
    hover_data={"ideal_share": ":.3f", "share": ":.3f"},
    category_orders={"cand_lang": sorted(shares["cand_lang"].unique())},
    color_discrete_map=language_colors(shares["cand_lang"]),
)
fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
fig.update_layout(barmode="stack", height=380 * ((len(runs) + 1 + 3) // 4), margin={"t": 40})
st.plotly_chart(fig, key="hd_dom_stacked")

# same-language share@k against the ideal
st.subheader(f"Same-language share@{k}")
same = pd.concat(
    [
        ui_state.query("tables:same_language_share", run, k).assign(model=m)
        for m, run in runs.items()
    ],
    ignore_index=True,
)
fig_same = go.Figure()
for model in runs:
    part = same[same["model"] == model]
    fig_same.add_bar(x=part["query_lang"], y=part["share"], name=model)
ideal_same = same.drop_duplicates("query_lang")
fig_same.add_scatter(
    x=ideal_same["query_lang"],
    y=ideal_same["ideal_share"],
    mode="markers",
    name="ideal",
    marker={"symbol": "line-ew-open", "size": 28, "color": "black", "line": {"width": 3}},
)
fig_same.update_layout(
    barmode="group",
    height=340,
    margin={"t": 20},
    yaxis={"title": f"own-language share of top-{k}", "range": [0, 1]},
    xaxis={"title": "query language"},
)
event = st.plotly_chart(fig_same, key="hd_dom_same", on_select="rerun", selection_mode="points")

# rank distance distribution
st.subheader("Rank distance per query")
dist = ui_state.query("tables:rank_distance_distribution", list(runs.values()))
fig_rd = px.box(
    dist,
    x="query_lang",
    y="rank_distance",
    color="model_id",
    points=False,
    labels={
        "query_lang": "query language",
        "rank_distance": "rank distance (lower is better)",
        "model_id": "model",
    },
)
fig_rd.update_layout(height=360, margin={"t": 20})
st.plotly_chart(fig_rd, key="hd_dom_rank_distance")
st.caption(
    "Rank distance of a query = pooled rank of its lowest-ranked relevant candidate minus that "
    "of its highest-ranked one (one relevant candidate per language)."
)

# worst queries of a chosen language (click a bar above, or pick)
st.subheader("Worst queries")
langs = sorted(same["query_lang"].unique())
points = (event or {}).get("selection", {}).get("points", []) if event else []
if points and points[0].get("x") in langs:
    st.session_state["hd_dom_lang"] = points[0]["x"]
ui_state.keep_valid("hd_dom_lang", langs)
ui_state.keep_valid("hd_dom_worst_model", list(runs))
c3, c4, c5 = st.columns([1, 2, 1])
lang = c3.selectbox("Query language", langs, key="hd_dom_lang")
worst_model = c4.selectbox("Model", list(runs), key="hd_dom_worst_model")
n = c5.number_input("Rows", 1, 100, 10, key="hd_dom_n")
worst = ui_state.query("tables:worst_queries", runs[worst_model], lang, int(n))
st.dataframe(
    worst,
    hide_index=True,
    key="hd_dom_worst",
    # the question text takes the room left, so the table fits the page's width
    column_config={
        "query_id": st.column_config.TextColumn("query", width="small"),
        "group_id": st.column_config.TextColumn("group", width="small"),
        "text": st.column_config.TextColumn("question", width="large"),
    },
)
st.caption(
    "Lowest multilingual AP first; `same_lang_rank` is the pooled rank of the answer in the "
    "query's own language. Open a query in the **Query explorer** to see its top-k."
)
ui_state.deviation_note()
