"""Reference numbers of the untrained base model on the four issue-23 suites -> a bundle.

Evaluates the base model (``multilingual-e5-small-q4``) on every suite at its documented
default subset (:data:`hybriddash.data.datasets.DEFAULT_SUBSETS`), without a correction
and with ``center-docs``, and writes one bundle piece per suite (``suite-<id>-base``)
into a bundle folder of its own (not ``reference/``; it is merged there later with the
bundle merge command). Each evaluation's wall time (seconds, this process, with the
embedding cache state it met) is kept in the piece's ``info`` and printed as JSON lines,
for docs/benchmarks.md.

Usage (alone on the machine, in an artifacts folder of its own with the base model
prepared and no embedding cache, so each time is a cold evaluation)::

    HYBRIDDASH_ARTIFACTS=/tmp/art-suites HYBRIDDASH_DATA=../shared/data \\
        python bench/suites_reference.py --bundle /tmp/suites-bundle
    python -m hybriddash bundle verify /tmp/suites-bundle && mv /tmp/suites-bundle reference/suites

``reference/suites`` is a bundle of its own (another study than ``reference/``'s), loaded
with it into an empty store (:func:`hybriddash.store.bundle.reference_folders`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from hybriddash.data.datasets import BUILTINS, DEFAULT_SUBSETS, load_dataset
from hybriddash.evaluation import _nan_to_none, evaluate
from hybriddash.store import bundle
from hybriddash.store.db import Store
from hybriddash.training.reproduce import machine_info

CORRECTIONS: tuple[str | None, ...] = (None, "center-docs")
TOPK_DEPTH = 10  # top-k rows kept per query in the bundle (Tatoeba: 177,754 queries)


def run_suite(
    suite: str, bundle_dir: Path, *, model: str, mode: str, store: Store, detail: str
) -> list[dict[str, object]]:
    """Evaluate ``model`` on ``suite``'s default subset with and without center-docs and
    export the runs as one piece; return one timing record per evaluation."""
    ref = DEFAULT_SUBSETS[suite]
    t_load = time.perf_counter()
    corpus = load_dataset(ref)
    load_s = time.perf_counter() - t_load
    records: list[dict[str, object]] = []
    run_ids: list[str] = []
    model_ids: list[str] = []
    for correction in CORRECTIONS:
        load_1min = os.getloadavg()[0]
        t0 = time.perf_counter()
        summary = evaluate(
            model, corpus, mode=mode, store=store, correction=correction, progress=False
        )
        wall = time.perf_counter() - t0
        run_ids.append(summary.run_id)
        model_ids.append(summary.model_id)
        records.append(
            {
                "suite": suite,
                "corpus": corpus.name,
                "correction": correction or "none",
                "queries": len(corpus.queries),
                "candidates": len(corpus.candidates),
                "n_encoded": summary.n_encoded,
                "n_cached": summary.n_cached,
                "reused": summary.reused,
                "wall_s": round(wall, 1),
                "load_s": round(load_s, 1),
                "load_1min_at_start": round(load_1min, 2),
                "headline": _nan_to_none(summary.headline),  # strict JSON in the manifest
            }
        )
        print(json.dumps(records[-1]), flush=True)
    spec = BUILTINS[suite]
    bundle.export_piece(
        bundle_dir,
        f"suite-{suite}-base",
        model_ids=sorted(set(model_ids)),
        run_ids=run_ids,
        store=store,
        topk_depth=TOPK_DEPTH,
        run_detail=dict.fromkeys(run_ids, detail),
        info={
            "role": "suite-reference",
            "eval_data": ref,
            "dataset": suite,
            "license": spec.license,
            "source": spec.source,
            "timings": records,
            "machine": machine_info(),
            "code_version": bundle.code_version(),
        },
    )
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="bundle folder to create or extend")
    parser.add_argument("--suites", default=",".join(DEFAULT_SUBSETS), help="comma-separated")
    parser.add_argument("--model", default="multilingual-e5-small-q4")
    parser.add_argument("--mode", default="onnx", help="encode mode (the study's: onnx)")
    parser.add_argument(
        "--detail",
        default="headline",
        choices=["full", "verdicts", "headline"],
        help="bundle detail of every run (reference/suites ships 'headline': the numbers, "
        "bitext accuracy and language probe, no per-query rows or texts; 25 MB limit)",
    )
    args = parser.parse_args(argv)
    folder = Path(args.bundle)
    bundle.open_bundle(
        folder,
        label="issue-23 suites: base model reference",
        command=" ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        machine=machine_info(),
        licenses={s: BUILTINS[s].license for s in DEFAULT_SUBSETS},
        python=platform.python_version(),
    )
    store = Store()
    for suite in [s.strip() for s in args.suites.split(",") if s.strip()]:
        if f"suite-{suite}-base" in bundle.finished_pieces(folder):
            print(f"{suite}: piece already in {folder}", flush=True)
            continue
        run_suite(suite, folder, model=args.model, mode=args.mode, store=store, detail=args.detail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
