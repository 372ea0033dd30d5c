"""Findings: does hybrid batching help? One verdict per claim of the paper, with evidence.

Everything drawn here comes from :mod:`hybriddash.reports.study` through the cached
:func:`hybriddash.ui_state.query`; the page computes nothing.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from hybriddash import ui_state
from hybriddash.palette import language_color
from hybriddash.reports.study import MARGIN, MIN_SEEDS

ui_state.selection()  # the shared sidebar (and the reference-results label)
st.title("Findings")
st.markdown(
    "Does hybrid batching give the monolingual strength of X-X-mono and the cross- and "
    "multilingual strength of X-Y at once, with less language bias? One verdict per claim "
    "of the paper (and one of this project), decided by the rule written in "
    "`docs/results.md` before it was applied: each comparison's effect is the headline "
    "difference (macro average over language pairs, mean over seeds), its interval a "
    "hierarchical bootstrap over translation groups and seeds, Bonferroni over the "
    f"comparisons; *matches* = the interval inside ±{MARGIN:g} mAP, *better* = the "
    f"interval excludes 0 on the claimed side; at least {MIN_SEEDS} seeds per trained model."
)
for ref in ui_state.query("study:reference_info"):
    st.info(
        f"**{ref['label']}** shipped with the app (not computed here): {ref['n_models']} "
        f"models, machine {ref['machine']}, finished {ref['date']}, command "
        f"`{ref['command']}`, code version {ref['code_version']}."
    )


def questions_section() -> None:
    """The research questions (issue 24): one section each, from the questions' runs."""
    # ---- the research questions (issue 24) -------------------------------------------------
    st.header("Research questions")
    st.markdown(
        "Five questions of hybrid batching beyond LAReQA, each decided by the rule written in "
        '`docs/results.md` ("Research questions: decision rules") before its numbers: '
        "hierarchical bootstrap over groups and seeds, 23 comparison rows under Bonferroni "
        "(99.57% intervals), margin ±0.02 mAP (accuracy) for *unchanged* and *non-inferior*. "
        "Models of `python -m hybriddash reproduce --profile questions`."
    )
    with st.spinner("Deciding the research questions (hierarchical bootstrap)"):
        qdata = ui_state.query("study:findings_questions")
    qverdicts, qdisplay = qdata["verdicts"], qdata["display"]
    QUESTION_COLOURS = {"Hybrid": "#d62728", "X-X-mono": "#1f77b4", "X-Y": "#2ca02c",
                        "base (no training)": "#7f7f7f", "Hybrid + domain pairs": "#ff7f0e"}  # fmt: skip

    def _question_bars(frame, x, title, yaxis, key, error=("sd", None)):
        """Grouped bars of ``mean`` per ``x`` and model (error: sd or an interval)."""
        fig = go.Figure()
        for model, grp in frame.groupby("model", sort=False):
            err = (
                {"type": "data", "array": grp["sd"].fillna(0).tolist()}
                if error[0] == "sd"
                else {
                    "type": "data",
                    "symmetric": False,
                    "array": (grp[error[1]] - grp[error[0]]).tolist(),
                    "arrayminus": (grp[error[0]] - grp["ci_low"]).tolist(),
                }
            )
            y = grp["mean"] if "mean" in grp else grp[error[0]]
            fig.add_trace(
                go.Bar(x=grp[x], y=y, name=model, error_y=err,
                       marker_color=QUESTION_COLOURS.get(model))
            )  # fmt: skip
        fig.update_layout(title=title, barmode="group", yaxis_title=yaxis)
        st.plotly_chart(fig, key=key)

    for q in qverdicts.itertuples():
        st.subheader(f"{q.question}. {q.title}")
        qrows = qdisplay[qdisplay["question"] == q.question]
        if (qrows["reading"] == "not run yet").all():
            st.info(
                f"{q.question}: not run yet — no runs of its models on its suites "
                "(`python -m hybriddash reproduce --profile questions`)."
            )
            if q.missing:
                with st.expander("Missing pieces"):
                    st.markdown("\n".join(f"- {m}" for m in q.missing.split("; ")))
            continue
        st.markdown(f"**Verdict: {q.verdict}.** {q.summary}")
        if q.question == "Q1" and not qdata["domains"].empty:
            _question_bars(
                qdata["domains"], "domain",
                "TICO-19 multilingual mAP by domain and model (test split; mean ± sd over seeds)",
                "multilingual mAP", "hd_find_q1",
            )  # fmt: skip
        if q.question == "Q2" and not qdata["bitext"].empty:
            heat = qdata["bitext"]
            views = sorted(set(heat["model"]))
            if {"Hybrid", "X-X-mono"} <= set(views):
                views.append("Hybrid − X-X-mono")
            view = st.radio("Bitext accuracy of", views, horizontal=True, key="hd_find_q2_view")
            if view == "Hybrid − X-X-mono":
                wide = {
                    m: heat[heat["model"] == m].pivot(index="query_lang", columns="cand_lang",
                                                      values="accuracy")
                    for m in ("Hybrid", "X-X-mono")
                }  # fmt: skip
                grid = wide["Hybrid"] - wide["X-X-mono"]
                scale, mid = "RdBu", 0.0
            else:
                grid = heat[heat["model"] == view].pivot(
                    index="query_lang", columns="cand_lang", values="accuracy"
                )
                scale, mid = "Viridis", None
            fig = go.Figure(
                go.Heatmap(z=grid.to_numpy(), x=list(grid.columns), y=list(grid.index),
                           colorscale=scale, zmid=mid, colorbar={"title": "P@1"})
            )  # fmt: skip
            fig.update_layout(
                title=f"XNLI aligned rows: bitext accuracy (P@1) per language pair, {view} "
                "(mean over seeds)",
                xaxis_title="candidate language",
                yaxis_title="query language",
            )
            st.plotly_chart(fig, key="hd_find_q2")
        if q.question == "Q2":
            umap = qdata["xnli_umap"]
            shown = list(dict.fromkeys(umap["model"]))
            lacking = [m for m in ("base (no training)", "X-X-mono", "Hybrid") if m not in shown]
            if shown:
                st.markdown(
                    "**XNLI dev by language** (UMAP of the entailed hypotheses of 40 premises in "
                    "all 15 languages, as each model's study piece shipped it: translations of "
                    "one premise close together = aligned; one island per language = not)"
                )
                panels = st.columns(len(shown))
                for panel, model in zip(panels, shown, strict=True):
                    part = umap[umap["model"] == model]
                    fig = go.Figure()
                    for lang, grp in part.groupby("lang", sort=True):
                        fig.add_trace(
                            go.Scattergl(x=grp["x"], y=grp["y"], mode="markers", name=lang,
                                         marker={"color": language_color(lang), "size": 6},
                                         text=grp["group_id"],
                                         hovertemplate="%{text}<extra>" + lang + "</extra>")
                        )  # fmt: skip
                    seed = int(part["seed"].iloc[0])
                    fig.update_layout(
                        title=model + ("" if seed < 0 else f" (seed {seed})"),
                        xaxis={"visible": False}, yaxis={"visible": False},
                        showlegend=model == shown[-1], height=360,
                        margin={"l": 0, "r": 0, "t": 40, "b": 0},
                    )  # fmt: skip
                    panel.plotly_chart(fig, key=f"hd_find_q2_umap_{model}")
            if lacking:
                st.caption(
                    "No shipped XNLI projection for " + ", ".join(lacking) + " (its study piece "
                    "has not run, or ran before pieces shipped one)."
                )
        if q.question == "Q3" and not qdata["before_after"].empty:
            _question_bars(
                qdata["before_after"], "set",
                "Before / after the biomedical pairs: multilingual mAP (mean ± sd over seeds)",
                "multilingual mAP", "hd_find_q3",
            )  # fmt: skip
        if q.question == "Q4" and not qdata["tydi"].empty:
            tydi = qdata["tydi"].rename(columns={"lang": "language"})
            _question_bars(
                tydi, "language",
                "TyDi QA GoldP monolingual mAP per language (mean over seeds, 95% interval)",
                "monolingual mAP", "hd_find_q4", error=("map", "ci_high"),
            )  # fmt: skip
        if q.question == "Q5" and not qdata["points"].empty:
            points, fit = qdata["points"], qdata["fit"]
            combos = points[["suite", "comparator"]].drop_duplicates()
            labels = [f"{r.suite}, hybrid vs {r.comparator}" for r in combos.itertuples()]
            pick = st.selectbox("Gain on", labels, key="hd_find_q5")
            suite, comp = combos.iloc[labels.index(pick)]
            part = points[(points["suite"] == suite) & (points["comparator"] == comp)]
            part = part[part["log10_size"].notna()]
            line = fit[(fit["suite"] == suite) & (fit["comparator"] == comp)]
            fig = go.Figure()
            if not line.empty:
                fig.add_trace(
                    go.Scatter(x=list(line["x"]) + list(line["x"])[::-1],
                               y=list(line["high"]) + list(line["low"])[::-1], fill="toself",
                               line={"width": 0}, fillcolor="rgba(214,39,40,0.15)",
                               name="slope's 99.57% interval", hoverinfo="skip")
                )  # fmt: skip
                fig.add_trace(
                    go.Scatter(x=line["x"].tolist(), y=line["fit"].tolist(), mode="lines", name="OLS fit",
                               line={"color": "#d62728"})
                )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=part["log10_size"], y=part["gain"], mode="markers+text", text=part["lang"],
                    textposition="top center", name="languages",
                    error_y={"type": "data", "symmetric": False,
                             "array": (part["ci_high"] - part["gain"]).tolist(),
                             "arrayminus": (part["gain"] - part["ci_low"]).tolist()},
                )
            )  # fmt: skip
            fig.add_hline(y=0, line_color="#000", line_width=1)
            unit = part["unit"].iloc[0] if len(part) else ""
            fig.update_layout(
                title=f"Per-language gain of hybrid over {comp} on {suite} vs pre-training data "
                "(95% intervals per language)",
                xaxis_title="log10 CC-100 size (GiB)",
                yaxis_title=f"gain ({unit})",
            )
            st.plotly_chart(fig, key="hd_find_q5_chart")
        st.dataframe(qrows.drop(columns=["question"]), hide_index=True)
        if q.missing:
            st.caption("Not run yet: " + q.missing)
        if q.deviations:
            st.caption("Deviations: " + q.deviations)


seeds = ui_state.query("study:findings_seeds")
if seeds.empty:
    held_any = not ui_state.query("tables:corpora_table").empty
    st.info(
        ("No run of the standard study (claims (a)-(f)) is in the store yet. " if held_any
         else "Nothing to show yet: the store holds no evaluation. ")
        + "Run a study with `python -m hybriddash reproduce --profile standard` (or "
        "`--profile quick` for a smoke-scale one), or evaluate models from **Overview**."
    )  # fmt: skip
    if held_any:
        questions_section()  # the suites' runs answer the questions on their own
    st.stop()

# ---- what the store holds ------------------------------------------------------------
st.subheader("What the store holds")
st.dataframe(
    ui_state.query("study:findings_seed_display"),
    hide_index=True,
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
with st.spinner("Deciding the verdicts (hierarchical bootstrap, 10,000 resamples)"):
    claims, comparisons = ui_state.query("study:findings_verdicts")
st.subheader("Verdicts")
st.caption(
    "One forest plot per claim: each comparison's effect (A minus B, the headline "
    "difference) with its Bonferroni-level bootstrap interval, the per-seed differences "
    "(each seed of A minus the mean of B's seeds) as small dots, the line at 0 and, for "
    f"*matches* claims, the ±{MARGIN:g} mAP band. Colour: the comparison's verdict."
)
COLOURS = {"supported": "#2e7d32", "contradicted": "#c62828", "inconclusive": "#757575"}
for claim in claims["claim"].drop_duplicates():
    rows = claims[claims["claim"] == claim]
    st.markdown(
        f"**{rows['claim_label'].iloc[0]}** — "
        + "; ".join(f"{r.eval_dataset}: **{r.verdict}**" for r in rows.itertuples())
    )
    part = comparisons[(comparisons["claim"] == claim) & comparisons["effect"].notna()]
    for unit, grp in part.groupby("unit", sort=False):
        grp = grp.reset_index(drop=True)
        names = grp["comparison"] + " · " + grp["measure_label"] + " · " + grp["eval_dataset"]
        fig = go.Figure()
        if (grp["kind"] == "equivalence").any():
            fig.add_vrect(x0=-MARGIN, x1=MARGIN, fillcolor="#90caf9", opacity=0.25, line_width=0)
        fig.add_vline(x=0, line_color="#000", line_width=1)
        for verdict, sub in grp.groupby("verdict"):
            colour = COLOURS.get(verdict, "#000")
            fig.add_trace(
                go.Scatter(
                    x=sub["effect"].tolist(),
                    y=names[sub.index].tolist(),
                    mode="markers",
                    name=verdict,
                    marker={"color": colour, "size": 11, "symbol": "diamond"},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": (sub["ci_high"] - sub["effect"]).tolist(),
                        "arrayminus": (sub["effect"] - sub["ci_low"]).tolist(),
                        "color": colour,
                    },
                    text=(sub["interval_text"] + " · p " + sub["p_text"]).tolist(),
                    hovertemplate="%{y}<br>effect %{x}<br>%{text}<extra></extra>",
                )
            )
            seed_x = [x for diffs in sub["seed_diffs"] for x in diffs]
            seed_y = [
                n
                for n, diffs in zip(names[sub.index], sub["seed_diffs"], strict=True)
                for _ in diffs
            ]
            fig.add_trace(
                go.Scatter(
                    x=seed_x,
                    y=seed_y,
                    mode="markers",
                    name=f"{verdict}: seeds",
                    marker={"color": colour, "size": 6, "opacity": 0.6},
                    hovertemplate="%{y}<br>seed difference %{x}<extra></extra>",
                )
            )
        lower = (grp["direction"] < 0).all()
        fig.update_layout(
            title=f"A minus B, {unit}" + (" (lower is better)" if lower else ""),
            xaxis_title=f"difference ({unit})",
            height=140 + 45 * len(grp),
            margin={"l": 10, "r": 10, "t": 50, "b": 40},
            yaxis={"autorange": "reversed"},
            legend={"orientation": "h"},
        )
        st.plotly_chart(fig, key=f"hd_find_forest_{claim}_{unit}")
    missing = comparisons[(comparisons["claim"] == claim) & comparisons["effect"].isna()]
    for r in missing.itertuples():
        st.caption(f"{r.eval_dataset}: {r.reason}")

st.markdown("**Claims** (a composite claim's verdict is built from its comparison rows)")
st.dataframe(
    claims[
        [
            "claim_label",
            "eval_dataset",
            "verdict",
            "n_comparisons",
            "decided_by",
            "mde_text",
            "reason",
        ]
    ].rename(
        columns={
            "claim_label": "claim",
            "eval_dataset": "evaluated on",
            "n_comparisons": "comparisons",
            "decided_by": "decided by",
            "mde_text": "smallest effect detectable (80% power)",
            "reason": "why",
        }
    ),
    hide_index=True,
)
st.markdown("**Comparisons** (one row each; every value in its row's unit)")
st.dataframe(
    comparisons[
        [
            "claim",
            "eval_dataset",
            "comparison",
            "measure_label",
            "unit",
            "effect_text",
            "interval_text",
            "p_text",
            "seeds_text",
            "mde_text",
            "verdict",
            "test",
            "reason",
        ]
    ].rename(
        columns={
            "eval_dataset": "evaluated on",
            "comparison": "A vs B",
            "measure_label": "measure",
            "effect_text": "effect",
            "interval_text": "interval",
            "p_text": "p (vs α')",
            "seeds_text": "seeds: A − mean B",
            "mde_text": "detectable at 80% power",
            "test": "deciding test",
            "reason": "why",
        }
    ),
    hide_index=True,
)

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
        "(95% hierarchical bootstrap CI: translation groups and seeds)",
        barmode="group",
        yaxis_title="Δ mAP",
    )
    st.plotly_chart(fig)
    st.dataframe(
        part.drop(columns=["where"]).rename(
            columns={
                "eval_dataset": "evaluated on",
                "query_lang": "query language",
                "cand_lang": "candidate language",
                "n": "queries",
                "gain": "gain (mAP)",
                "ci_low": "95% CI low",
                "ci_high": "95% CI high",
            }
        ),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%+.4f")
            for c in ("gain (mAP)", "95% CI low", "95% CI high")
        },
    )

# ---- deviations ---------------------------------------------------------------------
st.subheader("Deviations from the paper's protocol")
st.markdown("\n".join(f"- {d}" for d in ui_state.query("study:findings_deviations")))


questions_section()
