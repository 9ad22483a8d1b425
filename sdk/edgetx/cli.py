"""The edgetx command line: a thin layer over the library.

Every user-facing failure is an EdgetxError; it is printed as one line and
mapped to its exit code here, in one place. Heavy dependencies are imported
by the command that needs them, so build/flash/hil never load TensorFlow or torch.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from edgetx import __version__
from edgetx.errors import EdgetxError


def _convert(args: argparse.Namespace) -> None:
    from edgetx_converters import convert

    report = convert(
        args.model, args.calib, args.out, eval_data=args.eval, activations=args.activations
    )
    line = f"wrote {args.out}: {report['tflite_bytes']} bytes, arena {report['tflm_arena_bytes']}"
    if "accuracy" in report:
        acc = report["accuracy"]
        line += f", accuracy float {acc['float']:.4f} int8 {acc['int8']:.4f}"
    print(line)


def _build(args: argparse.Namespace) -> None:
    from edgetx.build import build

    result = build(
        args.model_dir, args.board, args.out, runtime=args.runtime, frontend=args.frontend
    )
    print(
        f"wrote {result.elf}: flash {result.flash_bytes} B, RAM {result.ram_bytes} B "
        f"({result.runtime} arena {result.arena_bytes} B) for {result.board}"
    )


def _fit(args: argparse.Namespace) -> None:
    from edgetx.fit import fit_all, fit_table

    print(fit_table(fit_all(args.dir)))


def _flash(args: argparse.Namespace) -> None:
    from edgetx.flash import flash

    flash(args.fwdir, args.board, runner=args.runner, port=args.port)


def _hil(args: argparse.Namespace) -> None:
    from edgetx.hil import run_hil

    run_hil(
        args.fwdir, args.board, args.dataset, args.report,
        ports=args.port or [], jobs=args.jobs, limit=args.limit, resume=args.resume,
        raw=args.raw,
    )  # fmt: skip


def _boards(args: argparse.Namespace) -> None:
    from edgetx.boards import all_boards

    for b in all_boards():
        where = f"qemu {b.qemu.machine}" if b.qemu else f"usb {b.usb[0].vid:04x}:{b.usb[0].pid:04x}"
        print(
            f"{b.id:20} {b.mcu.name:18} {b.mcu.core:10} {b.mcu.clock_hz // 1_000_000:>3} MHz "
            f"{b.flash.size_bytes // 1024:>5} KB flash {b.ram.size_bytes // 1024:>4} KB RAM  "
            f"{b.template:8} {where:19} runners: {', '.join(b.runners)} "
            f"(default {b.default_runner})"
        )


def _inspect(args: argparse.Namespace) -> None:
    from edgetx.inspect import inspect_dir

    print(inspect_dir(args.dir, layers=args.layers))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgetx", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"edgetx {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log every external command")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="a float model -> int8 TFLite, C arrays and report")
    c.add_argument(
        "model",
        help="path/file.py:factory, or a TorchScript .pt/.ts, torch.export .pt2, .onnx,"
        " Keras .keras or float .tflite file",
    )
    c.add_argument("--calib", type=Path, required=True, help="float32 .npy of inputs [N, ...]")
    c.add_argument("--eval", type=Path, help=".npz with x (float32) and y (labels)")
    c.add_argument("--out", type=Path, required=True, help="output directory")
    c.add_argument(
        "--activations",
        choices=["int8", "int16"],
        default="int8",
        help="activation type; int16 is 16x8 (int8 weights), for models TFLite Micro runs so",
    )
    c.set_defaults(func=_convert)

    b = sub.add_parser("build", help="generate the model's code and build firmware for a board")
    b.add_argument("model_dir", type=Path, help="output directory of 'edgetx convert'")
    b.add_argument("--board", required=True)
    b.add_argument("--out", type=Path, help="firmware directory (default: MODEL_DIR/fw-BOARD)")
    b.add_argument(
        "--runtime", choices=["aot", "tflm"], default="aot",
        help="aot: generated C (default); tflm: the TFLite Micro library you supply "
        "(TFLM_LIB, TFLM_INCLUDE; ESP32: the esp-tflite-micro component)",
    )  # fmt: skip
    b.add_argument(
        "--frontend", type=Path, metavar="FRONTEND_JSON",
        help="the model's front end config (log-mel or hash embedding): the firmware then also "
        "takes raw int16 audio or UTF-8 text and runs the front end itself (edgetx hil --raw)",
    )  # fmt: skip
    b.set_defaults(func=_build)

    f = sub.add_parser("flash", help="flash firmware to a board")
    f.add_argument("fwdir", type=Path)
    f.add_argument("--board", required=True)
    f.add_argument(
        "--runner", help="qemu, openocd, pyocd, st-flash or esptool (default: the board's)"
    )
    f.add_argument(
        "--port",
        help="the board's serial port, or labgrid://PLACE (default: found by the manifest's "
        "USB VID/PID)",
    )
    f.set_defaults(func=_flash)

    h = sub.add_parser("hil", help="run a dataset on the device and compare with the host")
    h.add_argument("fwdir", type=Path, help="firmware directory of 'edgetx build'")
    h.add_argument("--board", required=True)
    h.add_argument("--dataset", type=Path, required=True, help=".npz with x and y")
    h.add_argument(
        "--port", action="append",
        help="serial URL of an attached board, or labgrid://PLACE for an acquired labgrid place "
        "(default: start QEMU); repeat for several boards",
    )  # fmt: skip
    h.add_argument("--jobs", type=int, help="share the samples among N boards (default: 1)")
    h.add_argument("--limit", type=int, help="run only the first N samples")
    h.add_argument("--resume", action="store_true", help="continue the interrupted run in --report")
    h.add_argument("--report", type=Path, required=True, help="report directory")
    h.add_argument(
        "--raw", action="store_true",
        help="send the dataset's raw audio (int16) or text to a firmware built with --frontend, "
        "which runs the front end itself; the host runs its Python twin",
    )  # fmt: skip
    h.set_defaults(func=_hil)

    sub.add_parser("boards", help="list supported boards").set_defaults(func=_boards)

    t = sub.add_parser("fit", help="does a converted model fit each board, with what margin")
    t.add_argument("dir", type=Path, help="output directory of 'edgetx convert'")
    t.set_defaults(func=_fit)

    i = sub.add_parser("inspect", help="summarise a converted model or firmware directory")
    i.add_argument("dir", type=Path)
    i.add_argument(
        "--layers", action="store_true", help="float-vs-quantized error per tensor, worst first"
    )
    i.set_defaults(func=_inspect)
    return p


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A terminated edgetx unwinds like Ctrl-C, so emulators it started are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="edgetx: %(message)s"
    )
    try:
        args.func(args)
    except EdgetxError as e:
        print(f"edgetx {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"edgetx {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
