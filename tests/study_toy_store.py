"""A constructed study with known answers, for the verdict, bundle and Findings tests.

Not a conftest: tests import it. One evaluation corpus ``toy-study`` (languages de, en,
zh; :data:`N_PER_LANG` queries each). Per query ``q`` a base value ``u_q``; each role
adds a fixed shift per setting (:data:`SHIFTS`) plus per-(query, seed) noise of sd
:data:`NOISE` and a per-seed offset of sd 0.002. With these shifts the decision rule
must give:

- (a) hybrid vs X-X-mono, monolingual: shift 0 -> **supported** (equivalent);
- (b) hybrid vs X-Y, cross-lingual: hybrid 0.05 lower -> **contradicted**;
- (c) hybrid vs X-X-mono and X-Y, multilingual: +0.05 over both -> **supported**;
- (d) rank distance hybrid vs X-X-mono: equal in expectation, noise large ->
  **inconclusive**;
- (e) alpha 0.25 / 0.75 vs 0.5, multilingual: equal -> **supported**;
- (f) no corrected run -> **inconclusive** ("no corrected runs"), unless
  ``with_corrections``: base + center-docs is 0.03 below hybrid on multilingual and 1
  rank above on rank distance, hybrid + center-docs 0.02 above hybrid and 1 rank below
  -> **supported**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hybriddash.store import writes
from hybriddash.store.db import Store

LANGS = ("de", "en", "zh")
N_PER_LANG = 120
NOISE = 0.02
CORPUS_FP = "5707d00000000001"
BASE = "toy-base"
SETTINGS = ("monolingual", "crosslingual", "multilingual", "rank_distance")
# role -> shift per setting (mono, cross, multi, rank distance)
SHIFTS = {
    ("base", None, ""): (0.0, -0.10, -0.20, 3.0),
    ("mono", 1.0, ""): (0.02, 0.0, 0.0, 0.0),
    ("cross", 0.0, ""): (0.0, 0.05, 0.0, 0.0),
    ("hybrid", 0.5, ""): (0.02, 0.0, 0.05, 0.0),
    ("hybrid", 0.25, ""): (0.02, 0.0, 0.05, 0.0),
    ("hybrid", 0.75, ""): (0.02, 0.0, 0.05, 0.0),
}
CORRECTION_SHIFTS = {
    ("base", None, "center-docs"): (0.0, -0.10, 0.02, 1.0),
    ("hybrid", 0.5, "center-docs"): (0.02, 0.0, 0.07, -1.0),
}
SEEDS = (0, 1, 2)
RD_NOISE = 2.0


@dataclass
class _Spec:
    model_id: str
    fingerprint: str
    kind: str
    source: str = ""
    description: str = "constructed"
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    training_card: dict | None = field(default=None)


def model_id(strategy: str, alpha: float | None, seed: int) -> str:
    if strategy == "base":
        return BASE
    return f"trained/toy-{strategy}-a{alpha:g}-s{seed}"


def _card(strategy: str, alpha: float, seed: int, curve_shift: float) -> dict:
    steps = (10, 20, 30, 40)
    curve = [
        {"step": s, "split": "train", "metric": "loss", "value": 2.0 / s, "elapsed_s": s}
        for s in steps
    ]
    curve += [
        {
            "step": s,
            "split": "validation",
            "metric": "map_multilingual",
            "value": 0.3 + 0.01 * s + curve_shift,
            "elapsed_s": s,
        }
        for s in steps
    ]
    return {
        "sampler": strategy,
        "alpha": alpha,
        "train_dataset": "toy-train",
        "base_model_id": BASE,
        "steps_done": 40,
        "config": {
            "out": f"toy-{strategy}",
            "sampler": strategy,
            "alpha": alpha,
            "seed": seed,
            "steps": 40,
            "batch_size": 8,
            "max_length": 32,
            "lr": 3e-5,
        },
        "curve": curve,
    }


def _frames(run_id: str, shifts: tuple, u: pd.DataFrame, rng: np.random.Generator):
    seed_offset = rng.normal(0, 0.002)
    rows, bias = [], []
    for q in u.itertuples():
        mono = np.clip(q.u + shifts[0] + seed_offset + rng.normal(0, NOISE), 0, 1)
        rows.append((run_id, q.query_id, q.lang, q.group, q.lang, "monolingual", mono))
        for c in LANGS:
            if c == q.lang:
                continue
            v = np.clip(q.u - 0.1 + shifts[1] + seed_offset + rng.normal(0, NOISE), 0, 1)
            rows.append((run_id, q.query_id, q.lang, q.group, c, "crosslingual", v))
        multi = np.clip(q.u - 0.3 + shifts[2] + seed_offset + rng.normal(0, NOISE), 0, 1)
        rows.append((run_id, q.query_id, q.lang, q.group, "all", "multilingual", multi))
        bias.append(
            (
                run_id,
                q.query_id,
                q.lang,
                int(round(max(0, 10 + shifts[3] + rng.normal(0, RD_NOISE)))),
            )
        )
    qm = pd.DataFrame(
        rows, columns=["run_id", "query_id", "query_lang", "group_id", "cand_lang", "setting", "ap"]
    )
    qb = pd.DataFrame(bias, columns=["run_id", "query_id", "query_lang", "rank_distance"])
    return qm, qb


def _headline(qm: pd.DataFrame, qb: pd.DataFrame) -> dict:
    def macro(setting):
        sub = qm[qm["setting"] == setting]
        return float(sub.groupby("query_lang")["ap"].mean().mean())

    return {
        "monolingual": macro("monolingual"),
        "crosslingual": float(
            qm[qm["setting"] == "crosslingual"]
            .groupby(["query_lang", "cand_lang"])["ap"]
            .mean()
            .mean()
        ),
        "multilingual": macro("multilingual"),
        "rank_distance": float(qb.groupby("query_lang")["rank_distance"].mean().mean()),
    }


def build_study_store(
    path: Path,
    *,
    with_corrections: bool = False,
    seed: int = 0,
    seeds: tuple[int, ...] = SEEDS,
    bf16_seeds: tuple[int, ...] | None = None,
) -> Store:
    """Write the constructed study to a store at ``path`` and return it.

    ``bf16_seeds``: the cards record ``bf16`` (True for these seeds, False for the
    others), as a study resumed on a machine without native bf16 has them."""
    store = Store(path)
    rng = np.random.default_rng(seed)
    n = N_PER_LANG
    u = pd.DataFrame(
        [
            {"query_id": f"g{i}/{lang}", "lang": lang, "group": f"g{i}", "u": ui}
            for i, ui in enumerate(rng.uniform(0.5, 0.9, size=n))
            for lang in LANGS
        ]
    )
    roles = dict(SHIFTS)
    if with_corrections:
        roles.update(CORRECTION_SHIFTS)
    with store.write() as con:
        con.execute(
            "INSERT INTO corpora (corpus_fp, dataset_id, name, languages, n_queries, n_candidates) "
            "VALUES (?, 'toy-study', 'toy-study', ?, ?, ?)",
            [CORPUS_FP, list(LANGS), len(u), len(u)],
        )
        con.executemany(
            "INSERT INTO corpus_queries VALUES (?, ?, ?, ?, ?)",
            [
                [CORPUS_FP, r.query_id, r.lang, r.group, f"question {r.query_id}?"]
                for r in u.itertuples()
            ],
        )
        minute = 0
        for (strategy, alpha, correction), shifts in roles.items():
            for s in seeds if strategy != "base" else (None,):
                underlying = model_id(strategy, alpha, s if s is not None else 0)
                mid = f"{underlying} + {correction}" if correction else underlying
                if not correction:
                    card = None if strategy == "base" else _card(strategy, alpha, s, shifts[2])
                    if card is not None and bf16_seeds is not None:
                        card["config"]["bf16"] = s in bf16_seeds
                    writes.register_model(
                        con,
                        _Spec(
                            mid,
                            f"{abs(hash(mid)) % 16**16:016x}",
                            "offline-base" if strategy == "base" else "trained",
                            training_card=card,
                        ),
                    )
                else:
                    writes.register_model(
                        con, _Spec(mid, f"{abs(hash(mid)) % 16**16:016x}", "corrected")
                    )
                run_id = f"run-{mid}".replace(" ", "")
                qm, qb = _frames(run_id, shifts, u, rng)
                writes.write_run(
                    con,
                    {
                        "run_id": run_id,
                        "model_id": mid,
                        "model_fp": "0" * 16,
                        "corpus_fp": CORPUS_FP,
                        "dataset_id": "toy-study",
                        "corpus_name": "toy-study",
                        "encode_mode": "float32",
                        "top_k": 10,
                        "n_queries": len(u),
                        "n_candidates": len(u),
                        "created_at": pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=minute),
                    },
                    {
                        "run_headline": _headline(qm, qb),
                        "query_metrics": qm,
                        "query_bias": qb,
                        "run_pair_metrics": qm.groupby(["query_lang", "cand_lang", "setting"])["ap"]
                        .mean()
                        .rename("map")
                        .reset_index(),
                    },
                )
                minute += 1
    return store


def open_findings(monkeypatch, store_path: Path, reference: Path | None = None):
    """The Findings page under AppTest on ``store_path`` (``reference``: the bundle loaded
    into an empty store at first start; none: no reference results)."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    monkeypatch.setenv("HYBRIDDASH_STORE", str(store_path))
    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(store_path.parent))
    monkeypatch.setenv("HYBRIDDASH_REFERENCE", str(reference) if reference else "off")
    at = AppTest.from_file(app, default_timeout=900)
    at.run()
    at.switch_page("views/findings.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
