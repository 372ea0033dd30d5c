"""Bitext retrieval accuracy (P@1) per direction.

For an ordered language pair X -> Y and the queries of X that have a relevant candidate
in Y, searched against Y's candidates only::

    accuracy(X -> Y) = (1 / |Q_XY|) * sum_{q in Q_XY} [first_relevant_rank_Y(q) == 1]

i.e. precision at 1 of the nearest neighbour by cosine (the score the ranks come from),
with the project's tie rule (:mod:`hybriddash.metrics`). With one relevant candidate
per query (a translation) this is the bitext mining accuracy of XTREME's Tatoeba task
(Hu et al. 2020, "XTREME", section 3: "we report accuracy", nearest neighbour by cosine
similarity) and MTEB's BitextMining "accuracy" (Muennighoff et al. 2023), and of LASER
(Artetxe & Schwenk 2019, whose error rate is 1 - accuracy). The two directions X -> en
and en -> X are reported separately.
"""

from __future__ import annotations

import numpy as np


def bitext_accuracy(first_relevant_rank: np.ndarray) -> float:
    """Share of queries whose rank-1 candidate (in the target language) is relevant.

    Args:
        first_relevant_rank: (n,) 1-based rank of each query's best-ranked relevant
            candidate in the target language's pool.

    Returns:
        accuracy in [0, 1]; NaN for no queries.
    """
    ranks = np.asarray(first_relevant_rank)
    if ranks.size == 0:
        return float("nan")
    if ranks.min() < 1:
        raise ValueError(f"ranks are 1-based, got {ranks.min()}")
    return float(np.mean(ranks == 1))
