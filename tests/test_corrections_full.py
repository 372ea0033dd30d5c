"""``evaluate --correction center-docs`` on the full XQuAD-R with the base model, against
an independent numpy computation (slow: real model, real data; embeddings cached)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

BASE = "multilingual-e5-small-q4"


def _numpy_multilingual_map(corpus, queries: np.ndarray, candidates: np.ndarray) -> float:
    """Centre each language's candidates, renormalise, exact AP over the pooled set,
    mean over queries per language, mean over languages. Uses no hybriddash metric code."""
    c = candidates.astype(np.float64)
    langs = np.array([x.lang for x in corpus.candidates])
    overall = c.mean(axis=0)
    for lang in np.unique(langs):
        c[langs == lang] += overall - c[langs == lang].mean(axis=0)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    c = c.astype(np.float32)
    index = {x.id: i for i, x in enumerate(corpus.candidates)}
    q_langs = np.array([q.lang for q in corpus.queries])
    ap = np.zeros(len(corpus.queries))
    for start in range(0, len(corpus.queries), 1024):
        block = queries[start : start + 1024] @ c.T
        for row, scores in enumerate(block):
            q = corpus.queries[start + row]
            rel = np.array(sorted(index[x] for x in corpus.relevant[q.id]))
            rel_scores = scores[rel]
            # rank = 1 + candidates scored strictly higher (+ tied ones earlier in order)
            ranks = 1 + (scores[None, :] > rel_scores[:, None]).sum(axis=1)
            ranks += ((scores[None, :] == rel_scores[:, None])
                      & (np.arange(scores.size)[None, :] < rel[:, None])).sum(axis=1)  # fmt: skip
            ranks = np.sort(ranks)
            ap[start + row] = np.mean(np.arange(1, ranks.size + 1) / ranks)
    return float(np.mean([ap[q_langs == lang].mean() for lang in np.unique(q_langs)]))


@pytest.mark.slow
def test_center_docs_on_full_xquad_r_matches_numpy(data_dir, tmp_path: Path, monkeypatch) -> None:
    from hybriddash.cli import main
    from hybriddash.data.datasets import load_dataset
    from hybriddash.encoders.encode import encode_corpus
    from hybriddash.encoders.registry import resolve_model

    # a fresh store; the configured artifacts keep the embedding cache
    monkeypatch.setenv("HYBRIDDASH_STORE", str(tmp_path / "store.duckdb"))
    out = tmp_path / "run.json"
    argv = ["evaluate", "--model", BASE, "--dataset", "xquad-r", "--mode", "onnx", "--quiet"]
    assert main([*argv, "--correction", "center-docs", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["model"] == f"{BASE} + center-docs" and doc["n_queries"] == 13090

    corpus = load_dataset("xquad-r")
    encoded = encode_corpus(resolve_model(BASE), corpus, mode="onnx", progress=False)
    expected = _numpy_multilingual_map(corpus, encoded.queries, encoded.candidates)
    print(
        f"center-docs multilingual mAP: hybriddash {doc['multilingual']:.5f}, numpy {expected:.5f}"
    )
    assert abs(doc["multilingual"] - expected) < 0.002

    # cached: the same command reuses the run; another method is another run
    assert main([*argv, "--correction", "center-docs", "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert again["reused"] is True and again["run_id"] == doc["run_id"]
