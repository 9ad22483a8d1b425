"""Conversion benchmark over the transformer zoo (a benchmark, not a test).

    .venv/bin/python bench/convert_zoo.py

Converts every model of examples/zoo/zoo.py with `edgetx convert` (32 calibration samples
each) and prints, per model: conversion seconds, operators, parameters, MACs, the measured
TFLite Micro arena and the float-vs-int8 output cosine; then `converted K of N`. Writes
bench/results/convert_zoo.json.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgetx.errors import EdgetxError
from edgetx_converters import convert

ROOT = Path(__file__).resolve().parents[1]
ZOO_PY = ROOT / "examples" / "zoo" / "zoo.py"
RESULTS = ROOT / "bench" / "results" / "convert_zoo.json"
CALIB = 32


def load_zoo() -> object:
    spec = importlib.util.spec_from_file_location("edgetx_zoo", ZOO_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules["edgetx_zoo"] = module
    spec.loader.exec_module(module)
    return module


def convert_one(zoo: object, name: str, work: Path) -> dict:
    np.save(work / f"{name}.npy", zoo.calibration(name, CALIB))
    started = time.monotonic()
    try:
        report = convert(f"{ZOO_PY}:{name}", work / f"{name}.npy", work / name)
    except EdgetxError as e:
        return {"name": name, "converted": False, "error": str(e)}
    calib = report["float_vs_int8"]["calib"]
    return {
        "name": name,
        "converted": True,
        "seconds": round(time.monotonic() - started, 1),
        "ops": report["ops"],
        "params": report["params"],
        "macs": report["macs"],
        "tflm_arena_bytes": report["tflm_arena_bytes"],
        "tflite_bytes": report["tflite_bytes"],
        "cosine_mean": calib["cosine_mean"],
        "cosine_min": calib["cosine_min"],
        "rewrites": {r["rewrite"]: r["count"] for r in report["rewrites"]},
    }


def row(r: dict) -> str:
    if not r["converted"]:
        return f"| {r['name']} | failed: {r['error']} |"
    ops = ", ".join(f"{op} {n}" for op, n in sorted(r["ops"].items()))
    rewrites = ", ".join(f"{k} {v}" for k, v in r["rewrites"].items())
    return (
        f"| {r['name']} | {r['seconds']:.1f} | {r['params']:,} | {r['macs']:,}"
        f" | {r['tflm_arena_bytes']:,} | {r['cosine_mean']:.4f} | {r['cosine_min']:.4f}"
        f" | {rewrites} | {ops} |"
    )


def main() -> int:
    zoo = load_zoo()
    print(
        "| model | seconds | params | MACs | arena B | cosine mean | cosine min | rewrites | ops |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    with tempfile.TemporaryDirectory(prefix="convert_zoo.") as tmp:
        for name in zoo.ZOO:
            results.append(convert_one(zoo, name, Path(tmp)))
            print(row(results[-1]), flush=True)
    done = sum(r["converted"] for r in results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"calibration_samples": CALIB, "models": results}, indent=2) + "\n"
    )
    print(f"converted {done} of {len(results)}")
    return 0 if done == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
