"""Time a rerun of the study on an idle machine, and compare it with the committed study.

The study's first run (``reference/`` up to commit :data:`FIRST_RUN_COMMIT`) took its
pieces' time while the machine also ran test suites and measurements. This script times a
second run of the study on an otherwise idle machine and compares every finished piece
with the committed one, number by number (identical where both ran the same computation;
see ``render``). The complete second run then replaced the first in ``reference/``; the
ledger keeps the comparison with the first::

    # 1. the rerun: a fresh artifacts folder (no reference loaded into its store, so no
    #    stored run is reused) and its own bundle; reference/ is not touched
    HYBRIDDASH_ARTIFACTS=/scratch/artifacts HYBRIDDASH_REFERENCE=off \\
        python -m hybriddash reproduce --profile standard --bundle reference-rerun --quiet &
    # 2. record each piece as it finishes; --commit commits ledger, docs and bundle
    python bench/study_rerun.py watch --bundle reference-rerun --commit
    # 3. the section of docs/results.md, from the ledger
    python bench/study_rerun.py report --write docs/results.md

The ledger (``bench/study_rerun.json``) holds, per piece: its wall time, the time its
process was stopped (``stop`` / ``cont`` below signal the study and log it), the CPU and
load, the best step, and the largest difference to the committed piece in every headline
number and in every per-query AP the bundle keeps. Like the study, the rerun survives the
machine when its bundle is in the repository (``reference-rerun/``, committed with the
ledger by ``watch --commit``): a restarted rerun skips the pieces the bundle holds, and the
ledger keeps their timing.

The projection for an unfinished rerun adds, for each piece not yet timed, the median
net time of the timed pieces of its kind (untrained base / trained on MLQA-R / trained on
XQuAD-R). A trained kind with no piece timed yet takes the other trained kind's median,
scaled by the ratio of the two kinds' medians in the committed study.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hybriddash.reports.study import _machine_label  # noqa: E402
from hybriddash.training.pauses import manifest_epoch, stopped_seconds  # noqa: E402
from hybriddash.training.study import REPRODUCE_TOLERANCE  # noqa: E402

LEDGER = REPO / "bench" / "study_rerun.json"
REFERENCE = REPO / "reference"
#: The last commit whose ``reference/`` held the study's first run (6.24 h beside other
#: work, 7 models under bf16); the complete rerun replaced it. ``git show
#: <commit>:reference/manifest.json`` shows the first run.
FIRST_RUN_COMMIT = "ccebbe9"
TARGET_HOURS = 5.0
HEADLINE = ("monolingual", "crosslingual", "multilingual", "rank_distance")
START, END = "<!-- study_rerun:start -->", "<!-- study_rerun:end -->"


# ---- comparing one piece with the committed one ------------------------------------


def _headlines(piece: Path) -> dict[str, dict[str, float]]:
    """``{model_id: {measure: value}}`` of a bundle piece (run ids differ between runs)."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT r.model_id, {', '.join('h.' + m for m in HEADLINE)} "
            "FROM read_parquet(?) r JOIN read_parquet(?) h USING (run_id)",
            [str(piece / "runs.parquet"), str(piece / "run_headline.parquet")],
        ).fetchall()
    return {row[0]: dict(zip(HEADLINE, map(float, row[1:]), strict=True)) for row in rows}


def _query_ap_difference(rerun: Path, reference: Path) -> tuple[float, int]:
    """Largest |AP difference| over the per-query rows both pieces keep, and their count."""
    with duckdb.connect() as con:
        row = con.execute(
            """
            WITH a AS (SELECT r.model_id, q.query_id, q.cand_lang, q.setting, q.ap
                       FROM read_parquet(?) q JOIN read_parquet(?) r USING (run_id)),
                 b AS (SELECT r.model_id, q.query_id, q.cand_lang, q.setting, q.ap
                       FROM read_parquet(?) q JOIN read_parquet(?) r USING (run_id))
            SELECT max(abs(a.ap - b.ap)), count(*)
            FROM a JOIN b USING (model_id, query_id, cand_lang, setting)
            """,
            [
                str(rerun / "query_metrics.parquet"),
                str(rerun / "runs.parquet"),
                str(reference / "query_metrics.parquet"),
                str(reference / "runs.parquet"),
            ],
        ).fetchone()
    return (float(row[0]) if row[0] is not None else math.nan), int(row[1])


def _training(piece: Path) -> dict:
    """Best step and bf16 use of a piece's trained model (empty for the untrained base)."""
    with duckdb.connect() as con:
        cards = con.execute(
            "SELECT training_card FROM read_parquet(?) WHERE training_card IS NOT NULL",
            [str(piece / "models.parquet")],
        ).fetchall()
    if not cards:
        return {}
    card = json.loads(cards[0][0])
    return {"best_step": card.get("best_step"), "bf16": bool(card["config"].get("bf16"))}


def compare_piece(rerun: Path, reference: Path) -> dict:
    """How far a rerun piece is from the committed one.

    ``headline_diff[m] = max over the piece's runs of |rerun m - committed m|``;
    ``query_ap_diff`` the same over every per-query AP row both keep. ``identical``: all
    zero; ``within_tolerance``: within the study's cross-machine tolerance
    (:data:`hybriddash.training.study.REPRODUCE_TOLERANCE`).
    """
    ours, theirs = _headlines(rerun), _headlines(reference)
    if set(ours) != set(theirs):
        raise ValueError(f"{rerun.name}: runs {sorted(ours)} against committed {sorted(theirs)}")
    diff = {m: max(abs(ours[k][m] - theirs[k][m]) for k in ours) for m in HEADLINE}
    ap_diff, n_rows = _query_ap_difference(rerun, reference)
    tolerance = {m: REPRODUCE_TOLERANCE["map" if m != "rank_distance" else m] for m in HEADLINE}
    return {
        "training": _training(rerun),
        "committed_training": _training(reference),
        "headline_diff": diff,
        "query_ap_diff": ap_diff,
        "query_rows_compared": n_rows,
        "identical": all(v == 0 for v in diff.values()) and (n_rows == 0 or ap_diff == 0),
        "within_tolerance": all(diff[m] <= tolerance[m] for m in HEADLINE),
    }


# ---- the ledger ----------------------------------------------------------------------


def update_ledger(
    bundle: Path, reference: Path = REFERENCE, ledger: Path = LEDGER, pause_log: Path | None = None
) -> list[str]:
    """Add the rerun's newly finished pieces to the ledger; returns their keys."""
    state = json.loads(ledger.read_text()) if ledger.is_file() else {"pieces": {}}
    manifest = json.loads((bundle / "manifest.json").read_text())
    committed = json.loads((reference / "manifest.json").read_text())
    state["plan"] = committed.get("plan", [])
    state["committed_kind_medians"] = _committed_kind_medians(committed)
    added = []
    for key, piece in manifest.get("pieces", {}).items():
        if key in state["pieces"]:
            continue
        end = manifest_epoch(piece["finished"])
        wall = float(piece["wall_seconds"])
        stopped = stopped_seconds(pause_log, end - wall, end)
        state["pieces"][key] = {
            "finished": piece["finished"],
            "wall_seconds": round(wall, 1),
            "stopped_seconds": round(stopped, 1),
            "net_seconds": round(wall - stopped, 1),
            "train_seconds": piece.get("train_seconds"),
            "machine": piece.get("machine"),
            "train_data": piece.get("train_data"),
            "reference_net_seconds": round(_committed_net_seconds(committed["pieces"][key]), 1),
            **compare_piece(bundle / "pieces" / key, reference / "pieces" / key),
        }
        added.append(key)
    ledger.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    return added


def _committed_net_seconds(piece: dict) -> float:
    """A committed piece's wall seconds less the time its process was stopped."""
    return float(piece["wall_seconds"]) - float(piece.get("paused_seconds") or 0)


def _committed_kind_medians(committed: dict) -> dict[str, float]:
    """Median net seconds of the committed pieces, per kind."""
    by_kind: dict[str, list[float]] = {}
    for key, piece in committed.get("pieces", {}).items():
        by_kind.setdefault(_kind(key), []).append(_committed_net_seconds(piece))
    return {kind: round(statistics.median(v), 1) for kind, v in by_kind.items()}


# ---- the report ----------------------------------------------------------------------


def _kind(key: str, piece: dict | None = None) -> str:
    if key.endswith("-base"):
        return "base"
    return "trained on " + ("MLQA-R" if "-mlqa-r-" in key else "XQuAD-R")


def _stand_in(kind: str, medians: dict[str, float], committed: dict[str, float]) -> float:
    """Projected net seconds of a piece of ``kind`` when none of that kind is timed.

    A trained kind takes the other trained kind's rerun median times the ratio of the two
    kinds' medians in the committed study (XQuAD-R pairs train slower than MLQA-R ones);
    without a committed ratio, the ratio is 1. A base is not projected (NaN).
    """
    if kind == "base":
        return math.nan
    others = [k for k in medians if k not in ("base", kind)]
    if not others:
        return math.nan
    other = others[0]
    ratio = committed.get(kind, math.nan) / committed.get(other, math.nan)
    return medians[other] * (ratio if math.isfinite(ratio) else 1.0)


def render(state: dict) -> str:
    pieces, plan = state["pieces"], state.get("plan") or list(state["pieces"])
    timed = [k for k in plan if k in pieces]
    by_kind: dict[str, list[float]] = {}
    for key in timed:
        by_kind.setdefault(_kind(key), []).append(pieces[key]["net_seconds"])
    medians = {kind: statistics.median(v) for kind, v in by_kind.items()}
    measured = sum(pieces[k]["net_seconds"] for k in timed)
    missing = [k for k in plan if k not in pieces]
    unknown = sorted({_kind(k) for k in missing} - set(medians))
    committed_medians = state.get("committed_kind_medians", {})
    stand_ins = {kind: _stand_in(kind, medians, committed_medians) for kind in unknown}
    projected = measured + sum(
        medians[_kind(k)] if _kind(k) in medians else stand_ins[_kind(k)] for k in missing
    )
    reference_total = sum(pieces[k]["reference_net_seconds"] for k in timed)
    cpus = sorted({_machine_label(pieces[k]["machine"]) for k in timed})
    identical = sum(pieces[k]["identical"] for k in timed)
    within = sum(pieces[k]["within_tolerance"] for k in timed)
    worst = {
        m: max((pieces[k]["headline_diff"][m] for k in timed), default=math.nan) for m in HEADLINE
    }
    lines = [
        "## Timing rerun: the same study on an idle machine",
        "",
        "The study's first run (2026-12-02 to 12-06; `reference/` up to commit "
        f"{FIRST_RUN_COMMIT}) took its pieces' time while the same two cores also ran test "
        "suites and measurements, and trained 7 of its models under bf16 autocast. "
        "`python bench/study_rerun.py` times a second run under the revised plan "
        "(validation every 50 steps, float32 everywhere; fresh `artifacts/`, nothing else "
        "running, into `reference-rerun/`) and compares every finished piece with the "
        "first run's (`bench/study_rerun.json`)"
        + (
            "."
            if missing
            else "; complete, the second run replaced the first in `reference/`, so the wall "
            "time, verdicts and numbers above are its own."
        )
        + f" CPU: {'; '.join(cpus) or 'none yet'}.",
        "",
    ]
    if missing:
        lines.append(
            f"**{len(timed)} of {len(plan)} pieces timed: {measured / 3600:.2f} h.** "
            + (
                f"With the median of each kind for the {len(missing)} not yet run, the whole "
                f"study projects to **{projected / 3600:.2f} h** against the "
                f"{TARGET_HOURS:g}-hour target "
                f"({'within' if projected <= TARGET_HOURS * 3600 else 'over'} it by "
                f"{abs(TARGET_HOURS * 3600 - projected) / 3600:.2f} h)"
                + (
                    f"; no piece {' or '.join(unknown)} is timed yet, so those take the "
                    "other direction's median times the ratio of the two directions' medians "
                    "in the committed study ("
                    + ", ".join(f"{kind} {stand_ins[kind]:.0f} s" for kind in unknown)
                    + ")."
                    if unknown
                    else "."
                )
                if not math.isnan(projected)
                else "Too few pieces are timed for a projection."
            )
        )
    else:
        lines.append(
            f"**All {len(plan)} pieces timed: {measured / 3600:.2f} h**, "
            f"{'within' if measured <= TARGET_HOURS * 3600 else 'over'} the "
            f"{TARGET_HOURS:g}-hour target by {abs(TARGET_HOURS * 3600 - measured) / 3600:.2f} h."
        )
    lines += [
        "",
        f"The same pieces took {reference_total / 3600:.2f} h in the first run. Median net "
        "seconds per piece: "
        + ", ".join(
            f"{kind} {m:.0f} s ({len(by_kind[kind])})" for kind, m in sorted(medians.items())
        )
        + ".",
        "",
        f"Against the first run: {identical} of {len(timed)} pieces identical, "
        f"{within} within the study's cross-machine tolerance (mAP "
        f"{REPRODUCE_TOLERANCE['map']}, rank distance {REPRODUCE_TOLERANCE['rank_distance']}); "
        "largest headline difference: "
        + ", ".join(f"{m} {worst[m]:.2g}" for m in HEADLINE)
        + ". Identical is expected only for the untrained bases, on the same CPU kind: the "
        "rerun validates every 50 steps where the first run validated every 25, "
        "and that alone changes a model's training path (same seed; different weights, "
        "often a different kept best step), besides the first run's 7 models trained "
        "under bf16 autocast. "
        "The differences are the size of what an incidental change does to one seed's "
        "numbers.",
        "",
        "| piece | CPU | load | train s | net s | first run s | best step (rerun / first run) "
        "| max Δ mAP | max Δ query AP | vs first run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in timed:
        p = pieces[key]
        load = (p["machine"] or {}).get("load_at_start") or [math.nan]
        delta = max(p["headline_diff"][m] for m in HEADLINE if m != "rank_distance")
        train = p["train_seconds"]
        ours, theirs = p.get("training") or {}, p.get("committed_training") or {}
        best = (
            f"{ours.get('best_step')} / {theirs.get('best_step')}"
            + (" (bf16)" if theirs.get("bf16") else "")
            if ours
            else "–"
        )
        lines.append(
            f"| {key} | {_machine_label(p['machine'])} | {load[0]:.2f} | "
            f"{'–' if train is None else f'{train:.0f}'}"
            f"{'*' if train is not None and p['stopped_seconds'] else ''} | "
            f"{p['net_seconds']:.0f} | "
            f"{p['reference_net_seconds']:.0f} | {best} | {delta:.2g} | {p['query_ap_diff']:.2g} | "
            f"{'identical' if p['identical'] else ('within tolerance' if p['within_tolerance'] else 'beyond tolerance')} |"
        )
    if any(pieces[k]["stopped_seconds"] for k in timed):
        lines += [
            "",
            "\\* the piece's process was stopped for a while (tests needed the cores); the "
            "training seconds include that time, the net seconds do not.",
        ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put ``section`` between the markers of ``path`` (appended when absent)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = f"{START}\n{section}{END}"
    if START in text and END in text:
        text = text.split(START, 1)[0] + block + text.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


# ---- operating the rerun ---------------------------------------------------------------


def _study_pids() -> list[int]:
    out = subprocess.run(
        ["pgrep", "-f", "hybriddash reproduce --profile"], capture_output=True, text=True
    )
    return [int(p) for p in out.stdout.split()]


def _signal(kind: str, pause_log: Path) -> None:
    """Stop or continue every study process, logging the moment for the net time."""
    pids = _study_pids()
    if not pids:
        raise SystemExit("no study process is running")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP if kind == "stop" else signal.SIGCONT)
    with pause_log.open("a") as log:
        log.write(f"{time.time():.0f} {kind}\n")


def _commit(paths: list[Path], message: str) -> None:
    subprocess.run(["git", "-C", str(REPO), "add", *map(str, paths)], check=True)
    subprocess.run(
        ["git", "-C", str(REPO), "commit", "-q", "-m", message, "--", *map(str, paths)],
        check=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["update", "watch", "report", "stop", "cont"])
    parser.add_argument("--bundle", type=Path, help="the rerun's bundle folder")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument(
        "--pauses",
        type=Path,
        default=Path("/tmp/hybriddash-study-rerun-pauses.log"),
        help="log of stop/cont moments (written by the stop and cont actions)",
    )
    parser.add_argument("--write", type=Path, help="report: the Markdown file to put it in")
    parser.add_argument("--commit", action="store_true", help="watch: git-commit each update")
    args = parser.parse_args()

    if args.action in ("stop", "cont"):
        _signal(args.action, args.pauses)
        return 0
    if args.action == "report":
        section = render(json.loads(args.ledger.read_text()))
        if args.write:
            write_section(args.write, section)
        print(section)
        return 0
    if args.bundle is None:
        parser.error(f"{args.action} needs --bundle")
    if args.action == "update":
        print("added:", update_ledger(args.bundle, args.reference, args.ledger, args.pauses))
        return 0
    while True:  # watch
        alive = bool(_study_pids())
        if (args.bundle / "manifest.json").is_file():
            added = update_ledger(args.bundle, args.reference, args.ledger, args.pauses)
            if added:
                print(time.strftime("%H:%M:%S"), "timed", ", ".join(added), flush=True)
                if args.commit:
                    results = REPO / "docs" / "results.md"
                    write_section(results, render(json.loads(args.ledger.read_text())))
                    paths = [args.ledger, results]
                    if args.bundle.resolve().is_relative_to(REPO):
                        # a bundle in the repository is committed too (resumable from a
                        # clone), once its files match its manifest
                        from hybriddash.store.bundle import verify_bundle

                        verify_bundle(args.bundle)
                        paths.append(args.bundle)
                    _commit(paths, f"study rerun: {', '.join(added)} timed")
        if not alive:
            return 0
        time.sleep(30)


if __name__ == "__main__":
    raise SystemExit(main())
