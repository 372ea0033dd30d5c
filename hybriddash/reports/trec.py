"""Any stored run as TREC files, so ``trec_eval``, ``pytrec_eval``, ``ranx`` or
``ir_measures`` can check our numbers.

- **qrels** (``<name>.qrels``): ``query_id 0 candidate_id 1`` for every relevant
  candidate of every query (relevance is binary), from the run's
  ``query_relevant_ranks`` (the judgements the run was scored with).
- **run** (``<name>.run``): ``query_id Q0 candidate_id rank score <tag>``, each query's
  candidates by descending cosine, ranks 1..depth. Scores are recomputed from the
  model's cached embeddings of the stored texts (nothing is re-encoded after an
  evaluation). ``depth=None`` writes every query's list down to its deepest relevant
  candidate (and at least the run's top-k), so AP over the file is the exact
  full-depth AP we store; a smaller ``depth`` cuts the lists (AP@depth).

``cand_lang=None`` is the pooled (multilingual) setting, all candidates; a language
code restricts candidates and judgements to that language (the X -> Y pools). Our
per-query AP of that setting is ``query_metrics.ap`` with ``cand_lang`` = ``all`` or
the code, and ``trec_eval``'s ``map`` is their mean over queries with a judgement.
Our tie rule (equal scores: earlier candidate first) is not trec_eval's (equal scores:
larger document id first); scores are written with 9 significant digits, so only
scores equal in float32 can be ordered differently.

The export's scores come from one numpy matmul, the evaluation's from blocked
single-threaded sgemm over language-grouped columns: the same dot product summed in
another order can differ in its last bit (seen: 0.9059747 against 0.90597475 on a tiny
random model, whose scores crowd together). ``near_tie_queries`` lists the queries
with a relevant and a non-relevant candidate scored within :data:`NEAR_TIE` of each
other: their AP depends on how such ties are broken (here, in the evaluation, in
trec_eval), so a checker compares the others exactly. A relevant candidate whose rank
here differs from the stored one only across such a tie is not a rank mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybriddash.reports.alignment import _encode, corpus_candidates, model_spec_for
from hybriddash.reports.tables import ReadableStore, StoreEmptyError, _frame

_BLOCK = 1024  # queries scored per matmul
#: Scores closer than this may be ordered either way by two computations of the same
#: ranking: summing a dot product in another order moved unit-vector cosines by at most
#: 1.2e-7 (2 float32 ulps near 1; measured over 26M scores at dimensions 32 and 384).
NEAR_TIE = 2.5e-7


@dataclass(frozen=True)
class TrecExport:
    """The two files' text and what they cover."""

    run: str
    qrels: str
    n_queries: int
    n_lines: int  # lines of the run file
    rank_mismatches: int  # relevant candidates whose rank here differs from the stored one
    #: queries whose AP depends on the order of near-equal scores (see the module doc)
    near_tie_queries: tuple[str, ...] = ()


def trec_export(
    run_id: str,
    *,
    cand_lang: str | None = None,
    depth: int | None = None,
    tag: str | None = None,
    store: ReadableStore | None = None,
) -> TrecExport:
    """The run and qrels files of a stored run (see the module docstring).

    Raises ``LookupError`` for an unknown run and ``ValueError`` for ``depth < 1`` or a
    ``cand_lang`` without candidates in the corpus.
    """
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    run = _frame(
        store,
        "SELECT model_id, corpus_fp, encode_mode, top_k FROM runs WHERE run_id = ?",
        [run_id],
    )
    if run.empty:
        raise StoreEmptyError(f"run {run_id!r} is not in the store (table runs)")
    model_id, corpus_fp, mode, top_k = run.iloc[0][
        ["model_id", "corpus_fp", "encode_mode", "top_k"]
    ]
    cands = corpus_candidates(corpus_fp, store=store)
    if cand_lang is not None:
        cands = cands[cands["lang"] == cand_lang].reset_index(drop=True)
        if cands.empty:
            raise ValueError(f"corpus {corpus_fp} has no candidate in language {cand_lang!r}")
    queries = _frame(
        store,
        "SELECT query_id, text FROM corpus_queries WHERE corpus_fp = ? ORDER BY query_id",
        [corpus_fp],
    )
    rel = _frame(
        store,
        "SELECT query_id, candidate_id, pooled_rank FROM query_relevant_ranks WHERE run_id = ?",
        [run_id],
    )
    if cand_lang is not None:
        rel = rel[rel["candidate_id"].isin(set(cands["candidate_id"]))]
    relevant: dict[str, set[str]] = {}
    for q, c in zip(rel["query_id"], rel["candidate_id"], strict=True):
        relevant.setdefault(str(q), set()).add(str(c))
    stored_rank = {
        (str(q), str(c)): int(r)
        for q, c, r in zip(rel["query_id"], rel["candidate_id"], rel["pooled_rank"], strict=True)
    }

    spec = model_spec_for(str(model_id), store=store)
    cand_vecs = _encode(spec, cands["text"].tolist(), "passage", str(mode))
    query_vecs = _encode(spec, queries["text"].tolist(), "query", str(mode))
    cand_ids = cands["candidate_id"].astype(str).to_numpy()
    position = {c: i for i, c in enumerate(cand_ids)}
    label = tag or f"hybriddash-{run_id}"
    run_lines: list[str] = []
    mismatches = 0
    near_ties: list[str] = []
    for start in range(0, len(queries), _BLOCK):
        scores = query_vecs[start : start + _BLOCK] @ cand_vecs.T
        for offset, row in enumerate(scores):
            qid = str(queries["query_id"].iloc[start + offset])
            order = np.argsort(-row, kind="stable")
            rank_of = np.empty_like(order)
            rank_of[order] = np.arange(1, len(order) + 1)
            rels = relevant.get(qid, set())
            deepest = max((int(rank_of[position[c]]) for c in rels), default=0)
            n = depth if depth is not None else max(deepest, int(top_k))
            for rank, idx in enumerate(order[: min(n, len(order))], start=1):
                run_lines.append(f"{qid} Q0 {cand_ids[idx]} {rank} {row[idx]:.9g} {label}")
            # ascending negated scores: the ranks a score's near ties span by bisection
            descending = -row[order]
            rel_ranks = np.sort([int(rank_of[position[c]]) for c in rels])
            tie_affected = False
            for c in rels:
                score = row[position[c]]
                first = int(np.searchsorted(descending, -score - NEAR_TIE, "left")) + 1
                last = int(np.searchsorted(descending, -score + NEAR_TIE, "right"))
                relevant_inside = np.count_nonzero((rel_ranks >= first) & (rel_ranks <= last))
                tie_affected |= last - first + 1 > relevant_inside
                # stored pooled ranks are over all candidates
                if cand_lang is None and int(rank_of[position[c]]) != stored_rank[(qid, c)]:
                    mismatches += not first <= stored_rank[(qid, c)] <= last
            if tie_affected:
                near_ties.append(qid)
    qrels_lines = [f"{q} 0 {c} 1" for q in sorted(relevant) for c in sorted(relevant[q])]
    return TrecExport(
        "\n".join(run_lines) + "\n",
        "\n".join(qrels_lines) + "\n",
        len(queries),
        len(run_lines),
        mismatches,
        tuple(near_ties),
    )


def write_trec(
    run_id: str,
    out_dir: str | Path,
    *,
    cand_lang: str | None = None,
    depth: int | None = None,
    store: ReadableStore | None = None,
) -> tuple[Path, Path]:
    """Write ``<run_id>[.<lang>].run`` and ``.qrels`` into ``out_dir``; return their paths."""
    export = trec_export(run_id, cand_lang=cand_lang, depth=depth, store=store)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = run_id if cand_lang is None else f"{run_id}.{cand_lang}"
    run_path, qrels_path = folder / f"{stem}.run", folder / f"{stem}.qrels"
    run_path.write_text(export.run, encoding="utf-8")
    qrels_path.write_text(export.qrels, encoding="utf-8")
    return run_path, qrels_path
