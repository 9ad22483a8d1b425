"""Print the demo's closing table from the convert and HIL reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgetx.hil.report import format_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("work", type=Path, help="demo directory (build/audio_kws)")
    args = ap.parse_args()
    convert = json.loads((args.work / "model" / "report.json").read_text())
    hil = json.loads((args.work / "hil" / "report.json").read_text())
    lat = hil["latency"]
    rows = [
        ("float accuracy (unseen voices)", f"{convert['accuracy']['float']:.4f}"),
        ("int8 accuracy (TFLM, host)", f"{convert['accuracy']['int8']:.4f}"),
        ("device accuracy", f"{hil['device_accuracy']:.4f}"),
        ("agreement with host", f"{hil['agreement_with_host']:.4f}"),
        (f"latency p50 ({lat['unit']})", f"{lat['p50']:,}"),
        ("flash bytes", f"{hil['flash_bytes']:,}"),
        ("RAM bytes", f"{hil['ram_bytes']:,}"),
    ]
    print(f"\nedgetx demo: audio keyword spotting on {hil['board']} ({hil['samples']} samples)")
    print(format_rows(rows, indent="  "))


if __name__ == "__main__":
    main()
