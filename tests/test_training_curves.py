"""Training curves: validation mAP formula, live curve file, card and store rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hybriddash.training.curves import CurveLog, curve_from_card, read_curve, validation_map


def test_validation_map_on_hand_built_rankings():
    # 2 queries (en, de), 3 candidates; scores chosen so the ranks are known
    q = np.eye(3, dtype=np.float32)[:2]
    c = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.5, 0.0, 0]], dtype=np.float32)
    # query en: scores 0.9, 0.2, 0.5 -> ranks 1, 3, 2; relevant {0, 1} -> AP = (1/1 + 2/3)/2
    # query de: scores 0.1, 0.8, 0.0 -> ranks 2, 1, 3; relevant {2} -> AP = 1/3
    relevant = np.array([[True, True, False], [False, False, True]])
    value = validation_map(q, ["en", "de"], c, relevant)
    assert value == pytest.approx(((1 + 2 / 3) / 2 + 1 / 3) / 2)


def test_validation_map_is_macro_over_query_languages():
    q = np.eye(3, dtype=np.float32)
    c = np.eye(3, dtype=np.float32)
    # en has two perfect queries, de one query whose positive ranks last (AP 1/3)
    relevant = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]], dtype=bool)
    assert validation_map(q, ["en", "en", "de"], c, relevant) == pytest.approx((1.0 + 0.5) / 2)


def test_ties_are_broken_by_candidate_position():
    q = np.ones((1, 2), dtype=np.float32)
    c = np.ones((3, 2), dtype=np.float32)  # all tied: ranks follow positions 1, 2, 3
    relevant = np.array([[False, False, True]])
    assert validation_map(q, ["en"], c, relevant) == pytest.approx(1 / 3)


def test_curve_log_writes_lines_that_a_reader_sees_while_running(tmp_path):
    path = tmp_path / "run.curve.jsonl"
    log = CurveLog(path)
    log.add(1, "train", "loss", 2.5)
    log.add(0, "validation", "map_multilingual", 0.4)
    log.add(2, "train", "loss", float("nan"))  # not finite: skipped
    live = read_curve(path)  # the file is still open for writing
    assert live[["step", "split", "metric"]].values.tolist() == [
        [1, "train", "loss"],
        [0, "validation", "map_multilingual"],
    ]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"step": 3, "spl')  # a line being written is skipped
    assert len(read_curve(path)) == 2
    log.close()
    assert len(log.rows) == 2
    assert read_curve(tmp_path / "missing.jsonl").empty
    assert curve_from_card({"curve": log.rows})["value"].tolist() == [2.5, 0.4]
    assert curve_from_card({}).empty


def test_training_records_curves_live_file_card_and_store(
    tmp_artifacts, sample_corpus, tiny_model_spec
):
    from hybriddash.store import reads
    from hybriddash.training.curves import live_curve_path
    from hybriddash.training.trainer import TrainConfig, train

    cfg = TrainConfig(
        out="tiny-curve",
        sampler="hybrid",
        base=tiny_model_spec.source,
        train_data="sample",
        steps=6,
        batch_size=8,
        max_length=32,
        eval_every=3,
        val_fraction=0.25,
        val_map_queries=40,
    )
    result = train(cfg, corpus=sample_corpus, base_spec=tiny_model_spec, progress=False)
    curve = pd.DataFrame(result.card["curve"])
    train_loss = curve[curve["split"] == "train"]
    assert train_loss["step"].tolist() == list(range(1, 7))
    val = curve[curve["split"] == "validation"]
    # validations at steps 0 (before training), 3 and 6: a loss and an mAP each
    for metric in ("loss", "map_multilingual"):
        assert val[val["metric"] == metric]["step"].tolist() == [0, 3, 6]
    maps = val[val["metric"] == "map_multilingual"]["value"]
    assert ((maps > 0) & (maps <= 1)).all()
    assert curve["elapsed_s"].is_monotonic_increasing
    # the live file holds the same rows
    live = read_curve(live_curve_path("tiny-curve"))
    assert live["value"].tolist() == pytest.approx(curve["value"].tolist())
    # registration wrote them to the store
    stored = reads.training_curves(["trained/tiny-curve"])
    assert len(stored) == len(curve)
    assert set(stored["metric"]) == {"loss", "map_multilingual"}
    card = json.loads((result.folder / "training_card.json").read_text())
    assert card["curve"] == result.card["curve"]
    # val_map_queries is a measurement setting: it does not change the fingerprint
    from hybriddash.training.trainer import config_fingerprint

    other = TrainConfig(**{**cfg.__dict__, "val_map_queries": 0})
    assert config_fingerprint(other, "a", "b") == config_fingerprint(cfg, "a", "b")


def test_store_of_schema_version_1_is_upgraded_and_reads_empty_curves(tmp_path):
    import duckdb

    from hybriddash.store import reads
    from hybriddash.store.db import SCHEMA_VERSION, Store

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO schema_info VALUES ('schema_version', '1')")
    con.close()
    store = Store(path)
    assert reads.training_curves(["m"], store=store).empty  # no table yet: empty, no error
    with store.write() as con:
        pass
    with store.read() as con:
        assert con.execute("SELECT value FROM schema_info").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM training_curves").fetchone()[0] == 0
