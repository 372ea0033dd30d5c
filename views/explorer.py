"""Query explorer: one query's top-k for each model side by side, or search typed text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from hybriddash import ui_state
from hybriddash.languages import language_name
from hybriddash.palette import language_colors

sel = ui_state.selection()
st.title("Query explorer")
if not ui_state.require_runs(sel):
    st.stop()
queries = ui_state.query("tables:corpus_queries", sel.corpus_fp)
if queries.empty:  # a reference bundle that ships a suite's numbers without its texts
    st.info(
        f"The store holds the results on **{sel.corpus_name}** but not its texts (the "
        "reference bundle ships the suites' numbers only, see reference/README.md). "
        "Evaluate the dataset here (Overview) to explore its queries."
    )
    st.stop()

mode = st.radio(
    "Query", ["Pick from the dataset", "Type a query"], horizontal=True, key="hd_exp_mode"
)
ui_state.keep_valid("hd_exp_models", sel.model_ids)
ui_state.init_state("hd_exp_models", sel.model_ids[:3])
models = st.multiselect(
    "Models (side by side)", sel.model_ids, format_func=sel.label, key="hd_exp_models"
)
k = st.slider("Show top", 1, max(1, sel.top_k), min(10, sel.top_k), key="hd_exp_k")
if not models:
    st.info("Pick at least one model.")
    st.stop()

hits: pd.DataFrame
if mode == "Pick from the dataset":
    langs = sorted(queries["lang"].unique())
    ui_state.keep_valid("hd_exp_lang", langs)
    c1, c2 = st.columns([1, 4])
    lang = c1.selectbox(
        "Language", langs, format_func=lambda c: f"{c} · {language_name(c)}", key="hd_exp_lang"
    )
    of_lang = queries[queries["lang"] == lang]
    texts = dict(zip(of_lang["query_id"], of_lang["text"], strict=True))
    ui_state.keep_valid("hd_exp_query", list(texts))
    query_id = c2.selectbox(
        "Question", list(texts), format_func=lambda q: f"{texts[q]}  [{q}]", key="hd_exp_query"
    )
    missing = ui_state.query("tables:missing_detail", [sel.run_of(m) for m in models])
    for m in models:
        if sel.run_of(m) in missing:
            st.info(
                f"**{sel.label(m)}**: top-k lists not stored for this run — "
                f"{missing[sel.run_of(m)]}."
            )
    models = [m for m in models if sel.run_of(m) not in missing]
    if not models:
        st.stop()
    runs = [sel.run_of(m) for m in models]
    hits = ui_state.query("tables:query_hits", runs, query_id, k=k)
    relevant = ui_state.query("tables:query_relevant", runs, query_id)
    st.caption(
        f"Query `{query_id}` ({language_name(lang)}): ✓ marks a relevant candidate (the answer "
        "in some language). Scores are cosine similarities of the stored run."
    )
else:
    text = st.text_input(
        "Type a question in any language",
        value="",
        key="hd_exp_text",
        placeholder="e.g. Wann wurde die Universität gegründet?",
    )
    relevant = pd.DataFrame()
    if not text.strip():
        st.info(
            "Type a question: it is encoded with each selected model (with the model's query "
            "prefix) and searched against every candidate of the dataset."
        )
        st.stop()
    frames = []
    with st.spinner("Encoding the query"):
        for model in models:
            try:
                found = ui_state.query("alignment:search_text", model, sel.corpus_fp, text, k)
            except Exception as exc:  # a model that cannot be loaded here: say which and why
                st.error(f"{sel.label(model)}: {exc}")
                continue
            frames.append(found.assign(model_id=model, relevant=pd.NA))
    if not frames:
        st.stop()
    hits = pd.concat(frames, ignore_index=True)
    st.caption(
        "Typed queries have no relevance judgements; the `groups` column names the question "
        "groups a candidate answers."
    )

if hits.empty:
    st.warning("The store has no top-k hits for this query.")
    st.stop()

fig = px.scatter(
    hits.assign(
        relevant=hits["relevant"].map({True: "relevant", False: "not relevant"}).fillna("unjudged"),
        model=hits["model_id"].map(sel.label),
    ),
    x="rank",
    y="score",
    color="cand_lang",
    symbol="relevant",
    facet_col="model",
    hover_data={"candidate_id": True, "text": True, "model_id": True},
    labels={"cand_lang": "language", "score": "cosine"},
    category_orders={"cand_lang": sorted(hits["cand_lang"].unique())},
    color_discrete_map=language_colors(hits["cand_lang"]),
)
fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
fig.update_traces(marker={"size": 11})
fig.update_layout(height=320, margin={"t": 40})
st.plotly_chart(fig, key="hd_exp_scatter")

columns = st.columns(len(models))
for col, model in zip(columns, models, strict=True):
    part = hits[hits["model_id"] == model]
    col.markdown(f"**{sel.label(model)}**", help=model)
    shown = pd.DataFrame(
        {
            "#": part["rank"],
            "lang": part["cand_lang"],
            "✓": part["relevant"].map({True: "✓", False: ""}).fillna(""),
            "score": part["score"].round(3),
            "candidate": part["text"],
        }
    )
    if "groups" in part.columns:  # typed queries: which question groups a hit answers
        shown["groups"] = part["groups"].map(
            lambda g: ", ".join(map(str, g)) if isinstance(g, list | tuple | np.ndarray) else ""
        )
    col.dataframe(shown, hide_index=True, key=f"hd_exp_hits_{model}")
    if not relevant.empty:
        rel = relevant[relevant["model_id"] == model]
        missed = rel[rel["pooled_rank"] > k]
        if len(missed):
            col.caption(
                "Relevant below the top-"
                f"{k}: "
                + ", ".join(f"{r.cand_lang} @ {r.pooled_rank}" for r in missed.itertuples())
            )
