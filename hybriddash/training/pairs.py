"""Training pairs from a parallel QA corpus: one row per (group, query lang, passage lang).

For every parallel group of a :class:`~hybriddash.data.corpus.Corpus` the table holds
the question in each language the group has, crossed with each positive passage of the
group (the LAReQA answer sentence in each language; for ``mlqa-train`` the paragraph).
Rows with ``qlang == plang`` are monolingual pairs, the others cross-lingual pairs, all
from the same groups, so a batch sampler can assemble any batch type by choosing
(group, query language, passage language) rows.

**Conflict components.** Two groups that share a positive candidate, or whose positives
have the same normalised text (``mlqa-train`` paragraphs answer several questions),
would be false negatives of each other inside one in-batch-negatives batch. Groups are
therefore merged into *components* (connected components of the graph group -- positive
passage); a batch takes at most one row per component, which implies no group twice and
no passage text twice. The validation split is drawn over components too, so no passage
is shared between the training and the held-out part.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from hybriddash.data.corpus import Corpus
from hybriddash.training.contamination import normalize_text

#: metadata columns of the pair dataset, besides the two text columns
META_COLUMNS = ("group", "component", "qlang", "plang")
#: the per-row list fields of :class:`PairTable`, in constructor order
ROW_FIELDS = (
    "group",
    "component",
    "qlang",
    "plang",
    "query_id",
    "candidate_id",
    "query_text",
    "passage_text",
)


@dataclass
class PairTable:
    """Columnar table of training pairs; all lists have one entry per row.

    ``component`` is the conflict component (int, see module doc); ``query_id`` and
    ``candidate_id`` point back into the source corpus; texts are raw (no prefix).
    ``extra`` marks rows of extra parallel pairs (:mod:`hybriddash.training.extra_pairs`);
    empty when the table has none.
    """

    group: list[str]
    component: list[int]
    qlang: list[str]
    plang: list[str]
    query_id: list[str]
    candidate_id: list[str]
    query_text: list[str]
    passage_text: list[str]
    source_fp: str = ""
    extra: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.group)

    @property
    def groups(self) -> list[str]:
        """Distinct group ids, sorted."""
        return sorted(set(self.group))

    @property
    def languages(self) -> list[str]:
        """Sorted languages that occur as query or passage language."""
        return sorted(set(self.qlang) | set(self.plang))

    @property
    def n_mono(self) -> int:
        return sum(q == p for q, p in zip(self.qlang, self.plang, strict=True))

    @property
    def n_cross(self) -> int:
        return len(self) - self.n_mono

    def take(self, rows: np.ndarray | list[int]) -> PairTable:
        """Sub-table of the given row indices (order kept)."""
        idx = [int(i) for i in rows]
        table = PairTable(
            *([getattr(self, name)[i] for i in idx] for name in ROW_FIELDS),
            source_fp=self.source_fp,
        )
        if self.extra:
            table.extra = [self.extra[i] for i in idx]
        return table

    def fingerprint(self) -> str:
        """sha256 (16 hex chars) of the rows (ids and texts), order-independent."""
        h = hashlib.sha256()
        for row in sorted(
            zip(
                self.group,
                self.qlang,
                self.plang,
                self.query_id,
                self.candidate_id,
                self.query_text,
                self.passage_text,
                strict=True,
            )
        ):
            h.update(json.dumps(row, ensure_ascii=False).encode())
        return h.hexdigest()[:16]

    def to_dataset(self, query_prefix: str = "query: ", passage_prefix: str = "passage: "):
        """A ``datasets.Dataset`` for ``SentenceTransformerTrainer``.

        Columns ``anchor`` (prefixed question) and ``positive`` (prefixed passage) are the
        only ones the collator sees (``set_format(columns=...)``); the metadata columns
        (:data:`META_COLUMNS`) stay in the Arrow table, where the batch samplers read them.
        """
        from datasets import Dataset

        ds = Dataset.from_dict(
            {
                "anchor": [query_prefix + t for t in self.query_text],
                "positive": [passage_prefix + t for t in self.passage_text],
                "group": list(self.group),
                "component": list(self.component),
                "qlang": list(self.qlang),
                "plang": list(self.plang),
                # only when there are extra pairs: a table without keeps its columns
                **({"extra": list(self.extra)} if any(self.extra) else {}),
            }
        )
        ds.set_format(type=None, columns=["anchor", "positive"])
        return ds


def build_pairs(corpus: Corpus) -> PairTable:
    """All (group, query language, passage language, positive) rows of ``corpus``.

    The positives of a group are the union of the relevant candidates of its queries
    (LAReQA: one answer sentence per language; several rows per language pair only when
    a group has several positives in one language). Rows are ordered by group (corpus
    order), query language, passage language, candidate position — deterministic.
    Raises ValueError when the corpus yields no pair.
    """
    cand = {c.id: c for c in corpus.candidates}
    cand_pos = corpus.candidate_index
    queries_by_group: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    positives_by_group: dict[str, set[str]] = defaultdict(set)
    group_order: dict[str, None] = {}
    for q in corpus.queries:
        group_order.setdefault(q.group, None)
        queries_by_group[q.group][q.lang].append(q)
        positives_by_group[q.group] |= corpus.relevant[q.id]

    components = _components(
        {g: positives_by_group[g] for g in group_order},
        {cid: normalize_text(c.text) for cid, c in cand.items()},
    )

    table = PairTable([], [], [], [], [], [], [], [], source_fp=corpus.fingerprint)
    for g in group_order:
        positives = sorted(positives_by_group[g], key=lambda cid: (cand[cid].lang, cand_pos[cid]))
        for qlang in sorted(queries_by_group[g]):
            for q in queries_by_group[g][qlang]:
                for cid in positives:
                    c = cand[cid]
                    table.group.append(g)
                    table.component.append(components[g])
                    table.qlang.append(qlang)
                    table.plang.append(c.lang)
                    table.query_id.append(q.id)
                    table.candidate_id.append(cid)
                    table.query_text.append(q.text)
                    table.passage_text.append(c.text)
    if not len(table):
        raise ValueError(f"{corpus.name}: no (question, positive passage) pair to train on")
    return table


def _components(positives: dict[str, set[str]], norm_text: dict[str, str]) -> dict[str, int]:
    """Union-find over groups linked by a shared positive id or normalised positive text.

    Returns group -> component number, numbered 0.. in first-appearance order of groups.
    """
    parent: dict[str, str] = {g: g for g in positives}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}  # passage key -> first group seen with it
    for g, cids in positives.items():
        for cid in sorted(cids):
            for key in (f"id:{cid}", f"text:{norm_text[cid]}"):
                if key in owner:
                    a, b = find(owner[key]), find(g)
                    if a != b:
                        parent[b] = a
                else:
                    owner[key] = g
    numbers: dict[str, int] = {}
    out: dict[str, int] = {}
    for g in positives:
        root = find(g)
        out[g] = numbers.setdefault(root, len(numbers))
    return out


def split_by_group(
    table: PairTable, val_fraction: float = 0.1, seed: int = 0, min_val_groups: int = 2
) -> tuple[PairTable, PairTable]:
    """Seeded held-out split by parallel group (whole conflict components).

    About ``val_fraction`` of the components (at least ``min_val_groups`` when the data
    allows, always leaving one for training) go to validation with all their rows in
    every language, so no validation question or passage is seen in training.
    ``val_fraction = 0`` returns an empty validation table.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    comps = sorted(set(table.component))
    if val_fraction == 0 or len(comps) < 2:
        return table, table.take([])
    n_val = max(min_val_groups, round(val_fraction * len(comps)))
    n_val = min(n_val, len(comps) - 1)
    rng = np.random.default_rng(seed)
    val_comps = set(rng.choice(np.array(comps), size=n_val, replace=False).tolist())
    val_rows = [i for i, c in enumerate(table.component) if c in val_comps]
    train_rows = [i for i, c in enumerate(table.component) if c not in val_comps]
    return table.take(train_rows), table.take(val_rows)
