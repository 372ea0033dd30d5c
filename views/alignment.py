"""Embedding alignment: UMAP of answer sentences by language, and translation statistics."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from hybriddash import ui_state
from hybriddash.palette import language_colors
from hybriddash.reports.alignment import NoWeightsError, ProjectionParams

sel = ui_state.selection()
st.title("Embedding alignment")
st.markdown(
    "A 2-D UMAP projection (cosine distance) of the answer sentences of a sample of "
    "parallel groups, coloured by language. A well-aligned multilingual encoder places the "
    "translations of one sentence together; a language-biased one forms one cluster per "
    "language. Projections are cached in the store, so they are computed once."
)
if not ui_state.require_runs(sel):
    st.stop()

corpus_langs = sel.corpora.loc[sel.corpora["corpus_fp"] == sel.corpus_fp, "languages"].iloc[0]
corpus_langs = sorted(corpus_langs) if corpus_langs is not None else []

# what each selected model can show here: a projection from its weights, the default
# view a reference bundle ships (no weights in a bundle), or nothing (why, in a caption)
sources = {
    m: ui_state.query("alignment:projection_source", m, sel.corpus_fp) for m in sel.model_ids
}
offered = [m for m in sel.model_ids if sources[m] in ("weights", "shipped")]
for m in sel.model_ids:
    if m not in offered:
        st.caption(f"Not offered: **{sel.label(m)}**: {sources[m]}.")
if not offered:
    st.info(
        "None of the selected models can be shown here: select one whose weights are on "
        "this machine (e.g. the base model) or a reference model of the bundle."
    )
    st.stop()
# widget keys carry the dataset: after a dataset switch the boxes start afresh, so the
# boxes and the charts always name the same model and group
fp_key = sel.corpus_fp[:12]
ui_state.keep_valid(f"hd_al_model_{fp_key}", offered)
c1, c2 = st.columns(2)
model_a = c1.selectbox("Model", offered, format_func=sel.label, key=f"hd_al_model_{fp_key}")
others = [m for m in offered if m != model_a]
ui_state.keep_valid(f"hd_al_compare_{fp_key}", [None, *others])
model_b = c2.selectbox(
    "Side by side with",
    [None, *others],
    format_func=lambda m: "—" if m is None else sel.label(m),
    key=f"hd_al_compare_{fp_key}",
)
with st.expander("Selection and UMAP settings", expanded=False):
    ui_state.keep_valid("hd_al_langs", corpus_langs)
    langs = st.multiselect("Languages (empty = all)", corpus_langs, key="hd_al_langs")
    c3, c4, c5 = st.columns(3)
    n_groups = c3.slider("Parallel groups", 5, 200, 40, step=5, key="hd_al_groups")
    n_neighbors = c4.slider("UMAP neighbours", 2, 50, 15, key="hd_al_neighbors")
    seed = c5.number_input("Seed", 0, 10_000, 0, key="hd_al_seed")
    with_queries = st.checkbox("Include the questions", value=False, key="hd_al_queries")
params = ProjectionParams(
    langs=tuple(langs) if langs else None,
    n_groups=int(n_groups),
    include_queries=bool(with_queries),
    n_neighbors=int(n_neighbors),
    seed=int(seed),
)

st.caption(
    f"A fresh projection encodes the answers of a sample of {params.n_groups} parallel "
    "groups (drawn with the seed), not the whole benchmark: seconds instead of minutes. "
    "Reference models (no weights in the bundle) show the view the bundle ships: "
    f"{ProjectionParams().n_groups} groups, seed {ProjectionParams().seed}, all languages."
)
projections = {}
for model in [m for m in (model_a, model_b) if m is not None]:
    with st.spinner(f"Projecting {sel.label(model)} (first time only: encode + UMAP)"):
        try:
            projections[model] = ui_state.query(
                "alignment:projection", model, sel.corpus_fp, params
            )
        except NoWeightsError:  # a reference model away from the shipped settings
            st.info(
                f"{sel.label(model)}: only the bundle's default view can be shown (its weights are not "
                "on this machine): reset the selection and UMAP settings to their defaults."
            )
        except Exception as exc:  # e.g. a model folder that no longer exists here
            st.error(f"{sel.label(model)}: cannot project ({type(exc).__name__}: {exc})")
if not projections:
    st.stop()

first = next(iter(projections.values()))
groups = sorted(first["group_id"].dropna().unique())
group_key = f"hd_al_group_{fp_key}"
ui_state.keep_valid(group_key, [None, *groups])
ui_state.init_state(group_key, groups[0] if groups else None)
group = st.selectbox(
    "Join the translations of group",
    [None, *groups],
    format_func=lambda g: "—" if g is None else g,
    key=group_key,
)


def projection_figure(frame, model: str) -> go.Figure:
    fig = px.scatter(
        frame,
        x="x",
        y="y",
        color="lang",
        symbol="item_kind",
        hover_data={"text": True, "group_id": True, "x": False, "y": False},
        category_orders={"lang": sorted(frame["lang"].unique())},
        color_discrete_map=language_colors(frame["lang"]),
        labels={"lang": "language", "item_kind": "item"},
        title=sel.label(model),
    )
    if group is not None:
        members = frame[frame["group_id"] == group]
        # a closed polygon through the group's items shows how tightly they sit together
        ring = members.sort_values(["item_kind", "lang"])
        fig.add_scatter(
            x=list(ring["x"]) + list(ring["x"].iloc[:1]),
            y=list(ring["y"]) + list(ring["y"].iloc[:1]),
            mode="lines+markers",
            line={"color": "black", "width": 1.5},
            marker={"size": 12, "symbol": "circle-open", "color": "black"},
            name=f"group {group}",
            hovertext=list(ring["text"]) + list(ring["text"].iloc[:1]),
        )
    fig.update_xaxes(showticklabels=False, title="")
    fig.update_yaxes(showticklabels=False, title="")
    fig.update_layout(height=520, margin={"t": 50})
    return fig


columns = st.columns(len(projections))
for col, (model, frame) in zip(columns, projections.items(), strict=True):
    with col:
        st.plotly_chart(projection_figure(frame, model), key=f"hd_al_umap_{model}")

st.subheader("Translation statistics")
st.caption(
    "Over the answer sentences of a seeded sample of parallel groups (numbers below): mean "
    "cosine between a sentence and its "
    "translations vs. random non-translations (the gap is alignment), and translation "
    "retrieval accuracy: how often a sentence's nearest neighbour among all candidates of "
    "another language is its translation (mean over target languages)."
)
stats_frames = []
for model in projections:
    try:
        stats = ui_state.query(
            "alignment:alignment_stats", model, sel.corpus_fp, langs=list(langs) or None
        )
    except Exception as exc:
        st.error(
            f"{sel.label(model)}: cannot compute alignment statistics ({type(exc).__name__}: {exc})"
        )
        continue
    st.caption(
        f"{sel.label(model)}: {stats.n_groups:,} of {stats.n_groups_total:,} parallel groups (seeded sample)."
    )
    stats_frames.append(stats.languages.assign(model=sel.label(model), model_id=model))
if stats_frames:
    import pandas as pd

    per_lang = pd.concat(stats_frames, ignore_index=True)
    fig = px.bar(
        per_lang,
        x="lang",
        y="accuracy",
        color="model",
        barmode="group",
        hover_data={"model_id": True},
        labels={"lang": "source language", "accuracy": "translation retrieval accuracy"},
        range_y=[0, 1],
    )
    fig.update_layout(height=320, margin={"t": 20})
    st.plotly_chart(fig, key="hd_al_accuracy")
    st.dataframe(
        per_lang[
            ["model", "lang", "n_targets", "cos_translation", "cos_random", "gap", "accuracy"]
        ],
        hide_index=True,
        key="hd_al_stats",
    )
