"""Data-parallel training: 2 CPU processes (torchrun, gloo backend), tiny model, sample corpus.

Each rank records the question texts of every batch its collator receives; the test
rebuilds the sampler's global batch sequence in-process and checks that rank r got
exactly the global batches r, r + 2, r + 4, ... (its own deterministic share), that the
two shares are disjoint, and that only rank 0 saved and registered the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WORKER = textwrap.dedent(
    """
    import json, os, sys
    from sentence_transformers.sentence_transformer.data_collator import (
        SentenceTransformerDataCollator as Collator,
    )

    seen = []
    original = Collator.__call__

    def recording(self, features):
        seen.append([f["anchor"] for f in features])
        return original(self, features)

    Collator.__call__ = recording

    from hybriddash.data.datasets import load_dataset
    from hybriddash.encoders.registry import resolve_model
    from hybriddash.training.trainer import TrainConfig, train

    base, out_dir = sys.argv[1], sys.argv[2]
    cfg = TrainConfig(out="ddp", sampler="hybrid", base=base, train_data="sample", steps=3,
                      batch_size=4, lr=1e-3, max_length=24, eval_every=3, warmup_ratio=0.0)
    result = train(cfg, corpus=load_dataset("sample"), base_spec=resolve_model(base),
                   progress=False)
    rank = int(os.environ["RANK"])
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
        json.dump({"batches": seen, "world": result.card["cpu_options"]["world_size"],
                   "steps": result.card["steps_done"]}, fh)
    """
)


def test_two_gloo_processes_train_on_disjoint_deterministic_shares(
    tmp_artifacts, tmp_path, tiny_model_spec, sample_corpus
):
    script = tmp_path / "ddp_worker.py"
    script.write_text(WORKER)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            tiny_model_spec.source,
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert [r["steps"] for r in ranks] == [3, 3]

    # the global sequence, rebuilt in this process with the run's split and seed
    from hybriddash.encoders.registry import resolve_model
    from hybriddash.training.pairs import build_pairs, split_by_group
    from hybriddash.training.samplers import ParallelPairBatchSampler

    train_table, _ = split_by_group(build_pairs(sample_corpus), 0.1, seed=0)
    os.environ["WORLD_SIZE"] = "2"
    try:
        sampler = ParallelPairBatchSampler(train_table, batch_size=4, seed=0, kind="hybrid")
    finally:
        del os.environ["WORLD_SIZE"]
    assert len(sampler) % 2 == 0
    prefix = resolve_model(tiny_model_spec.source).query_prefix
    glob = [[prefix + train_table.query_text[i] for i in b.rows] for b in sampler.plan(0)]
    train_anchors = {prefix + t for t in train_table.query_text}
    for r, rank in enumerate(ranks):
        # the collator also sees validation batches (held-out questions only), and
        # accelerate's loader collates one batch ahead of the step that uses it
        got = [b for b in rank["batches"] if set(b) <= train_anchors]
        assert 3 <= len(got) <= 4
        assert got == glob[r::2][: len(got)], f"rank {r} did not get its share"
    assert not {tuple(b) for b in glob[0::2][:3]} & {tuple(b) for b in glob[1::2][:3]}

    folder = tmp_artifacts / "models" / "trained" / "ddp"
    card = json.loads((folder / "training_card.json").read_text())
    assert card["cpu_options"]["world_size"] == 2
    assert not list(folder.parent.glob(".ddp.tmp-*"))
    from hybriddash.store import reads

    assert "trained/ddp" in set(reads.list_models()["model_id"])
    assert Path(folder, "model.safetensors").is_file()


@pytest.mark.parametrize("world", [1, 3])
def test_epoch_length_is_a_multiple_of_the_world_size(world, sample_corpus, monkeypatch):
    from hybriddash.training.pairs import build_pairs
    from hybriddash.training.samplers import ParallelPairBatchSampler

    monkeypatch.setenv("WORLD_SIZE", str(world))
    s = ParallelPairBatchSampler(build_pairs(sample_corpus), batch_size=4, kind="cross")
    assert len(s) % world == 0 and len(s) >= len({q.group for q in sample_corpus.queries}) // 4
