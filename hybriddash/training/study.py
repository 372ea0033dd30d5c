"""The resumable study: every model of a study profile, written to a result bundle as it finishes.

A study profile (``standard``: :data:`hybriddash.training.reproduce.PROFILES`) is cut into
*pieces*, one per evaluated model (:func:`study_plan`): the untrained base per evaluation
benchmark; X-X-mono, X-Y and hybrid (alpha 0.5) per seed and direction; the alpha sweep
per seed on one direction. A piece trains its model (unless untrained), evaluates it on
the full benchmark, evaluates the training-free corrections on top of it where this code
has them, and is written into the bundle (:mod:`hybriddash.store.bundle`) at once.

Resuming (:func:`run_study`): the bundle's manifest lists the finished pieces; a restarted
study loads them into the store and skips them, so the study may stop at any point and
continue on another machine with ``artifacts/`` gone, from the committed bundle alone.
A piece that was cut short is simply redone.

Alpha 0 and 1 of the sweep: the hybrid sampler draws one uniform per batch whatever its
kind, so hybrid with alpha 0 (1) should plan exactly the batches of X-Y (X-X-mono).
:func:`alpha_endpoints_identical` checks that on the actual training data and seed; the
sweep reuses the X-Y / X-X-mono runs for alpha 0 / 1 only when the plans are identical,
and trains separate hybrid runs otherwise. The manifest records which.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hybriddash.training.reproduce import DIRECTIONS, STRATEGIES, Profile, machine_info

STRATEGY_LABEL = dict(STRATEGIES)
#: Largest accepted difference between stored and re-run headline numbers. Reruns on one
#: machine are exact (training and evaluation are seeded); across machines BLAS kernels
#: and bf16 autocast (measured: at most 0.001 mAP, docs/benchmarks.md) move them slightly.
REPRODUCE_TOLERANCE = {"map": 0.002, "rank_distance": 0.5}


@dataclass(frozen=True)
class Piece:
    """One model of the study: trained (``sampler`` set) or the untrained base."""

    key: str
    train_data: str | None
    eval_data: str
    sampler: str | None = None
    alpha: float | None = None
    seed: int | None = None
    model_out: str | None = None  # the trained model's folder name (``train --out``)
    # questions profile: the evaluation specs (default: ``eval_data`` alone), the extra
    # pairs of its training, and the key of the same model's piece in the study it shares
    # models with (its XQuAD-R runs go there when that bundle lacks them)
    evals: tuple[str, ...] = ()
    extra_pairs: str | None = None
    shared_key: str | None = None

    @property
    def role(self) -> str:
        if self.sampler is None:
            return "base (no training)"
        if self.extra_pairs:
            return "Hybrid + domain pairs"
        if self.sampler == "hybrid" and self.alpha not in (None, 0.5):
            return f"Hybrid α={self.alpha:g}"
        return STRATEGY_LABEL[self.sampler]


def sweep_out(profile: Profile, train_data: str, alpha: float, seed: int) -> str:
    return f"repro-{profile.name}-{train_data}-hybrid-a{alpha:g}-s{seed}"


def study_plan(
    profile: Profile,
    directions: tuple[tuple[str, str], ...] = DIRECTIONS,
    *,
    reuse_endpoints: dict[float, bool] | None = None,
) -> list[Piece]:
    """The pieces of a study, in run order.

    ``reuse_endpoints`` maps alpha 0 / 1 to whether X-Y / X-X-mono stand for them
    (:func:`alpha_endpoints_identical`); an endpoint not marked reusable gets its own
    hybrid piece. Alpha 0.5 of the sweep is always the hybrid piece of that direction.
    """
    from hybriddash.training.reproduce import model_name

    reuse = reuse_endpoints or {}
    pieces: list[Piece] = []
    for train_data, eval_data in directions:
        pieces.append(Piece(f"{profile.name}-{eval_data}-base", None, eval_data))
        for seed in profile.seeds:
            for sampler, _label in STRATEGIES:
                out = model_name(profile, train_data, sampler, seed)
                pieces.append(Piece(out, train_data, eval_data, sampler, profile.alpha, seed, out))
        if (train_data, eval_data) != tuple(profile.sweep_direction):
            continue
        for seed in profile.alpha_sweep_seeds:
            for alpha in profile.alpha_sweep:
                if alpha == profile.alpha:
                    continue
                if alpha in (0.0, 1.0) and reuse.get(alpha):
                    continue
                out = sweep_out(profile, train_data, alpha, seed)
                pieces.append(Piece(out, train_data, eval_data, "hybrid", alpha, seed, out))
    return pieces


def questions_plan(
    profile: Profile, train_data: str = "mlqa-r", eval_data: str = "xquad-r"
) -> list[Piece]:
    """The pieces of a questions profile (``profile.suites`` set), in run order.

    The base; per seed X-X-mono, X-Y and hybrid trained on ``train_data``, then hybrid
    with ``profile.extra_pairs``. Every piece is evaluated on the suites; hybrid and
    hybrid + pairs on ``eval_data`` (XQuAD-R) too (the domain-data question's general-retrieval cost).
    A seed that the shared profile (``shares_models_with``) also has names the model
    as that profile does, so one training serves both studies, and its XQuAD-R run goes
    to the shared study's piece (``shared_key``) instead.
    """
    from hybriddash.training.reproduce import PROFILES, model_name

    if not profile.suites:
        raise ValueError(f"profile {profile.name!r} has no suites: not a questions profile")
    shared = PROFILES.get(profile.shares_models_with or "")
    if shared is not None and shared.train_config(
        out="x", sampler="hybrid", base="b", train_data=train_data, seed=0
    ) != profile.train_config(out="x", sampler="hybrid", base="b", train_data=train_data, seed=0):
        raise ValueError(
            f"profile {profile.name!r} shares models with {shared.name!r} but trains them "
            "with another configuration"
        )
    suites = tuple(profile.suites)
    pieces = [Piece(f"{profile.name}-base", None, eval_data, evals=suites)]
    for seed in profile.seeds:
        for sampler, _label in STRATEGIES:
            mine = model_name(profile, train_data, sampler, seed)
            shared_here = shared is not None and seed in shared.seeds
            out = model_name(shared, train_data, sampler, seed) if shared_here else mine
            evals = suites + ((eval_data,) if sampler == "hybrid" and not shared_here else ())
            pieces.append(
                Piece(
                    mine,
                    train_data,
                    eval_data,
                    sampler,
                    profile.alpha,
                    seed,
                    out,
                    evals=evals,
                    shared_key=out if shared_here else None,
                )
            )
        if profile.extra_pairs:
            out = f"repro-{profile.name}-{train_data}-hybrid-pairs-s{seed}"
            pieces.append(
                Piece(
                    out,
                    train_data,
                    eval_data,
                    "hybrid",
                    profile.alpha,
                    seed,
                    out,
                    evals=(*suites, eval_data),
                    extra_pairs=profile.extra_pairs,
                )
            )
    return pieces


def load_eval_corpus(spec: str, profile: Profile) -> Any:
    """The evaluation corpus of a spec: a dataset id (with the profile's article limit,
    as the standard study evaluates) or a suite spec (``tico-19[domain=pubmed,segments=test]``: the segment-id split
    and languages applied here, other selectors by the loader)."""
    from hybriddash.data.datasets import load_dataset

    if "[" not in spec:
        return load_dataset(spec, articles=profile.eval_articles.get(spec))
    from hybriddash.training.extra_pairs import load_pair_source

    return load_pair_source(spec)


def stale_pieces(
    manifest: dict[str, Any],
    folder: str | Path,
    corpus_of: Callable[[str], Any],
    log: Callable[[str], None] = print,
) -> dict[str, list[str]]:
    """The finished pieces whose runs are not of the corpora their specs load today.

    A loader change (TICO-19's misaligned documents left out) or other data under the same
    name gives the same spec another corpus fingerprint; a resumed study would then mix
    pieces of the old corpora with pieces of the new. Returns ``{piece: [specs whose
    corpus changed]}``. ``corpus_of(spec)`` loads a spec (the study's own loader, so the
    corpora are loaded once); a spec whose data is not here is skipped, saying so.
    """
    import pandas as pd

    current: dict[str, str | None] = {}
    out: dict[str, list[str]] = {}
    for key, entry in sorted(manifest.get("pieces", {}).items()):
        specs = list(entry.get("evals") or ([entry["eval_data"]] if entry.get("eval_data") else []))
        runs = entry.get("files", {}).get("runs")
        if not specs or runs is None:
            continue
        for spec in specs:
            if spec not in current:
                try:
                    current[spec] = corpus_of(spec).fingerprint
                except FileNotFoundError as exc:  # the data is not on this machine
                    log(f"   cannot check the pieces of {spec} against the data: {exc}")
                    current[spec] = None
        frame = pd.read_parquet(Path(folder) / "pieces" / key / runs["path"], columns=["corpus_fp"])
        have = set(frame["corpus_fp"].astype(str))
        changed = [s for s in specs if current[s] is not None and current[s] not in have]
        if changed:
            out[key] = changed
    return out


def alpha_endpoints_identical(
    corpus: Any, profile: Profile, seed: int, *, val_fraction: float = 0.1
) -> dict[float, bool]:
    """Whether hybrid with alpha 0 / 1 plans exactly the batches of X-Y / X-X-mono.

    Builds the training split as the trainer does (same pairs, same held-out groups) and
    compares the batch plans of every epoch the profile's steps reach. Identical plans,
    with everything else of the configuration equal, give identical training.
    """
    from hybriddash.training.pairs import build_pairs, split_by_group
    from hybriddash.training.samplers import ParallelPairBatchSampler

    table = build_pairs(corpus)
    train_table, _val = split_by_group(table, val_fraction, seed=seed)
    out: dict[float, bool] = {}
    for alpha, kind in ((0.0, "cross"), (1.0, "mono")):
        try:
            a = ParallelPairBatchSampler(train_table, profile.batch_size, seed=seed, kind=kind)
            b = ParallelPairBatchSampler(
                train_table, profile.batch_size, seed=seed, kind="hybrid", alpha=alpha
            )
        except ValueError:
            out[alpha] = False
            continue
        epochs = -(-profile.steps // max(1, a.num_batches))
        out[alpha] = (
            a.num_batches == b.num_batches
            and a.batch_size == b.batch_size
            and all(a.plan(e) == b.plan(e) for e in range(epochs))
        )
    return out


def run_detail(piece: Piece, profile: Profile, correction: str = "") -> str:
    """The detail level (:data:`hybriddash.store.bundle.DETAIL_TABLES`) of one run in the
    bundle: ``full`` for every run unless the profile slims the bundle; then ``full`` only
    for the first seed's uncorrected base / X-X-mono / X-Y / hybrid runs (what the other
    pages show), ``verdicts`` for the other uncorrected runs and for the corrected base and
    hybrid runs that claim (f) compares, ``headline`` for the other corrected runs. A
    questions profile (``profile.suites``) keeps ``questions`` detail for every run: what
    its verdicts and charts read, without texts (13 pieces on the suites at ``full``
    detail would be ~10x the repository's bundle limit)."""
    if profile.suites:
        return "questions"
    if not profile.slim_bundle:
        return "full"
    main = piece.sampler in (None, "mono", "cross") or piece.alpha == profile.alpha
    if not correction:
        first = piece.seed is None or piece.seed == profile.seeds[0]
        return "full" if first and main else "verdicts"
    if piece.sampler is None or (piece.sampler == "hybrid" and piece.alpha == profile.alpha):
        return "verdicts"
    return "headline"


def _corrections_supported() -> bool:
    from hybriddash.evaluation import evaluate

    return "correction" in inspect.signature(evaluate).parameters


def run_study(
    profile: Profile,
    bundle_dir: str | Path,
    *,
    base: str = "multilingual-e5-small-q4",
    command: str = "",
    directions: tuple[tuple[str, str], ...] = DIRECTIONS,
    store: Any = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    stop_after: int | None = None,
    label: str = "reference results",
    pieces: list[str] | None = None,
    shard: tuple[int, int] | None = None,
    shared_bundle: str | Path | None = None,
) -> dict[str, Any]:
    """Run (or resume) the study of ``profile``, one bundle piece per finished model.

    A questions profile (``profile.suites``) runs :func:`questions_plan`; its pieces of
    seeds shared with another study write that study's XQuAD-R piece into
    ``shared_bundle`` (e.g. ``reference/``) when it lacks it.

    ``stop_after``: stop after that many newly finished pieces (a study in chunks; the
    tests' "kill part-way"). ``pieces`` / ``shard``: run only those pieces of the plan
    (:func:`select_pieces`), e.g. one task of a scheduler's array job writing its own
    bundle. Returns a summary: ``done`` (keys finished now), ``skipped`` (keys found in
    the bundle), ``remaining`` (of the whole plan), ``wall_seconds``, ``alpha_endpoints``.
    """
    from hybriddash.data.datasets import load_dataset
    from hybriddash.encoders.registry import resolve_model
    from hybriddash.store import bundle
    from hybriddash.store.bundle_merge import FREE_PROFILE_KEYS
    from hybriddash.store.db import Store
    from hybriddash.store.reads import get_run
    from hybriddash.training.piece_progress import PieceLedger, ledger_path
    from hybriddash.training.trainer import train

    started = time.time()
    _code_version_at_start()  # before any piece: the code this process runs
    store = store or Store()
    bundle_dir = Path(bundle_dir)
    manifest = bundle.open_bundle(
        bundle_dir,
        label=label,
        command=command,
        machine=machine_info(),
        profile=_profile_dict(profile),
        directions=[list(d) for d in directions],
    )
    held = {k: v for k, v in (manifest.get("profile") or {}).items() if k not in FREE_PROFILE_KEYS}
    wanted = json.loads(json.dumps(_profile_dict(profile)))
    wanted = {k: v for k, v in wanted.items() if k not in FREE_PROFILE_KEYS}
    if held and held != wanted:
        if not _seeds_added(held, wanted):
            diff = sorted(k for k in set(held) | set(wanted) if held.get(k) != wanted.get(k))
            raise bundle.BundleError(
                f"{bundle_dir}: the bundle holds a study with another configuration ("
                + ", ".join(f"{k}={held.get(k)!r}, now {wanted.get(k)!r}" for k in diff)
                + "); one study keeps one budget: use another --bundle folder"
            )
        # the same budget with more seeds: the study grows, its finished pieces stand
        _update_manifest(bundle_dir, {"profile": _profile_dict(profile)})
        log(f"the study grows to seeds {wanted['seeds']} (the bundle held {held['seeds']})")
    finished = set(manifest.get("pieces", {}))
    corpora: dict[str, Any] = {}

    def corpus_of(spec: str) -> Any:
        if spec not in corpora:
            corpora[spec] = load_eval_corpus(spec, profile)
        return corpora[spec]

    if finished:  # loads the pieces' corpora (a minute for the questions' suites): say so
        log(f"checking {len(finished)} finished piece(s) against the corpora the data gives now")
    stale = stale_pieces(manifest, bundle_dir, corpus_of, log) if finished else {}
    if stale:
        raise bundle.BundleError(
            f"{bundle_dir}: {len(stale)} finished piece(s) were evaluated on corpora that "
            "the data no longer gives ("
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in stale.items())
            + "), and a resumed study would mix them with pieces of the new ones. Take them "
            f"out and say why, then resume: python -m hybriddash bundle drop {bundle_dir} "
            + " ".join(stale)
            + " --why '<what changed>'"
        )
    if finished:
        bundle.load_bundle(bundle_dir, store, reference=False)
        log(f"resuming: {len(finished)} finished piece(s) in {bundle_dir} loaded into the store")
    base_spec = resolve_model(base)
    corrections = tuple(profile.corrections) if _corrections_supported() else ()
    if profile.corrections and not corrections:
        log(
            "corrections "
            + ", ".join(profile.corrections)
            + " skipped: this code's evaluate() has no correction option"
        )
    sweep_train = profile.sweep_direction[0]
    endpoints: dict[float, bool] = {}
    if profile.alpha_sweep and tuple(profile.sweep_direction) in {tuple(d) for d in directions}:
        corpus = load_dataset(sweep_train)
        per_seed = [
            alpha_endpoints_identical(corpus, profile, s) for s in profile.alpha_sweep_seeds
        ]
        endpoints = {a: all(p.get(a, False) for p in per_seed) for a in (0.0, 1.0)}
        for a, same in endpoints.items():
            other = "X-Y" if a == 0.0 else "X-X-mono"
            log(
                f"alpha {a:g}: batch plans {'identical to' if same else 'differ from'} "
                f"{other} ({'reusing its runs' if same else 'trained separately'})"
            )
    plan = (
        questions_plan(profile, *directions[0])
        if profile.suites
        else study_plan(profile, directions, reuse_endpoints=endpoints)
    )
    chosen = select_pieces(plan, pieces=pieces, shard=shard)

    def record_plan(finished_keys: set[str]) -> None:
        _update_manifest(
            bundle_dir,
            {
                "alpha_endpoints": {f"{a:g}": same for a, same in endpoints.items()},
                "plan": [p.key for p in plan],
                "complete": all(p.key in finished_keys for p in plan),
            },
        )

    # the plan goes in first, so a report of a study still running knows what is left
    record_plan(finished)
    done: list[str] = []
    skipped = [p.key for p in plan if p.key in finished]
    for piece in chosen:
        if piece.key in finished:
            log(f"   skip {piece.key} (in the bundle)")
            continue
        if stop_after is not None and len(done) >= stop_after:
            break
        t0 = time.time()
        ledger = PieceLedger(
            ledger_path(bundle_dir),
            piece.key,
            has_run=lambda run_id: get_run(run_id, store=store) is not None,
        )
        card = None
        if piece.sampler is None:
            model: Any = base_spec
        else:
            cfg = profile.train_config(
                out=piece.model_out or piece.key,
                sampler=piece.sampler,
                alpha=piece.alpha,
                base=base,
                train_data=piece.train_data or "",
                seed=piece.seed or 0,
                extra_pairs=piece.extra_pairs,
            )
            train_corpus = corpora.get(f"train:{piece.train_data}")
            if train_corpus is None:
                train_corpus = corpora[f"train:{piece.train_data}"] = load_dataset(piece.train_data)
            result = train(
                cfg,
                corpus=train_corpus,
                base_spec=base_spec,
                overwrite=True,
                progress=progress,
                store=store,
            )
            model, card = result.model_id, result.card
            ledger.checkpoint("train", _net_since(t0), model_dirs=[result.folder])
        run_ids: list[str] = []
        model_ids: list[str] = []
        detail: dict[str, str] = {}
        summaries: dict[str, Any] = {}
        for spec in piece.evals or (piece.eval_data,):
            summary, runs = _evaluate_with_corrections(
                model, corpus_of(spec), piece, profile, corrections, store=store, progress=progress
            )
            summaries[spec] = summary
            for run_id, (model_id, level) in runs.items():
                run_ids.append(run_id)
                if model_id not in model_ids:
                    model_ids.append(model_id)
                detail[run_id] = level
            ledger.checkpoint(f"evaluate {spec}", _net_since(t0), run_ids=list(runs))
        bundle.export_piece(
            bundle_dir,
            piece.key,
            model_ids=model_ids,
            run_ids=run_ids,
            store=store,
            topk_depth=profile.topk_depth,
            run_detail=detail,
            info={
                **_piece_info(piece, t0, card),
                **({"evals": list(piece.evals)} if piece.evals else {}),
                **_earlier_work(ledger.earlier),
            },
        )
        ledger.finish()
        # the alignment page's view of the benchmark (and of XNLI: question 2's UMAP)
        # while the weights exist: a bundle ships none
        _ship_alignment(
            bundle_dir,
            piece.key,
            [
                (s.model_id, s.corpus_fp)
                for k, s in summaries.items()
                if k in alignment_specs(piece)
            ],
            store,
            log,
        )
        if piece.shared_key and shared_bundle is not None:
            _export_shared(
                piece,
                profile,
                model,
                card,
                Path(shared_bundle),
                store=store,
                progress=progress,
                log=log,
            )
        done.append(piece.key)
        size = bundle.bundle_bytes(bundle_dir)
        # the headline of the piece's benchmark where it ran on it, else of its last suite
        shown = piece.eval_data if piece.eval_data in summaries else list(summaries)[-1]
        log(
            f"   {piece.role} seed {piece.seed} on {shown}: "
            f"multi {summaries[shown].headline.get('multilingual', float('nan')):.3f}, "
            f"{time.time() - t0:.0f} s (piece {piece.key} written; bundle {size / 1e6:.1f} MB)"
        )
        if size > bundle.MAX_BUNDLE_BYTES:
            log(
                f"   WARNING the bundle is {size / 1e6:.1f} MB, over the "
                f"{bundle.MAX_BUNDLE_BYTES / 2**20:.0f} MiB limit for the repository; "
                "lower the profile's topk_depth"
            )
    remaining = [p.key for p in plan if p.key not in finished and p.key not in done]
    record_plan(finished | set(done))
    return {
        "done": done,
        "skipped": skipped,
        "remaining": remaining,
        "wall_seconds": time.time() - started,
        "alpha_endpoints": endpoints,
        "corrections": corrections,
    }


def alignment_specs(piece: Piece) -> tuple[str, ...]:
    """The evaluation specs whose alignment view a piece ships: its benchmark, and XNLI
    dev (the questions' alignment UMAP) when it evaluates that."""
    return (piece.eval_data, "xnli")


def _ship_alignment(
    bundle_dir: Path, key: str, pairs: list[tuple[str, str]], store: Any, log: Any
) -> None:
    """Add the alignment page's default projection and sampled translation statistics of
    the piece's model to the piece (:mod:`hybriddash.reports.alignment_shipped`), while
    its weights exist: a bundle ships no weights, so this is the only chance. A failure
    is logged and leaves the piece as it was (its results do not depend on it)."""
    import os

    from hybriddash.reports.alignment_shipped import write_piece_alignment

    if os.environ.get("HYBRIDDASH_SHIP_ALIGNMENT", "1").strip().lower() in {"0", "off", "no"}:
        return  # (the fast tests: a UMAP compiles numba kernels for half a minute)
    t0 = time.time()
    try:
        if not pairs:
            return
        write_piece_alignment(bundle_dir, key, pairs, store=store)
    except Exception as exc:  # never lose a finished piece over its alignment view
        log(f"   alignment view of {key} not shipped: {type(exc).__name__}: {exc}")
        return
    log(f"   alignment view of {key} shipped ({time.time() - t0:.0f} s)")


def _evaluate_with_corrections(
    model: Any,
    corpus: Any,
    piece: Piece,
    profile: Profile,
    corrections: tuple[str, ...],
    *,
    store: Any,
    progress: bool,
) -> tuple[Any, dict[str, tuple[str, str]]]:
    """Evaluate ``model`` on ``corpus``, then each correction on top of it; returns the
    uncorrected summary and run id -> (model id, bundle detail level) of every run."""
    from hybriddash.evaluation import evaluate

    summary = evaluate(model, corpus, mode=profile.encode_mode, progress=progress, store=store)
    runs = {summary.run_id: (summary.model_id, run_detail(piece, profile))}
    for correction in corrections:
        corrected = evaluate(
            model,
            corpus,
            mode=profile.encode_mode,
            progress=progress,
            store=store,
            correction=correction,
        )
        runs[corrected.run_id] = (corrected.model_id, run_detail(piece, profile, correction))
    return summary, runs


@functools.cache
def _code_version_at_start() -> str:
    """The repository's version when the study process started: the code it runs. A
    study runs for hours while the checkout moves on; asking git at each piece would
    name commits the process never loaded."""
    from hybriddash.store import bundle

    return bundle.code_version()


def _wall_and_stopped(t0: float) -> tuple[float, float]:
    """Seconds since ``t0``, and how many of them the pause log says this process was
    stopped for a measurement that had to run alone (``HYBRIDDASH_PAUSE_LOG``)."""
    from hybriddash.training.pauses import pause_log, stopped_seconds

    now = time.time()
    return now - t0, stopped_seconds(pause_log(), t0, now)


def _net_since(t0: float) -> float:
    """Seconds since ``t0`` that this process ran (wall less stopped)."""
    wall, stopped = _wall_and_stopped(t0)
    return wall - stopped


def _earlier_work(seconds: float) -> dict[str, Any]:
    """The manifest keys for work an earlier, stopped process did for a piece (none when
    it did none): counted in the piece's time by the wall-time table."""
    if seconds <= 0:
        return {}
    return {
        "earlier_process_seconds": round(seconds, 1),
        "note": (
            f"finished by a resumed study: an earlier process, stopped part-way, had spent "
            f"{seconds:.0f} s net on this piece (its training and the evaluations it finished, "
            "reused from the caches); the wall time counts them (its ledger's last "
            "checkpoint whose results were still there)"
        ),
    }


def _piece_info(piece: Piece, t0: float, card: dict[str, Any] | None) -> dict[str, Any]:
    """What a piece's manifest entry says besides its files."""
    wall, stopped = _wall_and_stopped(t0)
    return {
        "role": piece.role,
        "sampler": piece.sampler,
        "alpha": piece.alpha,
        "seed": piece.seed,
        "train_data": piece.train_data,
        "eval_data": piece.eval_data,
        "wall_seconds": round(wall, 1),
        "paused_seconds": round(stopped, 1),
        "train_seconds": (card or {}).get("wall_seconds"),
        "machine": machine_info(),
        # a study may span sessions and commits: each piece says which code ran it
        "code_version": _code_version_at_start(),
    }


def _export_shared(
    piece: Piece,
    profile: Profile,
    model: Any,
    card: dict[str, Any] | None,
    shared_bundle: Path,
    *,
    store: Any,
    progress: bool,
    log: Callable[[str], None],
) -> None:
    """The shared study's piece of this model (its ``eval_data`` runs, with that study's
    corrections and detail levels), written into ``shared_bundle`` unless it holds it."""
    from hybriddash.store import bundle
    from hybriddash.training.reproduce import PROFILES

    key = piece.shared_key or ""
    if key in bundle.finished_pieces(shared_bundle):
        return
    other = PROFILES[profile.shares_models_with or ""]
    t0 = time.time()
    twin = Piece(
        key,
        piece.train_data,
        piece.eval_data,
        piece.sampler,
        piece.alpha,
        piece.seed,
        piece.model_out,
    )
    corrections = tuple(other.corrections) if _corrections_supported() else ()
    corpus = load_eval_corpus(piece.eval_data, other)
    _summary, runs = _evaluate_with_corrections(
        model, corpus, twin, other, corrections, store=store, progress=progress
    )
    bundle.open_bundle(shared_bundle, label="reference results", profile=_profile_dict(other))
    bundle.export_piece(
        shared_bundle,
        key,
        model_ids=list(dict.fromkeys(m for m, _level in runs.values())),
        run_ids=list(runs),
        store=store,
        topk_depth=other.topk_depth,
        run_detail={r: level for r, (_m, level) in runs.items()},
        info={**_piece_info(twin, t0, card), "trained_for": piece.key},
    )
    log(f"   {key} (the {other.name} study's piece of this model) written to {shared_bundle}")


def _seeds_added(held: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether ``wanted`` is ``held`` with more seeds for the core strategies (the alpha
    sweep's seeds unchanged): the finished pieces then belong to the grown study. One
    rule with ``bundle merge`` (:func:`hybriddash.store.bundle_merge.merged_profile`),
    which also accepts seeds that only the other bundle has: here none may be dropped."""
    from hybriddash.store.bundle import BundleError
    from hybriddash.store.bundle_merge import merged_profile

    try:
        merged = merged_profile(held, wanted, where="study")
    except BundleError:
        return False
    return merged["seeds"] == sorted(wanted.get("seeds") or ())


def select_pieces(
    plan: list[Piece], *, pieces: list[str] | None = None, shard: tuple[int, int] | None = None
) -> list[Piece]:
    """The pieces of ``plan`` to run here, in plan order.

    ``pieces``: shell patterns over piece keys (``repro-standard-xquad-r-*-s3``), each of
    which must match at least one piece. ``shard=(i, n)``: the i-th of n interleaved
    shares of what is left after ``pieces`` (1-based; piece j goes to shard j mod n + 1),
    so n machines split a study with no piece run twice.
    """
    import fnmatch

    chosen = list(plan)
    if pieces:
        keys = [p.key for p in plan]
        unmatched = [pat for pat in pieces if not fnmatch.filter(keys, pat)]
        if unmatched:
            raise ValueError(
                f"no piece of the plan matches {', '.join(unmatched)} "
                f"(the plan has {len(keys)} pieces, e.g. {', '.join(keys[:3])})"
            )
        chosen = [p for p in plan if any(fnmatch.fnmatchcase(p.key, pat) for pat in pieces)]
    if shard is not None:
        i, n = shard
        if not (n >= 1 and 1 <= i <= n):
            raise ValueError(f"shard {i}/{n}: i must be between 1 and n")
        chosen = [p for j, p in enumerate(chosen) if j % n == i - 1]
    return chosen


def run_learning_curve(
    profile: Profile,
    *,
    base: str = "multilingual-e5-small-q4",
    train_data: str = "mlqa-r",
    corpus: Any = None,
    store: Any = None,
    progress: bool = True,
) -> Any:
    """Train X-X-mono, X-Y and hybrid (each seed of ``profile``) with validation every
    ``profile.eval_every`` steps; return their validation multilingual mAP curves
    (columns ``strategy, seed, step, value``) from the store's ``training_curves``."""
    from hybriddash.encoders.registry import resolve_model
    from hybriddash.store import reads
    from hybriddash.store.db import Store
    from hybriddash.training.reproduce import model_name
    from hybriddash.training.trainer import train

    store = store or Store()
    base_spec = resolve_model(base)
    labels: dict[str, tuple[str, int]] = {}
    for sampler, label in STRATEGIES:
        for seed in profile.seeds:
            cfg = profile.train_config(
                out=model_name(profile, train_data, sampler, seed),
                sampler=sampler,
                base=base,
                train_data=train_data,
                seed=seed,
            )
            result = train(
                cfg,
                corpus=corpus,
                base_spec=base_spec,
                overwrite=True,
                progress=progress,
                store=store,
            )
            labels[result.model_id] = (label, seed)
    curves = reads.training_curves(list(labels), store=store)
    val = curves[(curves["split"] == "validation") & (curves["metric"] == "map_multilingual")]
    return val.assign(
        strategy=val["model_id"].map(lambda m: labels[m][0]),
        seed=val["model_id"].map(lambda m: labels[m][1]),
    )[["strategy", "seed", "step", "value"]].reset_index(drop=True)


#: Profile fields added after bundles were written: left out of a bundle's profile while
#: at their defaults, so a study resumed under newer code keeps its configuration.
_LATER_FIELDS = {"suites": (), "extra_pairs": None, "extra_share": 0.5, "shares_models_with": None}


def _profile_dict(profile: Profile) -> dict[str, Any]:
    out = asdict(profile)
    for name, default in _LATER_FIELDS.items():
        if out.get(name) == default or (name == "suites" and not out.get(name)):
            out.pop(name, None)
    out["bf16_here"] = profile.uses_bf16()
    return out


def _update_manifest(folder: Path, extra: dict[str, Any]) -> None:
    from hybriddash.store import bundle

    manifest = bundle.read_manifest(folder)
    if manifest is None:
        return
    manifest.update(extra)
    bundle.write_manifest(folder, manifest)


#: The plan of the standard study and its size against the 5-hour budget, as written in
#: docs/results.md before the study ran (a test keeps the two identical).
STANDARD_PLAN_MD = """## The standard study: plan and size against the 5-hour budget

`python -m hybriddash reproduce --profile standard` (resumable; each finished model goes
into the result bundle `reference/` at once, and a restart skips what the bundle holds).

1. **Learning curve first** (`reproduce --profile learning-curve`, ~35 min on the 2-core
   machine without native bf16): X-X-mono, X-Y and hybrid, one seed each, trained on
   MLQA-R for 400 steps x 16 pairs with validation every 25 steps (loss and multilingual
   mAP of held-out groups). The budget is the smallest step after which the order of the
   three strategies' validation mAP no longer changes up to step 400
   (`hybriddash.reports.study.stable_order_budget`), capped at the 200 steps the 5-hour
   budget allows below; `--steps` sets it. If the order is still changing at 200 steps,
   that is reported as a deviation beside the verdicts.
2. **Models**: 3 seeds x {X-X-mono, X-Y, hybrid alpha 0.5} x both directions (MLQA-R ->
   XQuAD-R, XQuAD-R -> MLQA-R) = 18 trained models, plus the untrained base per benchmark;
   alpha sweep {0, 0.25, 0.5, 0.75, 1} x 3 seeds on MLQA-R -> XQuAD-R = 6 more trained
   models (0.25, 0.75): alpha 0.5 is the hybrid run, and alpha 0 / 1 reuse the X-Y /
   X-X-mono runs **only if** hybrid with that alpha plans exactly their batches on the
   actual training split and seed (checked at start, recorded in the manifest; the
   sampler draws one uniform per batch whatever its kind, and a test shows hybrid alpha 0
   training to bitwise the same weights as X-Y). Budget per model: 200 steps x 16 pairs,
   max length 64, lowest 3 layers and word embeddings frozen, validation every 25 steps
   (50 since the revision below).
3. **Evaluation** on the full benchmarks (XQuAD-R 13,090 queries x 13,014 candidates;
   MLQA-R 4,199 x 20,534), encode mode onnx (float32), and the doc-centring correction on
   top of every model (where `evaluate` has corrections; otherwise logged and skipped).

Size, from the measured numbers of issue 12 (2-core machine without native bf16: training
1.4 s/step at 16 pairs and max length 64; a full-benchmark evaluation encodes ~26k texts
at 130-200 texts/s):

| part | count | each | total |
|---|---|---|---|
| training (200 x 1.4 s) + 9 validations (~6 s) + load/save (~15 s) | 24 models | ~350 s | 8,400 s |
| encoding, XQuAD-R (26,104 texts at 130 texts/s) | 16 runs | ~200 s | 3,210 s |
| encoding, MLQA-R (24,733 texts at 130 texts/s) | 10 runs | ~190 s | 1,900 s |
| ONNX export of each trained model, exact ranks, metrics, store write | 26 runs | ~40 s | 1,040 s |
| doc-centring correction (cached embeddings: fit, ranks, metrics, write) | 26 runs | ~20 s | 520 s |
| alpha-endpoint check (MLQA-R pairs, 3 seeds) | 1 | ~30 s | 30 s |
| **total** | | | **15,100 s = 4.2 h** |

That leaves ~15% of the 5 hours for load from other jobs. At 200 texts/s the encoding
rows shrink by a third (total 3.7 h). If alpha 0 / 1 did not reproduce X-Y / X-X-mono,
6 more models and 6 more XQuAD-R evaluations (+3,300 s) would exceed 5 hours; the study
would then need `--steps 150`. On the AVX-512/AMX machine with native bf16 (0.56 s/step,
onnx 245 texts/s) the same study is ~2 h.

**Revision, 2026-12-06, before the rerun.** The first run of this plan (`reference/` up
to commit ccebbe9) took 6.24 h of piece time, much of it beside test suites on the same
cores. Timed on an otherwise idle 2-core AMD EPYC with AVX2 only
(`bench/study_rerun.py`), a trained model took 744-777 s: 1.63 s per training step
(planned 1.4), 11.5 s per validation (loss 4 s, held-out mAP 7.5 s; planned 6), encoding
at ~88 texts/s (planned 130), and 30 s per run for the rank correlation of parallel
queries. That projects the plan to 5.1-5.4 h, over the 5 hours. Changes, all before any
piece of the rerun (`reference-rerun/`) that counts: validation every **50** steps (5
validations instead of 9, -46 s per model; the kept best state is then the best of steps
0, 50, ..., 200), training in **float32 on every CPU** (the first run trained its 7
models of 2026-12-02 under bf16 autocast on a CPU with native bf16, the rest in float32:
one study, one precision), and the rank correlation compiled (same numbers, -36 s per
model). Measured size per trained model: 326 s of training steps + 58 s of validation +
~10 s load and save + ~285 s encoding + ~15 s export, ranks, metrics and writes + 3 s
doc-centring = ~700 s; untrained base ~290 s. 24 x 700 s + 2 x 290 s = 17,400 s =
**4.8 h**.

Bundle size (limit 25 MB; `reference/` holds no weights). Bytes per full-benchmark run,
measured 2026-12-02 by writing full-size synthetic tables (XQuAD-R row counts: 157,080
per-query rows, 143,990 relevant ranks, 130,900 top-10 hits, 12,100 share rows; AP as
1/rank and pooled means, DuckDB Parquet zstd) and the real corpus texts:
full detail 1.97 MB (top-10 hits 0.87, per-query metrics 0.60, relevant ranks 0.37),
verdict detail 0.48 MB (AP only), headline detail ~0.01 MB; MLQA-R runs ~1/4 of that
(4,199 queries); texts of both corpora 3.1 MB. With full detail only for the first seed's
uncorrected base / X-X-mono / X-Y / hybrid runs (`run_detail`): XQuAD-R 4 x 1.97 + 16 x
0.48 + 12 x 0.01 = 15.7 MB, MLQA-R 4 x 0.5 + 10 x 0.12 = 3.2 MB, texts 3.1 MB: **~22 MB**.
The runner prints the size after every model and warns above the limit; a lower
`topk_depth` (5: -2.5 MB) is the first lever.

Five seeds (issue 22, 2026-12-07). The 26 pieces of three seeds measured 21.5 MiB; the 12
pieces of seeds 3 and 4 at verdict detail add ~4.3 MB (measured seed-2 pieces: 0.24-0.46
MB, 0.85 MB for a hybrid with its center-docs run), which would cross 25 MiB. No verdict
reads the top-k language shares (`run_lang_share`), which verdict-detail runs kept
(0.04-0.15 MB a piece, 2.0 MB in all): verdict detail now leaves them out (the dominance
page says "not stored for this run"), and `bundle slim --detail full` rewrites the
existing pieces by the same rule, with every number unchanged."""
