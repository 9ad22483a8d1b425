"""edgetx_converters.convert: a valid int8 TFLite Micro model and report, and clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from edgetx.errors import UnsupportedModel, UserError
from edgetx.quant import dequantize, quantize
from edgetx.tflite_model import load_model, parse_model
from edgetx_converters import convert
from edgetx_converters.compact import compact, short_name
from edgetx_converters.validate import INT8_OPS, check_int8
from tests.conftest import FIXTURES, TINY_MODEL

MODELS = FIXTURES / "models"
HEAVY = [
    "torch",
    "tensorflow",
    "litert_torch",
    "ai_edge_quantizer",
    "onnx",
    "onnx2tf",
    "onnxruntime",
]


def test_import_is_light() -> None:
    code = f"import sys, edgetx_converters; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_quantize_dequantize() -> None:
    x = np.array([-1.0, -0.06, 0.0, 0.049, 0.051, 10.0], np.float32)
    q = quantize(x, 0.1, 3)
    assert q.dtype == np.int8
    assert q.tolist() == [-7, 2, 3, 3, 4, 103]
    # Ties round away from zero, as TFLite's QUANTIZE kernel and C's roundf do.
    assert quantize(np.array([-2.5, -1.5, 0.5, 1.5, 2.5]), 1.0, 0).tolist() == [-3, -2, 1, 2, 3]
    assert quantize(np.array([1e6, -1e6]), 0.1, 0).tolist() == [127, -128]
    np.testing.assert_allclose(dequantize(q, 0.1, 3), [-1.0, -0.1, 0.0, 0.0, 0.1, 10.0], atol=1e-6)


# --- one conversion of the tiny audio transformer, shared with the other test modules ---


@pytest.fixture(scope="module")
def out(converted: Path) -> Path:
    return converted / "model"


@pytest.fixture(scope="module")
def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_output_files(out: Path) -> None:
    names = {p.name for p in out.iterdir()}
    assert names == {
        "model.tflite",
        "model_data.c",
        "model_data.h",
        "report.json",
        "report.md",
        "convert.log",
    }
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".model.")], "temp left"


def test_model_is_full_integer_int8(out: Path) -> None:
    model = load_model(out / "model.tflite")
    assert model.input.dtype == "INT8" and model.output.dtype == "INT8"
    assert model.input.shape == (1, 32, 40) and model.output.shape == (1, 8)
    for t in model.tensors:
        assert t.dtype in ("INT8", "INT32"), (t.name, t.dtype)
        if t.dtype == "INT32":
            assert t.is_constant, t.name  # biases, shapes and axes only
        else:
            assert t.scale.size > 0, t.name
    assert set(model.op_counts()) <= INT8_OPS
    check_int8(model)


def test_tflm_runs_at_the_measured_arena_and_not_below(out: Path, report: dict) -> None:
    from tflite_micro.python.tflite_micro import runtime

    arena = report["tflm_arena_bytes"]
    assert arena > 0 and arena % 16 == 0
    raw = (out / "model.tflite").read_bytes()
    interpreter = runtime.Interpreter.from_bytes(raw, arena_size=arena)
    interpreter.set_input(np.zeros((1, 32, 40), np.int8), 0)
    interpreter.invoke()
    assert interpreter.get_output(0).shape == (1, 8)
    # Too small an arena can crash the interpreter, so probe it in a child process.
    probe = [sys.executable, "-m", "edgetx_converters.tflm", str(out / "model.tflite")]
    assert subprocess.run([*probe, str(arena - 16)], capture_output=True).returncode != 0
    assert subprocess.run([*probe, str(arena)], capture_output=True).returncode == 0


def test_report(out: Path, report: dict) -> None:
    model = load_model(out / "model.tflite")
    assert report["ops"] == model.op_counts()
    assert report["tflite_bytes"] == (out / "model.tflite").stat().st_size
    assert isinstance(report["params"], int) and 5000 < report["params"] < 6500
    # embed 32x40x16, per layer 4 attention projections, 2 score/value matmuls, FFN; head
    macs = 32 * 40 * 16 + 2 * (4 * 32 * 16 * 16 + 2 * 2 * 32 * 32 * 8 + 2 * 32 * 16 * 32) + 16 * 8
    assert report["macs"] == macs
    for key in ("input", "output"):
        info = report[key]
        assert info["dtype"] == "int8"
        assert isinstance(info["scale"], float) and isinstance(info["zero_point"], int)
    assert report["input"]["shape"] == [1, 32, 40]
    assert set(report["float_vs_int8"]) == {"calib", "eval"}
    for figures in report["float_vs_int8"].values():
        assert figures["cosine_mean"] >= 0.98, figures
        assert 0 <= figures["top1_agreement"] <= 1
        assert figures["max_abs_error"] >= 0
    assert set(report["accuracy"]) == {"float", "int8"}
    assert report["source"] == TINY_MODEL
    assert {"torch", "litert-torch", "ai-edge-quantizer", "tflite-micro"} <= set(
        report["converter"]
    )
    assert isinstance(report["seconds"], float)
    md = (out / "report.md").read_text()
    assert f"{report['tflm_arena_bytes']:,} bytes" in md and "cosine" in md


def test_short_names() -> None:
    name = "pkg.Model/torch.nn.modules.linear.Linear_k;;pkg.Model/torch.nn.Linear_q;1"
    assert short_name(name) == "Model/Linear_k;1"
    assert short_name("pkg.Model/Block_0;") == "Model/Block_0;"
    assert short_name("serving_default_args_0") == "serving_default_args_0"


def test_compact_changes_names_only(out: Path) -> None:
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    raw = (out / "model.tflite").read_bytes()
    verbose = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    for tensor in verbose.subgraphs[0].tensors:
        tensor.name = b"pkg.Model/torch.nn.modules.Thing;;pkg.Model/torch.nn.Other;1"
    builder = flatbuffers.Builder(0)
    builder.Finish(verbose.Pack(builder), file_identifier=b"TFL3")
    compacted = compact(bytes(builder.Output()))
    before, after = load_model(out / "model.tflite"), parse_model(compacted)
    assert {t.name for t in after.tensors} == {"Model/Thing;1"}
    for a, b in zip(before.tensors, after.tensors, strict=True):
        assert (a.shape, a.dtype, a.scale.tolist(), a.zero_point.tolist()) == (
            b.shape,
            b.dtype,
            b.scale.tolist(),
            b.zero_point.tolist(),
        )
        assert (a.data is None and b.data is None) or np.array_equal(a.data, b.data)
    x = np.random.default_rng(0).integers(-128, 128, (1, 32, 40), dtype=np.int8)
    outputs = []
    for flatbuffer in (raw, compacted):
        interpreter = runtime.Interpreter.from_bytes(flatbuffer, arena_size=1 << 17)
        interpreter.set_input(x, 0)
        interpreter.invoke()
        outputs.append(interpreter.get_output(0))
    np.testing.assert_array_equal(*outputs)


@pytest.mark.parametrize("compiler", [["gcc", "-std=c99"], ["g++", "-x", "c++"]], ids=["c", "cxx"])
def test_model_data_compiles(out: Path, tmp_path: Path, compiler: list[str]) -> None:
    if shutil.which(compiler[0]) is None:
        pytest.skip(f"{compiler[0]} not installed")
    header = (out / "model_data.h").read_text()
    assert "extern const unsigned char edgetx_model_tflite[" in header
    assert "extern const unsigned int edgetx_model_tflite_len;" in header
    cmd = [*compiler, "-Wall", "-Wextra", "-Werror", "-c", str(out / "model_data.c")]
    subprocess.run([*cmd, "-o", str(tmp_path / "model_data.o")], check=True)


# --- models TFLite Micro cannot run ---


def test_unsupported_op_is_refused_and_leaves_no_output(tmp_path: Path, calib: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(
        UnsupportedModel, match=r"operator CUMSUM from .*CumsumMLP.* has no TensorFlow Lite Micro"
    ):
        convert(f"{MODELS / 'tiny_audio.py'}:cumsum", calib, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib.npy", "out.failed.log"]


def test_failure_keeps_the_previous_output(out: Path, tmp_path: Path, calib: Path) -> None:
    previous = tmp_path / "out"
    shutil.copytree(out, previous)
    with pytest.raises(UnsupportedModel):
        convert(f"{MODELS / 'tiny_audio.py'}:cumsum", calib, previous)
    assert (previous / "report.json").read_bytes() == (out / "report.json").read_bytes()
    assert (previous / "model.tflite").read_bytes() == (out / "model.tflite").read_bytes()


def test_float_tensor_is_refused(out: Path) -> None:
    model = load_model(out / "model.tflite")
    fc = next(op for op in model.operators if op.opcode == "FULLY_CONNECTED")
    model.tensors[fc.outputs[0]].dtype = "FLOAT32"
    name = model.tensors[fc.outputs[0]].name
    with pytest.raises(UnsupportedModel, match=f"FULLY_CONNECTED tensor '{name}' is FLOAT32"):
        check_int8(model)


# --- ONNX ---


def _export_onnx(net: object, path: Path) -> Path:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 32, 40),), str(path), dynamo=False)
    return path


def test_onnx_mlp_converts(tmp_path: Path, calib: Path) -> None:
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(32 * 40, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8)
    ).eval()
    report = convert(str(_export_onnx(mlp, tmp_path / "mlp.onnx")), calib, tmp_path / "out")
    assert report["ops"].get("FULLY_CONNECTED") == 2
    assert report["input"]["dtype"] == report["output"]["dtype"] == "int8"
    assert report["float_vs_int8"]["calib"]["cosine_mean"] >= 0.98
    assert report["macs"] == 32 * 40 * 16 + 16 * 8


@pytest.mark.slow
def test_onnx_transformer_failure_is_one_clear_error(tmp_path: Path, calib: Path) -> None:
    sys.path.insert(0, str(MODELS))
    try:
        import tiny_audio
    finally:
        sys.path.remove(str(MODELS))
    onnx = _export_onnx(tiny_audio.tiny(), tmp_path / "tiny.onnx")
    with pytest.raises(UnsupportedModel, match=r"onnx2tf could not convert tiny\.onnx.*file\.py"):
        convert(str(onnx), calib, tmp_path / "out")


# --- quality on trained-like weights ---


@pytest.mark.slow
def test_trained_transformer_keeps_accuracy(tmp_path: Path) -> None:
    sys.path.insert(0, str(MODELS))
    try:
        from tiny_audio import keyword_data
    finally:
        sys.path.remove(str(MODELS))
    x, _ = keyword_data(200, seed=1)
    np.save(tmp_path / "calib.npy", x)
    xe, ye = keyword_data(300, seed=2)
    np.savez(tmp_path / "eval.npz", x=xe, y=ye)
    report = convert(
        f"{MODELS / 'tiny_audio.py'}:trained",
        tmp_path / "calib.npy",
        tmp_path / "out",
        eval_data=tmp_path / "eval.npz",
    )
    figures = report["float_vs_int8"]["eval"]
    assert figures["cosine_mean"] >= 0.995 and figures["cosine_min"] >= 0.98, figures
    assert report["accuracy"]["float"] >= 0.9
    assert report["accuracy"]["int8"] >= report["accuracy"]["float"] - 0.01


# --- user errors: one line naming the problem and the fix ---


@pytest.fixture
def calib(tmp_path: Path) -> Path:
    path = tmp_path / "calib.npy"
    np.save(path, np.random.default_rng(0).standard_normal((8, 32, 40)).astype(np.float32))
    return path


def _user_error(tmp_path: Path, model: str, calib: Path, *needles: str, **kw: object) -> None:
    out = tmp_path / "out"
    with pytest.raises(UserError) as info:
        convert(model, calib, out, **kw)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.", "out."))]


def _factory_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "factory.py"
    path.write_text("import torch\n\n" + body)
    return path


def test_missing_model_file(tmp_path: Path, calib: Path) -> None:
    _user_error(tmp_path, "nowhere/model.py:build", calib, "nowhere/model.py", "not found")


def test_missing_onnx_file(tmp_path: Path, calib: Path) -> None:
    _user_error(tmp_path, "nowhere/model.onnx", calib, "nowhere/model.onnx", "not found")


def test_python_file_without_factory(tmp_path: Path, calib: Path) -> None:
    model = str(MODELS / "tiny_audio.py")
    _user_error(tmp_path, model, calib, "no factory", f"{model}:FACTORY")


def test_factory_not_in_file(tmp_path: Path, calib: Path) -> None:
    model = f"{MODELS / 'tiny_audio.py'}:nope"
    _user_error(tmp_path, model, calib, "no function 'nope'", "tiny")


def test_factory_that_raises(tmp_path: Path, calib: Path) -> None:
    model = f"{MODELS / 'tiny_audio.py'}:broken"
    _user_error(tmp_path, model, calib, "raised RuntimeError", "weights.pt not found")


def test_factory_that_returns_no_module(tmp_path: Path, calib: Path) -> None:
    model = f"{MODELS / 'tiny_audio.py'}:not_a_module"
    _user_error(tmp_path, model, calib, "returned dict", "torch.nn.Module")


def test_model_file_that_fails_to_import(tmp_path: Path, calib: Path) -> None:
    path = _factory_file(tmp_path, "def build(:\n")
    _user_error(tmp_path, f"{path}:build", calib, "importing", "SyntaxError")


def test_missing_calib(tmp_path: Path) -> None:
    _user_error(tmp_path, TINY_MODEL, tmp_path / "none.npy", "none.npy not found", "numpy.save")


def test_calib_not_float(tmp_path: Path) -> None:
    np.save(tmp_path / "calib.npy", np.zeros((4, 32, 40), np.int64))
    _user_error(tmp_path, TINY_MODEL, tmp_path / "calib.npy", "dtype int64", "float32")


def test_calib_not_npy(tmp_path: Path) -> None:
    (tmp_path / "calib.npy").write_text("hello")
    _user_error(tmp_path, TINY_MODEL, tmp_path / "calib.npy", "not a .npy")


def test_calib_wrong_shape_for_model(tmp_path: Path) -> None:
    np.save(tmp_path / "calib.npy", np.zeros((4, 32, 41), np.float32))
    _user_error(tmp_path, TINY_MODEL, tmp_path / "calib.npy", "[32, 41]", "last dimension of 40")


def test_calib_without_sample_axis(tmp_path: Path) -> None:
    np.save(tmp_path / "calib.npy", np.zeros(40, np.float32))
    _user_error(tmp_path, TINY_MODEL, tmp_path / "calib.npy", "[40]", "[N, ...]")


@pytest.mark.parametrize(
    ("arrays", "needles"),
    [
        ({"x": np.zeros((4, 32, 40), np.float32)}, ("lacks y",)),
        ({"inputs": np.zeros((4, 32, 40), np.float32)}, ("lacks x and y", "inputs")),
        ({"x": np.zeros((4, 32, 40), np.float32), "y": np.zeros(3, int)}, ("4 inputs", "3 labels")),
        ({"x": np.zeros((4, 32, 40), np.float32), "y": np.zeros(4)}, ("integers",)),
        ({"x": np.zeros((4, 32, 8), np.float32), "y": np.zeros(4, int)}, ("[32, 8]", "[32, 40]")),
    ],
    ids=["no-y", "no-x-y", "lengths", "float-labels", "shape"],
)
def test_bad_eval_data(tmp_path: Path, calib: Path, arrays: dict, needles: tuple) -> None:
    np.savez(tmp_path / "eval.npz", **arrays)
    _user_error(tmp_path, TINY_MODEL, calib, *needles, eval_data=tmp_path / "eval.npz")


def test_missing_eval(tmp_path: Path, calib: Path) -> None:
    _user_error(tmp_path, TINY_MODEL, calib, "eval.npz not found", eval_data=tmp_path / "eval.npz")


def test_refuses_to_replace_a_foreign_directory(tmp_path: Path, calib: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not an edgetx convert output"):
        convert(TINY_MODEL, calib, out)
    assert (out / "notes.txt").read_text() == "mine"
