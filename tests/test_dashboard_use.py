"""The dashboard under real use (issue 25): fast feedback, idle polling, stale state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_cancelling_a_queued_import_removes_its_staged_files(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hybriddash import jobs

    staged = jobs.stage_files([("a.csv", b"group_id,lang,question,answer\n")])
    job_id = jobs.submit(
        "import",
        {"sources": [str(staged / "a.csv")], "name": "a", "staged_folder": str(staged)},
        start_worker=False,
    )
    assert staged.is_dir()
    assert jobs.cancel(job_id) == "cancelled"
    assert not staged.exists()
    assert jobs.get_job(job_id).state == "cancelled"


def test_eta_counts_the_validation_passes_left() -> None:
    from hybriddash.training.estimate import curve_timing, remaining_seconds, validation_passes

    # 1 s per step, a validation after every 5th step taking 10 s more (as a live curve)
    rows, t = [{"step": 0, "split": "validation", "metric": "loss", "elapsed_s": 5.0}], 5.0
    for step in range(1, 13):
        t += 1.0
        rows.append({"step": step, "split": "train", "metric": "loss", "elapsed_s": t})
        if step % 5 == 0:
            t += 10.0
            rows.append({"step": step, "split": "validation", "metric": "loss", "elapsed_s": t})
    timing = curve_timing(rows)
    assert (timing.step, timing.step_s, timing.val_s) == (12, 1.0, 10.0)
    assert validation_passes(12, 30, 5) == 4  # after steps 15, 20, 25, 30
    assert validation_passes(0, 30, 5, at_start=True) == 7
    assert remaining_seconds(12, 30, 5, timing.step_s, timing.val_s) == 18 * 1.0 + 4 * 10.0
    assert remaining_seconds(12, 30, 5, 1.0, None) == 18.0  # no pass timed yet
    # at step 30 of 30 before its validation is logged: that pass and the saving remain
    assert remaining_seconds(30, 30, 5, 1.0, 10.0, pending_validation=True, finish_s=5.0) == 15.0
    assert timing.load_s == 5.0 and 10 in timing.validated


def test_estimate_before_the_run_counts_validation_passes_from_cards(
    tmp_artifacts: Path,
) -> None:
    from hybriddash.training.estimate import estimate_wall_time

    run = {
        "model_id": "trained/a",
        "base_model": "b",
        "batch_size": 8,
        "max_length": 32,
        "freeze_embeddings": True,
        "freeze_layers": 0,
        "bf16": False,
        "steps_done": 4,
        "eval_every": 2,
        "val_s": 20.0,
        "step_s": 1.0,
        "wall_s": 4 * 1.0 + 3 * 20.0 + 5.0,  # steps + passes (start, 2, 4) + loading
        "trained_at": "2026",
    }
    est = estimate_wall_time(
        base_model="b", steps=10, batch_size=8, max_length=32, eval_every=5, runs=[run]
    )
    assert est is not None and est.val_s == 20.0
    assert est.wall_s == pytest.approx(10 * 1.0 + 3 * 20.0 + 5.0)  # passes: start, 5, 10


def _ship_toy_alignment(store_path: Path, bundle: Path, model: str) -> None:
    """A bundle folder whose piece ships ``model``'s default alignment view of the toy
    corpus (coordinates made up; ids exactly as the page asks for them)."""
    import json

    import numpy as np
    import pandas as pd
    from dash_toy_store import TOY_FP

    from hybriddash.reports import alignment as al
    from hybriddash.store.db import Store

    store = Store(store_path)
    params = al.ProjectionParams()
    items = al.select_items(TOY_FP, params, store=store)
    fp = al._frame(store, "SELECT fingerprint FROM models WHERE model_id = ?", [model])
    mode = al.run_encode_mode(model, TOY_FP, store)
    pid = al.projection_id(f"{fp['fingerprint'].iloc[0]}:{mode}", TOY_FP, items, params)
    proj = items[["item_id", "item_kind", "lang", "group_id"]].assign(
        projection_id=pid, model_id=model, corpus_fp=TOY_FP, x=np.arange(len(items)) * 1.0, y=0.5
    )
    stats = pd.DataFrame(
        [
            {"source_lang": s, "target_lang": t, "n": 2, "cos_translation": 0.8}
            for s in ("de", "en")
            for t in ("de", "en")
            if s != t
        ]
    ).assign(
        model_id=model,
        corpus_fp=TOY_FP,
        seed=0,
        max_groups=al.STATS_GROUPS,
        n_groups=2,
        n_groups_total=2,
        cos_random=0.1,
        accuracy=1.0,
    )
    piece = bundle / "pieces" / "p1"
    piece.mkdir(parents=True)
    proj.to_parquet(piece / "alignment_projection.parquet")
    stats.to_parquet(piece / "alignment_stats.parquet")
    files = {
        name: {"path": f"{name}.parquet"} for name in ("alignment_projection", "alignment_stats")
    }
    manifest = {"pieces": {"p1": {"model_ids": [model], "files": files}}}
    with store.write() as con:
        con.execute(
            "INSERT INTO reference_bundles VALUES ('toy-ref', ?, ?, current_timestamp)",
            [str(bundle), json.dumps(manifest)],
        )


def test_alignment_page_shows_a_shipped_view_and_never_offers_a_model_without_weights(
    tmp_artifacts: Path, tmp_path: Path
) -> None:
    from dash_toy_store import TOY_FP, build_toy_store
    from streamlit.testing.v1 import AppTest

    from hybriddash import ui_state

    store_path = tmp_artifacts / "test.duckdb"
    build_toy_store(store_path)
    _ship_toy_alignment(store_path, tmp_path / "bundle", "hybrid")
    page = str(Path(__file__).resolve().parent.parent / "views" / "alignment.py")
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state[ui_state.CORPUS_KEY] = TOY_FP
    at.session_state[ui_state.MODELS_KEY] = ["base", "hybrid"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]  # no raw path, no traceback
    from hybriddash.reports import tables
    from hybriddash.store.db import Store

    models = tables.models_table(store=Store(store_path))
    label = {m: ui_state.model_label(m, models) for m in ("base", "hybrid")}
    assert label["hybrid"] != "hybrid"  # a human label, not the id
    box = at.selectbox(key=f"hd_al_model_{TOY_FP[:12]}")
    assert box.options == [label["hybrid"]]  # base has no weights here and ships nothing
    assert any(
        f"Not offered: **{label['base']}**" in c.value and "not on this machine" in c.value
        for c in at.caption
    )
    charts = at.get("plotly_chart")
    umap = json.loads(charts[0].proto.spec)
    assert umap["layout"]["title"]["text"] == label["hybrid"]
    assert any("2 of 2 parallel groups" in c.value for c in at.caption)
    # other settings than the shipped ones: said plainly, no attempt to load weights
    at.slider(key="hd_al_groups").set_value(5).run()
    assert not at.exception and not at.error
    assert any("only the bundle's default view" in i.value for i in at.info)


def test_train_page_suggested_name_follows_steps_until_the_user_names_the_model(
    tmp_artifacts: Path, tiny_model_spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from hybriddash import config, jobs
    from hybriddash.store.db import Store
    from hybriddash.store.writes import register_model

    monkeypatch.setattr(jobs, "ensure_worker", lambda: False)
    register_model(Store(config.store_path()), tiny_model_spec)
    page = str(Path(__file__).resolve().parent.parent / "views" / "train.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first = at.text_input(key="hd_train_out").value
    assert first.endswith("-100")
    at.number_input(key="hd_train_steps").set_value(60).run()
    assert at.text_input(key="hd_train_out").value == first.removesuffix("-100") + "-60"
    at.text_input(key="hd_train_out").input("mine").run()
    at.number_input(key="hd_train_steps").set_value(70).run()
    assert at.text_input(key="hd_train_out").value == "mine"  # the user's name stays
    assert not at.exception


def test_a_binary_upload_is_named_for_what_it_is() -> None:
    from hybriddash.data.upload import UploadRejected, validate_upload

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(UploadRejected) as refused:
        validate_upload([("corpus.csv", png)], "img")
    messages = [p.message for p in refused.value.problems]
    assert any("this is a PNG image" in m for m in messages), messages
    assert not any("Latin-1" in m for m in messages)


def _models_frame():
    import pandas as pd

    card = lambda seed: json.dumps({"config": {"seed": seed}})  # noqa: E731
    rows = [
        ("base-m", "offline-base", None, None, None, None, None),
        ("trained/repro-x-mono-s1", "trained", "mono", 1.0, card(1), "mlqa-r", None),
        ("trained/repro-x-mono-s0", "trained", "mono", 1.0, card(0), "mlqa-r", None),
        ("trained/repro-x-cross-s0", "trained", "cross", 0.0, card(0), "mlqa-r", None),
        ("trained/repro-x-hybrid-a0.25-s0", "trained", "hybrid", 0.25, card(0), "mlqa-r", None),
        ("trained/repro-x-hybrid-s0", "trained", "hybrid", 0.5, card(0), "mlqa-r", None),
        ("trained/mine", "trained", "hybrid", 0.5, card(3), "sample", None),
        ("trained/repro-x-hybrid-s0 + center-docs", None, None, None, None, None, "center-docs"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "model_id",
            "kind",
            "sampler",
            "alpha",
            "training_card",
            "train_dataset",
            "correction",
        ],
    )
    frame["correction_of"] = [None] * 7 + ["trained/repro-x-hybrid-s0"]
    return frame


def test_models_get_one_human_label_from_strategy_alpha_seed_data_and_correction() -> None:
    from hybriddash.reports.labels import model_label

    models = _models_frame()
    assert model_label("base-m", models) == "base · base-m"
    assert model_label("trained/repro-x-mono-s1", models) == "X-X-mono · seed 1 · trained on mlqa-r"
    assert model_label("trained/repro-x-hybrid-a0.25-s0", models).startswith(
        "Hybrid α=0.25 · seed 0"
    )
    assert model_label("trained/mine", models) == "Hybrid · seed 3 · trained on sample · mine"
    assert (
        model_label("trained/repro-x-hybrid-s0 + center-docs", models)
        == "Hybrid · seed 0 · trained on mlqa-r + center-docs"
    )
    assert model_label("unknown", models) == "unknown"


def test_a_new_session_starts_on_base_mono_cross_and_hybrid() -> None:
    from hybriddash.reports.labels import default_comparison

    models = _models_frame()
    available = list(models["model_id"])
    assert default_comparison(available, models) == [
        "base-m",
        "trained/repro-x-mono-s0",  # the lowest seed, whatever the order
        "trained/repro-x-cross-s0",
        "trained/repro-x-hybrid-s0",  # alpha 0.5 only, never a corrected encoder
    ]
    assert default_comparison(["base-m", "trained/mine"], models) == ["base-m", "trained/mine"]


def test_overview_estimate_counts_the_distinct_texts_of_a_subset() -> None:
    from hybriddash import ui_state
    from hybriddash.data.datasets import load_dataset

    corpus = load_dataset("sample", langs=["en", "de"])
    expected = len({q.text for q in corpus.queries}) + len({c.text for c in corpus.candidates})
    full = load_dataset("sample")
    assert ui_state.texts_to_encode("sample", ("en", "de")) == expected
    assert expected < len(full.queries) + len(full.candidates)
    assert ui_state.texts_to_encode("no-such-dataset") is None


def test_the_saving_time_after_the_last_validation_is_learnt_per_base_model(
    tmp_artifacts: Path,
) -> None:
    from hybriddash.training.estimate import finish_seconds, record_finish

    assert finish_seconds("m") == 0.0
    for seconds in (3.0, 5.0, 4.5):
        record_finish("m", seconds)
    assert finish_seconds("m") == 4.5  # the median of this CPU's runs
    assert finish_seconds("other") == 0.0
