"""Top-k lists: exact IndexFlatIP (baseline) vs HNSW vs IVF, time and recall@100.

    OMP_NUM_THREADS=1 python bench/bench_ann.py                 # XQuAD-R + 200k synthetic
    OMP_NUM_THREADS=1 python bench/bench_ann.py --skip-xquad --synthetic-n 50000

Two pools, each searched by every index kind through the evaluation's own code path
(:func:`hybriddash.retrieval.search.topk_with_report`: build, search with the
search margin, tie-rule re-sort):

1. full XQuAD-R embedded by the base model (``multilingual-e5-small-q4``, from the
   embedding cache): every query against the pooled candidates;
2. a synthetic pool of ``--synthetic-n`` (default 200,000) L2-normalised 384-d vectors
   drawn around ``n / 200`` random centres (so a query's top 100 lie mostly inside its
   own cluster and are told apart by noise: a hard case for an approximate index),
   ``--queries`` (500) queries drawn the same way.

For each kind: build seconds (flat: copying the vectors in; IVF: k-means training +
adding), search seconds, their sum, the sum's ratio to flat's, and recall@100 of the
lists against flat's on ALL queries, ``mean_q |approx_q ∩ exact_q| / 100``
(:func:`hybriddash.retrieval.ann.recall_at_k_vs_exact`). Each kind runs once (the
builds are the expensive part; run with ``OMP_NUM_THREADS=1`` for stable numbers).

Prints a Markdown block for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.retrieval.ann import (  # noqa: E402
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    default_nprobe,
    ivf_nlist,
    recall_at_k_vs_exact,
)
from hybriddash.retrieval.search import topk_with_report  # noqa: E402

K = 100
KINDS = ("flat", "hnsw", "ivf")


def synthetic_pool(n: int, nq: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(queries (nq, dim), candidates (n, dim)) float32, L2-normalised, clustered."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 200), dim)).astype(np.float32)
    c = centres[rng.integers(0, len(centres), n)]
    c += rng.standard_normal((n, dim), dtype=np.float32)
    q = centres[rng.integers(0, len(centres), nq)]
    q += rng.standard_normal((nq, dim), dtype=np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q, c


def xquad_pool(model: str) -> tuple[np.ndarray, np.ndarray]:
    from hybriddash.data.datasets import load_dataset
    from hybriddash.encoders.encode import encode_corpus
    from hybriddash.encoders.registry import resolve_model

    enc = encode_corpus(resolve_model(model), load_dataset("xquad-r"), progress=False)
    print(f"embeddings: {enc.stats}", file=sys.stderr)
    return enc.queries, enc.candidates


def bench_pool(name: str, q: np.ndarray, c: np.ndarray) -> list[dict]:
    rows: list[dict] = []
    exact_idx = None
    for kind in KINDS:
        cpu = time.process_time()
        res = topk_with_report(q, c, K, index=kind, recall_sample=0)
        cpu = time.process_time() - cpu
        if kind == "flat":
            exact_idx = res.indices
        recall = recall_at_k_vs_exact(res.indices, exact_idx, K)
        if kind == "hnsw":
            params = f"M={HNSW_M}, efConstruction={HNSW_EF_CONSTRUCTION}, efSearch={2 * (K + 8)}"
        elif kind == "ivf":
            nlist = ivf_nlist(len(c))
            params = f"nlist={nlist}, nprobe={default_nprobe(nlist)}"
        else:
            params = "exact"
        rows.append(
            {
                "pool": name,
                "kind": kind,
                "params": params,
                "build": res.build_seconds,
                "search": res.search_seconds,
                "cpu": cpu,
                "recall": recall,
                "fallback": res.n_exact_fallback,
            }
        )
        print(f"{name} {kind}: {rows[-1]}", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="multilingual-e5-small-q4")
    parser.add_argument("--skip-xquad", action="store_true")
    parser.add_argument("--synthetic-n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pools: list[tuple[str, int, int, list[dict]]] = []
    if not args.skip_xquad:
        q, c = xquad_pool(args.model)
        pools.append(("XQuAD-R (e5-small-q4)", len(q), len(c), bench_pool("xquad-r", q, c)))
    if args.synthetic_n > 0:
        q, c = synthetic_pool(args.synthetic_n, args.queries, args.dim, args.seed)
        rows = bench_pool("synthetic", q, c)
        pools.append((f"synthetic clustered {args.dim}-d", len(q), len(c), rows))

    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print("<!-- bench_ann -->")
    print(
        f"- machine: {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
        f"OMP_NUM_THREADS={threads}, load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"- k = {K} (+8 search margin); recall@{K} vs exact over all queries of each pool")
    print()
    print(
        "| pool | queries x candidates | index | parameters | build s | search s | total s "
        "| vs flat | CPU s | recall@100 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, nq, nc, rows in pools:
        flat_total = rows[0]["build"] + rows[0]["search"]
        for r in rows:
            total = r["build"] + r["search"]
            kind = "flat (baseline)" if r["kind"] == "flat" else r["kind"]
            note = f" ({r['fallback']} rows exact)" if r["fallback"] else ""
            print(
                f"| {name} | {nq:,} x {nc:,} | {kind} | {r['params']} | {r['build']:.2f} | "
                f"{r['search']:.2f} | {total:.2f} | {total / flat_total:.2f}x | {r['cpu']:.1f} | "
                f"{r['recall']:.4f}{note} |"
            )
    print()
    for name, nq, _nc, rows in pools:
        flat = rows[0]
        for r in rows[1:]:
            saved = (flat["search"] - r["search"]) / nq  # search seconds saved per query
            extra = r["build"] - flat["build"]
            when = (
                f"from about {extra / saved:,.0f} queries on"
                if saved > 0
                else "never (its search is not faster)"
            )
            print(f"- {name}, {r['kind']}: build + search beats flat {when}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
