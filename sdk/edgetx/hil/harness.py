"""Run every sample of a dataset on the device over the serial link.

An emulated board is started in QEMU with deterministic instruction counting;
a real board is reached at --port. Either way the harness speaks to it through
pyserial only, the same code path as a USB serial port. The host reference is
the TensorFlow Lite Micro interpreter on the same int8 inputs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgetx.boards import Board, load_board
from edgetx.build import MODEL_FILE, read_build_info
from edgetx.errors import DeviceError, UserError
from edgetx.flash import QemuRunner
from edgetx.hil.dataset import load_dataset
from edgetx.hil.report import latency_summary, table, write_report
from edgetx.link import Link
from edgetx.quant import quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import load_model

# Under QEMU with -icount shift=0 one guest instruction is one nanosecond.
QEMU_INSTRUCTIONS_PER_SECOND = 1_000_000_000


@contextlib.contextmanager
def _console(board: Board, elf: Path, port: str | None) -> Iterator[str]:
    if port is not None:
        yield port
        return
    if not board.emulated:
        raise UserError(f"board {board.id} is not emulated; give the serial port with --port")
    with QemuRunner.from_board(board) as runner:
        yield runner.start(elf)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        bar = "#" * (30 * done // total)
        print(f"\r[{bar:<30}] {done}/{total}", end="\n" if done == total else "", file=sys.stderr)


def run_hil(
    fwdir: Path,
    board_id: str,
    dataset: Path,
    report_dir: Path,
    *,
    port: str | None = None,
    limit: int | None = None,
) -> dict:
    board = load_board(board_id)
    info = read_build_info(fwdir, board.id)
    model = load_model(Path(fwdir) / MODEL_FILE)
    data = load_dataset(dataset, model.input.shape[1:], limit)
    xq = np.stack([quantize_for(x, model.input).ravel() for x in data.x])
    host = Reference(model.raw).run_many(xq)

    outputs, ticks = [], []
    with _console(board, Path(fwdir) / "firmware.elf", port) as url, Link.open(url) as link:
        link.sync()
        dev = link.info()
        if (dev.input_bytes, dev.output_bytes) != (info.input_bytes, info.output_bytes):
            raise DeviceError(
                f"device runs a model with {dev.input_bytes}/{dev.output_bytes} input/output "
                f"bytes, {fwdir} has {info.input_bytes}/{info.output_bytes}; flash this firmware"
            )
        for i, x in enumerate(xq):
            result = link.run(x.tobytes())
            outputs.append(np.frombuffer(result.output, np.int8))
            ticks.append(result.ticks)
            _progress(i + 1, len(xq))

    device = np.stack(outputs)
    same = np.all(device == host, axis=1)
    if board.emulated and port is None:
        latency = np.array(ticks) * (QEMU_INSTRUCTIONS_PER_SECOND // dev.tick_hz)
        unit = "instructions"
    else:
        latency = np.array(ticks) * board.mcu.clock_hz // dev.tick_hz
        unit = "cycles"
    report = {
        "board": board.id,
        "firmware": str(fwdir),
        "runtime": dev.runtime,
        "dataset": str(dataset),
        "samples": len(xq),
        "device_accuracy": float(np.mean(device.argmax(axis=1) == data.y)),
        "host_accuracy": float(np.mean(host.argmax(axis=1) == data.y)),
        "agreement_with_host": float(same.mean()),
        "mismatches": [int(i) for i in np.flatnonzero(~same)],
        "latency": latency_summary(latency, unit),
        "flash_bytes": info.flash_bytes,
        "ram_bytes": info.ram_bytes,
    }
    write_report(Path(report_dir), report)
    print(table(report))
    return report
