"""HIL reports: report.json for machines (schema: docs/report-schema.md), report.md with plots
and a short table for people. A partial run gets a valid report too, saying how far it got."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgetx.boards import Board
from edgetx.build import BuildResult
from edgetx.hil.journal import Entry

REPORT_VERSION = 1
# Under QEMU with -icount shift=0 one guest instruction is one nanosecond.
QEMU_INSTRUCTIONS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class Outcome:
    """How a measuring run ended."""

    jobs: int
    resets: int
    resyncs: int
    interrupted: bool
    error: BaseException | None


def latency_summary(values: np.ndarray, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "p50": int(np.percentile(values, 50, method="nearest")),
        "p95": int(np.percentile(values, 95, method="nearest")),
        "max": int(values.max()),
        "mean": float(values.mean()),
    }


def build_report(
    *,
    board: Board,
    info: BuildResult,
    fwdir: Path,
    dataset: Path,
    labels: np.ndarray,
    host: np.ndarray,
    done: dict[int, Entry],
    outcome: Outcome,
    emulated: bool,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """report.json's content from the journal's entries, and the latency of each measured
    sample (for the histogram); metrics cover the measured samples only."""
    idx = np.array(sorted(done), dtype=np.int64)
    n = len(labels)
    if outcome.interrupted:
        reason = "interrupted"
    elif outcome.error is not None:
        reason = str(outcome.error)
    else:
        reason = None
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "status": "complete" if len(idx) == n and reason is None else "partial",
        "reason": reason,
        "board": board.id,
        "firmware": str(fwdir),
        "runtime": info.runtime,
        "dataset": str(dataset),
        "samples": n,
        "completed": len(idx),
        "jobs": outcome.jobs,
        "link": {"resets": outcome.resets, "resyncs": outcome.resyncs},
        "flash_bytes": info.flash_bytes,
        "ram_bytes": info.ram_bytes,
    }
    n_classes = max(host.shape[1], int(labels.max()) + 1)
    if len(idx) == 0:
        return report | {
            "device_accuracy": None, "host_accuracy": None, "agreement_with_host": None,
            "mismatches": [], "latency": None, "classes": [], "confusion": [],
        }, None  # fmt: skip
    device = np.stack([np.frombuffer(done[i].output, np.int8) for i in idx])
    ticks = np.array([done[i].ticks for i in idx], dtype=np.int64)
    y, host_done = labels[idx], host[idx]
    dev_pred, host_pred = device.argmax(axis=1), host_done.argmax(axis=1)
    same = np.all(device == host_done, axis=1)
    if emulated:
        latency = ticks * QEMU_INSTRUCTIONS_PER_SECOND // board.timer.clock_hz
        unit = "instructions"
    else:
        latency = ticks * board.mcu.clock_hz // board.timer.clock_hz
        unit = "cycles"
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y, dev_pred), 1)
    classes = []
    for c in range(n_classes):
        m = y == c
        k = int(m.sum())
        classes.append({
            "label": c,
            "samples": k,
            "host_accuracy": float((host_pred[m] == c).mean()) if k else None,
            "device_accuracy": float((dev_pred[m] == c).mean()) if k else None,
        })  # fmt: skip
    return report | {
        "device_accuracy": float(np.mean(dev_pred == y)),
        "host_accuracy": float(np.mean(host_pred == y)),
        "agreement_with_host": float(same.mean()),
        "mismatches": [int(i) for i in idx[~same]],
        "latency": latency_summary(latency, unit),
        "classes": classes,
        "confusion": confusion.tolist(),
    }, latency


def write_report(report_dir: Path, report: dict[str, Any], latency: np.ndarray | None) -> None:
    """Write the plots, report.json and report.md; the two reports are replaced atomically."""
    from edgetx.hil.plots import write_plots

    report_dir.mkdir(parents=True, exist_ok=True)
    report["plots"] = write_plots(report_dir, report, latency)
    _atomic_write(report_dir / "report.json", json.dumps(report, indent=2) + "\n")
    _atomic_write(report_dir / "report.md", markdown(report))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("samples", f"{report['completed']} of {report['samples']}"),
        ("device accuracy", _fmt(report["device_accuracy"])),
        ("host int8 accuracy", _fmt(report["host_accuracy"])),
        ("agreement with host", _fmt(report["agreement_with_host"])),
    ]
    lat = report["latency"]
    if lat is not None:
        name = f"latency p50 / p95 / max ({lat['unit']})"
        rows.append((name, f"{lat['p50']} / {lat['p95']} / {lat['max']}"))
    rows += [
        ("flash bytes", f"{report['flash_bytes']}"),
        ("RAM bytes", f"{report['ram_bytes']}"),
        ("devices / resets / re-syncs", f"{report['jobs']} / {report['link']['resets']} / "
         f"{report['link']['resyncs']}"),
    ]  # fmt: skip
    return rows


def table(report: dict[str, Any]) -> str:
    text = format_rows(summary_rows(report))
    if report["status"] != "complete":
        done = f"{report['completed']} of {report['samples']}"
        text += f"\nPARTIAL: {done} samples ({report['reason']})"
    return text


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
    ]
    if report["status"] != "complete":
        lines += [
            f"**Partial run: {report['completed']} of {report['samples']} samples measured "
            f"({report['reason']}).** Continue it with `edgetx hil ... --resume`.",
            "",
        ]
    lines += ["| metric | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(report)]
    if report["mismatches"]:
        lines += ["", f"Samples whose bytes differ from the host: {report['mismatches'][:20]}"]
    titles = {
        "latency": "Latency",
        "confusion": "Confusion matrix (device predictions)",
        "per_class": "Per-class accuracy: host int8 (TFLite Micro) vs device",
    }
    for key, name in report["plots"].items():
        lines += ["", f"## {titles[key]}", "", f"![{titles[key]}]({name})"]
    if report["plots"]:
        lines += [
            "",
            "Float accuracy is in the convert report (`edgetx convert`); this run has no float "
            "predictions per sample, so the per-class plot compares int8 on the host and device.",
        ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
