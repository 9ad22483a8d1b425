"""Per-tensor float-vs-int8 error (report.json `layers`, `edgetx inspect --layers`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgetx.errors import UserError
from edgetx.inspect import inspect_dir
from edgetx.quant import dequantize, quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import load_model
from edgetx_converters import convert

# fc2's output is shifted by 1000 (folded into its bias) and shifted back by a SUB: int8 steps
# of about 8 on a tensor whose values are about 1, so the SUB output is badly quantized.
CANCELLING = """
import torch
from torch import nn


class Cancelling(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(10, 16), nn.Linear(16, 16), nn.Linear(16, 4)
        self.register_buffer("offset", torch.full((16,), 1000.0))

    def forward(self, x):
        big = self.fc2(torch.relu(self.fc1(x))) + self.offset
        return self.head(torch.relu(big - self.offset)).mean(dim=1)


def build():
    torch.manual_seed(0)
    return Cancelling().eval()
"""


@pytest.fixture(scope="module")
def cancelling(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("layers")
    (work / "cancelling.py").write_text(CANCELLING)
    rng = np.random.default_rng(0)
    np.save(work / "calib.npy", rng.standard_normal((16, 12, 10)).astype(np.float32))
    convert(f"{work / 'cancelling.py'}:build", work / "calib.npy", work / "out")
    return work


def _sqnr(f: np.ndarray, q: np.ndarray) -> float:
    f, q = f.astype(np.float64).ravel(), q.astype(np.float64).ravel()
    return float(10 * np.log10((f * f).sum() / ((f - q) ** 2).sum()))


def test_badly_quantized_tensor_comes_first(cancelling: Path) -> None:
    report = json.loads((cancelling / "out" / "report.json").read_text())
    rows = report["layers"]
    worst = rows[0]
    assert worst["op"] == "SUB" and worst["sqnr_db"] < 0 and worst["cosine"] < 0.8, worst
    by_op = {r["op"]: r for r in rows}
    assert by_op["INPUT"]["sqnr_db"] > 30 and by_op["INPUT"]["cosine"] > 0.999
    sqnrs = [r["sqnr_db"] for r in rows if r["sqnr_db"] is not None]
    assert sqnrs == sorted(sqnrs)
    # Every activation tensor of the model has one row, and nothing else does.
    model = load_model(cancelling / "out" / "model.tflite")
    activations = {t.index for t in model.tensors if not t.is_constant}
    assert sorted(r["index"] for r in rows) == sorted(activations)
    for r in rows:
        assert model.tensor(r["index"]).name == r["tensor"]
        assert -1 <= r["cosine"] <= 1
    md = (cancelling / "out" / "report.md").read_text()
    assert "## Where quantization hurts" in md and f"| `{worst['tensor']}` | SUB |" in md


def test_figures_match_an_independent_computation(cancelling: Path) -> None:
    """The input row is input quantization alone; the output row is the TFLM output's error."""
    import torch

    sys.path.insert(0, str(cancelling))
    try:
        from cancelling import build
    finally:
        sys.path.remove(str(cancelling))
    calib = np.load(cancelling / "calib.npy")
    model = load_model(cancelling / "out" / "model.tflite")
    rows = {
        r["index"]: r
        for r in json.loads((cancelling / "out" / "report.json").read_text())["layers"]
    }
    i, o = model.input, model.output
    xq = quantize_for(calib, i)
    want_in = _sqnr(calib, dequantize(xq, i.scale[0], int(i.zero_point[0])))
    assert rows[i.index]["sqnr_db"] == pytest.approx(want_in, abs=0.01)
    with torch.no_grad():
        float_out = build()(torch.from_numpy(calib)).numpy()
    int8_out = dequantize(Reference(model.raw).run_many(xq), o.scale[0], int(o.zero_point[0]))
    assert rows[o.index]["sqnr_db"] == pytest.approx(_sqnr(float_out, int8_out), abs=0.05)


def test_inspect_layers_without_tensorflow_or_torch(cancelling: Path) -> None:
    out = cancelling / "out"
    code = (
        "import sys\nfrom edgetx.cli import main\n"
        f"rc = main(['inspect', {str(out)!r}, '--layers'])\n"
        "heavy = ('tensorflow', 'torch', 'keras', 'ai_edge_litert', 'edgetx_converters')\n"
        "print('heavy:', [m for m in heavy if m in sys.modules], rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert lines[-1] == "heavy: [] 0", result.stdout + result.stderr
    assert lines[0].startswith("float vs int8 per tensor") and "SQNR dB" in lines[1]
    rows = json.loads((out / "report.json").read_text())["layers"]
    assert len(lines) == 2 + len(rows) + 1
    first = lines[2].split()
    assert first[2] == "SUB" and float(first[0]) == pytest.approx(rows[0]["sqnr_db"], abs=0.05)


def test_inspect_summary_points_to_layers(cancelling: Path) -> None:
    text = inspect_dir(cancelling / "out")
    assert "layers: " in text and "--layers" in text


def test_inspect_layers_of_an_old_report(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"source": "old"}))
    with pytest.raises(UserError, match=r"no per-tensor errors.*convert' again"):
        inspect_dir(tmp_path, layers=True)
    with pytest.raises(UserError, match=r"report\.json not found"):
        inspect_dir(tmp_path / "missing", layers=True)
