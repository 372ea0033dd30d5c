"""Language-agnosticism: accuracy of a linear language-identification probe on embeddings.

Libovicky, Rosa & Fraser 2020, "On the Language Neutrality of Pre-trained Multilingual
Representations" (Findings of EMNLP 2020), section 3: a linear classifier trained to
predict the language of a sentence from its representation; high accuracy means the
representation carries language identity, so *lower accuracy = more language-agnostic*
(language-neutral). Here:

    accuracy = (1 / n) * sum_i [probe_{-fold(i)}(x_i) == lang_i]

with ``probe_{-f}`` a multinomial logistic regression (scikit-learn ``LogisticRegression``,
L2, C = 1, lbfgs) trained on the other folds of a stratified ``n_folds``-fold split and
``x_i`` the L2-normalised embedding. At most ``max_per_lang`` items per language are
drawn (seeded) so every language weighs alike and the cost stays bounded at 100+
languages; ``chance`` is the majority-class share of that sample (1 / n_langs when
balanced). Per language the recall of its items is reported as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ProbeResult:
    """``accuracy`` (overall), ``recall`` per language, ``chance``, ``n_samples``,
    ``n_folds``; ``rows`` (indices into the input of the probed sample) and ``correct``
    (whether each row's out-of-fold prediction was its language): ``accuracy =
    correct.mean()``, so a resample of the rows re-weights them without refitting."""

    accuracy: float
    recall: dict[str, float]
    counts: dict[str, int]
    chance: float
    n_samples: int
    n_folds: int
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    correct: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))


def language_probe_accuracy(
    embeddings: np.ndarray,
    langs: np.ndarray,
    *,
    n_folds: int = 5,
    max_per_lang: int = 200,
    seed: int = 0,
) -> ProbeResult:
    """Cross-validated language-ID probe accuracy (module docstring).

    Args:
        embeddings: (n, d) float embeddings.
        langs: (n,) language label of each row.
        n_folds: folds of the stratified split (clipped to the smallest class size).
        max_per_lang: rows drawn per language at most.
        seed: seed of the draw, the fold split and the solver.

    Raises ValueError when fewer than two languages, or a language with fewer than two
    rows, are given (no probe can be cross-validated).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(langs).astype(str)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"embeddings {x.shape} and langs {y.shape} do not match")
    rng = np.random.default_rng(seed)
    keep = []
    for lang in np.unique(y):
        rows = np.flatnonzero(y == lang)
        if rows.size > max_per_lang:
            rows = np.sort(rng.choice(rows, max_per_lang, replace=False))
        keep.append(rows)
    rows = np.concatenate(keep) if keep else np.empty(0, dtype=np.int64)
    x, y = x[rows], y[rows]
    labels, counts = np.unique(y, return_counts=True)
    if labels.size < 2 or counts.min() < 2:
        raise ValueError(
            "a language-ID probe needs at least two languages with two items each, got "
            f"{dict(zip(labels.tolist(), counts.tolist(), strict=True))}"
        )
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    folds = int(min(n_folds, counts.min()))
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probe = LogisticRegression(max_iter=1000, random_state=seed)
    predicted = cross_val_predict(probe, x, y, cv=split)
    correct = predicted == y
    return ProbeResult(
        accuracy=float(correct.mean()),
        recall={str(lang): float(correct[y == lang].mean()) for lang in labels},
        counts={str(lang): int(n) for lang, n in zip(labels, counts, strict=True)},
        chance=float(counts.max() / counts.sum()),
        n_samples=int(y.size),
        n_folds=folds,
        rows=rows.astype(np.int64),
        correct=np.asarray(correct, dtype=bool),
    )
