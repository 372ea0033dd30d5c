"""Embedding alignment: UMAP projections, translation statistics, free-text search.

Everything here works from the store's copy of a corpus (``corpus_queries`` /
``corpus_candidates``) and a model the store knows (``models``), so it needs neither
the data folder nor the original upload. Embeddings come from
:func:`hybriddash.encoders.encode.encode_texts` with the model's prefixes — the same
texts and prefixes the evaluation encoded, so its on-disk embedding cache answers and
nothing is re-encoded after an evaluation.

Conventions: embeddings are L2-normalised float32 rows, so cosine = dot product.
Candidates that answer a parallel group carry it in ``groups``; two candidates in
different languages that share a group are *translations* of each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybriddash.reports.tables import ReadableStore, StoreEmptyError, _frame

# Bump when the projection algorithm changes, so cached projections are not reused.
PROJECTION_VERSION = "1"


# ---------------------------------------------------------------------------
# what the store knows: model spec and corpus texts
# ---------------------------------------------------------------------------


class NoWeightsError(LookupError):
    """A stored model whose weights are not on this machine (e.g. a reference model)."""


def model_spec_for(model_id: str, *, store: ReadableStore | None = None) -> Any:
    """The :class:`~hybriddash.encoders.registry.ModelSpec` of a model in the store.

    Resolves ``model_id`` with the registry, falling back to the stored ``source``
    folder (tiny and local models are known by path), and keeps the stored prefixes.
    Raises ``ValueError`` when the model's fingerprint differs from the stored one:
    its weights changed since it was evaluated, so its embeddings would not match
    the stored results.
    """
    from hybriddash.encoders.registry import ModelNotAvailableError, resolve_model

    row = _frame(
        store,
        "SELECT model_id, fingerprint, source, query_prefix, passage_prefix, correction, "
        "correction_of FROM models WHERE model_id = ?",
        [model_id],
    )
    if row.empty:
        raise StoreEmptyError(f"model {model_id!r} is not in the store (table models)")
    stored = row.iloc[0]
    if isinstance(stored["correction"], str) and stored["correction"]:
        raise ValueError(
            f"{model_id!r} is {stored['correction_of']} with the post-hoc correction "
            f"{stored['correction']}, fitted per evaluation; this view projects a model's own "
            f"embeddings — pick {stored['correction_of']}"
        )
    source = stored["source"]
    # The stored folder first: it is what was evaluated, and resolving a bare id that
    # is not a local model would ask the (unreachable) hub.
    resolvers = []
    if isinstance(source, str) and Path(source).is_dir():
        resolvers.append(lambda: replace(resolve_model(source), model_id=model_id))
    resolvers.append(lambda: resolve_model(model_id))
    found, error = None, None
    for resolve in resolvers:
        try:
            spec = resolve()
        except ModelNotAvailableError as exc:
            error = error or exc
            continue
        if spec.fingerprint == stored["fingerprint"]:
            break
        found = found or spec
    else:
        if found is None:
            raise NoWeightsError(
                f"the weights of {model_id} are not on this machine (results loaded from a "
                "bundle carry no weights; train or download the model to project it here)"
            ) from error
        raise ValueError(
            f"model {model_id!r}: fingerprint {found.fingerprint} differs from "
            f"{stored['fingerprint']} stored when it was evaluated (models.fingerprint); "
            "its weights changed — re-evaluate it"
        )
    prefixes = {}
    for field in ("query_prefix", "passage_prefix"):
        if isinstance(stored[field], str):
            prefixes[field] = stored[field]
    return replace(spec, **prefixes)


def _correction_of(
    model_id: str, store: ReadableStore | None
) -> tuple[str, str, str | None] | None:
    """``(uncorrected model id, method, fit corpus)`` of a corrected encoder, else None."""
    row = _frame(
        store,
        "SELECT correction, correction_of, correction_fit FROM models WHERE model_id = ?",
        [model_id],
    )
    if row.empty or not isinstance(row["correction"].iloc[0], str):
        return None
    fit = row["correction_fit"].iloc[0]
    return (
        str(row["correction_of"].iloc[0]),
        str(row["correction"].iloc[0]),
        fit if isinstance(fit, str) else None,
    )


def _corrected_candidates(
    spec: Any, cands: pd.DataFrame, vectors: np.ndarray, correction: tuple, mode: str
) -> np.ndarray:
    """The candidates as a corrected encoder indexes them (typed queries: candidate-side
    corrections only; ``center`` also corrects queries by their language, which a typed
    query does not state)."""
    from hybriddash.data.corpus import Candidate, Corpus
    from hybriddash.encoders import corrections as corr

    _, method, fit_on = correction
    if method == "center":
        raise ValueError(
            "the center correction also centres each query by its language, which a typed "
            "query does not state; pick a stored question, or the center-docs / shift "
            "encoder"
        )
    request = corr.parse_correction(method, fit_on)
    assert request is not None
    corpus = Corpus(
        "stored",
        [
            Candidate(c, lang, t)
            for c, lang, t in zip(cands["candidate_id"], cands["lang"], cands["text"], strict=True)
        ],
        [],
        {},
    )
    fit = corr.load_fit_corpus(fit_on) if fit_on else None
    fitted = corr.fit_correction(
        request,
        corpus,
        vectors,
        fit_corpus=fit,
        encode=lambda texts, kind: _encode(spec, texts, kind, mode),
    )
    return fitted.apply(np.zeros((0, vectors.shape[1])), [], vectors, corpus.candidate_langs)[1]


def _corpus_fp(corpus: str, store: ReadableStore | None) -> str:
    found = _frame(
        store, "SELECT corpus_fp FROM corpora WHERE corpus_fp = ? OR name = ?", [corpus, corpus]
    )
    if found.empty:
        raise StoreEmptyError(f"corpus {corpus!r} is not in the store (table corpora)")
    if len(found) > 1:
        raise ValueError(
            f"corpus name {corpus!r} matches {len(found)} stored corpora "
            f"({', '.join(found['corpus_fp'])}); pass a corpus fingerprint"
        )
    return str(found["corpus_fp"].iloc[0])


def corpus_candidates(corpus: str, *, store: ReadableStore | None = None) -> pd.DataFrame:
    """Candidates of a stored corpus, ordered by id (the order every array here uses).

    Columns: ``candidate_id, lang, text, groups (list[str])``.
    """
    fp = _corpus_fp(corpus, store)
    return _frame(
        store,
        "SELECT candidate_id, lang, text, groups FROM corpus_candidates WHERE corpus_fp = ? "
        "ORDER BY candidate_id",
        [fp],
    )


def run_encode_mode(model_id: str, corpus_fp: str, store: ReadableStore | None) -> str:
    """The encode mode of the newest stored run of ``model_id`` on ``corpus_fp``, so views
    of a run reuse its cached embeddings (and never build another mode for them); this
    machine's default mode when the model has no run there."""
    found = _frame(
        store,
        "SELECT encode_mode FROM runs WHERE model_id = ? AND corpus_fp = ? "
        "ORDER BY created_at DESC LIMIT 1",
        [model_id, corpus_fp],
    )
    if not found.empty:
        return str(found["encode_mode"].iloc[0])
    from hybriddash.encoders.encode import default_encode_mode

    return default_encode_mode()


def _encode(spec: Any, texts: list[str], kind: str, mode: str) -> np.ndarray:
    from hybriddash.encoders.encode import encode_texts

    return encode_texts(spec, texts, kind, mode=mode, progress=False)


# ---------------------------------------------------------------------------
# UMAP projection
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionParams:
    """Which items to project and how (all part of the projection's cache key).

    ``n_groups`` parallel groups are drawn with ``seed`` among the groups of the chosen
    ``langs`` (``None`` = all); their answer candidates in those languages are projected,
    plus their queries when ``include_queries``. UMAP uses cosine distance with
    ``n_neighbors`` (clamped to the number of items - 1) and ``min_dist``.
    """

    langs: tuple[str, ...] | None = None
    n_groups: int = 40
    include_queries: bool = False
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 0


def select_items(
    corpus: str, params: ProjectionParams, *, store: ReadableStore | None = None
) -> pd.DataFrame:
    """The items a projection shows: answers (and optionally queries) of drawn groups.

    Columns: ``item_id, item_kind ('candidate'|'query'), lang, group_id, text``. A
    candidate answering several drawn groups is listed once, under the first of them.
    ``item_id`` is the candidate id, or ``"query:" + query id`` for a query (a query and
    its answer may share an id in a corpus, but not a row of the ``projections`` table).
    """
    fp = _corpus_fp(corpus, store)
    langs = list(params.langs) if params.langs else None
    lang_filter = "AND lang IN (SELECT unnest(?))" if langs else ""
    lang_params: list[Any] = [langs] if langs else []
    cands = _frame(
        store,
        f"""
        SELECT candidate_id AS item_id, lang, text, unnest(groups) AS group_id
        FROM corpus_candidates WHERE corpus_fp = ? {lang_filter}
        """,
        [fp, *lang_params],
    )
    if cands.empty:
        return pd.DataFrame(columns=["item_id", "item_kind", "lang", "group_id", "text"])
    groups = np.array(sorted(cands["group_id"].unique()))
    rng = np.random.default_rng(params.seed)
    take = min(params.n_groups, len(groups))
    chosen = sorted(rng.choice(groups, size=take, replace=False).tolist())
    cands = cands[cands["group_id"].isin(chosen)].sort_values(["group_id", "lang", "item_id"])
    cands = cands.drop_duplicates("item_id")
    cands.insert(1, "item_kind", "candidate")
    frames = [cands]
    if params.include_queries:
        queries = _frame(
            store,
            f"""
            SELECT 'query:' || query_id AS item_id, 'query' AS item_kind, lang, text, group_id
            FROM corpus_queries WHERE corpus_fp = ? {lang_filter}
              AND group_id IN (SELECT unnest(?))
            ORDER BY group_id, lang, query_id
            """,
            [fp, *lang_params, chosen],
        )
        frames.append(queries)
    items = pd.concat(frames, ignore_index=True)
    return items[["item_id", "item_kind", "lang", "group_id", "text"]]


def projection_id(
    model_fp: str, corpus_fp: str, items: pd.DataFrame, params: ProjectionParams
) -> str:
    """16 hex chars: sha256 of model, corpus, item selection, UMAP parameters, version."""
    h = hashlib.sha256()
    h.update(json.dumps([PROJECTION_VERSION, model_fp, corpus_fp]).encode())
    h.update(json.dumps(params.__dict__, default=list, sort_keys=True).encode())
    h.update("\n".join(sorted(items["item_id"])).encode())
    return h.hexdigest()[:16]


def projection(
    model_id: str,
    corpus: str,
    params: ProjectionParams | None = None,
    *,
    mode: str | None = None,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """2-D UMAP coordinates of a selection of items, cached in the ``projections`` table.

    The first call encodes the items (served by the embedding cache after an
    evaluation), runs UMAP (cosine metric, ``random_state = params.seed``, so the
    layout is reproducible) and stores the coordinates; later calls only read them.
    Axes are UMAP units (no meaning beyond relative distance).

    Columns: ``item_id, item_kind, lang, group_id, text, x, y``. Empty when the
    selection is empty. Raises ``LookupError`` for an unknown model or corpus.
    """
    from hybriddash.store.db import Store
    from hybriddash.store.writes import insert_frame, writing

    params = params or ProjectionParams()
    fp = _corpus_fp(corpus, store)
    model = _frame(store, "SELECT fingerprint FROM models WHERE model_id = ?", [model_id])
    if model.empty:
        raise StoreEmptyError(f"model {model_id!r} is not in the store (table models)")
    items = select_items(fp, params, store=store)
    if items.empty:
        return items.assign(x=pd.Series(dtype=float), y=pd.Series(dtype=float))
    mode = mode or run_encode_mode(model_id, fp, store)
    pid = projection_id(f"{model['fingerprint'].iloc[0]}:{mode}", fp, items, params)
    cached = _frame(store, "SELECT item_id, x, y FROM projections WHERE projection_id = ?", [pid])
    if len(cached) == len(items):
        return items.merge(cached, on="item_id", how="left")
    from hybriddash.reports.alignment_shipped import shipped_rows

    shipped = shipped_rows("alignment_projection", model_id, fp, store=store)
    if shipped is not None:
        shipped = shipped[shipped["projection_id"] == pid]
        if len(shipped) == len(items):  # the bundle's view of these exact settings
            return items.merge(shipped[["item_id", "x", "y"]], on="item_id", how="left")
    spec = model_spec_for(model_id, store=store)
    parts = []
    for kind, prefix_kind in (("candidate", "passage"), ("query", "query")):
        mask = (items["item_kind"] == kind).to_numpy()
        if mask.any():
            parts.append((mask, _encode(spec, items.loc[mask, "text"].tolist(), prefix_kind, mode)))
    vectors = np.zeros((len(items), parts[0][1].shape[1]), dtype=np.float32)
    for mask, vecs in parts:
        vectors[mask] = vecs
    coords = _umap_2d(vectors, params)
    out = items.assign(x=coords[:, 0].astype(float), y=coords[:, 1].astype(float))
    rows = out[["item_id", "item_kind", "lang", "group_id", "x", "y"]].copy()
    rows.insert(0, "projection_id", pid)
    rows.insert(1, "model_id", model_id)
    rows.insert(2, "corpus_fp", fp)
    target = store if isinstance(store, Store) else None
    with writing(target) as con:
        con.execute("DELETE FROM projections WHERE projection_id = ?", [pid])
        insert_frame(con, "projections", rows)
    return out


def projection_source(model_id: str, corpus: str, *, store: ReadableStore | None = None) -> str:
    """How the alignment page can show ``model_id`` on ``corpus``: ``"shipped"`` (a
    loaded bundle ships its default view; other settings need the weights), ``"weights"``
    (the model is here: any projection), or a sentence saying why it cannot be shown.

    The bundle is looked at first: reading its file is cheap, while resolving a model
    may provision the offline base model in a fresh artifacts folder (seconds)."""
    from hybriddash.reports.alignment_shipped import shipped_rows

    correction = _correction_of(model_id, store)
    if correction is not None:
        return (
            f"a post-hoc correction ({correction[1]}) of {correction[0]}, fitted per "
            f"evaluation: its view is {correction[0]}'s"
        )
    fp = _corpus_fp(corpus, store)
    if shipped_rows("alignment_projection", model_id, fp, store=store) is not None:
        return "shipped"
    texts = _frame(store, "SELECT count(*) AS n FROM corpus_candidates WHERE corpus_fp = ?", [fp])
    if not int(texts["n"].iloc[0]):
        return (
            "the store holds this corpus's numbers but not its texts (the reference bundle "
            "ships the suites' results only); evaluate the dataset here to project it"
        )
    try:
        model_spec_for(model_id, store=store)
    except (LookupError, ValueError) as exc:
        return str(exc)
    return "weights"


# umap-learn's numba kernels are compiled on first use in every process (about 20 s on
# a 2-core machine, the bulk of a first projection) because most are not declared
# cache=True; these modules' kernels get numba's on-disk cache under artifacts/.
_UMAP_KERNEL_MODULES = (
    "umap.umap_",
    "umap.layouts",
    "umap.utils",
    "umap.distances",
    "umap.spectral",
    "umap.sparse",
)
_UMAP_LOCK = threading.Lock()
_umap_module: Any = None


def numba_cache_dir() -> Path:
    """``<artifacts>/numba``: compiled umap-learn kernels, reused by later processes."""
    from hybriddash import config

    return config.artifacts_dir() / "numba"


def _umap_with_disk_cache() -> Any:
    """``import umap`` with numba's disk cache enabled for its kernels (once per process).

    Each kernel's cache locator is chosen when caching is enabled, so the cache
    folder is set only around that step; numba's own setting is restored after.
    Kernels that numba cannot cache keep compiling in memory (still correct).
    """
    global _umap_module
    with _UMAP_LOCK:
        if _umap_module is not None:
            return _umap_module
        import importlib

        import numba
        import umap
        from numba.core.registry import CPUDispatcher

        previous = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = str(numba_cache_dir())
        try:
            for name in _UMAP_KERNEL_MODULES:
                try:
                    module = importlib.import_module(name)
                except ImportError:  # a module a umap-learn version does not have
                    continue
                for kernel in vars(module).values():
                    if isinstance(kernel, CPUDispatcher):
                        with contextlib.suppress(Exception):
                            kernel.enable_caching()
        finally:
            numba.config.CACHE_DIR = previous
        _umap_module = umap
        return umap


def _warm_marker() -> Path:
    from importlib.metadata import version

    return numba_cache_dir() / f"warm-umap-{version('umap-learn')}-numba-{version('numba')}"


def umap_is_warm() -> bool:
    """Whether umap-learn's kernels were compiled into this artifacts folder's cache."""
    return _warm_marker().is_file()


def warm_up_umap() -> float:
    """Compile umap-learn's kernels into the disk cache with a small projection of the
    shape and dtype a real one has (float32 vectors, cosine, spectral init); returns its
    seconds. A fresh install pays ~20-45 s of numba compilation on the first UMAP
    (docs/benchmarks.md, "First run"); done once per artifacts folder and versions."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((64, 32)).astype(np.float32)
    _umap_fit(vectors, ProjectionParams())  # not _umap_2d: this process holds the lock
    marker = _warm_marker()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{time.perf_counter() - started:.1f} s\n", encoding="utf-8")
    return time.perf_counter() - started


def wait_for_umap_warm_up(timeout_s: float = 180.0) -> None:
    """Wait while a warm-up process compiles the kernels (its lock is held), so a
    projection asked for meanwhile loads them from the cache instead of compiling the
    same kernels beside it on the same two cores. Returns at once when warm or idle."""
    from hybriddash.processes import lock_held

    lock_path = numba_cache_dir() / "warm-up.lock"
    if umap_is_warm() or not lock_path.is_file():
        return
    deadline = time.monotonic() + timeout_s
    while lock_held(lock_path) and time.monotonic() < deadline:
        time.sleep(0.2)  # past the deadline: compile here after all


def run_warm_up_process() -> None:
    """The body of the warm-up process :func:`start_umap_warm_up` starts: lowest priority,
    the lock for its lifetime (a second one exits), then :func:`warm_up_umap`."""
    import fcntl

    # Lowest priority for real: with the kernel's autogroup scheduling a process in a
    # session of its own shares the CPU equally with every other session whatever its
    # nice value, so the whole (one-process) group is set to nice 19.
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write("19")
    lock = open(numba_cache_dir() / "warm-up.lock", "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another process is warming up
    if not umap_is_warm():
        warm_up_umap()


def start_umap_warm_up() -> Any:
    """Start :func:`warm_up_umap` in a detached process at the lowest CPU priority when
    this artifacts folder's cache is cold (the dashboard does this at start, so the
    compilation overlaps the newcomer's first evaluation instead of their first
    alignment view). One at a time (a lock file); returns the started process, or None.
    ``HYBRIDDASH_UMAP_WARM_UP=0`` switches it off (the tests do)."""
    import os

    from hybriddash.processes import lock_held, spawn_detached

    if os.environ.get("HYBRIDDASH_UMAP_WARM_UP", "1").strip().lower() in {"0", "off", "no"}:
        return None
    if umap_is_warm():
        return None
    folder = numba_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if lock_held(folder / "warm-up.lock"):
        return None  # another process is warming up
    return spawn_detached(
        ["-c", "from hybriddash.reports.alignment import run_warm_up_process as r; r()"],
        folder / "warm-up.log",
        preexec_fn=lambda: os.nice(19),  # only idle cycles: never slows an evaluation
    )


def _umap_2d(vectors: np.ndarray, params: ProjectionParams) -> np.ndarray:
    """UMAP to 2-D; tiny selections (< 4 items) are laid out by PCA instead."""
    n = len(vectors)
    if n < 4:
        centred = vectors - vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    wait_for_umap_warm_up()
    return _umap_fit(vectors, params)


def _umap_fit(vectors: np.ndarray, params: ProjectionParams) -> np.ndarray:
    n = len(vectors)
    umap = _umap_with_disk_cache()
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=max(2, min(params.n_neighbors, n - 1)),
        min_dist=params.min_dist,
        metric="cosine",
        random_state=params.seed,
        # random_state makes UMAP single-threaded anyway; say so to silence its warning
        n_jobs=1,
        init="spectral" if n > 10 else "random",
    )
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)


# ---------------------------------------------------------------------------
# alignment statistics
# ---------------------------------------------------------------------------


@dataclass
class AlignmentStats:
    """Translation alignment of a model's candidate embeddings on one corpus.

    ``pairs``: one row per ordered language pair (source L, target M) with columns
    ``source_lang, target_lang, n, cos_translation, cos_random, accuracy``:

    - ``n``: answer candidates in L that have a translation in M;
    - ``cos_translation``: mean cosine between such a candidate and its translation(s)
      in M (mean over its translations, then over candidates);
    - ``cos_random``: mean cosine between the same candidates and randomly drawn
      (seeded) M candidates that are not their translations — the chance level;
    - ``accuracy``: translation-retrieval accuracy, the fraction of those candidates
      whose nearest neighbour among *all* M candidates (distractors included) is one
      of their translations.

    ``languages``: per source language, the unweighted mean of its rows in ``pairs``
    (columns ``lang, n_targets, cos_translation, cos_random, gap, accuracy``; ``gap =
    cos_translation - cos_random``).
    """

    pairs: pd.DataFrame
    languages: pd.DataFrame
    n_groups: int = 0  # parallel groups whose answers were measured
    n_groups_total: int = 0  # parallel groups of the (language-filtered) corpus


# Translation statistics are measured on a seeded sample of this many parallel groups by
# default: all of full XQuAD-R (1,190 groups x 11 languages) took minutes to encode on 2
# cores for a model whose embeddings were not cached; the sample keeps it in seconds.
STATS_GROUPS = 300


def sample_groups(cands: pd.DataFrame, max_groups: int | None, seed: int) -> pd.DataFrame:
    """Candidates answering ``max_groups`` parallel groups drawn with ``seed`` (all when
    None or when the corpus has no more); a candidate of several groups is kept when any
    of them is drawn. Same order as ``cands``."""
    groups = sorted({g for gs in cands["groups"] if gs is not None for g in gs})
    if max_groups is None or len(groups) <= max_groups:
        return cands
    chosen = set(np.random.default_rng(seed).choice(groups, size=max_groups, replace=False))
    keep = [gs is not None and any(g in chosen for g in gs) for gs in cands["groups"]]
    return cands[keep].reset_index(drop=True)


def _n_groups(cands: pd.DataFrame) -> int:
    return len({g for gs in cands["groups"] if gs is not None for g in gs})


def alignment_stats(
    model_id: str,
    corpus: str,
    *,
    langs: list[str] | None = None,
    seed: int = 0,
    max_groups: int | None = STATS_GROUPS,
    mode: str | None = None,
    store: ReadableStore | None = None,
) -> AlignmentStats:
    """Translation statistics (see :class:`AlignmentStats`) over the answer candidates of
    ``max_groups`` parallel groups drawn with ``seed`` (None: every group).

    A reference bundle's statistics of the same sample are read instead of computed
    (the reference models' weights are not shipped); with ``langs``, their rows of those
    languages.
    """
    from hybriddash.reports.alignment_shipped import shipped_stats

    fp = _corpus_fp(corpus, store)
    shipped = shipped_stats(model_id, fp, seed=seed, max_groups=max_groups, store=store)
    if shipped is not None:
        return shipped if not langs else restrict_stats(shipped, langs)
    cands = corpus_candidates(fp, store=store)
    if langs:
        cands = cands[cands["lang"].isin(langs)].reset_index(drop=True)
    total = _n_groups(cands)
    cands = sample_groups(cands, max_groups, seed)
    spec = model_spec_for(model_id, store=store)
    mode = mode or run_encode_mode(model_id, fp, store)
    vectors = _encode(spec, cands["text"].tolist(), "passage", mode) if len(cands) else None
    stats = translation_stats(cands, vectors, seed=seed)
    stats.n_groups, stats.n_groups_total = _n_groups(cands), total
    return stats


def restrict_stats(stats: AlignmentStats, langs: list[str]) -> AlignmentStats:
    """``stats`` with only the pairs whose both languages are in ``langs``."""
    pairs = stats.pairs[
        stats.pairs["source_lang"].isin(langs) & stats.pairs["target_lang"].isin(langs)
    ].reset_index(drop=True)
    return AlignmentStats(pairs, language_means(pairs), stats.n_groups, stats.n_groups_total)


def _group_incidence(groups: pd.Series) -> Any:
    """Sparse bool matrix [n_candidates, n_groups]: candidate i answers group j."""
    from scipy import sparse

    index: dict[str, int] = {}
    rows, cols = [], []
    for i, gs in enumerate(groups):
        for g in gs if gs is not None else ():
            rows.append(i)
            cols.append(index.setdefault(g, len(index)))
    data = np.ones(len(rows), dtype=np.int32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(groups), max(1, len(index))))


def _random_pair_cosine(sims: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> float:
    """Mean cosine of one random non-translation target per source row (chance level).

    Draws uniformly among the row's targets and redraws (up to 20 times) where the draw
    hit a translation; rows whose every target is a translation are left out.
    """
    n_rows, n_tgt = sims.shape
    pick = rng.integers(0, n_tgt, size=n_rows)
    for _ in range(20):
        hit = mask[np.arange(n_rows), pick]
        if not hit.any():
            break
        pick[hit] = rng.integers(0, n_tgt, size=int(hit.sum()))
    ok = ~mask[np.arange(n_rows), pick]
    return float(sims[np.arange(n_rows), pick][ok].mean()) if ok.any() else float("nan")


def translation_stats(
    cands: pd.DataFrame, vectors: np.ndarray | None, *, seed: int = 0
) -> AlignmentStats:
    """:class:`AlignmentStats` from candidate rows and their unit embeddings (same order)."""
    rng = np.random.default_rng(seed)
    langs = sorted(cands["lang"].unique()) if len(cands) else []
    incidence = _group_incidence(cands["groups"])
    lang_arr = cands["lang"].to_numpy()
    rows = []
    for source in langs:
        src = np.flatnonzero(lang_arr == source)
        for target in langs:
            if target == source:
                continue
            tgt = np.flatnonzero(lang_arr == target)
            # translation mask [n_src, n_tgt]: the two candidates share a group
            share = (incidence[src] @ incidence[tgt].T).toarray() > 0
            has = share.any(axis=1)
            if not has.any():
                continue
            sims = vectors[src[has]] @ vectors[tgt].T
            mask = share[has]
            cos_tr = (sims * mask).sum(axis=1) / mask.sum(axis=1)
            nearest = sims.argmax(axis=1)  # ties: lowest candidate id (ids are sorted)
            rows.append(
                {
                    "source_lang": source,
                    "target_lang": target,
                    "n": int(has.sum()),
                    "cos_translation": float(cos_tr.mean()),
                    "cos_random": _random_pair_cosine(sims, mask, rng),
                    "accuracy": float(mask[np.arange(len(sims)), nearest].mean()),
                }
            )
    pairs = pd.DataFrame(
        rows,
        columns=["source_lang", "target_lang", "n", "cos_translation", "cos_random", "accuracy"],
    )
    return AlignmentStats(pairs=pairs, languages=language_means(pairs))


def language_means(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per source language, the unweighted mean of its pair rows (see :class:`AlignmentStats`)."""
    if pairs.empty:
        languages = pd.DataFrame(
            columns=["lang", "n_targets", "cos_translation", "cos_random", "gap", "accuracy"]
        )
    else:
        languages = (
            pairs.groupby("source_lang")
            .agg(
                n_targets=("target_lang", "count"),
                cos_translation=("cos_translation", "mean"),
                cos_random=("cos_random", "mean"),
                accuracy=("accuracy", "mean"),
            )
            .reset_index()
            .rename(columns={"source_lang": "lang"})
        )
        languages.insert(4, "gap", languages["cos_translation"] - languages["cos_random"])
    return languages


# ---------------------------------------------------------------------------
# free-text search (query explorer)
# ---------------------------------------------------------------------------


def search_text(
    model_id: str,
    corpus: str,
    text: str,
    k: int = 10,
    *,
    mode: str | None = None,
    store: ReadableStore | None = None,
) -> pd.DataFrame:
    """Encode a typed query with ``model_id`` and rank the corpus's candidates by cosine.

    Exact search over every candidate of the stored corpus (pooled, all languages); the
    text gets the model's query prefix, candidates its passage prefix. Ties are broken
    by candidate id (a stable sort on the id-ordered candidates).

    Columns: ``rank (1-based), candidate_id, cand_lang, score (cosine), text, groups``.
    Raises ``ValueError`` for an empty text or ``k < 1``.
    """
    if not text or not text.strip():
        raise ValueError("search_text: the query text is empty")
    if k < 1:
        raise ValueError(f"search_text: k must be >= 1, got {k}")
    cands = corpus_candidates(corpus, store=store)
    if cands.empty:
        raise StoreEmptyError(f"corpus {corpus!r} has no candidates in the store")
    correction = _correction_of(model_id, store)
    spec = model_spec_for(correction[0] if correction else model_id, store=store)
    mode = mode or run_encode_mode(model_id, _corpus_fp(corpus, store), store)
    cand_vecs = _encode(spec, cands["text"].tolist(), "passage", mode)
    if correction:
        cand_vecs = _corrected_candidates(spec, cands, cand_vecs, correction, mode)
    query_vec = _encode(spec, [text.strip()], "query", mode)[0]
    scores = cand_vecs @ query_vec
    order = np.argsort(-scores, kind="stable")[:k]
    top = cands.iloc[order]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "candidate_id": top["candidate_id"].to_numpy(),
            "cand_lang": top["lang"].to_numpy(),
            "score": scores[order].astype(float),
            "text": top["text"].to_numpy(),
            "groups": top["groups"].to_numpy(),
        }
    )
