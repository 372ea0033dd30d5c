"""Warm render time of every dashboard page (Streamlit AppTest, caches warm).

    python bench/bench_pages.py --store artifacts/hybriddash.duckdb \
        --models multilingual-e5-small-q4 trained/mono trained/cross trained/hybrid \
        --corpus xquad-r --repeats 5

For each page: one cold run (fills ``st.cache_data`` / the projection cache), then
``--repeats`` timed runs of the whole script (``app.py`` + the page), as a user's rerun
after a widget change that hits only cached queries. Prints a Markdown table (median
and max seconds per page); ``--json`` also writes the raw timings. The target (issue 5)
is a warm render under 1 s per page on full XQuAD-R results with 4 models.

``--during-job`` measures while a training job runs (queued through
:mod:`hybriddash.jobs`, so the app's own worker runs it in its own process, competing
for the CPU as it would for a user); the job is cancelled afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# every page app.py declares, in its order (Findings, Upload, Export, Train, Jobs included)
PAGES = re.findall(r'\("(views/[a-z_]+\.py)"', (REPO / "app.py").read_text(encoding="utf-8"))


def bench(
    store: Path, models: list[str] | None, corpus: str | None, repeats: int, timeout: float
) -> dict[str, dict[str, object]]:
    """Timings per page: ``{"cold": s, "warm": [s, ...], "charts": n}``."""
    os.environ["HYBRIDDASH_STORE"] = str(store)
    from streamlit.testing.v1 import AppTest

    from hybriddash import ui_state
    from hybriddash.reports import tables
    from hybriddash.store.db import Store

    db = Store(store)
    corpora = tables.corpora_table(store=db)
    if corpora.empty:
        raise SystemExit(f"{store}: the store holds no run")
    if corpus is None:
        corpus_fp = str(corpora["corpus_fp"].iloc[0])
    else:
        match = tables.find_corpus(corpora, corpus)
        if match is None:
            raise SystemExit(f"{store}: no corpus {corpus!r} (have {list(corpora['name'])})")
        corpus_fp = str(match["corpus_fp"])
    results: dict[str, dict[str, object]] = {}
    for page in PAGES:
        # Each page file runs on its own with the selection preset in session state:
        # under AppTest, switch_page() re-runs a page without app.py and drops the
        # sidebar's state (see hybriddash/ui_state.py), which would measure the default
        # dataset instead of the chosen one.
        at = AppTest.from_file(str(REPO / page), default_timeout=timeout)
        at.session_state[ui_state.CORPUS_KEY] = corpus_fp
        if models:
            at.session_state[ui_state.MODELS_KEY] = list(models)
        start = time.perf_counter()
        at.run()
        cold = time.perf_counter() - start
        if at.exception:
            raise SystemExit(f"{page}: exception {at.exception[0].value}")
        shown = [m.value for m in at.sidebar.multiselect][:1]
        warm = []
        for _ in range(repeats):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        results[page] = {
            "cold": cold,
            "warm": warm,
            "charts": len(at.get("plotly_chart")),
            "dataset": [b.value for b in at.sidebar.selectbox][:1],
            "models": shown[0] if shown else [],
        }
    return results


def replicate_runs(store: Path, copy: Path, model_id: str, corpus: str, n: int) -> list[str]:
    """Copy ``store`` to ``copy`` and add ``n`` size replicas of one model's run.

    A replica is the same rows under a new run id and model id
    (``size-replica-<i>``): it has exactly the row counts of a real run on that corpus,
    so page render times are measured at full size where encoding more real models is
    too slow for this machine. Replicas are never written to the real store.
    """
    import shutil

    from hybriddash.store.db import Store
    from hybriddash.store.writes import RUN_TABLES

    shutil.copyfile(store, copy)
    db = Store(copy)
    with db.write() as con:
        run = con.execute(
            "SELECT r.run_id FROM runs r JOIN corpora c ON c.corpus_fp = r.corpus_fp "
            "WHERE r.model_id = ? AND (c.name = ? OR c.corpus_fp = ?) "
            "ORDER BY r.created_at DESC LIMIT 1",
            [model_id, corpus, corpus],
        ).fetchone()
        if run is None:
            raise SystemExit(f"{store}: no run of {model_id} on {corpus}")
        source = run[0]
        names = []
        for i in range(1, n + 1):
            replica, new_model = f"{source[:10]}rep{i}", f"size-replica-{i}"
            names.append(new_model)
            con.execute(
                "INSERT INTO models SELECT ? AS model_id, * EXCLUDE (model_id) FROM models "
                "WHERE model_id = ?",
                [new_model, model_id],
            )
            con.execute(
                "INSERT INTO runs SELECT ? AS run_id, ? AS model_id, * EXCLUDE (run_id, model_id) "
                "FROM runs WHERE run_id = ?",
                [replica, new_model, source],
            )
            for table in RUN_TABLES:
                con.execute(
                    f"INSERT INTO {table} SELECT ? AS run_id, * EXCLUDE (run_id) FROM {table} "
                    "WHERE run_id = ?",
                    [replica, source],
                )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--models", nargs="*", help="model ids to select (default: sidebar's)")
    parser.add_argument("--corpus", help="corpus name or fingerprint (default: most runs)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cold run")
    parser.add_argument("--json", type=Path, help="write raw timings here")
    parser.add_argument(
        "--replicate",
        type=int,
        default=0,
        help="measure on a temporary copy of the store with N size replicas of the first "
        "--models model's run on --corpus added (same row counts; labelled size-replica-i)",
    )
    parser.add_argument(
        "--during-job",
        action="store_true",
        help="measure while a training job of --job-base on the sample corpus runs",
    )
    parser.add_argument("--job-base", default="multilingual-e5-small-q4")
    args = parser.parse_args(argv)
    store = args.store.resolve()
    models = args.models
    if args.replicate:
        if not models or not args.corpus:
            raise SystemExit("--replicate needs --models (first = the run to copy) and --corpus")
        import tempfile

        copy = Path(tempfile.mkdtemp(prefix="bench-pages-")) / "replicas.duckdb"
        models = [models[0], *replicate_runs(store, copy, models[0], args.corpus, args.replicate)]
        store = copy
        print(f"measuring on {copy}: {models[0]} + {args.replicate} size replicas of its run")
    job_id = _start_job(store, args.job_base) if args.during_job else None
    try:
        results = bench(store, models, args.corpus, args.repeats, args.timeout)
    finally:
        if job_id is not None:
            _stop_job(job_id)
    first = next(iter(results.values()))
    print(f"dataset shown: {first['dataset']}; models: {first['models']}")
    print("| page | cold (s) | warm median (s) | warm max (s) | charts |")
    print("|---|---|---|---|---|")
    for page, r in results.items():
        warm = r["warm"]
        print(
            f"| {Path(page).stem} | {r['cold']:.2f} | {statistics.median(warm):.3f} "
            f"| {max(warm):.3f} | {r['charts']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _start_job(store: Path, base: str) -> int:
    """Queue a long training job and wait until it is past its first step."""
    os.environ["HYBRIDDASH_STORE"] = str(store)
    from hybriddash import jobs
    from hybriddash.training.curves import live_curve_path, read_curve

    out = "bench-pages-during-job"
    job_id = jobs.submit(
        "train",
        {
            "base": base,
            "train_data": "sample",
            "out": out,
            "steps": 100000,
            "batch_size": 16,
            "max_length": 64,
            "overwrite": True,
        },
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = jobs.get_job(job_id)
        if job.state not in ("queued", "running"):
            raise SystemExit(f"job {job_id} ended {job.state}: {job.error}")
        if job.state == "running" and (read_curve(live_curve_path(out))["split"] == "train").any():
            print(f"measuring while job #{job_id} ({job.title}) runs: {job.stage}")
            return job_id
        time.sleep(1)
    raise SystemExit(f"job {job_id} did not start training within 600 s")


def _stop_job(job_id: int) -> None:
    from hybriddash import jobs

    job = jobs.get_job(job_id)
    print(f"job #{job_id} after measuring: {job.state}, {job.stage}, {job.step_s} s/step")
    jobs.cancel(job_id)
    deadline = time.monotonic() + 60
    while jobs.get_job(job_id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f"job #{job_id}: {jobs.get_job(job_id).state}")


if __name__ == "__main__":
    sys.exit(main())
