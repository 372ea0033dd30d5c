"""A constructed questions study (issue 24) with known answers.

Not a conftest: tests import it. Every role of the ``questions`` profile (base,
X-X-mono, X-Y, hybrid, hybrid + domain pairs; seeds 3, 4, 5, hybrid also 0-2 and 5 on
XQuAD-R) is evaluated on every suite. A query's value is::

    v = clip(u_g + shift(role, suite, lang) + o(role, seed) + e, 0, 1)

with ``u_g`` ~ U(0.4, 0.8) per group (shared by every language, role and seed of the
group: the translations of one item), ``o`` a per-(role, seed) offset of sd
``seed_sd`` and ``e`` per-query noise of sd :data:`NOISE`. Bitext suites (XNLI test,
Tatoeba) store ``first_relevant_rank = 1`` with probability ``v`` (else 2).

Default shifts (:data:`DEFAULT_SHIFTS`) give these answers:

- Q1: base -0.20 everywhere; X-X-mono and X-Y 0 in-domain, -0.05 out of domain; hybrid
  0 everywhere -> out-of-domain +0.05 over both (**improves**); retention 1.0 vs 0.75
  (+0.25, better);
- Q2: hybrid +0.05 cross-lingual and multilingual mAP, +0.15 bitext accuracy over
  X-X-mono; probe accuracy 0.60 vs 0.90 (per-item hits, one draw per group: **aligns
  better**; with ``probe_items=False`` no items: that row, and Q2, inconclusive);
- Q3: hybrid + pairs +0.06 on pubmed / cmu, 0 elsewhere and on XQuAD-R ->
  **helps the biomedical domain at no general cost**;
- Q4: TyDi: hybrid = X-X-mono = base -> all four rows non-inferior (**does not
  degrade**);
- Q5: hybrid's gain over X-Y and X-X-mono per language is ``0.10 - 0.10 · (log10 GiB -
  1)`` (more help for less data) -> slope -0.10 per decade: **helps the long tail
  more**. ``zu`` (TICO-19) and ``ber`` (Tatoeba) are not in CC-100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hybriddash.data.resources import cc100_gib

NOISE = 0.02
TATOEBA_LINES = 200
BASE = "toy-e5"
TICO_LANGS = ("en", "fr", "hi", "sw", "zu")
XNLI_LANGS = ("en", "de", "ar")
TYDI_LANGS = ("en", "fi", "sw")
XQUAD_LANGS = ("en", "de", "zh")
#: Tatoeba pairs: canonical language -> file code (ber: not in CC-100)
TATOEBA = {
    "de": "deu", "fr": "fra", "ru": "rus", "fi": "fin", "ar": "ara", "hi": "hin",
    "th": "tha", "sw": "swh", "ha": "hau", "so": "som", "eo": "epo", "cy": "cym",
    "af": "afr", "ber": "ber",
}  # fmt: skip
DOMAINS = ("wikipedia", "pubmed", "cmu", "wikivoyage", "wikinews", "wikisource")
SUITES = (*(f"tico-19:{d}" for d in DOMAINS), "xnli", "xnli-bitext", "tatoeba", "tydiqa-goldp",
          "xquad-r")  # fmt: skip
ROLES = ("base", "mono", "cross", "hybrid", "hybrid+pairs")
SEEDS = (3, 4, 5)


def _long_tail(lang: str) -> float:
    gib = cc100_gib(lang)
    return 0.10 - 0.10 * (math.log10(gib) - 1) if gib else 0.0


def default_shift(role: str, suite: str, lang: str) -> float:
    """The default effects (module docstring)."""
    if role == "base":
        return -0.20 if suite.startswith("tico-19") else 0.0
    if suite.startswith("tico-19"):
        domain = suite.split(":")[1]
        shift = 0.0 if domain == "wikipedia" or role.startswith("hybrid") else -0.05
        if role == "hybrid+pairs" and domain in ("pubmed", "cmu"):
            shift += 0.06
        if role.startswith("hybrid"):
            shift += _long_tail(lang) * 0.5  # per-language: +gain over mono/cross
        if role in ("mono", "cross"):
            shift -= _long_tail(lang) * 0.5
        return shift
    if suite in ("xnli", "xnli-bitext"):
        return 0.05 if role == "hybrid" and suite == "xnli" else 0.15 if role == "hybrid" else 0.0
    if suite == "tatoeba":
        return {"hybrid": 0.5, "mono": -0.5, "cross": -0.5}.get(role, 0.0) * _long_tail(lang)
    return 0.0


@dataclass
class ToyQuestions:
    """The constructed study: ``list_runs``/``list_models``-shaped frames, per-query
    values per (run, measure), probe accuracy per run."""

    runs: pd.DataFrame
    models: pd.DataFrame
    values: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    probes: dict[str, float] = field(default_factory=dict)
    qm: dict[str, pd.DataFrame] = field(default_factory=dict)
    items: dict[str, pd.DataFrame] = field(default_factory=dict)  # run_language_probe_items

    def value_source(self) -> Callable[[str, str], pd.DataFrame]:
        empty = pd.DataFrame({"group_id": [], "cell": [], "value": []})

        def values(run_id: str, measure: str) -> pd.DataFrame:
            if measure == "probe" and (run_id, measure) not in self.values:
                return empty  # a run stored without the probe's items
            return self.values[(run_id, measure)]

        return values

    def probe_source(self) -> Callable[[str], float]:
        return lambda run_id: self.probes.get(run_id, math.nan)


def model_id(role: str, seed: int | None) -> str:
    if role == "base":
        return BASE
    return f"trained/toy-q-{role.replace('+', '-')}-s{seed}"


def _card(role: str, seed: int, steps: int = 200) -> dict:
    sampler = "hybrid" if role.startswith("hybrid") else role
    config = {"sampler": sampler, "alpha": 0.5, "seed": seed, "steps": steps, "batch_size": 16}
    card = {
        "sampler": sampler,
        "alpha": 0.5 if sampler == "hybrid" else {"mono": 1.0, "cross": 0.0}[sampler],
        "train_dataset": "mlqa-r",
        "base_model_id": BASE,
        "config": config,
    }
    if role == "hybrid+pairs":
        spec = "tico-19[domain=pubmed,segments=train];tico-19[domain=cmu,segments=train]"
        config["extra_pairs"] = spec
        config["extra_share"] = 0.5
        card["extra_pairs"] = {"spec": spec, "split": ["train"], "n_pairs": 100}
    return card


def _corpus(suite: str) -> tuple[str, str, str]:
    """(dataset id, corpus name, corpus fp) of a suite."""
    if suite.startswith("tico-19"):
        d = suite.split(":")[1]
        name, ds = f"tico-19[domain={d};segments=test]", "tico-19"
    elif suite == "xnli-bitext":
        name, ds = "xnli[split=test]", "xnli"
    else:
        name = ds = suite
    return ds, name, f"{abs(hash(name)) % 16**16:016x}"


def _queries(suite: str, n_groups: int) -> list[tuple[str, str, str, str]]:
    """(query_id, group_id, query_lang, cell target) per query and cell of a suite;
    Tatoeba has ``TATOEBA_LINES`` lines per language (its accuracy is a share of 0/1)."""
    out = []
    if suite == "tatoeba":
        for lang, code in TATOEBA.items():
            for i in range(TATOEBA_LINES):
                g = f"{code}:{i}"
                out.append((f"{g}/{lang}", g, lang, "en"))
                out.append((f"{g}/en", g, "en", lang))
        return out
    langs = {"xnli": XNLI_LANGS, "xnli-bitext": XNLI_LANGS, "tydiqa-goldp": TYDI_LANGS,
             "xquad-r": XQUAD_LANGS}.get(suite, TICO_LANGS)  # fmt: skip
    prefix = suite.replace(":", "-")
    for i in range(n_groups):
        g = f"{prefix}-g{i}"
        for lang in langs:
            out.append((f"{g}/{lang}", g, lang, ""))
    return out


def build_questions(
    *,
    seed: int = 0,
    n_groups: int = 60,
    seed_sd: float = 0.002,
    shift: Callable[[str, str, str], float] = default_shift,
    seed_shift: Callable[[str, int, str], float] | None = None,
    roles: dict[str, tuple[str, ...]] | None = None,
    hybrid_xquad_seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5),
    contaminated: bool = False,
    group_effect: Callable[[str, str, int], float] | None = None,
    split_groups: bool = False,
    probe_items: bool = True,
) -> ToyQuestions:
    """The constructed study. ``roles``: role -> the suites it has runs on (default:
    every role on every suite); ``seed_shift(role, seed, suite)`` adds a fixed offset
    per seed (to build seed variance with a known mean); ``group_effect(role, suite,
    i)`` a fixed offset per group index i, shared by the group's languages;
    ``split_groups`` stores every query as its own group (the same values)."""
    rng = np.random.default_rng(seed)
    roles = roles or {r: SUITES for r in ROLES}
    models, runs = [], []
    toy = ToyQuestions(pd.DataFrame(), pd.DataFrame())
    u_cache: dict[str, float] = {}
    minute = 0
    for role, suites in roles.items():
        for s_seed in (
            (None,)
            if role == "base"
            else SEEDS + tuple(s for s in hybrid_xquad_seeds if role == "hybrid" and s not in SEEDS)
        ):
            mid = model_id(role, s_seed)
            card = None if role == "base" else _card(role, int(s_seed or 0))
            models.append(
                {
                    "model_id": mid,
                    "kind": "offline-base" if role == "base" else "trained",
                    "sampler": None if card is None else card["sampler"],
                    "alpha": None if card is None else card["alpha"],
                    "base_model_id": None if card is None else BASE,
                    "train_dataset": None if card is None else "mlqa-r",
                    "training_card": None if card is None else json.dumps(card),
                    "fingerprint": f"{abs(hash(mid)) % 16**16:016x}",
                }
            )
            offset = rng.normal(0, seed_sd)
            for suite in suites:
                if s_seed is not None and s_seed not in SEEDS and suite != "xquad-r":
                    continue
                if role == "hybrid" and suite == "xquad-r" and s_seed not in hybrid_xquad_seeds:
                    continue
                ds, name, fp = _corpus(suite)
                run_id = f"run-{mid}-{name}".replace("/", "_")
                extra = seed_shift(role, int(s_seed), suite) if seed_shift and s_seed else 0.0
                rows = []
                for i, (qid, g, lang, target) in enumerate(_queries(suite, n_groups)):
                    u = u_cache.setdefault(g, float(rng.uniform(0.4, 0.8)))
                    cell_lang = target if target and lang == "en" else lang
                    v = u + shift(role, suite, cell_lang) + offset + extra
                    if group_effect is not None:
                        index = g.split(":")[1] if ":" in g else g.rsplit("g", 1)[1]
                        v += group_effect(role, suite, int(index))
                    v = float(np.clip(v + rng.normal(0, NOISE), 0, 1))
                    stored = f"{g}.{lang}.{i}" if split_groups else g
                    rows.extend(_rows(suite, qid, stored, lang, target, v, rng))
                qm = pd.DataFrame(
                    rows,
                    columns=["query_id", "group_id", "query_lang", "cand_lang", "setting", "ap",
                             "first_relevant_rank"],
                )  # fmt: skip
                qm.insert(0, "run_id", run_id)
                toy.qm[run_id] = qm
                for measure in ("monolingual", "crosslingual", "multilingual", "bitext"):
                    setting = "crosslingual" if measure == "bitext" else measure
                    part = qm[qm["setting"] == setting]
                    value = (
                        (part["first_relevant_rank"] == 1).astype(float)
                        if measure == "bitext"
                        else part["ap"]
                    )
                    toy.values[(run_id, measure)] = pd.DataFrame(
                        {
                            "group_id": part["group_id"].to_numpy(),
                            "cell": (part["query_lang"] + ">" + part["cand_lang"]).to_numpy(),
                            "value": value.to_numpy(dtype=float),
                        }
                    )
                if suite == "xnli":
                    toy.probes[run_id] = 0.60 if role == "hybrid" else 0.90
                    if probe_items:
                        # each group's items share one draw (translations); hit if below
                        # the role's accuracy: about 0.60 vs 0.90
                        groups = sorted({g for _q, g, _l, _t in _queries(suite, n_groups)})
                        draw = {
                            g: (7 * i % len(groups) + 0.5) / len(groups)
                            for i, g in enumerate(groups)
                        }
                        items = pd.DataFrame(
                            [
                                {"item_id": f"{g}/{lang}", "lang": lang, "group_id": g,
                                 "correct": bool(draw[g] < toy.probes[run_id])}
                                for g in groups
                                for lang in XNLI_LANGS
                            ]
                        )  # fmt: skip
                        toy.items[run_id] = items
                        toy.values[(run_id, "probe")] = pd.DataFrame(
                            {
                                "group_id": items["group_id"].to_numpy(),
                                "cell": np.full(len(items), "all", dtype=object),
                                "value": items["correct"].astype(float).to_numpy(),
                            }
                        )
                multi = qm[qm["setting"] == "multilingual"]
                runs.append(
                    {
                        "run_id": run_id,
                        "model_id": mid,
                        "model_fp": "0" * 16,
                        "corpus_fp": fp,
                        "dataset_id": ds,
                        "corpus_name": name,
                        "encode_mode": "onnx",
                        "top_k": 10,
                        "n_queries": int(qm["query_id"].nunique()),
                        "n_candidates": int(qm["query_id"].nunique()),
                        "contaminated": contaminated and role == "hybrid+pairs",
                        "contamination_note": "2 shared groups"
                        if contaminated and role == "hybrid+pairs"
                        else None,
                        "created_at": pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=minute),
                        "multilingual": float(multi.groupby("query_lang")["ap"].mean().mean())
                        if len(multi)
                        else math.nan,
                    }
                )
                minute += 1
    toy.runs = pd.DataFrame(runs).sort_values("created_at", ascending=False, ignore_index=True)
    toy.models = pd.DataFrame(models)
    return toy


def _rows(suite, qid, g, lang, target, v, rng) -> list[tuple]:
    """query_metrics rows of one query: the settings each suite's rules read."""
    if suite in ("xnli-bitext", "tatoeba"):
        rank = 1 if rng.uniform() < v else 2
        cands = [target] if target else [x for x in XNLI_LANGS if x != lang]
        return [(qid, g, lang, c, "crosslingual", v, rank) for c in cands]
    if suite == "tydiqa-goldp":
        return [(qid, g, lang, lang, "monolingual", v, 1), (qid, g, lang, "all", "multilingual",
                 v - 0.1, 1)]  # fmt: skip
    if suite == "xnli":
        cross = [(qid, g, lang, c, "crosslingual", v - 0.05, 1) for c in XNLI_LANGS if c != lang]
        return [*cross, (qid, g, lang, "all", "multilingual", v - 0.1, 1)]
    return [(qid, g, lang, "all", "multilingual", v, 1)]


def write_store(toy: ToyQuestions, path: Path):
    """The constructed study written to a DuckDB store at ``path`` (returned)."""
    from study_toy_store import _Spec

    from hybriddash.store import writes
    from hybriddash.store.db import Store

    store = Store(path)
    with store.write() as con:
        for fp, grp in toy.runs.groupby("corpus_fp"):
            first = grp.iloc[0]
            con.execute(
                "INSERT INTO corpora (corpus_fp, dataset_id, name, languages, n_queries, "
                "n_candidates) VALUES (?, ?, ?, ?, ?, ?)",
                [fp, first["dataset_id"], first["corpus_name"], ["en"], 1, 1],
            )
        for m in toy.models.to_dict("records"):
            card = json.loads(m["training_card"]) if isinstance(m["training_card"], str) else None
            writes.register_model(con, _Spec(m["model_id"], m["fingerprint"], m["kind"],
                                             training_card=card))  # fmt: skip
        for r in toy.runs.to_dict("records"):
            qm = toy.qm[r["run_id"]]
            frames = {"query_metrics": qm, "run_headline": {"multilingual": r["multilingual"]}}
            if r["run_id"] in toy.items:
                frames["run_language_probe_items"] = toy.items[r["run_id"]]
            if r["run_id"] in toy.probes:
                frames["run_language_probe"] = pd.DataFrame(
                    [{"lang": "all", "accuracy": toy.probes[r["run_id"]], "chance": 0.34,
                      "n_samples": 90, "n_folds": 5}]
                )  # fmt: skip
            cross = qm[qm["setting"] == "crosslingual"]
            if len(cross):
                frames["run_bitext_accuracy"] = (
                    cross.assign(acc=(cross["first_relevant_rank"] == 1).astype(float))
                    .groupby(["query_lang", "cand_lang"])
                    .agg(accuracy=("acc", "mean"), n_queries=("acc", "size"))
                    .reset_index()
                )
            run = {k: v for k, v in r.items() if k != "multilingual"}
            writes.write_run(con, run, frames)
    return store
