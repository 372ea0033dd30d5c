"""Small numpy helpers shared by every encode path (torch, ONNX Runtime, OpenVINO).

A leaf module: the encode paths import it, it imports none of them.
"""

from __future__ import annotations

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as float32 rows of unit L2 norm (an all-zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of ``hidden`` ``[batch, tokens, d]`` over the tokens whose mask is 1 -> ``[batch, d]``
    (as sentence-transformers' mean Pooling; a row without tokens gives zeros)."""
    mask = np.asarray(attention_mask)[:, :, None].astype(np.float32)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
