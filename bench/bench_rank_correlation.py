"""Rank correlation of parallel queries (MRC): the compiled pass against the per-pair loop.

    python bench/bench_rank_correlation.py                 # full-XQuAD-R shape, 1,190 groups
    python bench/bench_rank_correlation.py --baseline-groups 50

Every evaluation computes Kendall's tau-b between the pooled top-100 lists of each pair of
parallel queries (:mod:`hybriddash.metrics.rank_correlation`): on full XQuAD-R 1,190 groups
x 55 language pairs = 65,450 pairs. Baseline: the per-pair closed form
(:func:`~hybriddash.metrics.rank_correlation.topk_rank_correlation`, numpy, called once per
pair: what ``parallel_pair_correlations`` did before the compiled pass), timed on the first
``--baseline-groups`` groups and scaled to all groups by pair count. Ours:
:func:`~hybriddash.metrics.rank_correlation.parallel_pair_correlations` on all groups
(compiled once, excluded). Both must give bit-identical tau on the baseline's groups.

Top-k lists: synthetic, shaped like full XQuAD-R (11 languages per group, 13,014
candidates, each group's lists drawn from a shared pool of 160 candidates so that parallel
queries overlap as real ones do). Prints the CPU, the load and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybriddash.cpu import cpu_flags, cpu_model_name  # noqa: E402
from hybriddash.metrics.rank_correlation import (  # noqa: E402
    parallel_pair_correlations,
    topk_rank_correlation,
)

LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def top_lists(
    n_groups: int, depth: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lists, groups, langs = [], [], []
    for g in range(n_groups):
        pool = rng.choice(13_014, size=160, replace=False)
        for lang in LANGUAGES:
            lists.append(rng.permutation(pool)[:depth])
            groups.append(f"g{g}")
            langs.append(lang)
    return np.array(lists), np.array(groups, dtype=object), np.array(langs, dtype=object)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=1190)
    parser.add_argument("--baseline-groups", type=int, default=100)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    lists, groups, langs = top_lists(args.groups, args.depth)
    rows = args.baseline_groups * len(LANGUAGES)
    parallel_pair_correlations(lists[:22], groups[:22], langs[:22])  # compile / cache load

    t = time.perf_counter()
    pairs = parallel_pair_correlations(lists[:rows], groups[:rows], langs[:rows])
    baseline_taus = [
        topk_rank_correlation(lists[a].tolist(), lists[b].tolist(), args.depth)
        for a, b in zip(pairs["query_a"], pairs["query_b"], strict=True)
    ]
    t_base = time.perf_counter() - t
    identical = np.array_equal(np.array(baseline_taus), pairs["tau"].to_numpy(), equal_nan=True)

    runs = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        full = parallel_pair_correlations(lists, groups, langs)
        runs.append(time.perf_counter() - t)
    scale = len(full) / len(pairs)
    flags = ", ".join(
        f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16") if f in (cpu_flags() or ())
    )
    print(
        f"- CPU {cpu_model_name()} ({flags}); {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"- {args.groups} groups x {len(LANGUAGES)} languages, top-{args.depth}: {len(full):,} pairs"
    )
    print(
        f"- baseline (per-pair closed form): {t_base:.2f} s for {len(pairs):,} pairs "
        f"-> {t_base * scale:.1f} s for all (scaled by pair count)"
    )
    print(
        f"- ours (compiled pass): best {min(runs):.3f} s of {args.repeats} ({', '.join(f'{r:.3f}' for r in runs)})"
    )
    print(
        f"- speed-up: {t_base * scale / min(runs):.0f}x; tau bit-identical on the baseline's pairs: {identical}"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
