"""Train a model from the dashboard: every ``train`` option, a wall-time estimate from
this machine's measured step speed, live curves while it runs, overlays of finished runs.

Training runs as a background job (:mod:`hybriddash.jobs`): the page returns at once,
and the job goes on when the user browses elsewhere or closes the tab.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from hybriddash import jobs, ui_jobs, ui_state
from hybriddash.cpu import has_native_bf16
from hybriddash.training import SAMPLER_KINDS

st.title("Train a model")
st.caption(
    "Fine-tunes an encoder with InfoNCE over in-batch negatives. Batches: **mono** "
    "(X-X-mono, one language per batch), **cross** (X-Y, query and passage in different "
    "languages), **hybrid** (mono with probability alpha, else cross). The job runs in the "
    "background: browse on, close the tab, come back; the curves below grow as it learns."
)
ui_state.selection()  # the shared sidebar
ui_jobs.page_sidebar_status()  # job status; reruns the app when a job ends
ui_state.deviation_note()

SAMPLER_LABELS = {"mono": "mono (X-X-mono)", "cross": "cross (X-Y)", "hybrid": "hybrid"}


@st.cache_data(show_spinner=False, ttl=30)
def _catalogue() -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Available datasets, and (label, --base argument) of every usable base model."""
    from hybriddash.data.datasets import list_datasets
    from hybriddash.encoders.registry import list_models

    datasets = pd.DataFrame(
        [
            {"dataset": d.id, "kind": d.kind, "languages": list(d.languages or [])}
            for d in list_datasets()
            if d.available
        ],
        columns=["dataset", "kind", "languages"],
    )
    bases = [(m.model_id, m.model_id) for m in list_models()]
    return datasets, bases


datasets, bases = _catalogue()
stored_models = ui_state.query("tables:models_table")
# models the store knows but the registry does not list by id (e.g. a folder): by path
known = {label for label, _ in bases}
for row in stored_models.itertuples():
    if row.model_id not in known and isinstance(row.source, str) and row.source:
        bases.append((row.model_id, row.source))
        known.add(row.model_id)
base_arg = dict(bases)

if datasets.empty:
    st.warning("No training data is available: import a corpus on the Upload page first.")
    st.stop()

# ---------------------------------------------------------------------------
# the options
# ---------------------------------------------------------------------------
st.subheader("Set up a run")
c1, c2, c3 = st.columns([2, 1, 2])
sampler = c1.radio(
    "Batches",
    SAMPLER_KINDS,
    index=SAMPLER_KINDS.index("hybrid"),
    format_func=SAMPLER_LABELS.get,
    horizontal=True,
    key="hd_train_sampler",
)
alpha = c2.number_input(
    "alpha",
    min_value=0.0,
    max_value=1.0,
    value=0.5,
    step=0.05,
    disabled=sampler != "hybrid",
    key="hd_train_alpha",
    help="hybrid: probability of a mono batch (0 = cross, 1 = mono)",
)
base_label = c3.selectbox(
    "Base model",
    list(base_arg),
    key="hd_train_base",
    help="Any registered model, trained ones included.",
)

ds_ids = datasets["dataset"].tolist()
default_ds = next((d for d in ("mlqa-r", "sample") if d in ds_ids), ds_ids[0])
d1, d2, d3 = st.columns([2, 3, 1])
train_data = d1.selectbox(
    "Training data",
    ds_ids,
    index=ds_ids.index(default_ds),
    key="hd_train_data",
    help="A benchmark or an uploaded corpus (upload:<name>). Evaluate on another one: "
    "the model sees every group of its training data.",
)
ds_langs = datasets.loc[datasets["dataset"] == train_data, "languages"].iloc[0]
ui_state.keep_valid("hd_train_langs", list(ds_langs))
langs = d2.multiselect("Languages (empty = all)", list(ds_langs), key="hd_train_langs")
articles = d3.number_input(
    "First N articles", min_value=0, value=0, step=1, key="hd_train_articles", help="0 = all"
)

n1, n2, n3, n4 = st.columns(4)
steps = n1.number_input("Steps", min_value=1, value=100, step=10, key="hd_train_steps")
batch_size = n2.number_input(
    "Batch size", min_value=2, value=32, step=2, key="hd_train_bs", help="pairs per batch"
)
lr = n3.number_input(
    "Learning rate",
    min_value=1e-7,
    max_value=1e-2,
    value=3e-5,
    step=1e-6,
    format="%.1e",
    key="hd_train_lr",
)
max_length = n4.number_input(
    "Max length (tokens)", min_value=8, max_value=512, value=96, step=8, key="hd_train_maxlen"
)
f1, f2, f3, f4 = st.columns(4)
freeze_embeddings = f1.checkbox(
    "Freeze word embeddings", value=True, key="hd_train_freeze_emb", help="~2.5x faster steps"
)
freeze_layers = f2.number_input(
    "Freeze lowest N layers", min_value=0, max_value=48, value=0, key="hd_train_freeze_layers"
)
native_bf16 = bool(has_native_bf16())
bf16 = f3.checkbox(
    "bf16",
    value=False,
    disabled=not native_bf16,
    key="hd_train_bf16",
    help="bf16 autocast" + ("" if native_bf16 else ": this CPU has no native bf16 (slow)"),
)
seed = f4.number_input("Seed", min_value=0, value=0, step=1, key="hd_train_seed")
with st.expander("More options"):
    m1, m2, m3 = st.columns(3)
    weight_decay = m1.number_input("Weight decay", min_value=0.0, value=0.01, key="hd_train_wd")
    warmup_ratio = m2.number_input(
        "Warm-up share", min_value=0.0, max_value=1.0, value=0.1, key="hd_train_warmup"
    )
    val_fraction = m3.number_input(
        "Held-out share of groups",
        min_value=0.0,
        max_value=0.9,
        value=0.1,
        key="hd_train_valfrac",
    )
    m4, m5, m6 = st.columns(3)
    eval_every = m4.number_input(
        "Validate every N steps (0 = steps/10)", min_value=0, value=0, key="hd_train_eval_every"
    )
    patience = m5.number_input("Patience (0 = off)", min_value=0, value=0, key="hd_train_patience")
    val_map_queries = m6.number_input(
        "Validation mAP questions", min_value=0, value=256, key="hd_train_valmap"
    )
    x1, x2 = st.columns([3, 1])
    extra_pairs = x1.text_input(
        "Extra parallel pairs (cross-lingual side of X-Y / hybrid batches)",
        key="hd_train_extra_pairs",
        placeholder="tico-19[domain=pubmed,segments=train]",
        help="DATASET[key=value,...]: every ordered pair of two languages of a segment is a "
        "cross-lingual training pair; segments=train|test is the segment-id split (the test "
        "side is never trained on, and the training card stores the proof).",
    ).strip()
    extra_share = x2.number_input(
        "Share of each cross batch",
        min_value=0.0,
        max_value=1.0,
        value=0.5,
        key="hd_train_extra_share",
        disabled=not extra_pairs,
    )

default_name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{sampler}-{train_data}-{int(steps)}")
# the suggestion follows the options (e.g. Steps) until the user types a name of their own
if st.session_state.get("hd_train_out") in (None, st.session_state.get("_hd_train_suggested")):
    st.session_state["hd_train_out"] = default_name
st.session_state["_hd_train_suggested"] = default_name
o1, o2 = st.columns([3, 1])
out = o1.text_input("Model name", key="hd_train_out", help="becomes trained/<name>").strip()
overwrite = o2.checkbox(
    "Replace a model of that name", key="hd_train_overwrite", help="trained with other options"
)
eval_choices = [d for d in ds_ids if d != "mlqa-train"]
ui_state.keep_valid("hd_train_eval_after", eval_choices)
eval_after = st.multiselect(
    "Evaluate the new model on (queued after training)",
    eval_choices,
    key="hd_train_eval_after",
    help="One evaluation job per dataset; it runs only when the training ended well.",
)

params: dict = {
    "sampler": sampler,
    "alpha": float(alpha),
    "base": base_arg[base_label],
    "train_data": train_data,
    "langs": list(langs) or None,
    "articles": int(articles) or None,
    "steps": int(steps),
    "batch_size": int(batch_size),
    "lr": float(lr),
    "weight_decay": float(weight_decay),
    "warmup_ratio": float(warmup_ratio),
    "max_length": int(max_length),
    "seed": int(seed),
    "freeze_embeddings": bool(freeze_embeddings),
    "freeze_layers": int(freeze_layers),
    "bf16": bool(bf16),
    "eval_every": int(eval_every) or None,
    "patience": int(patience) or None,
    "val_fraction": float(val_fraction),
    "val_map_queries": int(val_map_queries),
    "out": out,
    "overwrite": bool(overwrite),
}
if extra_pairs:
    params.update(extra_pairs=extra_pairs, extra_share=float(extra_share))


@st.cache_data(show_spinner=False, ttl=30)
def _estimate(
    base: str, steps: int, batch: int, length: int, fe: bool, fl: int, b16: bool, every: int
):
    from hybriddash.training.estimate import estimate_wall_time

    return estimate_wall_time(
        base_model=base,
        steps=steps,
        batch_size=batch,
        max_length=length,
        freeze_embeddings=fe,
        freeze_layers=fl,
        bf16=b16,
        eval_every=every or None,
    )


estimate = _estimate(
    base_label,
    int(steps),
    int(batch_size),
    int(max_length),
    bool(freeze_embeddings),
    int(freeze_layers),
    bool(bf16),
    int(eval_every),
)
if estimate is None:
    st.info(
        f"No estimate yet: no run of **{base_label}** has been trained on this machine. "
        "The first run measures the step speed (shown live below)."
    )
else:
    st.markdown(
        f"**Estimated wall time: {ui_jobs.fmt_seconds(estimate.wall_s)}** per model "
        f"({estimate.step_s:.3f} s/step × {int(steps)} steps + loading and validation)."
    )
    st.caption(f"From {estimate.basis}.")


def _queue_training(p: dict, group: str | None = None) -> int:
    train_id = jobs.submit("train", p, group_name=group)
    ui_jobs.watch(train_id)
    for dataset in eval_after:
        eval_id = jobs.submit(
            "evaluate",
            {"model": f"trained/{p['out']}", "dataset": dataset},
            group_name=group,
            depends_on=train_id,
        )
        ui_jobs.watch(eval_id)
    return train_id


b1, b2 = st.columns(2)
if b1.button("Start training", type="primary", key="hd_train_go", disabled=not out):
    try:
        job_id = _queue_training(params)
    except ValueError as exc:
        st.error(f"Cannot start: {exc}")
    else:
        st.session_state["hd_train_job"] = job_id
        st.success(f"Queued training job #{job_id} (trained/{out}).")
if b2.button(
    "Train all three strategies with the same budget",
    key="hd_train_three",
    disabled=not out,
    help="Queues mono, cross and hybrid (this alpha) with these options, as <name>-mono, "
    "<name>-cross, <name>-hybrid: one comparable set.",
):
    queued = []
    try:
        for kind in SAMPLER_KINDS:
            one = {**params, "sampler": kind, "out": f"{out}-{kind}"}
            if kind == "mono":  # extra pairs are cross-lingual: mono batches have no use
                one.pop("extra_pairs", None)
                one.pop("extra_share", None)
            queued.append(_queue_training(one, group=out))
    except ValueError as exc:
        st.error(f"Cannot start: {exc}")
    if queued:
        st.session_state["hd_train_job"] = queued[0]
        st.success(f"Queued the set {out!r}: jobs {', '.join(f'#{j}' for j in queued)}.")

# ---------------------------------------------------------------------------
# live view + overlays
# ---------------------------------------------------------------------------
st.subheader("Training runs")
trained = stored_models[stored_models["kind"] == "trained"]["model_id"].tolist()
ui_state.keep_valid("hd_train_overlay", trained)
overlay = st.multiselect(
    "Overlay finished runs",
    trained,
    key="hd_train_overlay",
    help="Registered trained models; e.g. the three strategies of one set.",
)


def live_view() -> None:
    from hybriddash.training.curves import live_curve_path, read_curve

    train_jobs = [j for j in jobs.list_jobs(limit=100) if j.kind == "train"]
    if not train_jobs and not overlay:
        st.caption("No training run yet.")
        return
    frames = []
    overlaid = list(overlay)
    if train_jobs:
        by_id = {j.id: j for j in train_jobs}
        running = [j.id for j in train_jobs if j.state == "running"]
        wanted = st.session_state.get("hd_train_job")
        default = running[0] if running else (wanted if wanted in by_id else train_jobs[0].id)
        if st.session_state.get("hd_train_live") not in by_id:
            st.session_state["hd_train_live"] = default
        job_id = st.selectbox(
            "Run",
            list(by_id),
            format_func=lambda i: f"#{i} {by_id[i].title} — {by_id[i].state}",
            key="hd_train_live",
        )
        job = by_id[job_id]
        name = str(job.params.get("out"))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("State", job.state)
        m2.metric("Step time", f"{job.step_s:.2f} s" if job.step_s else "—")
        m3.metric("ETA", ui_jobs.fmt_seconds(job.eta_s) if job.state == "running" else "—")
        m4.metric("Elapsed", ui_jobs.fmt_seconds(job.elapsed_s))
        if job.state == "running":
            st.progress(min(max(job.progress or 0.0, 0.0), 1.0), text=ui_jobs.progress_line(job))
        elif job.error:
            (st.info if job.state == "cancelled" else st.error)(job.error)
        path = live_curve_path(name)
        live = pd.DataFrame()
        if job.started_at and path.exists() and path.stat().st_mtime >= job.started_at:
            live = read_curve(path)
        if not live.empty and f"trained/{name}" not in overlay:
            live.insert(0, "model_id", f"trained/{name}")
            frames.append(live)
        if job.active and st.button("Cancel this run", key=f"hd_train_cancel_{job.id}"):
            jobs.cancel(job.id)
            st.toast(f"Cancelling job #{job.id}")
        if job.group_name:  # a set of three strategies: its finished runs beside it
            same_set = [
                f"trained/{j.params.get('out')}"
                for j in train_jobs
                if j.group_name == job.group_name and j.state == "done" and j.id != job.id
            ]
            overlaid += [m for m in same_set if m not in overlaid]
            st.caption(f"Set **{job.group_name}**: finished runs of the set are overlaid.")
    stored = ui_jobs.stored_curves(overlaid)
    if not stored.empty:
        frames.append(stored)
    curves = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if curves.empty:
        st.caption("The curve appears when the first training step is logged.")
        return
    st.plotly_chart(ui_jobs.curve_figure(curves), key="hd_train_curves")
    points = int((curves["split"] == "train").sum())
    st.caption(f"{points} training-loss points; dashed: validation loss.")


ui_jobs.live(live_view, active=ui_jobs.any_active())  # polls only while a job is active

# ---------------------------------------------------------------------------
# the reproduction protocol
# ---------------------------------------------------------------------------
with st.expander("Reproduce the paper's protocol (all three strategies, both directions)"):
    from hybriddash.training.reproduce import PROFILES

    profile = st.selectbox(
        "Profile",
        sorted(PROFILES),
        key="hd_repro_profile",
        format_func=lambda p: f"{p}: {PROFILES[p].note}",
    )
    st.caption(
        "Same as `python -m hybriddash reproduce --profile <profile>`; needs the XQuAD-R "
        "and MLQA-R folders. The result table is written under the artifacts folder "
        "(the CLI writes docs/results.md)."
    )
    if st.button("Queue the reproduction", key="hd_repro_go"):
        try:
            job_id = jobs.submit("reproduce", {"profile": profile, "base": base_arg[base_label]})
        except ValueError as exc:
            st.error(f"Cannot start: {exc}")
        else:
            ui_jobs.watch(job_id)
            st.success(f"Queued reproduction job #{job_id}; see the Jobs page.")
