"""AOT runtime benchmark on emulated Cortex-M (a benchmark, not a test).

    .venv/bin/python bench/aot_qemu.py [--only NAME ...]

Converts the audio example (examples/audio_kws, when its trained weights exist), the tests'
tiny audio transformer and every zoo model (examples/zoo/zoo.py), builds each with
`edgetx build` for qemu-mps2-an386 (Cortex-M4) and qemu-mps2-an505 (Cortex-M33), and runs it
under QEMU with -icount, where one instruction is one nanosecond of virtual time:

- the firmware users get (the device agent): instructions per inference from the RUN replies'
  SysTick ticks, on random inputs whose output bytes must equal the TFLM interpreter's;
- a profiling build (bench/profile_main.c in place of the agent, -DEDGETX_TRACE): ticks per
  operator, the hook's own cost subtracted, summed per operator type;
- flash and RAM bytes from the ELF.

Prints a table and writes bench/results/aot_qemu.json. Converted models are cached in
build/bench/aot_qemu/ (delete it to reconvert).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import serial

from edgetx import proc
from edgetx.boards import load_board
from edgetx.build import build
from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.fusion import emit_step, steps
from edgetx.codegen.aot.ops import Context
from edgetx.codegen.aot.planner import plan_memory
from edgetx.codegen.project import render_project
from edgetx.errors import EdgetxError
from edgetx.flash import QemuRunner
from edgetx.link import Link
from edgetx.reference import Reference
from edgetx.tflite_model import load_model

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "bench" / "aot_qemu"
RESULTS = ROOT / "bench" / "results" / "aot_qemu.json"
PROFILE_MAIN = Path(__file__).with_name("profile_main.c")
BOARDS = ("qemu-mps2-an386", "qemu-mps2-an505")
RUNS = 8  # random inputs per model through the agent
PROFILE_RUNS, HOOK_CALLS, SPIN_INSTRUCTIONS = 8, 64, 2_000_000  # as in profile_main.c
QEMU_INSTRUCTIONS_PER_SECOND = 1_000_000_000  # -icount shift=0
MATRIX_OPS = ("FULLY_CONNECTED", "BATCH_MATMUL")
PROFILE_TIMEOUT_S = 120.0


def _load_zoo():
    path = ROOT / "examples" / "zoo" / "zoo.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("edgetx_bench_zoo", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _models() -> list[tuple[str, str, np.ndarray | Path]]:
    """(name, 'file.py:factory', calibration inputs) for every model to measure."""
    models: list[tuple[str, str, np.ndarray | Path]] = []
    kws = ROOT / "build" / "audio_kws"
    if (kws / "weights.pt").is_file():
        models.append(
            ("audio_kws", str(ROOT / "examples/audio_kws/model.py:trained"), kws / "calib.npy")
        )
    else:
        print("note: no build/audio_kws/weights.pt (run `make demo`); audio_kws skipped")
    sys.path.insert(0, str(ROOT))
    from tests.conftest import TINY_MODEL, log_mel_like

    models.append(("tiny_audio", TINY_MODEL, log_mel_like(np.random.default_rng(0), 64)))
    zoo = _load_zoo()
    if zoo is None:
        print("note: examples/zoo/zoo.py is absent; zoo models skipped")
    else:
        for name in zoo.ZOO:
            models.append(
                (name, f"{ROOT / 'examples/zoo/zoo.py'}:{name}", zoo.calibration(name, 64))
            )
    return models


def _converted(name: str, factory: str, calib: np.ndarray | Path) -> Path:
    out = WORK / name / "model"
    if (out / "model.tflite").is_file():
        return out
    from edgetx_converters import convert

    calib_path = calib if isinstance(calib, Path) else WORK / name / "calib.npy"
    if not isinstance(calib, Path):
        calib_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(calib_path, calib)
    convert(factory, calib_path, out)
    return out


def _agent_run(model_dir: Path, board_id: str) -> dict:
    """Build the real firmware, run RUNS random inputs, check bytes against TFLM."""
    # Firmware goes to a temporary directory so that concurrent runs never share a build.
    with tempfile.TemporaryDirectory(prefix="etx-bench-") as tmp:
        info = build(model_dir, board_id, Path(tmp) / "fw")
        model = load_model(model_dir / "model.tflite")
        xs = np.random.default_rng(7).integers(-128, 128, (RUNS, info.input_bytes), dtype=np.int8)
        want = Reference(model.raw).run_many(xs)
        board = load_board(board_id)
        ticks, same = [], True
        with (
            QemuRunner.from_board(board) as runner,
            Link.open(runner.start(Path(info.elf))) as link,
        ):
            link.sync()
            dev = link.info()
            for x, w in zip(xs, want, strict=True):
                r = link.run(x.tobytes())
                ticks.append(r.ticks)
                same &= bool(np.array_equal(np.frombuffer(r.output, np.int8), w.ravel()))
    per_tick = QEMU_INSTRUCTIONS_PER_SECOND // dev.tick_hz
    return {
        "instructions": int(np.median(ticks)) * per_tick,
        "instructions_max": int(max(ticks)) * per_tick,
        "bit_exact_with_tflm": same,
        "flash_bytes": info.flash_bytes,
        "ram_bytes": info.ram_bytes,
        "arena_bytes": info.arena_bytes,
        "macs": info.macs,
        "tick_hz": dev.tick_hz,
    }


def _profile(model_dir: Path, board_id: str) -> dict:
    """Instructions per operator from a profiling build (see profile_main.c)."""
    board = load_board(board_id)
    model = load_model(model_dir / "model.tflite")
    with tempfile.TemporaryDirectory(prefix="etx-prof-") as tmp:
        gen = Path(tmp) / "aot"
        generate_aot(model, gen)
        fw = render_project(board, gen, Path(tmp) / "fw")
        (fw / "src" / "profile_main.c").write_text(PROFILE_MAIN.read_text())
        with (fw / "config.mk").open("a") as f:
            f.write(f"CPU_FLAGS += -DEDGETX_TRACE -DEDGETX_PROFILE_OPS={len(model.operators)}\n")
        srcs = (
            f"src/profile_main.c src/startup.c src/console_{board.console.driver}.c "
            f"src/ticks_{board.timer.driver}.c $(CLOCK_SRCS) $(wildcard model/*.c)"
        )
        made = proc.run(["make", "-C", fw, f"SRCS={srcs}", "firmware.elf"], check=False)
        if made.returncode != 0:
            raise EdgetxError(f"profiling build failed: {made.stderr.strip()[-500:]}")
        spin, hook, op_ticks = _read_profile(board, fw / "firmware.elf")
    per_tick = QEMU_INSTRUCTIONS_PER_SECOND // board.timer.clock_hz
    if abs(SPIN_INSTRUCTIONS / spin - per_tick) > 0.01 * per_tick:
        raise SystemExit(
            f"{board_id}: a {SPIN_INSTRUCTIONS}-instruction loop took {spin} ticks, "
            f"{SPIN_INSTRUCTIONS / spin:.2f} instructions per tick, but the manifest's timer "
            f"clock gives {per_tick}"
        )
    hook_ticks = hook / (PROFILE_RUNS * HOOK_CALLS)
    ops = {i: max(0.0, t / PROFILE_RUNS - hook_ticks) * per_tick for i, t in op_ticks.items()}
    # A step is traced under its last operator's index; fused groups by their own name.
    label = {step.index: step.label for step in steps(model)}
    by_type: dict[str, float] = defaultdict(float)
    for index, instructions in ops.items():
        by_type[label[index]] += instructions
    ranked = sorted(by_type.items(), key=lambda kv: -kv[1])
    return {
        "instructions_per_tick": per_tick,
        "hook_instructions": round(hook_ticks * per_tick, 1),
        "by_operator_type": {k: round(v) for k, v in ranked},
        "by_operator": {f"{i}:{label[i]}": round(v) for i, v in sorted(ops.items())},
    }


def _read_profile(board, elf: Path) -> tuple[int, int, dict[int, int]]:
    """(spin ticks, hook ticks, operator index -> ticks) printed by the profiling firmware."""
    with QemuRunner.from_board(board) as runner:
        port = serial.serial_for_url(runner.start(elf), timeout=1.0)
        deadline, buf = time.monotonic() + PROFILE_TIMEOUT_S, b""
        while b"end\n" not in buf:
            if time.monotonic() > deadline:
                raise SystemExit(f"profiling {elf} printed no 'end' in {PROFILE_TIMEOUT_S} s")
            buf += port.read(4096)
        port.close()
    text = buf.decode("ascii", errors="replace")
    spin = int(re.search(r"^spin (\d+)$", text, re.M).group(1))
    hook = int(re.search(r"^hook (\d+)$", text, re.M).group(1))
    ops = {int(i): int(t) for i, t in re.findall(r"^op (\d+) (\d+)$", text, re.M)}
    return spin, hook, ops


def _macs_of(model_dir: Path, opcodes: tuple[str, ...]) -> int:
    """MACs of the steps holding any of opcodes."""
    model = load_model(model_dir / "model.tflite")
    model_steps = steps(model)
    ctx = Context(model, plan_memory(model, model_steps).offsets)
    chosen = [s for s in model_steps if any(op.opcode in opcodes for op in s.ops)]
    return sum(emit_step(ctx, s).macs for s in chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="model names to measure (default: all)")
    args = parser.parse_args()
    boards = [b for b in BOARDS if (ROOT / "boards" / f"{b}.toml").is_file()]
    for b in set(BOARDS) - set(boards):
        print(f"note: boards/{b}.toml is absent; {b} skipped")
    results: dict = {"unit": "instructions (QEMU -icount shift=0)", "models": {}}
    rows = []
    for name, factory, calib in _models():
        if args.only and name not in args.only:
            continue
        entry: dict = {}
        results["models"][name] = entry
        try:
            model_dir = _converted(name, factory, calib)
        except EdgetxError as e:
            entry["skipped"] = f"conversion failed: {e}"
            print(f"note: {name}: {entry['skipped']}")
            continue
        for board_id in boards:
            try:
                m = _agent_run(model_dir, board_id)
                m["profile"] = _profile(model_dir, board_id)
            except EdgetxError as e:
                entry[board_id] = {"skipped": " / ".join(str(e).splitlines()[:3])}
                print(f"note: {name} on {board_id}: {entry[board_id]['skipped']}")
                continue
            matrix_macs = _macs_of(model_dir, MATRIX_OPS)
            matrix = sum(m["profile"]["by_operator_type"].get(k, 0) for k in MATRIX_OPS)
            m["instructions_per_mac"] = round(m["instructions"] / max(m["macs"], 1), 2)
            m["matrix_instructions"] = matrix
            m["matrix_instructions_per_mac"] = round(matrix / max(matrix_macs, 1), 2)
            entry[board_id] = m
            rows.append((name, board_id, m))
            print(_row(name, board_id, m), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(_table(rows))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


HEADER = (
    "| model | board | MACs | instructions | instr/MAC | FC+BMM instr/MAC | flash B | RAM B "
    "| exact |"
)


def _row(name: str, board: str, m: dict) -> str:
    return (
        f"| {name} | {board} | {m['macs']:,} | {m['instructions']:,} | "
        f"{m['instructions_per_mac']} | {m['matrix_instructions_per_mac']} | "
        f"{m['flash_bytes']:,} | {m['ram_bytes']:,} | "
        f"{'yes' if m['bit_exact_with_tflm'] else 'NO'} |"
    )


def _table(rows: list) -> str:
    lines = [HEADER, "|" + "---|" * 9]
    lines += [_row(*r) for r in rows]
    for name, board, m in rows:
        parts = ", ".join(f"{k} {v:,}" for k, v in m["profile"]["by_operator_type"].items())
        lines.append(f"\n{name} on {board}, instructions per operator type: {parts}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
