"""Several processes on one store at once: the app reading, CLI jobs writing.

Two writer processes (two CLI jobs) each write their own runs in a loop while a reader
process (the dashboard) reads in a loop. Everyone must finish without an error, every
run written must be there afterwards, and no reader may ever see a half-written run.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

from hybriddash.store import reads, writes
from hybriddash.store.db import Store

N_RUNS = 8  # per writer
N_GROUPS, K = 30, 20  # 90 queries x 20 hits per run


def _writer(path: str, prefix: str, result: mp.Queue) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_store import synthetic_run

    try:
        store = Store(path, lock_timeout=60)
        for i in range(N_RUNS):
            run, frames = synthetic_run(f"{prefix}-{i}", n_groups=N_GROUPS, k=K, seed=i)
            writes.write_run(store, run, frames)
            if i % 3 == 0:  # a re-run of an earlier run: replaces, never duplicates
                writes.write_run(store, run, frames)
        result.put((prefix, "ok", N_RUNS))
    except BaseException as exc:  # report any failure to the parent
        result.put((prefix, "error", repr(exc)))


def _reader(path: str, stop: mp.Event, result: mp.Queue) -> None:
    try:
        store = Store(path, lock_timeout=60)
        n_reads, max_seen = 0, 0
        while True:
            last = stop.is_set()  # one more full pass after the writers finished
            with store.read() as con:
                # a run is visible only with all its rows: compare against its own counts
                bad = con.execute(
                    "SELECT r.run_id, r.n_queries * r.top_k AS expected, count(t.rank) AS got "
                    "FROM runs r LEFT JOIN topk_hits t USING (run_id) "
                    "GROUP BY ALL HAVING got <> expected"
                ).fetchall()
                missing_headline = con.execute(
                    "SELECT count(*) FROM runs r ANTI JOIN run_headline h USING (run_id)"
                ).fetchone()[0]
            if bad or missing_headline:
                result.put(("reader", "error", f"half-written run seen: {bad} {missing_headline}"))
                return
            runs = reads.list_runs(store=store)
            max_seen = max(max_seen, len(runs))
            if len(runs):
                reads.topk_hits(str(runs["run_id"].iloc[0]), "g0/en", store=store)
            n_reads += 1
            if last:
                break
        result.put(("reader", "ok", (n_reads, max_seen)))
    except BaseException as exc:
        result.put(("reader", "error", repr(exc)))


def test_two_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.duckdb")
    ctx = mp.get_context("spawn")  # fresh interpreters, like separate CLI/app processes
    result: mp.Queue = ctx.Queue()
    stop = ctx.Event()
    reader = ctx.Process(target=_reader, args=(path, stop, result))
    writers = [ctx.Process(target=_writer, args=(path, p, result)) for p in ("cli-a", "cli-b")]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join(240)
    stop.set()
    reader.join(120)
    outcomes = {}
    while not result.empty():
        who, status, detail = result.get()
        outcomes[who] = (status, detail)
    assert outcomes.get("cli-a", ("missing",))[0] == "ok", outcomes
    assert outcomes.get("cli-b", ("missing",))[0] == "ok", outcomes
    assert outcomes.get("reader", ("missing",))[0] == "ok", outcomes
    n_reads, _ = outcomes["reader"][1]
    assert n_reads >= 2

    store = Store(path)
    runs = reads.list_runs(store=store)
    expected = {f"{p}-{i}" for p in ("cli-a", "cli-b") for i in range(N_RUNS)}
    assert set(runs["run_id"]) == expected
    counts = store.query("SELECT run_id, count(*) AS n FROM topk_hits GROUP BY run_id")
    assert set(counts["n"]) == {N_GROUPS * 3 * K}
    assert len(counts) == len(expected)


_KILLED_WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from test_store import synthetic_run
from hybriddash.store import writes
from hybriddash.store.db import Store

with Store(sys.argv[1]).write() as con:
    writes.delete_run(con, "run-1")
    writes.write_run(con, *synthetic_run("run-2", n_groups=200, k=50))
    print("inside", flush=True)
    time.sleep(60)  # killed here, before COMMIT
"""


def test_writer_killed_mid_transaction_leaves_store_unchanged(tmp_path: Path) -> None:
    import hashlib
    import signal
    import subprocess

    from test_store import dump, synthetic_run

    store = Store(tmp_path / "killed.duckdb", lock_timeout=30)
    writes.write_run(store, *synthetic_run("run-1"))
    before_rows = dump(store)
    before_bytes = hashlib.sha256(store.path.read_bytes()).hexdigest()
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(store.path), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert hashlib.sha256(store.path.read_bytes()).hexdigest() == before_bytes
    assert dump(store) == before_rows
    # the kernel released the dead writer's lock: the next write goes through
    writes.write_run(store, *synthetic_run("run-3"))
    assert set(reads.list_runs(store=store)["run_id"]) == {"run-1", "run-3"}
