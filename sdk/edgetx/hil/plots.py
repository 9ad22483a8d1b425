"""PNG plots for report.md: latency histogram, confusion matrix, per-class accuracy.

matplotlib is imported here only, with the Agg backend: no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PLOT_FILES = {
    "latency": "latency.png",
    "confusion": "confusion.png",
    "per_class": "per_class_accuracy.png",
}


def write_plots(report_dir: Path, report: dict[str, Any], latency: np.ndarray | None) -> dict:
    """Write the plots the report has data for; returns {plot: file name}."""
    if latency is None:
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = {}
    for key, draw in (("latency", _latency), ("confusion", _confusion), ("per_class", _classes)):
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        draw(ax, report, latency)
        fig.tight_layout()
        fig.savefig(report_dir / PLOT_FILES[key], metadata={"Software": None})
        plt.close(fig)
        written[key] = PLOT_FILES[key]
    return written


def _latency(ax: Any, report: dict[str, Any], latency: np.ndarray) -> None:
    lat = report["latency"]
    lo, hi = int(latency.min()), int(latency.max())
    ax.hist(latency, bins=min(50, max(1, hi - lo + 1)), color="#4477aa")
    ax.axvline(lat["p50"], color="k", linestyle="--", label=f"p50 {lat['p50']:,}")
    ax.axvline(lat["p95"], color="#cc6677", linestyle=":", label=f"p95 {lat['p95']:,}")
    ax.set_xlabel(f"latency per inference ({lat['unit']})")
    ax.set_ylabel("samples")
    ax.set_title(f"{report['completed']} samples on {report['board']}")
    ax.legend()


def _confusion(ax: Any, report: dict[str, Any], latency: np.ndarray) -> None:
    m = np.array(report["confusion"])
    im = ax.imshow(m, cmap="Blues")
    ax.figure.colorbar(im, ax=ax)
    ax.set_xlabel("device prediction")
    ax.set_ylabel("label")
    ax.set_xticks(range(len(m)))
    ax.set_yticks(range(len(m)))
    if len(m) <= 16:
        for (r, c), v in np.ndenumerate(m):
            color = "white" if v > m.max() / 2 else "black"
            ax.text(c, r, str(v), ha="center", va="center", color=color, fontsize=8)


def _classes(ax: Any, report: dict[str, Any], latency: np.ndarray) -> None:
    classes = [c for c in report["classes"] if c["samples"]]
    x = np.arange(len(classes))
    ax.bar(x - 0.2, [c["host_accuracy"] for c in classes], 0.4, label="host int8 (TFLM)")
    ax.bar(x + 0.2, [c["device_accuracy"] for c in classes], 0.4, label="device")
    ax.set_xticks(x, [str(c["label"]) for c in classes])
    ax.set_xlabel("class")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend()
