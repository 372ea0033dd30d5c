"""A corrected encoder on the dashboard: next to its uncorrected model on every page.

The store holds the tiny model on the sample corpus, plain and with ``center-docs``
(a model of its own, ``tiny-random-bert + center-docs``).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_app_pages import APP, _app, _by_key, _charts, _label, _no_exception, _tables_with

from hybriddash import ui_state
from hybriddash.reports import export, tables
from hybriddash.store.db import Store

K = 10


@pytest.fixture(scope="module")
def dash(tmp_path_factory, sample_corpus, tiny_model_spec):
    from hybriddash.evaluation import evaluate

    root = tmp_path_factory.mktemp("dash-corr")
    artifacts = root / "artifacts"
    artifacts.mkdir()
    store_path = artifacts / "dash.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRIDDASH_ARTIFACTS", str(artifacts))
        mp.setenv("HYBRIDDASH_STORE", str(store_path))
        store = Store(store_path)
        plain = evaluate(tiny_model_spec, sample_corpus, k=K, store=store, progress=False)
        corrected = evaluate(
            tiny_model_spec, sample_corpus, k=K, store=store, progress=False,
            correction="center-docs",
        )  # fmt: skip
        yield {
            "store": store,
            "path": store_path,
            "spec": tiny_model_spec,
            "corpus": sample_corpus,
            "a": plain.model_id,
            "b": corrected.model_id,
            "full_fp": plain.corpus_fp,
            "runs": (plain.run_id, corrected.run_id),
        }


def test_the_sidebar_lists_the_corrected_encoder_as_a_model(dash) -> None:
    at = _app(dash)
    models = _by_key(at.sidebar, "multiselect", ui_state.MODELS_KEY)
    assert dash["b"] == f"{dash['a']} + center-docs"
    # options show the human label (reports/labels.py): a model that is neither trained
    # nor the base keeps its id; the corrected encoder is its model's label + correction
    assert models.options == [dash["a"], f"{dash['a']} + center-docs"]
    assert set(models.value) == {dash["a"], dash["b"]}


def test_overview_shows_the_corrected_encoder_next_to_its_model(dash) -> None:
    at = _app(dash, "overview")
    headline = _tables_with(at, "mono mAP")[0]
    expected = tables.headline_table(dash["full_fp"], [dash["a"], dash["b"]], store=dash["store"])
    assert headline["model id"].tolist() == [dash["a"], dash["b"]]
    assert headline["model"].tolist() == [_label(dash, dash["a"]), _label(dash, dash["b"])]
    assert headline["correction"].tolist() == ["—", "center-docs"]
    assert headline["multi mAP"].to_numpy() == pytest.approx(expected["multilingual"].to_numpy())
    assert expected["multilingual"].iloc[0] != expected["multilingual"].iloc[1]
    chart = _charts(at)[0]
    assert {trace["name"] for trace in chart["data"]} == {
        _label(dash, dash["a"]),
        _label(dash, dash["b"]),
    }
    listed = _tables_with(at, "correction_fit")[0]
    assert listed.set_index("model_id").loc[dash["b"], "correction"] == "center-docs"


def test_dominance_shows_the_preference_measures_for_both(dash) -> None:
    at = _app(dash, "dominance", hd_dom_models=[dash["a"], dash["b"]])
    table = _tables_with(at, "LPR")[0]
    assert table["model"].tolist() == [_label(dash, dash["a"]), _label(dash, dash["b"])]
    pref = tables.language_preference_table(list(dash["runs"]), store=dash["store"])
    overall = pref[pref["query_lang"] == "all"]
    assert table["LPR"].to_numpy() == pytest.approx(overall["lpr"].to_numpy())
    assert table[f"MRC@{K}"].to_numpy() == pytest.approx(overall["mrc"].to_numpy())
    lpr_chart = [
        c
        for c in _charts(at)
        if c["layout"]["yaxis"]["title"]["text"] == "Language Preference Rate"
    ]
    assert len(lpr_chart) == 1
    assert {t["name"] for t in lpr_chart[0]["data"]} == {dash["a"], dash["b"], "no preference"}


def test_language_pairs_compares_the_model_with_its_correction(dash) -> None:
    at = _app(dash, "pairs")
    _by_key(at, "selectbox", "hd_pairs_model").select(dash["b"]).run()
    _no_exception(at)
    assert _charts(at)[0]["layout"]["title"]["text"].startswith(dash["b"])


def test_export_has_a_row_per_corrected_encoder(dash) -> None:
    table = export.headline_export(
        dash["full_fp"], [dash["a"], dash["b"]], significance=False, store=dash["store"]
    )
    assert table.data["model_id"].tolist() == [dash["a"], dash["b"]]
    assert table.data["correction"].tolist()[1] == "center-docs"
    assert table.data["correction_of"].tolist()[1] == dash["a"]
    assert [row[0].text for row in table.rows] == [dash["a"], dash["b"]]


def test_overview_form_passes_the_correction_to_evaluate(dash, monkeypatch) -> None:
    """The evaluate form's correction selector reaches the evaluation job's parameters,
    and the job's call of evaluation.evaluate (the same call the CLI makes); the new
    corrected encoder is then shown."""
    import hybriddash.evaluation as evaluation
    from hybriddash import jobs
    from hybriddash.jobs import kinds, records

    real = evaluation.evaluate
    calls = []

    def tiny_evaluate(model, dataset, **kwargs):  # the form lists registry models only
        calls.append((model, dataset, kwargs))
        return real(dash["spec"], dataset, k=K, **kwargs)

    monkeypatch.setenv("HYBRIDDASH_ARTIFACTS", str(dash["path"].parent))
    monkeypatch.setenv("HYBRIDDASH_STORE", str(dash["path"]))
    monkeypatch.setattr(evaluation, "evaluate", tiny_evaluate)
    monkeypatch.setattr(jobs, "ensure_worker", lambda: False)  # the test runs the job itself
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[ui_state.CORPUS_KEY] = dash["full_fp"]
    at.run()
    _by_key(at, "selectbox", "hd_eval_dataset").select("sample").run()
    _by_key(at, "number_input", "hd_eval_articles").set_value(2).run()
    _by_key(at, "selectbox", "hd_eval_correction").select("center").run()
    _by_key(at, "text_input", "hd_eval_fit_on").input("sample[articles=3-4]").run()
    command = at.code[0].value
    assert "--correction center --fit-on 'sample[articles=3-4]'" in command
    next(b for b in at.button if b.label == "Evaluate").click().run()
    _no_exception(at)
    [job] = records.list_jobs()
    assert job.kind == "evaluate" and job.state == "queued"
    assert job.params["correction"] == "center"
    assert job.params["fit_on"] == "sample[articles=3-4]"
    kinds.run("evaluate", job.params, lambda fraction, stage: None)
    ((model, dataset, kwargs),) = calls
    assert dataset == "sample" and kwargs["articles"] == 2
    assert kwargs["correction"] == "center" and kwargs["fit_on"] == "sample[articles=3-4]"
    runs = tables.runs_for(store=dash["store"])
    new = runs[runs["correction"] == "center"]
    assert new["model_id"].tolist() == [f"{dash['a']} + center(fit=sample[articles=3-4])"]
    assert new["correction_fit"].tolist() == ["sample[articles=3-4]"]
    # a new session lists the new encoder on the evaluated corpus
    fresh = AppTest.from_file(APP, default_timeout=300)
    fresh.query_params["dataset"] = new["corpus_name"].iloc[0]
    fresh.run()
    _no_exception(fresh)
    shown = _tables_with(fresh, "mono mAP")[0]["model id"].tolist()
    assert new["model_id"].iloc[0] in shown


def test_typed_queries_search_the_corrected_index(dash) -> None:
    import numpy as np

    from hybriddash.encoders import corrections as corr
    from hybriddash.reports import alignment

    text = "Wer hat das Buch geschrieben?"
    plain = alignment.search_text(dash["a"], dash["full_fp"], text, 5, store=dash["store"])
    corrected = alignment.search_text(dash["b"], dash["full_fp"], text, 5, store=dash["store"])
    assert len(corrected) == 5 and not np.allclose(plain["score"], corrected["score"])
    # the corrected scores are the query against centre-corrected candidates
    from hybriddash.encoders.encode import encode_texts

    cands = alignment.corpus_candidates(dash["full_fp"], store=dash["store"])
    vecs = encode_texts(dash["spec"], cands["text"].tolist(), "passage", progress=False)
    fixed = corr.apply_offsets(vecs, cands["lang"], corr.language_mean_offsets(vecs, cands["lang"]))
    query = encode_texts(dash["spec"], [text], "query", progress=False)[0]
    expected = np.sort(fixed @ query)[::-1][:5]
    np.testing.assert_allclose(corrected["score"].to_numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="pick"):
        alignment.projection(
            dash["b"], dash["full_fp"], alignment.ProjectionParams(), store=dash["store"]
        )
