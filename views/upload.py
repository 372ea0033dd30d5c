"""Upload a corpus: validate every file, store it as ``upload:<name>``, evaluate it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from hybriddash import jobs, ui_jobs, ui_state
from hybriddash.data.upload import max_upload_bytes
from hybriddash.data.upload.importer import MANIFEST_FILE, uploads_root

st.title("Upload a corpus")
st.markdown(
    "Bring your own multilingual retrieval corpus in one of three formats:\n\n"
    "- **SQuAD / LAReQA JSON**, one file per language (`de.json`, `en.json`, or a zip of "
    "them); with `sentences`/`sentence_breaks` the sentences are the candidates, without "
    "them the paragraphs are. The same question `id` in several files = translations.\n"
    "- **BEIR**: `corpus.jsonl` (`_id`, `text`, `lang`), `queries.jsonl` (`_id`, `text`, "
    "`lang`, optional `group_id`) and a qrels `.tsv` (query-id, corpus-id, score) — as "
    "files or one zip.\n"
    "- **Parallel table** (CSV, TSV, JSONL or Parquet): `group_id`, `lang`, `question`, "
    "`answer` (+ optional `context`, `article`, `distractor`); rows sharing a `group_id` "
    "are translations.\n\n"
    f"Everything is checked before anything is stored (limit {max_upload_bytes() / 2**20:.0f} MB); "
    "every problem is listed with its file, line and field."
)


def _default_name(files: list) -> str:
    if not files:
        return ""
    stem = re.sub(r"\.[^.]*$", "", files[0].name)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:64] or "corpus"


# the uploader's key changes after each "Validate and import", so the next import starts
# from an empty list instead of silently including the files sent before
_GEN_KEY = "_hd_upload_generation"
files = st.file_uploader(
    "Corpus files",
    type=["json", "jsonl", "csv", "tsv", "parquet", "zip"],
    accept_multiple_files=True,
    key=f"hd_upload_files_{st.session_state.get(_GEN_KEY, 0)}",
)
c1, c2, c3 = st.columns([2, 1, 1])
name = c1.text_input(
    "Dataset name",
    value=_default_name(files or []),
    key="hd_upload_name",
    help="Letters, digits, '.', '_' or '-'; the dataset becomes upload:<name>. "
    "Empty: the first file's name without its extension.",
)
fmt = c2.selectbox("Format", ["auto", "squad", "beir", "table"], key="hd_upload_format")
overwrite = c3.checkbox("Replace an upload of that name", key="hd_upload_overwrite")


def _show_problems(problems: list[dict], notices: list[str]) -> None:
    st.error(f"Upload refused: {len(problems)} problem(s). Nothing was stored.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "file": p["file"],
                    "line": "" if p.get("line") is None else str(p["line"]),
                    "field": p.get("field") or "",
                    "problem": p["problem"],
                }
                for p in problems
            ],
            columns=["file", "line", "field", "problem"],
        ),
        hide_index=True,
        key="hd_upload_problems",
    )
    for notice in notices:
        st.caption(notice)


def _show_import_outcome(job: jobs.Job) -> None:
    """What the last import job of this session ended with: the stored corpus, or every
    problem of a refused upload (the job record keeps them)."""
    result = job.result or {}
    if job.state == "done" and result.get("dataset_id"):
        st.success(
            f"Imported **{result['dataset_id']}** ({result['format']}; "
            f"{result['n_queries']:,} queries, {result['n_candidates']:,} candidates; "
            f"languages {', '.join(result['languages'])}; "
            f"fingerprint `{result['fingerprint']}`)."
        )
        for notice in result.get("notices", []):
            st.info(notice)
    elif job.state == "failed" and "problems" in result:
        _show_problems(result["problems"], result.get("notices", []))


def _imported(job: jobs.Job) -> None:
    if job.result and job.result.get("dataset_id"):
        st.session_state["hd_upload_last"] = job.result["dataset_id"]


def _validate_and_queue(sources: list[tuple[str, bytes]]) -> None:
    """Validate here, in the page (seconds, even while a training job holds the queue);
    queue only the import of an accepted upload. A refusal is kept for the next run."""
    from hybriddash.data.upload import UploadRejected, validate_upload
    from hybriddash.data.upload.importer import upload_exists
    from hybriddash.data.upload.problems import Problem
    from hybriddash.data.upload.validation import NAME_PLACE

    st.session_state.pop("hd_upload_refused", None)
    st.session_state.pop("hd_upload_checked", None)
    try:
        with st.spinner("Validating…"):
            validated = validate_upload(sources, name, fmt=fmt)
        if upload_exists(validated.name) and not overwrite:
            message = (
                f"an upload named {validated.name!r} already exists; choose another name "
                "or tick 'Replace an upload of that name'"
            )
            raise UploadRejected([Problem(NAME_PLACE, None, "name", message, "name")])
    except UploadRejected as exc:
        st.session_state["hd_upload_refused"] = (
            [
                {"file": p.file, "line": p.line, "field": p.field, "problem": p.message}
                for p in exc.problems
            ],
            list(exc.notices),
        )
        st.session_state.pop("hd_upload_import_job", None)
        return
    staged = jobs.stage_files(sources)
    st.session_state["hd_upload_checked"] = (
        f"**upload:{validated.name}** passed validation ({validated.format}; "
        f"{len(validated.corpus.queries):,} queries, "
        f"{len(validated.corpus.candidates):,} candidates); its import is queued."
    )
    st.session_state["hd_upload_import_job"] = jobs.submit(
        "import",
        {
            "sources": [str(staged / Path(n).name) for n, _ in sources],
            "name": validated.name,
            "fmt": validated.format,
            "overwrite": overwrite,
            "staged_folder": str(staged),
        },
    )


# Validation runs in the page; only the import (writing and registering the corpus) is a
# background job, which may wait behind a running training
if st.button("Validate and import", type="primary", disabled=not files, key="hd_upload_go"):
    try:
        _validate_and_queue([(f.name, f.getvalue()) for f in files or []])
    except ValueError as exc:
        st.error(f"Cannot start: {exc}")
    else:
        st.session_state[_GEN_KEY] = st.session_state.get(_GEN_KEY, 0) + 1
        st.session_state.pop("hd_upload_name", None)
        st.rerun()

_refused = st.session_state.get("hd_upload_refused")
if _refused is not None:
    _show_problems(*_refused)
if st.session_state.get("hd_upload_checked"):
    st.info(st.session_state["hd_upload_checked"])
ui_jobs.watch_panel("hd_upload_import_job", on_done=_imported, title="Import job")
_import_job = st.session_state.get("hd_upload_import_job")
if _import_job is not None:
    try:
        _show_import_outcome(jobs.get_job(int(_import_job)))
    except KeyError:
        st.session_state.pop("hd_upload_import_job", None)

st.subheader("Uploaded corpora")
root = uploads_root()
manifests = sorted(root.glob(f"*/{MANIFEST_FILE}")) if root.is_dir() else []
if not manifests:
    st.caption("No corpus uploaded yet.")
    st.stop()
listing = []
for path in manifests:
    m = json.loads(path.read_text(encoding="utf-8"))
    listing.append(
        {
            "dataset": m["dataset_id"],
            "format": m["format"],
            "languages": ", ".join(m["languages"]),
            "queries": m["n_queries"],
            "candidates": m["n_candidates"],
            "fingerprint": m["fingerprint"],
            "imported": m["imported_at"],
        }
    )
uploads = pd.DataFrame(listing)
st.dataframe(uploads, hide_index=True, key="hd_upload_list")

st.subheader("Evaluate an upload")
e1, e2 = st.columns(2)
dataset = e1.selectbox(
    "Dataset",
    list(uploads["dataset"]),
    key="hd_upload_eval_dataset",
    index=list(uploads["dataset"]).index(st.session_state["hd_upload_last"])
    if st.session_state.get("hd_upload_last") in list(uploads["dataset"])
    else 0,
)
model = e2.text_input(
    "Model",
    value="multilingual-e5-small-q4",
    key="hd_upload_eval_model",
    help="A model id (the offline base model, trained/<name>), a folder or a hub id.",
)
# a background job: the page returns at once; the panel below follows it
if st.button("Evaluate", key="hd_upload_eval_go"):
    try:
        st.session_state["hd_upload_eval_job"] = jobs.submit(
            "evaluate", {"model": model, "dataset": dataset}
        )
    except ValueError as exc:
        st.error(f"Cannot start: {exc}")


ui_jobs.watch_panel(
    "hd_upload_eval_job",
    on_done=lambda job: ui_state.show_evaluated(job.result),
    title="Evaluation job",
)
