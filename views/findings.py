"""Findings: does hybrid batching help? One verdict per claim of the paper, with evidence.

Everything drawn here comes from :mod:`hybriddash.reports.study` through the cached
:func:`hybriddash.ui_state.query`; the page computes nothing.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from hybriddash import ui_state
from hybriddash.reports.verdicts import MARGIN, MIN_SEEDS

ui_state.selection()  # the shared sidebar (and the reference-results label)
st.title("Findings")
st.markdown(
    "Does hybrid batching give the monolingual strength of X-X-mono and the cross- and "
    "multilingual strength of X-Y at once, with less language bias? One verdict per claim "
    "of the paper (and one of this project), decided by the rule written in "
    "`docs/results.md` before the study ran: equivalence within "
    f"±{MARGIN:g} mAP (two one-sided tests) for *matches*, a paired test across queries "
    f"and Almost Stochastic Order across seeds for *better*, Holm-corrected; at least "
    f"{MIN_SEEDS} seeds per model."
)
for ref in ui_state.query("study:reference_info"):
    st.info(
        f"**{ref['label']}** shipped with the app (not computed here): {ref['n_models']} "
        f"models, machine {ref['machine']}, finished {ref['date']}, command "
        f"`{ref['command']}`, code version {ref['code_version']}."
    )

seeds = ui_state.query("study:findings_seeds")
if seeds.empty:
    st.info(
        "Nothing to show yet: the store holds no evaluation. Run a study with "
        "`python -m hybriddash reproduce --profile standard` (or `--profile quick` for a "
        "smoke-scale one), or evaluate models from **Overview**."
    )
    st.stop()

# ---- what the store holds ------------------------------------------------------------
st.subheader("What the store holds")
st.dataframe(
    seeds.rename(
        columns={
            "eval_dataset": "evaluated on",
            "label": "model",
            "n_seeds": "seeds",
            "monolingual": "mono mAP",
            "crosslingual": "cross mAP",
            "multilingual": "multi mAP",
            "rank_distance": "rank distance",
        }
    ),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("mono mAP", "cross mAP", "multi mAP")
    },
)
trained = seeds[~seeds["label"].str.startswith("base")]
missing = [label for label in ("X-X-mono", "X-Y", "Hybrid") if label not in set(seeds["label"])]
if missing:
    st.warning(
        f"Too few strategies for a verdict: no runs of {', '.join(missing)} in the store. "
        "The claims that need them are inconclusive below."
    )
if len(trained) and int(trained["n_seeds"].min()) < MIN_SEEDS:
    st.warning(
        f"Too few seeds for a verdict: some models have {int(trained['n_seeds'].min())} "
        f"seed(s); the decision rule needs {MIN_SEEDS}. Every claim that depends on them "
        "is inconclusive, whatever the numbers."
    )

# ---- verdicts -----------------------------------------------------------------------
with st.spinner("Deciding the verdicts (Almost Stochastic Order takes seconds per comparison)"):
    claims, comparisons = ui_state.query("study:findings_verdicts")
st.subheader("Verdicts")
st.dataframe(
    claims.assign(claim=lambda f: "(" + f["claim"] + ") " + f["text"])[
        ["claim", "eval_dataset", "verdict", "effect", "ci_low", "ci_high", "p_holm", "reason"]
    ].rename(
        columns={
            "eval_dataset": "evaluated on",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
            "p_holm": "Holm p",
        }
    ),
    hide_index=True,
    column_config={
        "effect": st.column_config.NumberColumn(format="%+.4f"),
        "95% CI low": st.column_config.NumberColumn(format="%+.4f"),
        "95% CI high": st.column_config.NumberColumn(format="%+.4f"),
        "Holm p": st.column_config.NumberColumn(format="%.3g"),
    },
)

# ---- effect plot ---------------------------------------------------------------------
st.subheader("Effects with 95% intervals")
decided = comparisons[comparisons["n_queries"] > 1] if len(comparisons) else comparisons
if decided.empty:
    st.info("No comparison has paired queries yet.")
else:
    colours = {"supported": "#2e7d32", "contradicted": "#c62828", "inconclusive": "#757575"}
    for unit, mask in (
        ("mAP", ~decided["label"].str.contains("rank distance")),
        ("rank distance", decided["label"].str.contains("rank distance")),
    ):
        part = decided[mask]
        if part.empty:
            continue
        names = "(" + part["claim"] + ") " + part["label"] + " · " + part["eval_dataset"]
        fig = go.Figure()
        for verdict, grp in part.groupby("verdict"):
            fig.add_trace(
                go.Scatter(
                    x=grp["effect"],
                    y=names[grp.index],
                    mode="markers",
                    name=verdict,
                    marker={"color": colours.get(verdict, "#000"), "size": 10},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": (grp["ci_high"] - grp["effect"]).tolist(),
                        "arrayminus": (grp["effect"] - grp["ci_low"]).tolist(),
                    },
                )
            )
        fig.add_vline(x=0, line_color="#000", line_width=1)
        if unit == "mAP":
            for x in (-MARGIN, MARGIN):
                fig.add_vline(x=x, line_dash="dot", line_color="#999")
        fig.update_layout(
            title=f"A minus B, {unit} (dotted: equivalence margin)"
            if unit == "mAP"
            else f"A minus B, {unit} (lower is better)",
            height=120 + 30 * len(part),
            margin={"l": 10, "r": 10, "t": 50, "b": 30},
            yaxis={"autorange": "reversed"},
        )
        st.plotly_chart(fig)

# ---- alpha curve -----------------------------------------------------------------------
st.subheader("Alpha sweep")
curve = ui_state.query("study:findings_alpha_curve")
if curve.empty:
    st.info("No hybrid runs in the store: no alpha curve.")
else:
    fig = go.Figure()
    for dataset, grp in curve.groupby("eval_dataset"):
        fig.add_trace(
            go.Scatter(
                x=grp["alpha"],
                y=grp["mean"],
                mode="lines+markers",
                name=dataset,
                text=grp["source"] + " · " + grp["n_seeds"].astype(str) + " seed(s)",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (grp["ci_high"] - grp["mean"]).fillna(0).tolist(),
                    "arrayminus": (grp["mean"] - grp["ci_low"]).fillna(0).tolist(),
                },
            )
        )
    fig.add_vrect(x0=0.4, x1=0.6, fillcolor="#ccc", opacity=0.3, line_width=0)
    fig.update_layout(
        title="Multilingual mAP vs alpha (share of X-X-mono batches; mean over seeds, 95% CI; "
        "shaded: the paper's stable range)",
        xaxis_title="alpha",
        yaxis_title="multilingual mAP",
    )
    st.plotly_chart(fig)
    st.caption(
        "Alpha 0 and 1 are drawn from the X-Y and X-X-mono runs when the study found that "
        "hybrid batches with those alphas are exactly theirs (column *source*)."
    )

# ---- learning curves -------------------------------------------------------------------
st.subheader("Learning curves")
curves = ui_state.query("study:findings_learning_curves")
if curves.empty:
    st.info(
        "No trained model in the store has a training curve (models trained before "
        "curves were recorded have none)."
    )
else:
    metric = st.radio(
        "Curve",
        ["validation multilingual mAP", "validation loss", "training loss"],
        horizontal=True,
        key="hd_find_curve",
    )
    split, name = {
        "validation multilingual mAP": ("validation", "map_multilingual"),
        "validation loss": ("validation", "loss"),
        "training loss": ("train", "loss"),
    }[metric]
    part = curves[(curves["split"] == split) & (curves["metric"] == name)]
    mean = part.groupby(["train_dataset", "label", "step"], as_index=False)["value"].mean()
    fig = go.Figure()
    for (train, label), grp in mean.groupby(["train_dataset", "label"]):
        fig.add_trace(
            go.Scatter(x=grp["step"], y=grp["value"], mode="lines", name=f"{label} · {train}")
        )
    fig.update_layout(
        title=f"{metric} per step (mean over seeds)", xaxis_title="step", yaxis_title=metric
    )
    st.plotly_chart(fig)

# ---- per-language gains ---------------------------------------------------------------
st.subheader("Per-language gains of hybrid")
left, right = st.columns(2)
other = left.selectbox(
    "over",
    ["mono", "cross"],
    format_func={"mono": "X-X-mono", "cross": "X-Y"}.get,
    key="hd_find_other",
)
by = right.selectbox(
    "per",
    ["query_lang", "pair"],
    format_func={"query_lang": "query language", "pair": "language pair"}.get,
    key="hd_find_by",
)
gains = ui_state.query("study:findings_gains", other, by)
if gains.empty:
    st.info("Hybrid and the compared strategy need runs on the same benchmark.")
else:
    settings = sorted(set(gains["setting"]))
    setting = st.selectbox(
        "setting",
        settings,
        index=settings.index("multilingual") if "multilingual" in settings else 0,
        key="hd_find_setting",
    )
    part = gains[gains["setting"] == setting].copy()
    part["where"] = part["query_lang"] + part["cand_lang"].map(lambda c: f" → {c}" if c else "")
    fig = go.Figure()
    for dataset, grp in part.groupby("eval_dataset"):
        grp = grp.sort_values("gain", ascending=False)
        fig.add_trace(
            go.Bar(
                x=grp["where"],
                y=grp["gain"],
                name=dataset,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (grp["ci_high"] - grp["gain"]).tolist(),
                    "arrayminus": (grp["gain"] - grp["ci_low"]).tolist(),
                },
            )
        )
    fig.update_layout(
        title=f"Hybrid minus {'X-X-mono' if other == 'mono' else 'X-Y'}, {setting} mAP "
        "(95% paired bootstrap CI over queries)",
        barmode="group",
        yaxis_title="Δ mAP",
    )
    st.plotly_chart(fig)
    st.dataframe(
        part.drop(columns=["where"]),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%+.4f") for c in ("gain", "ci_low", "ci_high")
        },
    )

# ---- deviations ---------------------------------------------------------------------
st.subheader("Deviations from the paper's protocol")
st.markdown("\n".join(f"- {d}" for d in ui_state.query("study:findings_deviations")))
