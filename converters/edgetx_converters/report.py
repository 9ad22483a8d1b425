"""Figures about a converted model (ops, params, MACs) and the report.json / report.md writers."""

from __future__ import annotations

import contextlib
import json
from importlib import metadata
from pathlib import Path

from edgetx.tflite_model import Model, Tensor

# Operators whose input 2 is an int32 bias (a parameter, unlike int32 shapes and axes).
_BIASED_OPS = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"}
_TOOLS = [
    "torch", "litert-torch", "ai-edge-quantizer", "ai-edge-litert", "tflite-micro", "onnx",
    "onnx2tf", "tensorflow",
]  # fmt: skip


def count_params(model: Model) -> int:
    """Elements of constant tensors, except int32 shape/axis operands: weights, biases, and
    constant operands of elementwise ops (LayerNorm gains, positional embeddings, scalars)."""
    biases = {
        op.inputs[2] for op in model.operators if op.opcode in _BIASED_OPS and len(op.inputs) > 2
    }
    return sum(
        t.size for t in model.tensors if t.is_constant and (t.dtype != "INT32" or t.index in biases)
    )


def count_macs(model: Model) -> int:
    """Multiply-accumulates per inference of FULLY_CONNECTED, BATCH_MATMUL, CONV_2D and
    DEPTHWISE_CONV_2D: output elements times the length of each output's dot product."""
    total = 0
    for op in model.operators:
        out = model.tensor(op.outputs[0]).size
        if op.opcode == "FULLY_CONNECTED":
            total += out * model.tensor(op.inputs[1]).shape[-1]  # weights [units, depth]
        elif op.opcode == "BATCH_MATMUL":
            lhs = model.tensor(op.inputs[0]).shape
            adj_x = bool(getattr(op.options, "adjX", False))
            total += out * lhs[-2 if adj_x else -1]
        elif op.opcode == "CONV_2D":
            _, kh, kw, cin = model.tensor(op.inputs[1]).shape  # [cout, kh, kw, cin]
            total += out * kh * kw * cin
        elif op.opcode == "DEPTHWISE_CONV_2D":
            _, kh, kw, _ = model.tensor(op.inputs[1]).shape  # [1, kh, kw, cout]
            total += out * kh * kw
    return total


def tensor_info(t: Tensor) -> dict:
    return {
        "shape": list(t.shape),
        "dtype": t.dtype.lower(),
        "scale": float(t.scale[0]),
        "zero_point": int(t.zero_point[0]),
    }


def tool_versions() -> dict[str, str]:
    versions = {"edgetx": metadata.version("edgetx")}
    for name in _TOOLS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def write(report: dict, out_dir: Path) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report))


def _io(t: dict) -> str:
    return f"{t['dtype']} {t['shape']}, scale {t['scale']:.6g}, zero point {t['zero_point']}"


def _worst_layers(rows: list[dict], shown: int = 5) -> list[str]:
    lines = [
        "",
        "## Where quantization hurts",
        "",
        f"The {min(shown, len(rows))} tensors of {len(rows)} with the lowest SQNR against the"
        " float model on the calibration data (all of them: `edgetx inspect DIR --layers`).",
        "",
        "| tensor | op | SQNR dB | cosine |",
        "|---|---|---|---|",
    ]
    for row in rows[:shown]:
        sqnr = "-" if row["sqnr_db"] is None else f"{row['sqnr_db']:.1f}"
        lines.append(f"| `{row['tensor']}` | {row['op']} | {sqnr} | {row['cosine']:.4f} |")
    return lines


def render_markdown(r: dict) -> str:
    i, o = r["input"], r["output"]
    lines = [
        f"# Conversion report: `{r['source']}`",
        "",
        "| | |",
        "|---|---|",
        f"| model.tflite | {r['tflite_bytes']:,} bytes |",
        f"| TFLite Micro arena (measured minimum) | {r['tflm_arena_bytes']:,} bytes |",
        f"| parameters | {r['params']:,} |",
        f"| MACs per inference | {r['macs']:,} |",
        f"| activations | {r['activations']} |",
        f"| input | {_io(i)} |",
        f"| output | {_io(o)} |",
        f"| conversion time | {r['seconds']:.1f} s |",
        "",
        "## Operators",
        "",
        ", ".join(f"{name} ×{count}" for name, count in r["ops"].items()),
        "",
        "## Rewrites for TFLite Micro",
        "",
        *(f"- {w['how']}: ×{w['count']}" for w in r.get("rewrites", [])),
        *([] if r.get("rewrites") else ["none"]),
        "",
        f"## {r['activations']} against float",
        "",
        f"Dequantized TFLite Micro {r['activations']} outputs against the float model's outputs.",
        "",
        "| data | samples | cosine mean | cosine min | max abs error | top-1 agreement |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in r["float_vs_int8"].items():
        lines.append(
            f"| {name} | {m['samples']} | {m['cosine_mean']:.4f} | {m['cosine_min']:.4f}"
            f" | {m['max_abs_error']:.4g} | {m['top1_agreement']:.2%} |"
        )
    if "accuracy" in r:
        acc = r["accuracy"]
        lines += [
            "",
            f"Accuracy on the evaluation set: float {acc['float']:.2%}, int8 {acc['int8']:.2%}.",
        ]
    lines += _worst_layers(r["layers"])
    tools = ", ".join(f"{k} {v}" for k, v in r["converter"].items())
    lines += ["", f"Converted with {tools}.", ""]
    return "\n".join(lines)
