"""`edgetx build`: AOT C for a converted model, firmware for a board, and a fit check."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from edgetx.boards import load_board
from edgetx.codegen.project import build_firmware, render_project
from edgetx.codegen.runtimes import generate_model_code
from edgetx.elf import elf_sizes
from edgetx.errors import UserError
from edgetx.frontends.device import FRONTEND_FILE, add_to_model_code
from edgetx.tflite_model import load_model

BUILD_INFO = "build.json"
MODEL_FILE = "model.tflite"


@dataclass(frozen=True)
class BuildResult:
    board: str
    runtime: str
    elf: str
    flash_bytes: int
    ram_bytes: int
    arena_bytes: int
    macs: int
    input_bytes: int
    output_bytes: int
    aot_ram_bytes: int | None = None  # the AOT memory plan's peak (runtime aot only)


def build(
    model_dir: Path,
    board_id: str,
    out: Path | None = None,
    runtime: str = "aot",
    frontend: Path | None = None,
) -> BuildResult:
    """Build firmware for board_id from the model in model_dir with runtime aot or tflm, and
    with the raw-input front end of the frontend.json `frontend`; refuse what does not fit."""
    board = load_board(board_id)
    model_path = Path(model_dir) / MODEL_FILE
    if not model_path.is_file():
        raise UserError(f"{model_path} not found; run 'edgetx convert ... --out {model_dir}' first")
    model = load_model(model_path)
    fwdir = (Path(out) if out else Path(model_dir) / f"fw-{board.id}").resolve()
    fwdir.parent.mkdir(parents=True, exist_ok=True)

    # Everything is built in a staging directory and moved into place at the end,
    # so a failed build leaves no half-written firmware directory behind.
    with tempfile.TemporaryDirectory(prefix=f".{fwdir.name}.", dir=fwdir.parent) as tmp:
        aot = generate_model_code(runtime, board, model, Path(model_dir), Path(tmp) / "aot")
        if frontend is not None:
            add_to_model_code(frontend, model, Path(tmp) / "aot")
        if runtime == "aot" and aot.arena_bytes > board.ram.size_bytes:
            raise UserError(
                f"model does not fit {board.id}: the AOT memory plan needs {aot.arena_bytes} "
                f"bytes of RAM at its peak, the board has {board.ram.size_bytes} bytes; use a "
                "smaller model or a larger board"
            )
        staging = render_project(board, Path(tmp) / "aot", Path(tmp) / "fw", runtime)
        elf = build_firmware(staging)
        flash_bytes, ram_bytes = elf_sizes(elf)
        if flash_bytes > board.flash.size_bytes or ram_bytes > board.ram.size_bytes:
            raise UserError(
                f"firmware does not fit {board.id}: flash {flash_bytes} of "
                f"{board.flash.size_bytes} bytes, RAM {ram_bytes} of {board.ram.size_bytes} "
                f"bytes ({runtime} arena {aot.arena_bytes}); use a smaller model or a larger board"
            )
        shutil.copyfile(model_path, staging / MODEL_FILE)
        if frontend is not None:
            shutil.copyfile(frontend, staging / FRONTEND_FILE)
        result = BuildResult(
            board=board.id, runtime=runtime, elf=str(fwdir / elf.relative_to(staging)),
            flash_bytes=flash_bytes, ram_bytes=ram_bytes, arena_bytes=aot.arena_bytes,
            macs=aot.macs, input_bytes=aot.input_bytes, output_bytes=aot.output_bytes,
            aot_ram_bytes=aot.arena_bytes if runtime == "aot" else None,
        )  # fmt: skip
        (staging / BUILD_INFO).write_text(json.dumps(asdict(result), indent=2) + "\n")
        if fwdir.exists():
            shutil.rmtree(fwdir)
        staging.rename(fwdir)
    return result


def read_build_info(fwdir: Path, board_id: str) -> BuildResult:
    """The build record of fwdir, which must have been built for board_id."""
    path = Path(fwdir) / BUILD_INFO
    if not path.is_file():
        raise UserError(
            f"{fwdir} is not a firmware directory (no {BUILD_INFO}); run 'edgetx build'"
        )
    info = BuildResult(**json.loads(path.read_text()))
    if info.board != board_id:
        raise UserError(
            f"{fwdir} was built for {info.board}, not {board_id}; rebuild or fix --board"
        )
    return info
