"""``hybriddash evaluate``: score a model on a dataset, store the run, print the headline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hybriddash.encoders.encode import DEFAULT_ENCODE_MODE, ENCODE_MODES

if TYPE_CHECKING:
    from hybriddash.evaluation import RunSummary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on a dataset (mono / cross / multilingual mAP, rank distance)",
        description="Encode a dataset with a model (cached embeddings), rank every relevant "
        "candidate exactly, compute mAP per language pair and the language-bias rank "
        "distance, store everything in the DuckDB store and print the headline. A run "
        "already in the store (same model, corpus, mode, k, metrics version) is reused.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="model id (multilingual-e5-small-q4, trained/<name>), folder or hub id",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="dataset id (xquad-r, mlqa-r, tico-19, xnli, tatoeba, tydiqa-goldp, sample, "
        "upload:<name>) with an optional selector: tico-19[domain=pubmed], "
        "tico-19[en,fr,sw], xnli[split=test], tatoeba[af,de], xquad-r[articles=8]",
    )
    parser.add_argument(
        "--langs", help="comma-separated languages to keep, e.g. en,de,zh (default: all)"
    )
    parser.add_argument(
        "--articles", type=int, help="keep only the first N articles (default: all)"
    )
    parser.add_argument(
        "--k", type=int, default=100, help="top-k hits stored per query (default: 100)"
    )
    parser.add_argument(
        "--mode",
        default=None,
        choices=ENCODE_MODES,
        help=f"encode mode (default on this CPU: {DEFAULT_ENCODE_MODE}, the fastest measured "
        "within 0.005 mAP of float32; float32 on GPUs; falls back to float32 where a mode "
        "cannot run: see docs/benchmarks.md)",
    )
    parser.add_argument(
        "--devices",
        default="auto",
        help="where to encode: auto = every CUDA GPU if there is one, else the CPU; cpu; "
        "cuda; or a list like cuda:0,cuda:1 (more than one device runs "
        "sentence-transformers' multi-process pool, float32) (default: auto)",
    )
    parser.add_argument(
        "--force", action="store_true", help="recompute and replace a run already in the store"
    )
    parser.add_argument(
        "--json", metavar="OUT", help="also write the headline numbers as JSON to OUT ('-': stdout)"
    )
    parser.add_argument(
        "--index",
        default="auto",
        choices=("auto", "flat", "hnsw", "ivf"),
        help="faiss index of the stored top-k lists: auto = exact (flat) up to "
        "HYBRIDDASH_ANN_THRESHOLD candidates (default 2000000), HNSW above; metrics stay "
        "exact whatever the index (default: auto)",
    )
    parser.add_argument(
        "--correction",
        choices=("center-docs", "center", "shift"),
        help="training-free language-bias correction of the embeddings, part of the "
        "encoder's identity (the run is stored as '<model> + <correction>'): "
        "center-docs = centre each language's candidates (fitted on the candidates being "
        "indexed, no labels); center = center-docs plus queries centred with language means "
        "fitted on --fit-on; shift = Shift (arXiv 2606.18801), per-language offsets from "
        "parallel pairs of --fit-on subtracted from the candidates",
    )
    parser.add_argument(
        "--fit-on",
        metavar="DATASET",
        help="corpus that center/shift are fitted on: DATASET, DATASET[articles=N] (first N "
        "articles) or DATASET[articles=A-B] (articles A..B, 1-based); fitting on the "
        "evaluation queries or their parallel groups is flagged as contaminated",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_evaluate)


def parse_langs(value: str | None) -> list[str] | None:
    """``"en, de,zh"`` -> ``["en", "de", "zh"]`` (canonical codes); ``None`` stays None."""
    if value is None:
        return None
    from hybriddash.languages import normalize_language

    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError(f"--langs: no language in {value!r}; expected e.g. en,de,zh")
    return [normalize_language(p) for p in parts]


def _evaluate(args: argparse.Namespace) -> int:
    from hybriddash.evaluation import evaluate

    if args.articles is not None and args.articles < 1:
        raise ValueError(f"--articles must be >= 1, got {args.articles}")
    if args.k < 1:
        raise ValueError(f"--k must be >= 1, got {args.k}")
    summary = evaluate(
        args.model,
        args.dataset,
        langs=parse_langs(args.langs),
        articles=args.articles,
        k=args.k,
        mode=args.mode,
        force=args.force,
        progress=not args.quiet,
        index=args.index,
        devices=args.devices,
        correction=args.correction,
        fit_on=args.fit_on,
    )
    to_stdout = args.json == "-"
    out = sys.stderr if to_stdout else sys.stdout
    print_summary(summary, out)
    print_suite_measures(summary, out)
    if summary.contaminated:
        print_contamination_warning(summary, sys.stderr)
    if args.json:
        text = json.dumps(summary.to_json(), indent=2, ensure_ascii=False)
        if to_stdout:
            print(text)
        else:
            path = Path(args.json)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
            print(f"wrote {path}", file=out)
    return 0


def print_summary(summary: RunSummary, out: TextIO) -> None:
    """The headline table and the language-pair mAP matrix, compactly."""
    s = summary
    print(f"model   {s.model_id}  (fingerprint {s.model_fp})", file=out)
    print(
        f"corpus  {s.corpus_name}  ({s.n_queries} queries, {s.n_candidates} candidates, "
        f"languages {','.join(s.languages)})",
        file=out,
    )
    if s.reused:
        how = "reused from the store (nothing recomputed; --force to recompute)"
    else:
        how = (
            f"computed in {s.wall_seconds:.1f} s; encoded {s.n_encoded} texts, "
            f"{s.n_cached} from the embedding cache"
        )
    print(f"run     {s.run_id}  {how}", file=out)
    print(f"encode  mode {s.mode}", file=out)
    if s.correction:
        print(f"correct {s.correction} on {s.correction_of}: {_fitted_on(s)}", file=out)
    print(f"top-k   {_index_line(s)}", file=out)
    print(file=out)
    rows = [
        ("monolingual mAP", s.headline.get("monolingual"), "mean over X of mAP(X->X)"),
        ("cross-lingual mAP", s.headline.get("crosslingual"), "mean over X!=Y of mAP(X->Y)"),
        ("multilingual mAP", s.headline.get("multilingual"), "mean over X of mAP(X->all)"),
        (
            "rank distance",
            s.headline.get("rank_distance"),
            "lowest minus highest relevant rank, pooled (lower is better)",
        ),
        ("nDCG@10", s.headline.get("ndcg_at_10"), "pooled"),
        ("Recall@100", s.headline.get("recall_at_100"), "pooled"),
    ]
    for name, value, note in rows:
        print(f"  {name:<18} {_fmt(value, name == 'rank distance'):>8}   {note}", file=out)
    langs = s.languages
    if len(langs) > MAX_MATRIX_LANGS:
        print(file=out)
        print(
            f"{len(langs)} languages: the pair matrix is left out here (see the Language "
            "pairs page or `export`)",
            file=out,
        )
    elif len(langs) > 1 or s.pairs:
        print(file=out)
        print("mAP, query language (rows) x candidate language (columns); all = pooled", file=out)
        width = 6
        print("      " + "".join(f"{c:>{width}}" for c in [*langs, "all"]), file=out)
        for q in langs:
            cells = [_fmt(s.pairs.get(f"{q}-{c}"), False, blank=True) for c in langs]
            cells.append(_fmt(s.multilingual_by_lang.get(q), False, blank=True))
            print(f"  {q:<4}" + "".join(f"{v:>{width}}" for v in cells), file=out)


MAX_MATRIX_LANGS = 16  # wider pair matrices are not printed (Tatoeba: 113 languages)


def print_suite_measures(summary: RunSummary, out: TextIO) -> None:
    """Bitext accuracy (P@1) per direction and the language-ID probe, from the store."""
    from hybriddash.store import reads

    bitext = reads.bitext_accuracy(summary.run_id)
    probe = reads.language_probe(summary.run_id)
    if bitext.empty and probe.empty:
        return
    print(file=out)
    if not bitext.empty:
        to_en = bitext[bitext["cand_lang"] == "en"]
        from_en = bitext[bitext["query_lang"] == "en"]
        line = f"  bitext accuracy    {_fmt(bitext['accuracy'].mean(), False):>8}   mean P@1 over {len(bitext)} directed pairs"
        print(line, file=out)
        if len(to_en) and len(from_en):
            print(
                f"    X -> en {_fmt(to_en['accuracy'].mean(), False)}, en -> X "
                f"{_fmt(from_en['accuracy'].mean(), False)} (mean over {len(to_en)} languages)",
                file=out,
            )
    overall = probe[probe["lang"] == "all"]
    if len(overall):
        row = overall.iloc[0]
        print(
            f"  language-ID probe  {_fmt(row['accuracy'], False):>8}   {int(row['n_folds'])}-fold "
            f"linear probe on {int(row['n_samples'])} candidates (chance {_fmt(row['chance'], False)}; "
            "lower = more language-agnostic)",
            file=out,
        )


def _fitted_on(s: RunSummary) -> str:
    """What the run's correction was fitted on (from its record)."""
    info = s.correction_info or {}
    parts = [
        str(info[key]) for key in ("documents_fitted_on", "queries_fitted_on") if info.get(key)
    ]
    for key, what in (
        ("query_fallback_langs", "query means from candidates for"),
        ("unfitted_langs", "no offset for"),
    ):
        if info.get(key):
            parts.append(f"{what} {','.join(info[key])}")
    if not parts and s.correction_fit:
        parts.append(f"fit on {s.correction_fit}")
    return "; ".join(parts) or "fit record not stored"


def _index_line(s: RunSummary) -> str:
    """Which faiss index made the top-k lists and its recall@k vs exact search."""
    if s.index_kind is None:
        return "index not recorded for this run"
    if s.index_kind == "flat":
        return "exact index (faiss IndexFlatIP)"
    if s.index_recall_at_k is None:
        return f"approximate index {s.index_kind}; recall vs exact not stored (--force to measure)"
    return (
        f"approximate index {s.index_kind}: recall@{min(s.k, s.n_candidates)} vs exact "
        f"{s.index_recall_at_k:.3f} on {s.index_recall_queries} sampled queries "
        "(metrics are exact)"
    )


def print_contamination_warning(summary: RunSummary, out: TextIO) -> None:
    bar = "!" * 78
    print(bar, file=out)
    print("!! CONTAMINATION: this model was trained on data this corpus contains.", file=out)
    print(f"!! {summary.contamination_note}", file=out)
    print("!! These numbers are not zero-shot; do not compare them with clean runs.", file=out)
    print(bar, file=out)


def _fmt(value: float | None, is_rank: bool, *, blank: bool = False) -> str:
    if value is None or value != value:  # None or NaN
        return "" if blank else "n/a"
    return f"{value:.1f}" if is_rank else f"{value:.3f}".removeprefix("0")
