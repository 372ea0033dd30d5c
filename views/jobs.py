"""Jobs: the queue and the history of background jobs, with their log and Cancel.

Evaluate, train, reproduce and import run as jobs (:mod:`hybriddash.jobs`), one at a
time in order, each in its own process; this page follows them live.
"""

from __future__ import annotations

import streamlit as st

from hybriddash import jobs, ui_jobs, ui_state
from hybriddash.jobs.listing import jobs_frame

st.title("Jobs")
st.caption(
    "Evaluations, trainings, reproductions and imports started from the dashboard run in "
    "the background, one at a time in the order they were queued, each in its own process. "
    "They go on when you browse elsewhere or close the tab. Records: "
    "`<artifacts>/jobs/jobs.sqlite`; logs: `<artifacts>/jobs/logs/`."
)
ui_state.selection()  # the shared sidebar
ui_jobs.page_sidebar_status()  # job status; reruns the app when a job ends


def jobs_view() -> None:
    job_list = jobs.list_jobs(limit=200)
    if not job_list:
        st.info(
            "No job yet. Start one from **Train a model**, or *Evaluate* on the Overview "
            "or Upload page."
        )
        return
    worker = "running" if jobs.worker_running() else "not running (starts with the next job)"
    st.caption(f"Job worker: {worker}.")
    active = [j for j in job_list if j.active]
    st.subheader(f"Queue ({len(active)})")
    if not active:
        st.caption("Nothing queued or running.")
    for job in sorted(active, key=lambda j: j.id):
        with st.container(border=True):
            ui_jobs.job_panel(job, key="hd_jobs", expanded_log=job.state == "running")
    st.subheader("History")
    history = [j for j in job_list if not j.active]
    if not history:
        st.caption("No job has ended yet.")
        return
    st.dataframe(jobs_frame(history), hide_index=True, key="hd_jobs_history")
    by_id = {j.id: j for j in history}
    # a job that just ended (e.g. cancelled) is shown, not the one chosen before it
    newest = max(by_id, key=lambda i: by_id[i].finished_at or 0.0)
    ui_state.keep_valid("hd_jobs_detail", list(by_id))
    if st.session_state.get("_hd_jobs_newest_ended") != newest:
        st.session_state["_hd_jobs_newest_ended"] = newest
        st.session_state["hd_jobs_detail"] = newest
    chosen = st.selectbox(
        "Details of job",
        list(by_id),
        format_func=lambda i: f"#{i} {by_id[i].title} — {by_id[i].state}",
        key="hd_jobs_detail",
    )
    job = by_id[chosen]
    ui_jobs.job_panel(job, key="hd_jobs_hist", log_lines=40, expanded_log=True)
    with st.expander("Parameters and result"):
        st.json({"params": job.params, "result": job.result}, expanded=True)


# live (every 2 s) only while a job is queued or running; the sidebar reruns the app
# when the last one ends, and this page then draws once more without a timer
ui_jobs.live(jobs_view, active=ui_jobs.any_active())
