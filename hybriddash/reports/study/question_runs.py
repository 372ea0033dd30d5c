"""The research questions' runs (issue 24): which stored run plays which role on which suite.

The ``questions`` profile (:data:`hybriddash.training.reproduce.PROFILES`,
:func:`hybriddash.training.study.questions_plan`) evaluates five models on the suites:
the untrained base, X-X-mono, X-Y and hybrid (alpha 0.5) trained on MLQA-R, and hybrid
trained with the TICO-19 biomedical pairs (``--extra-pairs``), seeds 3, 4, 5. Here a
store's runs are sorted into

- a **role**: ``base`` | ``mono`` | ``cross`` | ``hybrid`` | ``hybrid+pairs``, from the
  ``models`` table (sampler, alpha, the training card's ``config.seed`` and its
  ``extra_pairs`` entry), as :func:`hybriddash.reports.study.roles.classify_runs` does
  for the standard study; corrected runs and hybrid runs with another alpha are left out;
- a **suite**: one key per evaluation corpus the rules name, from the run's dataset id
  and the selectors of its corpus name (``tico-19[domain=pubmed;segments=test]`` ->
  ``tico-19:pubmed``; ``xnli[split=test]`` -> ``xnli-bitext``; ``xnli`` -> ``xnli``;
  ``tatoeba``; ``tydiqa-goldp``; ``xquad-r``). Where one suite key has runs on several
  corpora (e.g. two subsets of Tatoeba), the corpus with the most runs is the suite's.

One budget: the trained models of the budget (training configuration apart from sampler,
alpha, seed, bf16 and the extra pairs) with the most suite runs, and the base they were
trained from. Pure over frames (:func:`question_runs_from`) or read from the store
(:func:`question_runs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hybriddash.reports.study.roles import HYBRID_ALPHA, _budget, _card, classify_runs

#: Roles in display order, with their human labels.
ROLE_LABELS: dict[str, str] = {
    "base": "base (no training)",
    "mono": "X-X-mono",
    "cross": "X-Y",
    "hybrid": "Hybrid",
    "hybrid+pairs": "Hybrid + domain pairs",
}
#: TICO-19 source domains (``tico-19[domain=...]``), as the questions profile evaluates them.
TICO_DOMAINS = ("wikipedia", "pubmed", "cmu", "wikivoyage", "wikinews", "wikisource")
TICO_SUITES = tuple(f"tico-19:{d}" for d in TICO_DOMAINS)
#: Human labels of the suites.
SUITE_LABELS: dict[str, str] = {
    **{f"tico-19:{d}": f"TICO-19 {d} (test split)" for d in TICO_DOMAINS},
    "xnli": "XNLI dev",
    "xnli-bitext": "XNLI test (aligned rows)",
    "tatoeba": "Tatoeba",
    "tydiqa-goldp": "TyDi QA GoldP",
    "xquad-r": "XQuAD-R",
}
# card config fields that differ between the questions' models without changing the budget
_NOT_BUDGET_HERE = {"extra_pairs", "extra_share"}


def selectors(corpus_name: str) -> dict[str, str]:
    """``key=value`` selectors of a corpus name (``tico-19[ar,en;domain=pubmed]`` ->
    ``{"langs": "ar,en", "domain": "pubmed"}``); a bare part is the language list."""
    if "[" not in corpus_name or not corpus_name.endswith("]"):
        return {}
    out: dict[str, str] = {}
    for part in corpus_name.split("[", 1)[1][:-1].split(";"):
        key, sep, value = part.partition("=")
        if part.strip():
            out[key.strip() if sep else "langs"] = (value if sep else key).strip()
    return out


def suite_of(dataset_id: str, corpus_name: str) -> str | None:
    """The suite key of a run's corpus, or None when no question uses it.

    TICO-19 counts only on the test side of the segment-id split (``segments=test``) and
    with one domain; XNLI dev is ``xnli`` and the test split's aligned rows ``xnli-bitext``;
    XQuAD-R only whole (no article limit: the standard study's corpus).
    """
    sel = selectors(corpus_name)
    if dataset_id == "tico-19":
        domain = sel.get("domain")
        if sel.get("segments") == "test" and domain in TICO_DOMAINS:
            return f"tico-19:{domain}"
        return None
    if dataset_id == "xnli":
        return "xnli-bitext" if sel.get("split") == "test" else "xnli"
    if dataset_id in ("tatoeba", "tydiqa-goldp"):
        return dataset_id
    if dataset_id == "xquad-r" and not sel:
        return "xquad-r"
    return None


def _model_extras(models: pd.DataFrame) -> dict[str, tuple[bool, str]]:
    """model id -> (trained with extra pairs, budget key without the extra pairs)."""
    out: dict[str, tuple[bool, str]] = {}
    for row in models.to_dict("records"):
        card = _card(row.get("training_card")) or {}
        config = {k: v for k, v in (card.get("config") or {}).items() if k not in _NOT_BUDGET_HERE}
        extra = bool(card.get("extra_pairs")) or bool((card.get("config") or {}).get("extra_pairs"))
        out[str(row["model_id"])] = (extra, _budget({**card, "config": config}))
    return out


def question_runs_from(runs: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """The questions' runs among ``runs`` (``reads.list_runs`` rows), one per (suite,
    model): :func:`classify_runs` columns plus ``suite``, ``role``, ``role_label``.

    Left out: runs on corpora no question uses, corrected runs, hybrid runs with an alpha
    other than 0.5, trained models of other budgets or base models (see the module
    docstring), and older runs of the same model on the same corpus.
    """
    out = classify_runs(runs, models)
    empty = out.iloc[0:0].assign(suite=None, role=None, role_label=None)
    if runs.empty:
        return empty
    out["suite"] = [
        suite_of(str(d), str(n)) for d, n in zip(out["dataset_id"], out["corpus_name"], strict=True)
    ]
    out = out[out["suite"].notna() & (out["correction"] == "")]
    extras = _model_extras(models)
    roles = []
    for strategy, alpha, model in zip(
        out["strategy"], out["alpha"], out["underlying"], strict=True
    ):
        extra, _ = extras.get(str(model), (False, ""))
        if strategy == "hybrid" and not math.isclose(float(alpha), HYBRID_ALPHA):
            roles.append(None)
        elif strategy == "hybrid" and extra:
            roles.append("hybrid+pairs")
        elif strategy in ("base", "mono", "cross", "hybrid") and not extra:
            roles.append(strategy)
        else:
            roles.append(None)
    out["role"] = roles
    out = out[out["role"].notna()].copy()
    if out.empty:
        return empty
    out["budget"] = [
        extras.get(str(m), (False, b))[1] if s != "base" else ""
        for m, s, b in zip(out["underlying"], out["strategy"], out["budget"], strict=True)
    ]
    if "created_at" in out:
        out = out.sort_values("created_at", ascending=False, kind="stable")
    out = out.drop_duplicates(["corpus_fp", "model_id"], keep="first")
    # one corpus per suite: the one with the most runs (ties: the first met, the newest)
    counts = out.groupby(["suite", "corpus_fp"], sort=False).size().reset_index(name="n")
    chosen = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("suite")
    out = out[out["corpus_fp"].isin(chosen["corpus_fp"])]
    trained = out[out["strategy"] != "base"]
    if len(trained):
        on_suites = trained[trained["suite"] != "xquad-r"]
        pool = on_suites if len(on_suites) else trained
        base_id, budget = pool.groupby(["base_model_id", "budget"], sort=False).size().idxmax()
        keep = ((out["strategy"] != "base") & (out["budget"] == budget)) | (
            out["strategy"] == "base"
        )
        out = out[keep & (out["base_model_id"] == base_id)]
    else:
        base_id = out["underlying"].value_counts().idxmax()
        out = out[out["underlying"] == base_id]
    out = out.copy()
    out["role_label"] = out["role"].map(ROLE_LABELS)
    return out.sort_values(["suite", "role", "seed"], kind="stable").reset_index(drop=True)


def question_runs(*, store: Any = None) -> pd.DataFrame:
    """:func:`question_runs_from` of every run in the store."""
    from hybriddash.store import reads

    return question_runs_from(reads.list_runs(store=store), reads.list_models(store=store))


def planned_pieces(
    profile: Any = None, train_data: str = "mlqa-r"
) -> dict[tuple[str, int | None], str]:
    """``(role, seed) -> piece key`` of the questions profile's plan (seed None: the base),
    so that what is missing can be named by the piece that produces it.

    The keys of :func:`hybriddash.training.study.questions_plan` (a test keeps the two
    equal), named here without building the plan: that checks the training configuration
    and so imports the trainer (torch), seconds a page should not wait for."""
    from hybriddash.training.reproduce import PROFILES, model_name

    profile = profile or PROFILES["questions"]
    out: dict[tuple[str, int | None], str] = {("base", None): f"{profile.name}-base"}
    for seed in profile.seeds:
        for sampler in ("mono", "cross", "hybrid"):
            out[(sampler, seed)] = model_name(profile, train_data, sampler, seed)
        if profile.extra_pairs:
            out[("hybrid+pairs", seed)] = f"repro-{profile.name}-{train_data}-hybrid-pairs-s{seed}"
    return out


def missing_pieces(
    runs: pd.DataFrame, needs: dict[str, tuple[str, ...]], profile: Any = None
) -> list[str]:
    """What of the plan is missing for ``needs`` (role -> suites): one line per piece of
    the profile's plan, ``"repro-questions-mlqa-r-cross-s5 (X-Y seed 5): not run"`` when
    it has no run on any suite the question needs from it, else ``"... : no run on
    Tatoeba, XNLI dev"``. Only the profile's own seeds are expected (on XQuAD-R, more
    seeds of the shared study may be present and are used)."""
    from hybriddash.training.reproduce import PROFILES

    profile = profile or PROFILES["questions"]
    pieces = planned_pieces(profile)
    lines = []
    for role, suites in needs.items():
        expected: list[int | None] = [None] if role == "base" else list(profile.seeds)
        for seed in expected:
            mine = runs[(runs["role"] == role) & (runs["seed"] == (-1 if seed is None else seed))]
            lost = [s for s in suites if s not in set(mine["suite"])]
            if not lost:
                continue
            what = ROLE_LABELS[role] + ("" if seed is None else f" seed {seed}")
            where = (
                "not run"
                if len(lost) == len(suites)
                else "no run on " + ", ".join(SUITE_LABELS[s] for s in lost)
            )
            lines.append(f"{pieces.get((role, seed), '?')} ({what}): {where}")
    return lines


def lost_runs(runs: pd.DataFrame, roles: Sequence[str], suites: Sequence[str]) -> str:
    """'' when every role has runs on every suite, else what lacks them, compactly:
    ``"no X-Y runs; Hybrid: none on TICO-19 cmu (test split)"``."""
    parts = []
    for role in dict.fromkeys(roles):
        have = set(runs.loc[runs["role"] == role, "suite"])
        lost = [s for s in suites if s not in have]
        if len(lost) == len(suites):
            parts.append(f"no {ROLE_LABELS[role]} runs")
        elif lost:
            parts.append(
                f"{ROLE_LABELS[role]}: none on " + ", ".join(SUITE_LABELS[s] for s in lost)
            )
    return "; ".join(parts)
