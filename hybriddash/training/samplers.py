"""Batch samplers for in-batch-negatives training: X-X-mono, X-Y and hybrid batches.

The samplers plug into sentence-transformers' own trainer through its documented
extension point: ``SentenceTransformerTrainingArguments(batch_sampler=...)`` accepts a
callable that the trainer calls as ``sampler(dataset, batch_size=, drop_last=,
valid_label_columns=, generator=, seed=)`` for the train and the eval dataset;
:func:`make_batch_sampler` returns such a callable. The dataset is a pair table made by
:meth:`hybriddash.training.pairs.PairTable.to_dataset`: its Arrow table carries the
metadata columns ``group``, ``component``, ``qlang``, ``plang`` that the sampler reads,
while the collator only sees ``anchor`` and ``positive``.

Batch kinds (Elmahdy et al. 2024; LAReQA's X-X-mono and X-Y):

- ``mono``: one language L is drawn uniformly among the languages that have
  monolingual pairs; every row of the batch has query and passage in L.
- ``cross``: every row has query language != passage language; each row is drawn
  uniformly among its component's cross-lingual rows.
- ``hybrid``: each batch is ``mono`` with probability ``alpha``, else ``cross``
  (``alpha = 1`` is exactly mono, ``alpha = 0`` exactly cross).

Extra parallel pairs (rows marked ``extra``, :mod:`hybriddash.training.extra_pairs`) feed
the cross-lingual side only: a cross batch takes ``round(extra_share * batch_size)`` rows
from them and the rest from the corpus's own cross-lingual rows. A table without extra
rows plans exactly the batches it planned before the option existed.

Invariants: a batch holds at most one row per conflict component (see
:mod:`hybriddash.training.pairs`), hence never the same parallel group or the same
passage text twice. Batches have ``batch_size`` rows unless the chosen language (or the
cross-lingual pool) has fewer components, then all of them. The batches of epoch ``e``
are a pure function of ``(seed, e)``: every DDP rank computes the same global sequence
and accelerate's ``BatchSamplerShard`` hands rank ``r`` the batches ``i`` with
``i % world_size == r``; the number of batches per epoch is rounded up to a multiple of
the world size so every rank takes the same number of steps.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sentence_transformers.base.sampler import DefaultBatchSampler

from hybriddash.training import SAMPLER_KINDS


@dataclass(frozen=True)
class BatchPlan:
    """One planned batch: its kind (``mono``/``cross``), the mono language, the rows."""

    kind: str
    lang: str | None
    rows: tuple[int, ...]


class _Pool:
    """Rows grouped by component, for drawing one row from each of k distinct components."""

    def __init__(self, rows: np.ndarray, component: np.ndarray) -> None:
        order = np.argsort(component[rows], kind="stable")
        self.rows = rows[order]
        comps = component[self.rows]
        _, self.starts, self.counts = np.unique(comps, return_index=True, return_counts=True)

    @property
    def n_components(self) -> int:
        return len(self.starts)

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Rows of min(k, n) distinct components, each row uniform within its component."""
        k = min(k, self.n_components)
        picked = rng.choice(self.n_components, size=k, replace=False)
        offsets = np.floor(rng.random(k) * self.counts[picked]).astype(np.int64)
        return self.rows[self.starts[picked] + offsets]


def _metadata(dataset: Any) -> dict[str, np.ndarray]:
    """The ``component``, ``qlang``, ``plang``, ``group`` columns of a pair dataset.

    Accepts a ``datasets.Dataset`` made by ``PairTable.to_dataset`` (columns read past
    its format) or a :class:`~hybriddash.training.pairs.PairTable`.
    """
    names = ("component", "qlang", "plang", "group")
    if hasattr(dataset, "with_format"):
        raw = dataset.with_format(None)
        missing = [n for n in names if n not in raw.column_names]
        if missing:
            raise ValueError(
                f"pair dataset lacks metadata column(s) {missing}: build it with "
                "hybriddash.training.pairs.PairTable.to_dataset()"
            )
        meta = {n: np.asarray(raw[n]) for n in names}
        extra = raw["extra"] if "extra" in raw.column_names else []
    else:
        meta = {n: np.asarray(getattr(dataset, n)) for n in names}
        extra = getattr(dataset, "extra", [])
    n = len(meta["component"])
    meta["extra"] = np.asarray(extra, dtype=bool) if len(extra) else np.zeros(n, dtype=bool)
    return meta


def _world_size() -> int:
    """DDP world size: from torch.distributed when initialised, else $WORLD_SIZE, else 1."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


class ParallelPairBatchSampler(DefaultBatchSampler):
    """Yields index batches of mono / cross / hybrid kind over a pair dataset.

    Args:
        dataset: pair dataset (``PairTable.to_dataset()``) or a ``PairTable``.
        batch_size: rows (query, positive pairs) per batch.
        drop_last, valid_label_columns, generator: accepted for the trainer's calling
            convention; unused (batches are drawn, not cut from a permutation).
        seed: base seed; epoch ``e`` uses ``numpy.random.default_rng([seed, e])``.
        kind: ``mono``, ``cross`` or ``hybrid``.
        alpha: probability of a mono batch for ``hybrid`` (ignored otherwise), in [0, 1].
        num_batches: batches per epoch; default ``max(1, n_components // batch_size)``
            (about one pass over the groups), rounded up to a multiple of the world size.
        extra_share: share of each cross batch drawn from the extra pairs, in [0, 1]
            (only when the dataset has rows marked ``extra``).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool = False,
        valid_label_columns: list[str] | None = None,
        generator: Any = None,
        seed: int = 0,
        *,
        kind: str = "hybrid",
        alpha: float = 0.5,
        num_batches: int | None = None,
        extra_share: float = 0.5,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        if kind not in SAMPLER_KINDS:
            raise ValueError(f"sampler kind must be one of {SAMPLER_KINDS}, got {kind!r}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.kind = kind
        self.alpha = {"mono": 1.0, "cross": 0.0}.get(kind, float(alpha))
        self.seed = 0 if seed is None else int(seed)
        meta = _metadata(dataset)
        self.n_rows = len(meta["component"])
        if self.n_rows == 0:
            raise ValueError("pair dataset is empty: nothing to sample batches from")
        component = meta["component"].astype(np.int64)
        qlang, plang = meta["qlang"], meta["plang"]
        mono = qlang == plang
        extra = meta["extra"] & ~mono
        if not 0.0 <= float(extra_share) <= 1.0:
            raise ValueError(f"extra_share must be in [0, 1], got {extra_share}")
        all_rows = np.arange(self.n_rows)
        self.mono_pools = {
            lang: _Pool(all_rows[mono & (qlang == lang) & ~meta["extra"]], component)
            for lang in sorted(set(qlang[mono & ~meta["extra"]].tolist()))
        }
        self.mono_langs = list(self.mono_pools)
        own = ~mono & ~extra
        self.cross_pool = _Pool(all_rows[own], component) if own.any() else None
        self.extra_pool = _Pool(all_rows[extra], component) if extra.any() else None
        # rows of a cross batch taken from the extra pairs (all when the corpus has none)
        self.n_extra = (
            0
            if self.extra_pool is None
            else batch_size
            if self.cross_pool is None
            else round(float(extra_share) * batch_size)
        )
        if self.cross_pool is None and self.extra_pool is not None:
            self.cross_pool, self.extra_pool = self.extra_pool, None
        if self.alpha > 0 and not self.mono_langs:
            raise ValueError("no monolingual pair (query and passage in one language) to sample")
        if self.alpha < 1 and self.cross_pool is None:
            raise ValueError(
                "no cross-lingual pair: the corpus has a single language per group; "
                "use --sampler mono or a parallel corpus"
            )
        self.n_components = len(np.unique(component))
        world = _world_size()
        base = num_batches if num_batches is not None else max(1, self.n_components // batch_size)
        self.num_batches = -(-int(base) // world) * world
        # accelerate's BatchSamplerShard drops short batches unless batch_size is None,
        # which marks batches of variable length; say so when some pool cannot fill one.
        pools = list(self.mono_pools.values()) if self.alpha > 0 else []
        if self.alpha < 1 and self.cross_pool is not None:
            pools.append(self.cross_pool)
        if self.alpha < 1 and self.extra_pool is not None:
            pools.append(self.extra_pool)
        self.nominal_batch_size = batch_size
        if min(p.n_components for p in pools) < batch_size:
            self.batch_size = None  # type: ignore[assignment]

    def plan(self, epoch: int | None = None) -> list[BatchPlan]:
        """The batches of ``epoch`` (default: the current one) with their kind and language."""
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng([self.seed, int(epoch)])
        out = []
        for _ in range(self.num_batches):
            # one uniform per batch whatever the kind keeps the stream layout fixed
            is_mono = rng.random() < self.alpha
            if is_mono:
                lang = self.mono_langs[int(rng.integers(len(self.mono_langs)))]
                rows = self.mono_pools[lang].draw(rng, self.nominal_batch_size)
                out.append(BatchPlan("mono", lang, tuple(int(r) for r in rows)))
            elif self.extra_pool is not None:
                own = self.cross_pool.draw(rng, self.nominal_batch_size - self.n_extra)  # type: ignore[union-attr]
                more = self.extra_pool.draw(rng, self.n_extra)
                out.append(BatchPlan("cross", None, tuple(int(r) for r in (*own, *more))))
            else:
                rows = self.cross_pool.draw(rng, self.nominal_batch_size)  # type: ignore[union-attr]
                out.append(BatchPlan("cross", None, tuple(int(r) for r in rows)))
        return out

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.plan():
            yield list(batch.rows)

    def __len__(self) -> int:
        return self.num_batches


def make_batch_sampler(
    kind: str, alpha: float = 0.5, num_batches: int | None = None, extra_share: float = 0.5
) -> Callable[..., ParallelPairBatchSampler]:
    """A callable for ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

    The trainer calls it with ``(dataset, batch_size=, drop_last=, valid_label_columns=,
    generator=, seed=)``; ``num_batches`` (per epoch) applies to the training and the
    eval dataset alike, so leave it None to size each from its own data.
    """
    if kind not in SAMPLER_KINDS:
        raise ValueError(f"sampler kind must be one of {SAMPLER_KINDS}, got {kind!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return functools.partial(
        ParallelPairBatchSampler,
        kind=kind,
        alpha=alpha,
        num_batches=num_batches,
        extra_share=extra_share,
    )
