"""edgetx convert from model files (TorchScript, torch.export, Keras, float TFLite) and 16x8.

Each file is made here from a tiny model and converted end to end: full-integer model, run in
the TFLite Micro interpreter, dequantized outputs against the float model's.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgetx.errors import EdgetxError
from edgetx.reference import Reference
from edgetx.tflite_model import load_model
from edgetx_converters import convert
from edgetx_converters.quantize import check_int16
from edgetx_converters.validate import check_int8
from tests.conftest import FIXTURES

FRAMES, FEATURES, CLASSES = 12, 10, 4


def tiny_attention() -> object:
    """Embedding, one ReLU attention block on a fused qkv projection, mean pooling, head."""
    import torch
    from torch import nn

    class TinyAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(FEATURES, 16)
            self.qkv = nn.Linear(16, 48)
            self.ffn = nn.Linear(16, 16)
            self.head = nn.Linear(16, CLASSES)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.embed(x))
            q, k, v = self.qkv(h).chunk(3, dim=-1)
            h = h + torch.softmax(q @ k.transpose(-1, -2) * 0.25, dim=-1) @ v
            h = h + torch.relu(self.ffn(h))
            return self.head(h.mean(dim=1))

    torch.manual_seed(0)
    return TinyAttention().eval()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    np.save(path / "calib.npy", rng.standard_normal((16, FRAMES, FEATURES)).astype(np.float32))
    return path


def _example() -> object:
    import torch

    return torch.from_numpy(np.random.default_rng(1).standard_normal((1, FRAMES, FEATURES)))


def _float_outputs(net: object, calib: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate([net(torch.from_numpy(x[None])).numpy() for x in calib])


def _check_converted(out: Path, report: dict, calib: np.ndarray, want: np.ndarray | None) -> None:
    """Full-integer int8 I/O and tensors; TFLM's outputs agree with WANT (float outputs)."""
    model = load_model(out / "model.tflite")
    check_int8(model)
    assert model.input.dtype == model.output.dtype == "INT8"
    assert report["input"]["dtype"] == report["output"]["dtype"] == "int8"
    assert report["activations"] == "int8"
    assert report["float_vs_int8"]["calib"]["cosine_min"] >= 0.98, report["float_vs_int8"]
    if want is not None:  # recompute independently of the report, from the source model
        i, o = model.input, model.output
        xq = np.clip(np.round(calib / i.scale[0]) + i.zero_point[0], -128, 127).astype(np.int8)
        got = (Reference(model.raw).run_many(xq).astype(np.float32) - o.zero_point[0]) * o.scale[0]
        cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
        assert cos.min() >= 0.98, cos


def test_torchscript_traced(work: Path) -> None:
    import torch

    net = tiny_attention()
    torch.jit.save(torch.jit.trace(net, (_example().float(),)), work / "traced.pt")
    report = convert(str(work / "traced.pt"), work / "calib.npy", work / "out_pt")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_pt", report, calib, _float_outputs(net, calib))
    assert report["ops"]["SOFTMAX"] == 1


def test_torchscript_scripted(work: Path) -> None:
    import torch

    net = tiny_attention()
    torch.jit.save(torch.jit.script(net), work / "scripted.ts")
    report = convert(str(work / "scripted.ts"), work / "calib.npy", work / "out_ts")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_ts", report, calib, _float_outputs(net, calib))


def test_torch_export_pt2(work: Path) -> None:
    import torch

    net = tiny_attention()
    torch.export.save(torch.export.export(net, (_example().float(),)), work / "model.pt2")
    report = convert(str(work / "model.pt2"), work / "calib.npy", work / "out_pt2")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_pt2", report, calib, _float_outputs(net, calib))


def test_float_tflite(work: Path) -> None:
    import litert_torch

    net = tiny_attention()
    litert_torch.convert(net, (_example().float(),)).export(str(work / "float.tflite"))
    report = convert(str(work / "float.tflite"), work / "calib.npy", work / "out_tflite")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_tflite", report, calib, _float_outputs(net, calib))


def test_keras_attention_with_layer_normalization(work: Path) -> None:
    """Keras's LayerNormalization converts with a NEG, rewritten to MUL so no float is left."""
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((FRAMES, FEATURES))
    h = keras.layers.Dense(16, activation="relu")(x)
    h = keras.layers.LayerNormalization()(h + keras.layers.MultiHeadAttention(2, 8)(h, h))
    h = keras.layers.GlobalAveragePooling1D()(h)
    net = keras.Model(x, keras.layers.Dense(CLASSES)(h))
    net.save(work / "model.keras")
    report = convert(str(work / "model.keras"), work / "calib.npy", work / "out_keras")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_keras", report, calib, np.asarray(net(calib, training=False)))
    assert "NEG" not in report["ops"] and report["ops"]["RSQRT"] == 1
    assert [r["rewrite"] for r in report["rewrites"]] == ["neg"]


# --- 16x8: int16 activations, int8 weights ---


def test_max_pool_stem_runs_exactly_in_the_aot_runtime(work: Path, tmp_path: Path) -> None:
    # An audio CNN stem with nn.MaxPool2d: MAX_POOL_2D stays int8, and the generated C gives
    # the interpreter's bytes.
    import torch
    from torch import nn

    from edgetx.codegen.aot import generate_aot
    from edgetx.codegen.aot.host import host_model

    class PoolStem(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.head = nn.Linear(4 * (FRAMES // 2) * (FEATURES // 2), CLASSES)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = nn.functional.max_pool2d(torch.relu(self.conv(x.unsqueeze(1))), 2)
            return self.head(h.flatten(1))

    torch.manual_seed(0)
    net = PoolStem().eval()
    torch.export.save(torch.export.export(net, (_example().float(),)), work / "pool.pt2")
    report = convert(str(work / "pool.pt2"), work / "calib.npy", work / "out_pool")
    calib = np.load(work / "calib.npy")
    _check_converted(work / "out_pool", report, calib, _float_outputs(net, calib))
    model = load_model(work / "out_pool" / "model.tflite")
    assert "MAX_POOL_2D" in model.op_counts()
    gen = generate_aot(model, tmp_path / "src")
    host = host_model(tmp_path / "src", tmp_path / "host", gen.input_bytes, gen.output_bytes)
    xs = np.random.default_rng(2).integers(-128, 128, (200, gen.input_bytes), dtype=np.int8)
    np.testing.assert_array_equal(host.run(xs), Reference(model.raw).run_many(xs))


def _check_int16(out: Path, report: dict, x: np.ndarray, want: np.ndarray) -> None:
    """Full-integer 16x8; int16 bytes through TFLM agree with WANT (float outputs on X)."""
    assert report["activations"] == "int16"
    assert report["input"]["dtype"] == report["output"]["dtype"] == "int16"
    model = load_model(out / "model.tflite")
    check_int16(model)
    assert {t.dtype for t in model.tensors if not t.is_constant} == {"INT16"}
    fc = [op for op in model.operators if op.opcode == "FULLY_CONNECTED"]
    assert fc and {model.tensor(op.inputs[1]).dtype for op in fc} == {"INT8"}
    i, o = model.input, model.output
    xq = np.clip(np.round(x / i.scale[0]) + i.zero_point[0], -32768, 32767).astype(np.int16)
    got_q = Reference(model.raw).run_many(xq)
    assert got_q.dtype == np.int16 and np.abs(got_q.astype(np.int32)).max() > 127
    got = (got_q.astype(np.float32) - o.zero_point[0]) * o.scale[0]
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() >= 0.999, cos
    assert report["float_vs_int8"]["calib"]["cosine_min"] >= 0.999


def test_int16_transformer_runs_in_tflm(work: Path) -> None:
    """Two-head attention and LayerNorm (legalized to MEAN, SUB, MUL, RSQRT) in 16x8."""
    sys.path.insert(0, str(FIXTURES / "models"))
    try:
        from tiny_audio import tiny
    finally:
        sys.path.remove(str(FIXTURES / "models"))
    calib = work / "calib_audio.npy"
    rng = np.random.default_rng(0)
    np.save(calib, (rng.standard_normal((8, 32, 40)) * 15 - 45).astype(np.float32))
    spec = f"{FIXTURES / 'models' / 'tiny_audio.py'}:tiny"
    report = convert(spec, calib, work / "out_int16", activations="int16")
    assert report["ops"]["RSQRT"] == 4
    assert "squared_difference" in [r["rewrite"] for r in report["rewrites"]]
    x = np.load(calib)
    _check_int16(work / "out_int16", report, x, _float_outputs(tiny(), x))


def test_int16_single_head_attention(work: Path) -> None:
    """One head: q @ k.T is converted as a FULLY_CONNECTED with computed weights, which has no
    16x8 kernel; it is rewritten as BATCH_MATMUL."""
    import torch

    net = tiny_attention()
    torch.export.save(torch.export.export(net, (_example().float(),)), work / "one_head.pt2")
    out = work / "out_one_head16"
    report = convert(str(work / "one_head.pt2"), work / "calib.npy", out, activations="int16")
    assert report["ops"]["BATCH_MATMUL"] == 2
    assert "computed_fc" in [r["rewrite"] for r in report["rewrites"]]
    x = np.load(work / "calib.npy")
    _check_int16(out, report, x, _float_outputs(net, x))


def test_int16_refusal_names_every_operator(work: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.py"
    model.write_text(
        "import torch\n\n\nclass M(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        f"        self.fc = torch.nn.Linear({FEATURES}, 8)\n\n"
        "    def forward(self, x):\n"
        "        h = torch.nn.functional.hardswish(self.fc(x))\n"
        "        return h / (1 + h * h)\n\n\n"
        "def build():\n    return M().eval()\n"
    )
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "edgetx", "convert", f"{model}:build", "--calib"]
    argv += [str(work / "calib.npy"), "--out", str(out), "--activations", "int16"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 3, result.stderr
    err = result.stderr
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "int16 activations in TensorFlow Lite Micro, and these do not: DIV, HARD_SWISH" in err
    assert "--activations int8" in err
    assert not out.exists()


def test_int16_keras_layer_normalization(work: Path) -> None:
    """Keras LayerNormalization's SQUARED_DIFFERENCE, left in float by the 16x8 quantizer, is
    rewritten as SUB then MUL."""
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((FRAMES, FEATURES))
    h = keras.layers.LayerNormalization()(keras.layers.Dense(8)(x))
    net = keras.Model(x, h)
    net.save(work / "norm.keras")
    out = work / "out_norm16"
    report = convert(str(work / "norm.keras"), work / "calib.npy", out, activations="int16")
    assert "squared_difference" in [r["rewrite"] for r in report["rewrites"]]
    assert "SQUARED_DIFFERENCE" not in report["ops"]
    calib = np.load(work / "calib.npy")
    want = np.asarray(net(calib, training=False)).reshape(len(calib), -1)
    _check_int16(out, report, calib, want)


# --- files that are not what they claim, and models edgetx cannot convert ---


def _cli_error(work: Path, model: Path, code: int, *needles: str) -> None:
    """Converting MODEL fails with exit code CODE and one line naming the problem."""
    out = work / "never"
    with pytest.raises(EdgetxError) as info:
        convert(str(model), work / "calib.npy", out)
    assert info.value.exit_code == code, info.value
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("garbage.pt", ("not a TorchScript file", "torch.jit.save")),
        ("garbage.ts", ("not a TorchScript file",)),
        ("garbage.pt2", ("not a torch.export archive", "torch.export.save")),
        ("garbage.keras", ("not a Keras .keras file", "model.save")),
        ("garbage.tflite", ("not a TensorFlow Lite flatbuffer",)),
        ("garbage.h5", ("model.save('model.keras')",)),
    ],
)
def test_corrupt_file_is_exit_2(work: Path, name: str, needles: tuple) -> None:
    path = work / name
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _cli_error(work, path, 2, str(path), *needles)


def test_torch_save_file_is_exit_2(work: Path) -> None:
    import torch

    torch.save(tiny_attention().state_dict(), work / "weights.pt")
    _cli_error(work, work / "weights.pt", 2, "torch.save file", "file.py:factory")


def test_quantized_tflite_is_exit_2(work: Path) -> None:
    quantized = work / "quantized.tflite"
    quantized.write_bytes(_any_int8_model(work))
    _cli_error(work, quantized, 2, "already quantized", "float .tflite")


def _any_int8_model(work: Path) -> bytes:
    import litert_torch

    from edgetx_converters.quantize import quantize

    litert_torch.convert(tiny_attention(), (_example().float(),)).export(str(work / "f.tflite"))
    return quantize(work / "f.tflite", np.load(work / "calib.npy")[:2])


def test_two_input_model_is_exit_3(work: Path) -> None:
    import torch

    class TwoInputs(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    x = _example().float()
    torch.export.save(torch.export.export(TwoInputs(), (x, x)), work / "two.pt2")
    _cli_error(work, work / "two.pt2", 3, "takes 2 inputs", "one input")


def test_keras_custom_layer_is_exit_3(work: Path) -> None:
    path = work / "custom.keras"
    with zipfile.ZipFile(path, "w") as archive:
        config = '{"class_name": "NoSuchLayer", "config": {}, "module": "mine"}'
        archive.writestr("config.json", config)
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
    _cli_error(work, path, 3, "Keras could not load", "custom objects")


def test_no_heavy_import_for_unknown_suffix(tmp_path: Path) -> None:
    # The suffix is checked before torch, TensorFlow or Keras is imported.
    code = (
        "import sys\nfrom edgetx_converters import load\n"
        "try:\n    load.load('model.bin')\nexcept Exception as e:\n    print(e)\n"
        "print([m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "neither 'file.py:factory' nor a .pt, .ts, .pt2, .onnx, .keras, .tflite" in out.stdout
    assert out.stdout.strip().endswith("[]")
