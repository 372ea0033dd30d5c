"""Encode-mode tuning: the record is kept, reused, invalidated; the override order."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hybriddash.encoders import modes, tuning
from hybriddash.encoders.encode import encode_batches, encode_texts


def _slow_by_mode(monkeypatch: pytest.MonkeyPatch, seconds: dict[str, float]) -> list[str]:
    """Make each mode's pass take ``seconds[mode]`` (fake encoder); returns the call log."""
    calls: list[str] = []

    def fake(spec, texts, mode):  # type: ignore[no-untyped-def]
        calls.append(mode)
        time.sleep(seconds.get(mode, 0.03))
        return np.zeros((len(texts), 4), dtype=np.float32)

    monkeypatch.setattr(tuning, "_encode_once", fake)
    return calls


def test_tune_picks_the_fastest_measured_mode_and_keeps_it(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _slow_by_mode(monkeypatch, {"float32": 0.03, "onnx": 0.01, "onnx-int8": 0.02})
    record = tuning.tune_encode_mode(
        tiny_model_spec, budget_s=0.2, candidates=("float32", "onnx", "onnx-int8")
    )
    assert record.mode == "onnx"
    assert set(record.texts_per_s) == {"float32", "onnx", "onnx-int8"}
    assert (
        record.texts_per_s["onnx"] > record.texts_per_s["onnx-int8"] > record.texts_per_s["float32"]
    )
    assert record.ratio_to_float32() == pytest.approx(3.0, rel=0.5)
    # one untimed build/warm-up pass each, then at least MIN_PASSES timed passes each
    assert all(calls.count(m) >= 1 + tuning.MIN_PASSES for m in record.texts_per_s)
    path = modes.record_path(record.key)
    assert path.parent == tmp_artifacts / "tuning" and path.is_file()
    kept = json.loads(path.read_text())
    assert (
        kept["mode"] == "onnx" and kept["key"]["model_fingerprint"] == tiny_model_spec.fingerprint
    )
    assert kept["key"]["libraries"]["onnxruntime"] != "absent"
    assert modes.load_record(modes.tuning_key(tiny_model_spec.fingerprint)) == record


def test_a_kept_record_is_reused_without_measuring(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    _slow_by_mode(monkeypatch, {"float32": 0.02, "onnx": 0.01})
    tuning.tune_encode_mode(tiny_model_spec, budget_s=0.05, candidates=("float32", "onnx"))
    calls = _slow_by_mode(monkeypatch, {"float32": 0.0, "onnx": 0.0})
    mode, why = tuning.select_encode_mode(spec=tiny_model_spec, tune=True)
    assert (mode, calls) == ("onnx", [])
    assert "measured fastest on this machine" in why


@pytest.mark.parametrize("change", ["model", "library", "cpu"])
def test_the_record_is_invalidated_when_model_libraries_or_cpu_change(
    change: str, tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    _slow_by_mode(monkeypatch, {"float32": 0.02, "onnx": 0.01})
    tuning.tune_encode_mode(tiny_model_spec, budget_s=0.05, candidates=("float32", "onnx"))
    spec = tiny_model_spec
    if change == "model":
        spec = dataclasses.replace(tiny_model_spec, fingerprint="0123456789abcdef")
    elif change == "library":
        bumped = {**modes.library_versions(), "onnxruntime": "99.0.0"}
        monkeypatch.setattr(modes, "library_versions", lambda: bumped)
    else:
        monkeypatch.setattr(modes, "cpu_model_name", lambda: "Some Other CPU @ 3.0GHz")
    assert modes.load_record(modes.tuning_key(spec.fingerprint)) is None
    # a stale record is not used: the next first use measures again ...
    calls = _slow_by_mode(monkeypatch, {"float32": 0.01, "onnx": 0.02})
    monkeypatch.setattr(tuning, "TUNE_BUDGET_S", 0.05)
    monkeypatch.setattr(tuning, "TUNE_CANDIDATES", ("float32", "onnx"))
    mode, _why = tuning.select_encode_mode(spec=spec, tune=True)
    assert calls and mode == "float32"
    assert modes.load_record(modes.tuning_key(spec.fingerprint)).mode == "float32"
    # ... and without tuning the CPU-flag default applies
    monkeypatch.setattr(modes, "library_versions", lambda: {"torch": "0.0"})
    assert tuning.select_encode_mode(spec=spec, tune=False) == (
        modes.cpu_flag_default(),
        "CPU-flag default (tuning switched off)",
    )


def test_override_order_mode_then_environment_then_tuned_then_cpu_flags(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    monkeypatch.setattr(modes, "has_vnni", lambda: True)
    # nothing tuned, tuning off: the CPU flags decide
    assert tuning.select_encode_mode(spec=tiny_model_spec, tune=False)[0] == "onnx-int8"
    monkeypatch.setattr(modes, "has_vnni", lambda: False)
    assert tuning.select_encode_mode(spec=tiny_model_spec, tune=False)[0] == "onnx"
    # tuned beats the CPU flags
    _slow_by_mode(monkeypatch, {"float32": 0.001, "onnx": 0.02})
    tuning.tune_encode_mode(tiny_model_spec, budget_s=0.05, candidates=("float32", "onnx"))
    assert tuning.select_encode_mode(spec=tiny_model_spec)[0] == "float32"
    # the environment beats the tuned mode
    monkeypatch.setenv(modes.ENV_MODE, "bf16")
    assert tuning.select_encode_mode(spec=tiny_model_spec) == (
        "bf16",
        "set by HYBRIDDASH_ENCODE_MODE",
    )
    # --mode beats the environment
    assert tuning.select_encode_mode("int8", spec=tiny_model_spec) == ("int8", "chosen with --mode")
    # a GPU takes float32 unless a mode is given
    monkeypatch.setattr(tuning, "resolve_devices", lambda devices: ["cuda:0"])
    assert tuning.select_encode_mode(None, "cuda", spec=tiny_model_spec)[0] == "float32"
    # an unknown value of the variable is refused with a warning, the next rule applies
    monkeypatch.setattr(tuning, "resolve_devices", lambda devices: ["cpu"])
    monkeypatch.setenv(modes.ENV_MODE, "fp8")
    with pytest.warns(RuntimeWarning, match="HYBRIDDASH_ENCODE_MODE='fp8' is not an encode"):
        assert tuning.select_encode_mode(spec=tiny_model_spec)[0] == "float32"
    with pytest.raises(ValueError, match="encode mode must be one of"):
        tuning.select_encode_mode("fp8", spec=tiny_model_spec)


def test_describe_encode_mode_says_which_mode_and_why(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    monkeypatch.setattr(modes, "base_fingerprint_if_built", lambda: "feedfacefeedface")
    mode, why = modes.describe_encode_mode()
    assert mode == modes.cpu_flag_default() and "not tuned on this machine yet" in why
    record = modes.TuningRecord(
        mode="openvino-bf16",
        texts_per_s={"float32": 100.0, "openvino-bf16": 260.0},
        key=modes.tuning_key("feedfacefeedface"),
        measured_at="2026-12-02T05:00:00Z",
        n_texts=128,
        seconds=10.0,
        load_average=1.0,
    )
    modes.save_record(record)
    mode, why = modes.describe_encode_mode()
    assert mode == "openvino-bf16" and "2.60x torch float32" in why
    monkeypatch.setenv(modes.ENV_MODE, "onnx")
    assert modes.describe_encode_mode() == ("onnx", "set by HYBRIDDASH_ENCODE_MODE")


def test_real_tuning_of_the_tiny_model_times_the_runnable_modes(
    tiny_model_spec, tmp_artifacts: Path
) -> None:
    candidates = ("float32", "onnx", "openvino-bf16")
    record = tuning.tune_encode_mode(tiny_model_spec, budget_s=0.3, candidates=candidates)
    assert set(record.texts_per_s) | set(record.skipped) == set(candidates)
    assert "float32" in record.texts_per_s and "onnx" in record.texts_per_s
    assert record.mode == max(record.texts_per_s, key=record.texts_per_s.__getitem__)
    assert "int8" not in modes.TUNE_CANDIDATES  # outside the accuracy bar, never a candidate


def _encode(spec, texts: list[str], mode: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((len(texts), 32), dtype=np.float32)

    def on_batch(idx, vectors):  # type: ignore[no-untyped-def]
        out[idx] = vectors

    encode_batches(spec, texts, mode=mode, batch_size=64, on_batch=on_batch)
    return out


def test_featurizer_tokenizes_like_sentence_transformers(tiny_model_spec, tmp_artifacts) -> None:
    from hybriddash.encoders.features import featurizer
    from hybriddash.encoders.onnx_backend import onnx_folder
    from hybriddash.encoders.registry import load_model

    texts = ["query: hello world", "passage: 北京是中国的首都。", "passage: " + "lang " * 700]
    model = load_model(tiny_model_spec)
    featurize = featurizer(Path(tiny_model_spec.source), onnx_folder(tiny_model_spec, "onnx"))
    want = model.preprocess(texts)
    feed = featurize(texts)
    np.testing.assert_array_equal(feed["attention_mask"], want["attention_mask"].numpy())
    words = model[0].auto_model.get_input_embeddings()(want["input_ids"]).detach().numpy()
    np.testing.assert_allclose(feed["inputs_embeds"], words, atol=0)
    assert featurize.token_lengths(texts) == want["attention_mask"].sum(axis=1).tolist()


def test_one_featurizer_serves_concurrent_callers(tiny_model_spec, tmp_artifacts) -> None:
    """A CI run failed when one thread counted tokens (the tokenizer then stopped
    padding) while another built a feed from the same featurizer: ragged rows."""
    import threading

    from hybriddash.encoders.features import featurizer
    from hybriddash.encoders.onnx_backend import onnx_folder

    encode_texts(tiny_model_spec, ["build the export"], "query", mode="onnx", progress=False)
    featurize = featurizer(Path(tiny_model_spec.source), onnx_folder(tiny_model_spec, "onnx"))
    texts = [f"passage: text {i} " + "word " * (i % 17) for i in range(16)]
    want = featurize(texts)
    lengths = featurize.token_lengths(texts)
    assert want["attention_mask"].sum(axis=1).tolist() == lengths
    failures: list[BaseException] = []

    def count() -> None:
        for _ in range(300):
            assert featurize.token_lengths(texts) == lengths

    def feed() -> None:
        try:
            for _ in range(300):
                got = featurize(texts)
                np.testing.assert_array_equal(got["attention_mask"], want["attention_mask"])
        except BaseException as exc:  # reported on the main thread below
            failures.append(exc)

    threads = [threading.Thread(target=count), threading.Thread(target=feed)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]


@pytest.mark.parametrize("mode", ["openvino-bf16", "openvino-int8"])
def test_openvino_modes_match_float32(mode: str, tiny_model_spec, tmp_artifacts: Path) -> None:
    pytest.importorskip("openvino")
    if mode == "openvino-int8":
        pytest.importorskip("nncf")
    texts = ["query: hello world", "passage: a second, longer sentence here", "passage: 日本語"]
    reference = _encode(tiny_model_spec, texts, "float32")
    got = _encode(tiny_model_spec, texts, mode)
    cosine = (reference * got).sum(axis=1)
    # bf16 matmuls (float32 where the CPU has no bf16), int8 with calibrated scales
    assert cosine.min() > 0.99, cosine
    assert any((tmp_artifacts / "models" / "openvino-cache").iterdir())
    if mode == "openvino-int8":
        from hybriddash.encoders import openvino_backend

        (folder,) = [
            f for f in (tmp_artifacts / "models" / "openvino").glob("*-int8-n*") if f.is_dir()
        ]
        assert (folder / "model.xml").is_file() and (folder / "model.bin").is_file()
        marker = json.loads((folder / "hybriddash_model.json").read_text())
        calibration = openvino_backend.calibration_id()
        assert folder.name.endswith(calibration) and marker["calibration"]["id"] == calibration
        assert marker["calibration"]["texts"] == 624  # the sample corpus, no benchmark text
        # the tiny model has 2 layers: the worst OV_INT8_FLOAT_DOWN down-projections by error
        errors = marker["down_projection_int8_errors"]
        kept = sorted(errors, key=errors.__getitem__, reverse=True)[
            : openvino_backend.OV_INT8_FLOAT_DOWN
        ]
        assert len(errors) == 2 and sorted(marker["float32_down_projections"]) == sorted(kept)
        # static int8: the compiled model runs its weight matmuls on int8 kernels
        compiled = openvino_backend.compiled_model(folder / "model.xml", mode)
        precisions = {
            str(op.get_rt_info()["runtimePrecision"].astype(str))
            for op in compiled.model.get_runtime_model().get_ops()
            if str(op.get_rt_info()["layerType"].astype(str)) == "FullyConnected"
        }
        assert precisions & {"i8", "u8"}, precisions


def test_openvino_runs_one_synchronous_request_at_a_time_from_its_callers(
    tiny_model_spec, tmp_artifacts: Path
) -> None:
    """OpenVINO's multi-request paths hang now and then on AMD EPYC (a CI run hung in
    the tuning test above): each compiled model has one request, called only from the
    threads that asked for the encoding, never two infers at once."""
    pytest.importorskip("openvino")
    import threading

    from hybriddash.encoders import openvino_backend
    from hybriddash.encoders.onnx_backend import onnx_folder

    texts = [f"passage: text {i} " + "word " * (i % 23) for i in range(70)]  # 5 batches
    reference = _encode(tiny_model_spec, texts, "openvino-bf16")
    compiled = openvino_backend.compiled_model(
        onnx_folder(tiny_model_spec, "onnx") / "model.onnx", "openvino-bf16"
    )
    calls: list[int] = []
    active = [0]
    overlaps = [0]

    class Recording:
        def __init__(self, request) -> None:  # type: ignore[no-untyped-def]
            self.request = request

        def infer(self, feed):  # type: ignore[no-untyped-def]
            active[0] += 1
            overlaps[0] += active[0] > 1
            calls.append(threading.get_ident())
            try:
                time.sleep(0.002)  # widen the window two unserialised callers would share
                return self.request.infer(feed)
            finally:
                active[0] -= 1

    compiled.request = Recording(compiled.request)
    callers: list[int] = []
    results: list[np.ndarray] = []

    def encode() -> None:
        callers.append(threading.get_ident())
        results.append(_encode(tiny_model_spec, texts, "openvino-bf16"))

    threads = [threading.Thread(target=encode) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and len(calls) == 10 and overlaps[0] == 0
    assert set(calls) == set(callers)
    for got in results:
        np.testing.assert_array_equal(got, reference)


def test_a_built_export_encodes_without_importing_torch(tiny_model_spec, tmp_artifacts) -> None:
    encode_texts(tiny_model_spec, ["warm the export"], "query", mode="onnx", progress=False)
    script = (
        "import sys, json\n"
        "from hybriddash.encoders.registry import resolve_model\n"
        "from hybriddash.encoders.encode import encode_texts\n"
        f"spec = resolve_model({tiny_model_spec.source!r})\n"
        "v = encode_texts(spec, ['a new text', 'another'], 'query', mode='onnx', progress=False)\n"
        "print(json.dumps([v.shape[0], 'torch' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [2, False], done.stderr


def test_models_tune_command_prints_the_table_and_where_it_kept_it(
    tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from hybriddash.cli import main

    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    monkeypatch.setattr(modes, "base_fingerprint_if_built", lambda: "feedfacefeedface")
    record = modes.TuningRecord(
        mode="onnx-int8",
        texts_per_s={"float32": 100.0, "onnx": 210.0, "onnx-int8": 290.0},
        key=modes.tuning_key("feedfacefeedface"),
        measured_at="2026-12-02T05:00:00Z",
        n_texts=128,
        seconds=10.2,
        load_average=1.5,
        skipped={"bf16": "no native bf16 on this CPU"},
    )

    def fake_tune(spec=None, *, budget_s=None, candidates=None, log=None):  # type: ignore[no-untyped-def]
        assert budget_s == 3.0 and list(candidates) == ["float32", "onnx", "onnx-int8"]
        modes.save_record(record)
        return record

    monkeypatch.setattr(tuning, "tune_encode_mode", fake_tune)
    assert main(["models", "tune", "--budget", "3", "--modes", "float32,onnx,onnx-int8"]) == 0
    out = capsys.readouterr().out
    assert "onnx-int8" in out and "2.90x  <- fastest" in out and "not timed: no native bf16" in out
    assert str(modes.record_path(record.key)) in out
    assert "default encode mode now: onnx-int8 (measured fastest on this machine" in out


def test_first_use_tunes_only_when_the_work_is_big_enough_to_pay_for_it(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    tuned: list[int] = []

    def fake_tune(spec, *, budget_s=None, **_kw):  # type: ignore[no-untyped-def]
        tuned.append(1)
        return modes.TuningRecord(
            mode="onnx",
            texts_per_s={"onnx": 1.0},
            key=modes.tuning_key(tiny_model_spec.fingerprint),
            measured_at=modes.utc_now(),
            n_texts=1,
            seconds=0.0,
            load_average=0.0,
            skipped={},
        )

    monkeypatch.setattr(tuning, "tune_encode_mode", fake_tune)
    small = modes.TUNE_MIN_TEXTS - 1
    mode, why = tuning.select_encode_mode(spec=tiny_model_spec, tune=True, n_texts=small)
    assert (mode, tuned) == ("float32", [])  # nothing built, nothing measured
    assert "too few for tuning to pay" in why
    mode, _why = tuning.select_encode_mode(
        spec=tiny_model_spec, tune=True, n_texts=modes.TUNE_MIN_TEXTS
    )
    assert (mode, tuned) == ("onnx", [1])


def test_the_planned_mode_of_an_estimate_follows_the_selection_without_tuning(
    tiny_model_spec, tmp_artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(modes.ENV_MODE, raising=False)
    monkeypatch.setenv(modes.ENV_AUTOTUNE, "1")
    monkeypatch.setattr(tuning, "tune_encode_mode", lambda *a, **k: pytest.fail("tuned"))
    small, big = modes.TUNE_MIN_TEXTS - 1, modes.TUNE_MIN_TEXTS
    assert tuning.planned_encode_mode(small, tiny_model_spec) == "float32"
    assert tuning.planned_encode_mode(big, tiny_model_spec) == modes.cpu_flag_default()
    monkeypatch.setenv(modes.ENV_AUTOTUNE, "0")
    assert tuning.planned_encode_mode(small, tiny_model_spec) == modes.cpu_flag_default()
    monkeypatch.setenv(modes.ENV_MODE, "onnx")
    assert tuning.planned_encode_mode(small, tiny_model_spec) == "onnx"


# /proc/cpuinfo flags of the three CPU kinds this machine type comes in (issue 26)
VNNI_ONLY_XEON = frozenset({"avx2", "avx512f", "avx512_vnni"})
AMX_XEON = frozenset(
    {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}
)
AVX2_EPYC = frozenset({"avx2"})
ALL_CANDIDATES = ("float32", "bf16", "onnx", "onnx-int8", "openvino-bf16", "openvino-int8")


@pytest.mark.parametrize(
    ("flags", "skipped"),
    [
        (VNNI_ONLY_XEON, {"bf16", "openvino-bf16"}),
        # native bf16: openvino-bf16 beats static int8 on real text
        (AMX_XEON, {"openvino-int8"}),
        # OpenVINO computes a bf16 hint in float32 without AVX-512: timed, as before
        (AVX2_EPYC, {"bf16", "openvino-int8"}),
        (None, {"bf16", "openvino-int8"}),  # /proc/cpuinfo unreadable
    ],
)
def test_modes_the_cpu_would_emulate_are_skipped_with_the_reason(
    flags: frozenset[str] | None, skipped: set[str], tiny_model_spec, monkeypatch
) -> None:
    monkeypatch.setattr(tuning, "cpu_flags", lambda: flags)
    timed, why = tuning.runnable_candidates(tiny_model_spec, ALL_CANDIDATES)
    assert set(why) == skipped
    assert set(timed) == set(ALL_CANDIDATES) - skipped
    if "openvino-bf16" in why:
        assert "no native bf16" in why["openvino-bf16"] and "emulate" in why["openvino-bf16"]
    if "openvino-int8" in why:
        expected = "openvino-bf16 is faster" if flags == AMX_XEON else "no VNNI"
        expected = "CPU flags unknown" if flags is None else expected
        assert expected in why["openvino-int8"]


@pytest.mark.parametrize(
    ("flags", "seconds", "winner"),
    [
        # VNNI-only Xeon: issue 26's slice (float32 160.9, onnx 211.7, onnx-int8 287.5
        # texts/s, openvino-bf16 6.4 emulated) plus a static int8 faster than onnx-int8
        (
            VNNI_ONLY_XEON,
            {
                "float32": 0.040,
                "onnx": 0.030,
                "onnx-int8": 0.022,
                "openvino-bf16": 1.0,
                "openvino-int8": 0.015,
            },
            "openvino-int8",
        ),
        # ... and where static int8 is the slower int8, onnx-int8 stays
        (
            VNNI_ONLY_XEON,
            {"float32": 0.040, "onnx": 0.030, "onnx-int8": 0.015, "openvino-int8": 0.022},
            "onnx-int8",
        ),
        # AMX Xeon: openvino-bf16 is picked even where the warm slice favours static
        # int8 (issue 26's tuning slice: 568.1 against 522.0 texts/s; on real text 234.1
        # against 362.6): static int8 is not timed there
        (
            AMX_XEON,
            {
                "float32": 0.040,
                "bf16": 0.014,
                "onnx": 0.028,
                "onnx-int8": 0.018,
                "openvino-bf16": 0.012,
                "openvino-int8": 0.009,
            },
            "openvino-bf16",
        ),
        # AVX2 EPYC: OpenVINO's float32 path (the bf16 hint falls back) still competes
        (
            AVX2_EPYC,
            {"float32": 0.040, "onnx": 0.030, "onnx-int8": 0.025, "openvino-bf16": 0.020},
            "openvino-bf16",
        ),
    ],
)
def test_the_tuner_keeps_the_fastest_natively_running_candidate_on_each_cpu_kind(
    flags: frozenset[str],
    seconds: dict[str, float],
    winner: str,
    tiny_model_spec,
    tmp_artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tuning, "cpu_flags", lambda: flags)
    calls = _slow_by_mode(monkeypatch, seconds)
    record = tuning.tune_encode_mode(tiny_model_spec, budget_s=0.1, candidates=ALL_CANDIDATES)
    assert record.mode == winner
    # an emulated mode is neither built nor timed: that is where first use lost its time
    assert not set(record.skipped) & set(calls)
    assert set(record.texts_per_s) == set(ALL_CANDIDATES) - set(record.skipped)
    assert record.build_seconds > 0


def test_fastest_mode_is_the_one_with_the_most_texts_per_second() -> None:
    assert tuning.fastest_mode({"float32": 160.9, "onnx-int8": 287.5, "openvino-int8": 401.0}) == (
        "openvino-int8"
    )
    assert tuning.fastest_mode({"float32": 100.0, "onnx": 100.0}) == "float32"  # tie: first
    with pytest.raises(ValueError, match="no mode was timed"):
        tuning.fastest_mode({})


def test_static_int8_is_a_candidate_and_its_cache_key_names_the_calibration_set() -> None:
    from hybriddash.encoders.encode import mode_key
    from hybriddash.encoders.onnx_backend import calibration_set_digest

    assert "openvino-int8" in modes.TUNE_CANDIDATES
    key = mode_key("openvino-int8")
    assert key.startswith("openvino-int8-n") and key.endswith(
        f"-sample-{calibration_set_digest()[:8]}"
    )
