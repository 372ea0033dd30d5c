"""Retrieval metrics: small, exact, pure functions over ranks of relevant candidates.

Conventions shared by every module here
---------------------------------------
- **Ranks are 1-based** positions in one searched pool (a language's candidates, or
  all candidates pooled).
- **Tie rule.** Candidates are ordered by descending score; equal scores are broken by
  candidate position in the corpus, lower index first. This is the order of a stable
  sort of the row by ``-score``; the rank of candidate ``r`` with score ``s_r`` is
  ``1 + #{c : s_c > s_r} + #{c : s_c == s_r and c < r}``. It is deterministic and does
  not depend on the model's luck with float rounding order. Float32 scores do tie
  (duplicate sentences across languages embed identically; ~1.7% of XQuAD-R queries
  with the base model have a relevant/non-relevant exact tie). trec_eval breaks ties
  by descending docno instead, so it agrees with us only where no relevant candidate
  is tied (or when docnos are given in decreasing order of index).
- **Full depth.** Every relevant candidate has an exact rank, however deep
  (:func:`hybriddash.retrieval.exact_ranks.relevant_ranks`); AP and rank distance have
  no cut-off. Only the ``@k`` measures (nDCG@10, Recall@100, share@k) cut.
- **Segments.** Vectorised kernels take ``ranks (nnz,)`` and a CSR pointer
  ``indptr (n + 1,)``: segment ``i`` is ``ranks[indptr[i]:indptr[i + 1]]``, the ranks of
  ALL relevant candidates of one query in one pool, in any order, distinct. An empty
  segment (no relevant candidate in that pool) gives NaN.
- **Settings** (:mod:`hybriddash.metrics.settings`): monolingual X->X, cross-lingual
  X->Y (X != Y), multilingual X->all; per-setting mAP is the mean over its queries, the
  headline numbers macro-average over languages / language pairs as the paper does.

Modules: :mod:`average_precision`, :mod:`ndcg`, :mod:`recall`, :mod:`first_relevant`,
:mod:`rank_distance`, :mod:`topk_share`, :mod:`language_preference` (MLAIRE's Language
Preference Rate and top-1 split), :mod:`rank_correlation` (Mean Rank Correlation of
parallel queries, MultiEuP-v2), :mod:`settings`.
"""

from hybriddash.metrics.average_precision import average_precision, average_precision_segments
from hybriddash.metrics.first_relevant import first_relevant_rank_segments
from hybriddash.metrics.ndcg import ndcg_at_k, ndcg_at_k_segments
from hybriddash.metrics.rank_distance import rank_distance_segments
from hybriddash.metrics.recall import recall_at_k, recall_at_k_segments
from hybriddash.metrics.topk_share import language_share_at_k, same_language_share_per_query

__all__ = [
    "average_precision",
    "average_precision_segments",
    "first_relevant_rank_segments",
    "language_share_at_k",
    "ndcg_at_k",
    "ndcg_at_k_segments",
    "rank_distance_segments",
    "recall_at_k",
    "recall_at_k_segments",
    "same_language_share_per_query",
]
