"""AppTest tests of the upload page (good and bad files) and the export page's downloads."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hybriddash import ui_state

REPO = Path(__file__).resolve().parent.parent
UPLOAD_PAGE = str(REPO / "views" / "upload.py")
EXPORT_PAGE = str(REPO / "views" / "export.py")

GOOD_CSV = (
    b"group_id,lang,question,answer\n"
    b"g1,en,What is the capital of France?,Paris is the capital of France.\n"
    b"g1,de,Was ist die Hauptstadt Frankreichs?,Paris ist die Hauptstadt Frankreichs.\n"
    b"g2,en,How many legs does a spider have?,A spider has eight legs.\n"
    b"g2,de,Wie viele Beine hat eine Spinne?,Eine Spinne hat acht Beine.\n"
)
BAD_CSV = (
    b"group_id,lang,question,answer\n"
    b"g1,en,What is the capital of France?,Paris is the capital of France.\n"
    b"g1,xx,Quoi?,Paris.\n"
    b"g2,en,How many legs?,\n"
)


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def upload_env(tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch):
    """An artifacts folder whose import jobs run in a real job worker, stopped after."""
    from hybriddash import jobs

    monkeypatch.setenv("HYBRIDDASH_JOBS_IDLE_EXIT", "120")
    yield tmp_artifacts
    jobs.stop_worker()


def _upload(at: AppTest, name: str, data: bytes, dataset: str) -> AppTest:
    """Choose a file, name it, press "Validate and import", and wait for the import job
    (run by the real worker in its own process) before the next script run."""
    from hybriddash import jobs

    state = at.session_state  # AppTest's session state has no .get()
    generation = state["_hd_upload_generation"] if "_hd_upload_generation" in state else 0  # noqa: SIM401
    at.file_uploader(key=f"hd_upload_files_{generation}").set_value((name, data, "text/csv"))
    at.run()
    at.text_input(key="hd_upload_name").input(dataset)
    at.button(key="hd_upload_go").click()
    at.run()
    _no_exception(at)
    # the uploader is a fresh one (empty) after each "Validate and import"
    assert at.session_state["_hd_upload_generation"] == generation + 1
    assert not at.file_uploader(key=f"hd_upload_files_{generation + 1}").value
    if "hd_upload_import_job" not in at.session_state:  # refused in the page: no job
        return at
    job_id = at.session_state["hd_upload_import_job"]
    deadline = time.monotonic() + 120
    while jobs.get_job(job_id).active and time.monotonic() < deadline:
        time.sleep(0.3)
    job = jobs.get_job(job_id)
    assert not job.active, job.log_tail(40)
    at.run()
    _no_exception(at)
    return at


def test_upload_page_imports_a_good_file(upload_env: Path) -> None:
    from hybriddash.data.datasets import list_datasets

    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=60)
    at.run()
    _no_exception(at)
    assert at.button(key="hd_upload_go").disabled  # nothing chosen yet
    _upload(at, "capitals.csv", GOOD_CSV, "capitals")
    assert any("Imported **upload:capitals**" in s.value for s in at.success)
    assert "upload:capitals" in {d.id for d in list_datasets()}
    listed = at.dataframe[0].value  # the only table: the uploads listing
    assert list(listed["dataset"]) == ["upload:capitals"] and listed["queries"].iloc[0] == 4
    assert at.selectbox(key="hd_upload_eval_dataset").value == "upload:capitals"


def test_upload_page_lists_every_problem_of_a_bad_file_and_stores_nothing(
    upload_env: Path,
) -> None:
    at = AppTest.from_file(UPLOAD_PAGE, default_timeout=60)
    at.run()
    # what the import may touch: the uploads and the store (the job records change)
    before = {k: v for k, v in _tree(upload_env).items() if not k.startswith("jobs/")}
    _upload(at, "broken.csv", BAD_CSV, "broken")
    assert any("Upload refused: 2 problem(s)" in e.value for e in at.error)
    problems = at.dataframe[0].value  # the only table: the problems
    assert list(problems["file"]) == ["broken.csv", "broken.csv"]
    assert list(problems["line"]) == ["3", "4"]  # text: a name problem has none, shown empty
    assert list(problems["field"]) == ["lang", "answer"]
    assert not at.success
    after = {k: v for k, v in _tree(upload_env).items() if not k.startswith("jobs/")}
    assert after == before
    staging = upload_env / "jobs" / "staging"
    assert not staging.exists() or not any(staging.iterdir())  # nothing staged, no job
    assert "hd_upload_import_job" not in at.session_state  # refused in the page


@pytest.fixture
def toy_store(tmp_artifacts: Path):
    from dash_toy_store import TOY_FP, build_toy_store

    build_toy_store(tmp_artifacts / "test.duckdb")
    return TOY_FP


def test_export_page_download_buttons_serve_the_exported_files(toy_store: str) -> None:
    # Streamlit names a download's media file by a hash of (data, mime, file name):
    # recomputing it proves each button serves exactly the bytes build_export renders.
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    from hybriddash.reports.export import EXTENSIONS, FORMATS, MIME_TYPES, build_export, render

    at = AppTest.from_file(EXPORT_PAGE, default_timeout=120)
    at.session_state[ui_state.CORPUS_KEY] = toy_store
    at.session_state[ui_state.MODELS_KEY] = ["base", "hybrid", "leaky"]
    at.run()
    _no_exception(at)
    for table in ("headline", "pairs"):
        at.selectbox(key="hd_export_table").set_value(table)
        at.run()
        _no_exception(at)
        exported = build_export(
            table, toy_store, ["base", "hybrid", "leaky"], baseline="base", k=10
        )
        for fmt in FORMATS:
            button = at.get("download_button")
            button = [b for b in button if b.proto.id.endswith(f"hd_export_download_{fmt}")][0]
            file_name = f"hybriddash-{table}-toy{EXTENSIONS[fmt]}"
            expected = _calculate_file_id(render(exported, fmt), MIME_TYPES[fmt], file_name)
            assert expected in button.proto.url, (table, fmt)
    # the contaminated model is never bold in the headline (best among clean runs only)
    preview = at.dataframe[0].value
    assert set(preview["model_id"]) == {"base", "hybrid", "leaky"}


def test_export_page_explains_an_empty_store(tmp_artifacts: Path) -> None:
    at = AppTest.from_file(EXPORT_PAGE, default_timeout=60)
    at.run()
    _no_exception(at)
    assert any("Nothing to show yet" in i.value for i in at.info)
    assert not at.get("download_button")
