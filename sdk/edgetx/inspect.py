"""`edgetx inspect`: a short summary of a converted model or firmware directory.

Reads only the JSON reports, so it needs neither TensorFlow nor torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgetx.errors import UserError


def inspect_dir(path: Path, layers: bool = False) -> str:
    """The reports in PATH, one line per key; with LAYERS, the per-tensor error table instead."""
    path = Path(path)
    if layers:
        return layer_table(_read(path / "report.json", "run 'edgetx convert' first"))
    lines = []
    for name in ("report.json", "build.json"):
        f = path / name
        if f.is_file():
            data = _read(f, "")
            lines.append(f"{f}:")
            for k, v in data.items():
                if k == "layers":  # one row per tensor: shown by --layers
                    v = f"{len(v)} tensors; see 'edgetx inspect {path} --layers'"
                lines.append(f"  {k}: {json.dumps(v)}")
    if not lines:
        raise UserError(f"{path} has no report.json or build.json; run 'edgetx convert' or 'build'")
    return "\n".join(lines)


def layer_table(report: dict) -> str:
    """Every activation tensor's float-vs-quantized SQNR and cosine, worst first (as stored)."""
    if "layers" not in report:
        raise UserError(
            "report.json has no per-tensor errors (converted by an older edgetx);"
            " run 'edgetx convert' again"
        )
    rows = report["layers"]
    name_width = max([len("tensor"), *(len(r["tensor"]) for r in rows)])
    lines = [
        f"float vs {report.get('activations', 'int8')} per tensor, on the calibration data,"
        " worst first",
        f"{'SQNR dB':>8}  {'cosine':>8}  {'op':<18}  {'tensor':<{name_width}}  index",
    ]
    for r in rows:
        sqnr = "-" if r["sqnr_db"] is None else f"{r['sqnr_db']:.1f}"
        lines.append(
            f"{sqnr:>8}  {r['cosine']:>8.4f}  {r['op']:<18}  {r['tensor']:<{name_width}}"
            f"  {r['index']}"
        )
    return "\n".join(lines)


def _read(f: Path, missing_hint: str) -> dict:
    if not f.is_file():
        raise UserError(f"{f} not found; {missing_hint}")
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{f} is not readable JSON ({e}); convert again") from None
