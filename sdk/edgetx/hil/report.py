"""HIL reports: report.json for machines, report.md and a short table for people."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def latency_summary(values: np.ndarray, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "p50": int(np.percentile(values, 50, method="nearest")),
        "p95": int(np.percentile(values, 95, method="nearest")),
        "max": int(values.max()),
        "mean": float(values.mean()),
    }


def write_report(report_dir: Path, report: dict[str, Any]) -> None:
    """Write report.json and report.md, each replaced atomically."""
    report_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(report_dir / "report.json", json.dumps(report, indent=2) + "\n")
    _atomic_write(report_dir / "report.md", markdown(report))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    lat = report["latency"]
    return [
        ("samples", f"{report['samples']}"),
        ("device accuracy", f"{report['device_accuracy']:.4f}"),
        ("host int8 accuracy", f"{report['host_accuracy']:.4f}"),
        ("agreement with host", f"{report['agreement_with_host']:.4f}"),
        (f"latency p50 / p95 / max ({lat['unit']})", f"{lat['p50']} / {lat['p95']} / {lat['max']}"),
        ("flash bytes", f"{report['flash_bytes']}"),
        ("RAM bytes", f"{report['ram_bytes']}"),
    ]


def table(report: dict[str, Any]) -> str:
    return format_rows(summary_rows(report))


def format_rows(rows: list[tuple[str, str]], indent: str = "") -> str:
    """Two aligned columns: names left, values right."""
    width = max(len(k) for k, _ in rows)
    value_width = max(len(v) for _, v in rows)
    return "\n".join(f"{indent}{k:<{width}}  {v:>{value_width}}" for k, v in rows)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# HIL report: {report['board']}",
        "",
        f"Firmware `{report['firmware']}`, runtime `{report['runtime']}`, "
        f"dataset `{report['dataset']}`.",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(report)]
    if report["mismatches"]:
        lines += ["", f"Samples whose bytes differ from the host: {report['mismatches'][:20]}"]
    return "\n".join(line.rstrip() for line in lines) + "\n"
