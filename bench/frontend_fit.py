"""Raw-input firmwares: fit and front-end cost (a benchmark, not a test).

    .venv/bin/python bench/frontend_fit.py [--text-model DIR] [--audio-model DIR]

Builds, with `edgetx build --frontend`, the text example (hash embedding; default model
build/eelbert_intent/model from `make eelbert`) and the audio example (fixed-point log-mel;
default build/audio_kws/model from `make demo`) for qemu-mps2-an386, and builds each again
without the front end so its own share is stated. Flash and RAM come from the ELF and are
checked against issue 5's budgets: text 512 KB flash / 128 KB RAM (STM32F446RE class), audio
128 KB / 32 KB. Then a few raw samples of each example's test set run under QEMU with -icount
(RUN_RAW): instructions in the front end and in the model per input. Writes
bench/results/frontend_fit.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from edgetx.boards import load_board
from edgetx.build import build
from edgetx.flash import QemuRunner
from edgetx.frontends.device import FRONTEND_FILE, hil_raw_inputs
from edgetx.link import Link
from edgetx.tflite_model import load_model

ROOT = Path(__file__).resolve().parents[1]
BOARD = "qemu-mps2-an386"
SAMPLES = 5
INSTRUCTIONS_PER_TICK = 40  # -icount shift=0: 1 ns per instruction, SysTick at 25 MHz


def measure(name: str, model_dir: Path, data: Path, flash_budget: int, ram_budget: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgetx-fit.") as tmp:
        plain = build(model_dir, BOARD, Path(tmp) / "plain")
        fw = Path(tmp) / "raw"
        raw = build(model_dir, BOARD, fw, frontend=data / FRONTEND_FILE)
        dataset = data / "test.npz"
        payloads, _, _ = hil_raw_inputs(fw, load_model(fw / "model.tflite"), dataset, SAMPLES)
        with (
            QemuRunner.from_board(load_board(BOARD)) as runner,
            Link.open(runner.start(fw / "firmware.elf")) as link,
        ):
            link.sync()
            results = [link.run_raw(p) for p in payloads]
    frontend = np.array([r.frontend_ticks for r in results]) * INSTRUCTIONS_PER_TICK
    model = np.array([r.ticks for r in results]) * INSTRUCTIONS_PER_TICK
    result = {
        "board": BOARD,
        "flash_bytes": raw.flash_bytes,
        "ram_bytes": raw.ram_bytes,
        "flash_budget": flash_budget,
        "ram_budget": ram_budget,
        "fits": raw.flash_bytes <= flash_budget and raw.ram_bytes <= ram_budget,
        "frontend_flash_bytes": raw.flash_bytes - plain.flash_bytes,
        "frontend_ram_bytes": raw.ram_bytes - plain.ram_bytes,
        "frontend_instructions_mean": int(frontend.mean()),
        "model_instructions_mean": int(model.mean()),
        "samples": len(results),
    }
    print(
        f"{name}: flash {raw.flash_bytes} of {flash_budget}, RAM {raw.ram_bytes} of {ram_budget}"
        f" ({'fits' if result['fits'] else 'DOES NOT FIT'}); front end"
        f" {result['frontend_flash_bytes']} B flash, {result['frontend_ram_bytes']} B RAM,"
        f" {result['frontend_instructions_mean']} instructions per input"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-model", type=Path, default=ROOT / "build/eelbert_intent/model")
    parser.add_argument("--audio-model", type=Path, default=ROOT / "build/audio_kws/model")
    args = parser.parse_args()
    cases = {
        "text": (args.text_model, ROOT / "build/eelbert_intent/data", 512 * 1024, 128 * 1024),
        "audio": (args.audio_model, ROOT / "build/audio_kws/data", 128 * 1024, 32 * 1024),
    }
    results = {}
    for name, (model_dir, data, flash_budget, ram_budget) in cases.items():
        if not (model_dir / "model.tflite").is_file() or not (data / "test.npz").is_file():
            print(f"{name}: {model_dir} or {data} missing; run the example first")
            continue
        results[name] = measure(name, model_dir, data, flash_budget, ram_budget)
    out = ROOT / "bench" / "results" / "frontend_fit.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
