"""Dashboard side of the job system: the sidebar's job status, job panels, curves.

Pages queue work with :func:`hybriddash.jobs.submit` and show it with the helpers
here; nothing here computes a result. Live parts are ``st.fragment(run_every=...)``
blocks, so only they rerun while a job goes, not the page. When a job that this
session watched ends, the whole app reruns once (``st.rerun(scope="app")``), so the
sidebar's dataset and model lists (cached by store version) show what the job stored.

Polling costs CPU even when nothing changes (every Streamlit run, a fragment's too, ends
with a full garbage collection: about 0.3 s of a core with this app's imports). So a
live part polls every :data:`REFRESH_S` only while a job is queued or running; with no
active job the sidebar looks every :data:`IDLE_POLL_S` (one ``stat`` of the store and
one small query of the job records) for a job started elsewhere or a run written by the
CLI, and reruns the app only when it finds one (issue 25: idle app <= 2 % of a core).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from hybriddash import jobs, ui_state
from hybriddash.jobs import Job
from hybriddash.jobs.listing import STATE_ICONS, fmt_seconds

REFRESH_S = 2.0
# with no active job: how often the sidebar looks for a new job or a new run (seconds)
IDLE_POLL_S = 60.0
_WATCH_KEY = "_hd_jobs_watched"
JOBS_PAGE = "views/jobs.py"


def progress_line(job: Job) -> str:
    parts = [job.stage or job.state]
    if job.step_s:
        parts.append(f"{job.step_s:.2f} s/step")
    if job.state == "running":
        parts.append(f"ETA {fmt_seconds(job.eta_s)}")
    return " · ".join(parts)


def watch(job_id: int) -> None:
    """Remember that this session waits for ``job_id`` (the app reruns when it ends)."""
    watched = st.session_state.setdefault(_WATCH_KEY, {})
    watched[job_id] = "active"


def _check_watched(job_list: list[Job]) -> list[Job]:
    """Watched jobs that have ended since the last look (and forget them)."""
    watched: dict[int, str] = st.session_state.setdefault(_WATCH_KEY, {})
    by_id = {j.id: j for j in job_list}
    ended = []
    for job_id in list(watched):
        job = by_id.get(job_id)
        if job is None or not job.active:
            watched.pop(job_id)
            if job is not None:
                ended.append(job)
    for job in job_list:  # jobs started elsewhere (another tab, the Train page) too
        if job.active:
            watched.setdefault(job.id, "active")
    return ended


def job_panel(job: Job, *, key: str, log_lines: int = 12, expanded_log: bool = False) -> None:
    """One job: state, progress bar, ETA, log tail, Cancel (while active)."""
    icon = STATE_ICONS.get(job.state, "")
    st.markdown(f"{icon} **#{job.id} {job.title}** — {job.state}")
    if job.state == "running":
        st.progress(min(max(job.progress or 0.0, 0.0), 1.0), text=progress_line(job))
    elif job.state == "queued":
        st.caption("Waiting for the jobs before it (one job runs at a time).")
    if job.error:
        (st.info if job.state == "cancelled" else st.error)(job.error)
    if job.state == "done" and job.result:
        st.caption(f"Finished after {fmt_seconds(job.elapsed_s)}.")
    with st.expander("Log (last lines)", expanded=expanded_log):
        st.code(job.log_tail(log_lines) or "(no output yet)", language=None)
    if job.active and st.button("Cancel", key=f"{key}_cancel_{job.id}"):
        jobs.cancel(job.id)
        st.toast(f"Cancelling job #{job.id}")


def live(body: Callable[[], None], *, active: bool) -> None:
    """Run ``body`` as a fragment that reruns every :data:`REFRESH_S` while ``active``.

    ``active`` is decided when the app runs (e.g. "a job is queued or running"); a
    fragment whose job ended reruns the app (``st.rerun(scope="app")``), and that run
    draws it again without a timer, so a finished page stops polling.
    """
    st.fragment(body, run_every=REFRESH_S if active else None)()


_HEAP_FROZEN = False


def freeze_startup_heap() -> None:
    """Once per server process, after the first full run: ``gc.freeze()`` what is alive.

    Streamlit ends every run, a polling fragment's too, with ``gc.collect(2)``, which
    walks every tracked object: the imported libraries (pandas, plotly, DuckDB, ...)
    make that about 0.3 s of a core per run. Objects alive after the first run are
    mostly those imports; frozen, the collector skips them (they are still freed by
    reference counting; only cycles among them are never collected).
    """
    global _HEAP_FROZEN
    if _HEAP_FROZEN:
        return
    _HEAP_FROZEN = True
    gc.collect()
    gc.freeze()


def any_active() -> bool:
    """Whether any job is queued or running (False when the records cannot be read)."""
    try:
        return bool(jobs.list_jobs(states=jobs.ACTIVE_STATES, limit=1))
    except Exception:  # the job records must never break a page
        return False


def watch_panel(
    state_key: str, *, on_done: Callable[[Job], None] | None = None, title: str = "Job"
) -> None:
    """Follow the job whose id is in ``st.session_state[state_key]``, live while it is active.

    When it ends ``done``, ``on_done(job)`` runs once and the whole app reruns (so the
    sidebar shows what it stored).
    """
    job_id = st.session_state.get(state_key)
    if job_id is None:
        return
    try:
        active = jobs.get_job(int(job_id)).active
    except KeyError:
        st.session_state.pop(state_key, None)
        return

    def _panel() -> None:
        try:
            job = jobs.get_job(int(job_id))
        except KeyError:
            st.session_state.pop(state_key, None)
            return
        if job.active:
            jobs.reconcile()
            watch(job.id)
        job_panel(job, key=state_key)
        done_key = f"{state_key}_handled"
        if not job.active and st.session_state.get(done_key) != job.id:
            st.session_state[done_key] = job.id
            if job.state == "done" and on_done is not None:
                on_done(job)
            st.rerun(scope="app")

    st.markdown(f"**{title}**")
    live(_panel, active=active)


_DRAWN_KEY = "_hd_jobs_sidebar_drawn"
_POLL_MODE_KEY = "_hd_jobs_poll_active"


def sidebar_status() -> None:
    """Compact job status in the sidebar of every page: active jobs with progress, a
    link to the Jobs page; reruns the app when a job ends or the store changed."""
    st.session_state[_DRAWN_KEY] = True
    with st.sidebar:
        _sidebar_live()


def page_sidebar_status() -> None:
    """For pages about jobs: draw :func:`sidebar_status` when ``app.py`` did not (a page
    file run on its own: a fresh server's first deep link, AppTest)."""
    if not st.session_state.pop(_DRAWN_KEY, False):
        with st.sidebar:
            _sidebar_live()


def _sidebar_live() -> None:
    active = any_active()
    st.session_state[_POLL_MODE_KEY] = active
    st.fragment(_sidebar_fragment, run_every=REFRESH_S if active else IDLE_POLL_S)()


def _sidebar_fragment() -> None:
    try:
        job_list = jobs.list_jobs(limit=20)
    except Exception as exc:  # the job records must never break a page
        st.caption(f"Jobs unavailable: {type(exc).__name__}: {exc}")
        return
    active = [j for j in job_list if j.active]
    if any(j.state == "queued" for j in active):
        jobs.ensure_worker()  # a worker that died or exited idle comes back
    ended = _check_watched(job_list)
    if active:
        st.markdown("### Jobs")
        for job in reversed(active[-3:]):
            if job.state == "running":
                st.progress(min(max(job.progress or 0.0, 0.0), 1.0), text=f"#{job.id} {job.title}")
                st.caption(progress_line(job))
            else:
                st.caption(f"⏳ #{job.id} {job.title} (queued)")
        # a page run on its own (tests) has no navigation to link into
        with contextlib.suppress(Exception):
            st.page_link(JOBS_PAGE, label="All jobs", icon=":material/list:")
    if ended:
        for job in ended:
            st.toast(f"{STATE_ICONS.get(job.state, '')} job #{job.id} {job.state}: {job.title}")
        time.sleep(0.3)  # let the toast reach the browser before the rerun
        st.rerun(scope="app")
    # the polling speed was chosen when the app ran: change it (one app rerun) when a job
    # started elsewhere or all jobs ended; show a run written elsewhere (CLI, another tab)
    if bool(active) != st.session_state.get(_POLL_MODE_KEY, False) or ui_state.store_moved():
        st.rerun(scope="app")


# ---- training curves -------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _stored_curves(store_path: str, version: tuple, model_ids: tuple[str, ...]) -> pd.DataFrame:
    from hybriddash.store.reads import training_curves

    return training_curves(list(model_ids), store=ui_state._store(store_path))


def stored_curves(model_ids: list[str]) -> pd.DataFrame:
    """Curves of finished (registered) models from the store, cached per store version."""
    store = ui_state.current_store()
    if not model_ids or not store.path.exists():
        return pd.DataFrame(columns=["model_id", "step", "split", "metric", "value", "elapsed_s"])
    return _stored_curves(str(store.path), ui_state.store_version(store), tuple(model_ids))


def curve_figure(curves: pd.DataFrame, *, title: str = "") -> object:
    """Loss (training and validation) and validation mAP per step, one colour per model.

    ``curves``: columns model_id, step, split, metric, value.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss (InfoNCE)", "Validation multilingual mAP"),
        horizontal_spacing=0.08,
    )
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    for i, (model_id, frame) in enumerate(curves.groupby("model_id", sort=False)):
        color = palette[i % len(palette)]
        for split, metric, col, dash, mode in (
            ("train", "loss", 1, "solid", "lines"),
            ("validation", "loss", 1, "dash", "lines+markers"),
            ("validation", "map_multilingual", 2, "solid", "lines+markers"),
        ):
            part = frame[(frame["split"] == split) & (frame["metric"] == metric)].sort_values(
                "step"
            )
            if part.empty:
                continue
            name = f"{model_id} · {split} {metric.replace('_multilingual', '')}"
            fig.add_trace(
                go.Scatter(
                    x=part["step"],
                    y=part["value"],
                    name=name,
                    mode=mode,
                    line={"color": color, "dash": dash, "width": 1.5 if split == "train" else 2},
                    opacity=0.6 if split == "train" else 1.0,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step")
    fig.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},
        title=title or None,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
