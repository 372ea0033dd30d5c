"""Warm render time of every dashboard page (Streamlit AppTest, caches warm).

    python bench/bench_pages.py --store artifacts/hybriddash.duckdb \
        --models multilingual-e5-small-q4 trained/mono trained/cross trained/hybrid \
        --corpus xquad-r --repeats 5

For each page: one cold run (fills ``st.cache_data`` / the projection cache), then
``--repeats`` timed runs of the whole script (``app.py`` + the page), as a user's rerun
after a widget change that hits only cached queries. Prints a Markdown table (median
and max seconds per page); ``--json`` also writes the raw timings. The target (issue 5)
is a warm render under 1 s per page on full XQuAD-R results with 4 models.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = [
    "pages/overview.py",
    "pages/language_pairs.py",
    "pages/dominance.py",
    "pages/alignment.py",
    "pages/explorer.py",
]


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
        match = corpora[(corpora["corpus_fp"] == corpus) | (corpora["name"] == corpus)]
        if match.empty:
            raise SystemExit(f"{store}: no corpus {corpus!r} (have {list(corpora['name'])})")
        corpus_fp = str(match["corpus_fp"].iloc[0])
    results: dict[str, dict[str, object]] = {}
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
    at.session_state[ui_state.CORPUS_KEY] = corpus_fp
    if models:
        at.session_state[ui_state.MODELS_KEY] = list(models)
    at.run()
    for page in PAGES:
        at.switch_page(page)
        start = time.perf_counter()
        at.run()
        cold = time.perf_counter() - start
        if at.exception:
            raise SystemExit(f"{page}: exception {at.exception[0].value}")
        warm = []
        for _ in range(repeats):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        results[page] = {"cold": cold, "warm": warm, "charts": len(at.get("plotly_chart"))}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--models", nargs="*", help="model ids to select (default: sidebar's)")
    parser.add_argument("--corpus", help="corpus name or fingerprint (default: most runs)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cold run")
    parser.add_argument("--json", type=Path, help="write raw timings here")
    args = parser.parse_args(argv)
    results = bench(args.store.resolve(), args.models, args.corpus, args.repeats, args.timeout)
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


if __name__ == "__main__":
    sys.exit(main())
