"""Overview: what the store holds, the headline table, and how to add results."""

from __future__ import annotations

import json
import shlex

import pandas as pd
import plotly.express as px
import streamlit as st

from hybriddash import ui_state
from hybriddash.encoders.corrections import METHOD_HELP as CORRECTION_HELP
from hybriddash.encoders.corrections import METHODS as CORRECTION_METHODS
from hybriddash.encoders.modes import describe_encode_mode
from hybriddash.reports.tables import HEADLINE_METRICS

CORRECTION_CHOICES = ["none", *CORRECTION_METHODS]

sel = ui_state.selection()
st.title("hybriddash")
st.markdown(
    "Does a multilingual encoder treat every language fairly? Each evaluation ranks every "
    "candidate for every query and stores exact **mAP per (query language, candidate "
    "language)**, the pooled multilingual mAP and the **rank distance** language-bias "
    "measure. Compare the base model with models trained on monolingual (X-X-mono), "
    "cross-lingual (X-Y) or **hybrid** batches (Elmahdy, Lin & Ahmad 2024)."
)
st.caption(ui_state.BASE_MODEL_NOTE)

MEASURE_LABELS = {
    "monolingual": "mono mAP",
    "crosslingual": "cross mAP",
    "multilingual": "multi mAP",
    "rank_distance": "rank distance ↓",
    "ndcg_at_10": "nDCG@10",
    "recall_at_100": "R@100",
}

# ---------------------------------------------------------------------------
# headline table
# ---------------------------------------------------------------------------
if sel.empty:
    st.info(
        "**The store is empty.** Start by evaluating the base model: pick a dataset below and "
        "press *Evaluate* (the time it takes on this machine is shown beside the button), or "
        "copy the command into a terminal for a full benchmark. Results appear on every page "
        "as soon as the run is stored."
    )
elif not sel.model_ids:
    st.info("Select one or more models in the sidebar to see their headline numbers.")
else:
    st.subheader(f"Headline results on {sel.corpus_name}")
    models = ui_state.query("tables:models_table")
    baseline_options = [None, *sel.model_ids]
    default_base = (
        ui_state.BASE_MODEL_ID
        if ui_state.BASE_MODEL_ID in sel.model_ids
        else (sel.model_ids[0] if len(sel.model_ids) > 1 else None)
    )
    baseline = st.selectbox(
        "Baseline for the Δ columns",
        baseline_options,
        index=baseline_options.index(default_base),
        format_func=lambda m: "none" if m is None else sel.label(m),
        key="hd_overview_baseline",
    )
    table = ui_state.query("tables:headline_table", sel.corpus_fp, sel.model_ids, baseline)
    measures = [m for m in HEADLINE_METRICS if table[m].notna().any()]
    shown = pd.DataFrame({"model": table["model_id"].map(sel.label)})
    for m in measures:
        shown[MEASURE_LABELS[m]] = table[m]
        if baseline is not None:
            shown[f"Δ {MEASURE_LABELS[m]}"] = table[f"delta_{m}"]
    shown["contaminated"] = table["contaminated"].map(lambda c: "⚠ yes" if c else "")
    shown["model id"] = table["model_id"]
    if table["correction"].notna().any():
        shown.insert(1, "correction", table["correction"].fillna("—"))

    def _bold_best(column: pd.Series) -> list[str]:
        for m in measures:
            if column.name == MEASURE_LABELS[m]:
                return ["font-weight: bold" if b else "" for b in table[f"best_{m}"]]
        return [""] * len(column)

    fmt = {c: "{:.3f}" for c in shown.columns if "mAP" in c or "nDCG" in c or "R@" in c}
    fmt.update({c: "{:.1f}" for c in shown.columns if "rank distance" in c})
    fmt.update({c: "{:+.3f}" for c in shown.columns if c.startswith("Δ") and "rank" not in c})
    fmt.update({c: "{:+.1f}" for c in shown.columns if c.startswith("Δ rank")})
    st.dataframe(
        shown.style.apply(_bold_best).format(fmt, na_rep="–"), hide_index=True, key="hd_headline"
    )
    st.caption(
        "Bold: best value among runs not flagged as contaminated (higher mAP, lower rank "
        "distance). mono = mean over languages X of mAP(X→X); cross = mean over pairs X≠Y of "
        "mAP(X→Y); multi = mean over X of mAP(X→all languages pooled); rank distance = mean "
        "over queries of (rank of the lowest- minus the highest-ranked relevant candidate), "
        "macro-averaged over query languages. A row `<model> + <correction>` is the model "
        "with a training-free language-bias correction of its embeddings (see *Evaluate a "
        "model* below)."
    )
    flagged = table[table["contaminated"].fillna(False).astype(bool)]
    for row in flagged.itertuples():
        st.warning(
            f"⚠ **{sel.label(row.model_id)}** (`{row.model_id}`) was trained on data that overlaps this evaluation corpus "
            f"({row.contamination_note or 'shared question groups'}); its numbers are not "
            "zero-shot and are never marked best."
        )
    long = table.melt(id_vars="model_id", value_vars=[m for m in measures if m != "rank_distance"])
    long["measure"] = long["variable"].map(MEASURE_LABELS)
    long["model"] = long["model_id"].map(sel.label)
    fig = px.bar(
        long,
        x="measure",
        y="value",
        color="model",
        barmode="group",
        hover_data={"model_id": True},
        labels={"value": "score", "measure": ""},
        range_y=[0, 1],
    )
    fig.update_layout(height=330, margin={"t": 20, "b": 10})
    st.plotly_chart(fig, key="hd_headline_chart")
    if (table["kind"] == "trained").any():
        st.markdown(ui_state.TRAINING_DEVIATION)

# ---------------------------------------------------------------------------
# models and datasets
# ---------------------------------------------------------------------------
st.subheader("Models in the store")
store_models = ui_state.query("tables:models_table")
if store_models.empty:
    st.caption("No model has been evaluated yet.")
else:
    st.dataframe(
        store_models[
            [
                "model_id",
                "kind",
                "sampler",
                "alpha",
                "base_model_id",
                "train_dataset",
                "correction",
                "correction_fit",
                "n_runs",
                "description",
            ]
        ],
        hide_index=True,
        key="hd_models_table",
    )
    for row in store_models.itertuples():
        if isinstance(row.correction, str) and row.correction:
            continue  # a corrected encoder shares its model's card
        if isinstance(row.training_card, str) and row.training_card:
            with st.expander(f"Training card: {row.model_id}"):
                st.json(json.loads(row.training_card), expanded=False)


@st.cache_data(show_spinner=False, ttl=60)
def _backend_catalogue(uploads_stamp: int) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Datasets and models the backend can use (not only those already evaluated).

    ``uploads_stamp`` (the uploads folder's mtime) is part of the cache key, so a new
    upload is offered at once, not after the 60 s the cache otherwise keeps.
    """
    problems: list[str] = []
    datasets = pd.DataFrame()
    models = pd.DataFrame()
    try:
        from hybriddash.data.datasets import list_datasets

        datasets = pd.DataFrame(
            [
                {
                    "dataset": d.id,
                    "title": d.title,
                    "kind": d.kind,
                    "available": d.available,
                    "languages": ", ".join(d.languages or []),
                    "queries": d.n_queries,
                    "candidates": d.n_candidates,
                    "note": d.note,
                    "license": d.license,
                    "source": d.source,
                }
                for d in list_datasets()
            ]
        )
    except Exception as exc:  # the page must still load; say why the list is missing
        problems.append(f"datasets: {type(exc).__name__}: {exc}")
    try:
        from hybriddash.encoders.registry import list_models

        models = pd.DataFrame(
            [
                {"model": m.model_id, "kind": m.kind, "description": m.description}
                for m in list_models()
            ]
        )
    except Exception as exc:
        problems.append(f"models: {type(exc).__name__}: {exc}")
    return datasets, models, problems


datasets, backend_models, problems = _backend_catalogue(ui_state.uploads_stamp())
with st.expander("Datasets and models available to evaluate", expanded=sel.empty):
    if not datasets.empty:
        st.dataframe(datasets, hide_index=True, key="hd_datasets_table")
    if not backend_models.empty:
        st.dataframe(backend_models, hide_index=True, key="hd_backend_models")
    for problem in problems:
        st.warning(f"Could not list {problem}")

# ---------------------------------------------------------------------------
# evaluate from the UI, or copy the command
# ---------------------------------------------------------------------------
st.subheader("Evaluate a model")
from hybriddash.data.datasets import DEFAULT_SUBSETS  # noqa: E402
from hybriddash.data.tico19 import DOMAINS as TICO_DOMAINS  # noqa: E402

available = datasets[datasets["available"]] if not datasets.empty else datasets
if available.empty:
    st.caption("No dataset is available (see the list above for what is missing).")
else:
    model_choices = (
        backend_models["model"].tolist() if not backend_models.empty else [ui_state.BASE_MODEL_ID]
    )
    c1, c2, c3 = st.columns([2, 2, 1])
    ds_ids = available["dataset"].tolist()
    dataset_id = c1.selectbox(
        "Dataset",
        ds_ids,
        index=ds_ids.index("sample") if "sample" in ds_ids else 0,
        key="hd_eval_dataset",
    )
    model_id = c2.selectbox("Model", model_choices, key="hd_eval_model")
    correction = c2.selectbox(
        "Correction",
        CORRECTION_CHOICES,
        format_func=lambda c: c if c != "none" else "none (the model as it is)",
        key="hd_eval_correction",
        help="A training-free language-bias correction of the embeddings; the corrected "
        "encoder is stored as a model of its own ('<model> + <correction>'). "
        + " ".join(f"{m}: {h}." for m, h in CORRECTION_HELP.items()),
    )
    fit_on = None
    if correction in ("center", "shift"):
        fit_on = (
            c2.text_input(
                "Fit on (dataset)",
                value="mlqa-r" if dataset_id != "mlqa-r" else "xquad-r",
                key="hd_eval_fit_on",
                help="DATASET, DATASET[articles=N] or DATASET[articles=A-B]. Fitting on the "
                "evaluation queries or their parallel groups is flagged as contaminated.",
            ).strip()
            or None
        )
    articles = c3.number_input(
        "First N articles (0 = all)",
        min_value=0,
        value=0,
        step=1,
        key="hd_eval_articles",
        help="XQuAD-R has 48 parallel articles; a few make a quick first look.",
    )
    ds_row = available[available["dataset"] == dataset_id].iloc[0]
    ds_langs = [x.strip() for x in str(ds_row["languages"]).split(",") if x.strip()]
    langs = st.multiselect("Languages (empty = all)", ds_langs, default=[], key="hd_eval_langs")
    # the issue-23 suites' own selectors: TICO-19 source domain, XNLI split
    suite_option = {"tico-19": ("domain", TICO_DOMAINS), "xnli": ("split", ("dev", "test"))}
    if dataset_id in suite_option:
        key, values = suite_option[dataset_id]
        picked = st.selectbox(
            f"{dataset_id} {key}",
            ["all" if key == "domain" else "dev", *[v for v in values if v != "dev"]],
            key=f"hd_eval_{key}",
        )
        if picked not in ("all", "dev"):
            dataset_id = f"{dataset_id}[{key}={picked}]"
    if ds_row["dataset"] in DEFAULT_SUBSETS:
        st.caption(
            f"Study default subset: `{DEFAULT_SUBSETS[ds_row['dataset']]}` "
            f"(licence: {ds_row['license']})."
        )
    command = [
        "python",
        "-m",
        "hybriddash",
        "evaluate",
        "--model",
        model_id,
        "--dataset",
        dataset_id,
    ]
    if langs:
        command += ["--langs", ",".join(langs)]
    if articles:
        command += ["--articles", str(int(articles))]
    if correction != "none":
        command += ["--correction", correction]
        if fit_on:
            command += ["--fit-on", fit_on]
    n_texts = int((ds_row["queries"] or 0) + (ds_row["candidates"] or 0))
    subset = ""
    if langs or articles:  # count what the subset really encodes
        counted = ui_state.texts_to_encode(
            dataset_id, tuple(langs), int(articles), ui_state.uploads_stamp()
        )
        n_texts, subset = (n_texts, " (less for this subset)") if counted is None else (counted, "")
    estimate = ui_state.evaluation_estimate(n_texts, model_id)
    if estimate is None:
        st.caption(
            f"{dataset_id}: {n_texts:,} texts to encode. No evaluation has been timed on this "
            "machine yet: the first one measures the encoder's speed, and later estimates "
            "here come from it."
        )
    else:
        st.caption(
            f"{dataset_id}: {n_texts:,} texts, {estimate.describe()}{subset}; much less when "
            "the embeddings are already cached."
        )
    if not langs and not articles and estimate is not None and estimate.seconds > 300:
        st.caption(
            "Long jobs are better run in a terminal (the page shows the result when you come back):"
        )
    else:
        st.caption("Or run it in a terminal:")
    st.code(shlex.join(command), language="bash", wrap_lines=True)
    encode_mode, encode_why = describe_encode_mode()
    st.caption(f"Encode mode on this machine: **{encode_mode}** ({encode_why}).")
    from hybriddash import jobs, ui_jobs  # evaluation runs as a background job

    if st.button("Evaluate", type="primary", key="hd_eval_go"):
        params = {"model": model_id, "dataset": dataset_id, "langs": langs or None}
        params["articles"] = int(articles) or None
        if correction != "none":
            params.update(correction=correction, fit_on=fit_on)
        try:
            st.session_state["hd_eval_job"] = jobs.submit("evaluate", params)
        except ValueError as exc:
            st.error(f"Cannot start: {exc}")
    # follows the job live; when it is stored, the sidebar shows its dataset and model
    ui_jobs.watch_panel(
        "hd_eval_job",
        on_done=lambda job: ui_state.show_evaluated(job.result),
        title="Evaluation job",
    )

st.subheader("Train a model")
st.markdown(
    "Train on the **Train a model** page (a background job with live curves) or in a "
    "terminal; every trained model is registered with its training card and can then be "
    "evaluated here. The three "
    "batch types: `mono` (X-X-mono: one language per batch), `cross` (X-Y: query and "
    "passage in different languages), `hybrid` (mono with probability alpha, else cross)."
)
st.code(
    "python -m hybriddash train --help\n"
    "python -m hybriddash train --sampler hybrid --alpha 0.5 --base multilingual-e5-small-q4 "
    "--train-data mlqa-r --steps 100 --batch-size 16 --out hybrid-mlqa\n"
    "python -m hybriddash evaluate --model trained/<name> --dataset xquad-r",
    language="bash",
    wrap_lines=True,  # the train command is longer than the page is wide
)
if sel.empty or not sel.model_ids:
    st.caption(ui_state.TRAINING_DEVIATION)
