"""convert(): model -> OUT/ with model.tflite, model_data.c/.h, report.json/.md, convert.log."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from edgetx import data
from edgetx.codegen.carray import CArray, write_c_arrays
from edgetx.errors import UnsupportedModel, UserError
from edgetx.quant import dequantize, quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import parse_model
from edgetx_converters import compare, layers, legalize, load, report, tflm, validate
from edgetx_converters.compact import compact
from edgetx_converters.quantize import ACTIVATIONS, check_int16, prepare_int16, quantize
from edgetx_converters.quiet import first_line, output_to

log = logging.getLogger("edgetx_converters")

MODEL_ARRAY = "edgetx_model_tflite"  # model_data.h: edgetx_model_tflite[], edgetx_model_tflite_len
LOG_NAME = "convert.log"


def convert(
    model: str,
    calib: Path,
    out: Path,
    eval_data: Path | None = None,
    activations: str = "int8",
) -> dict:
    """Convert MODEL to full-integer TFLite in OUT; return the report dict (also written).

    MODEL is 'path/file.py:factory' (a function returning a torch.nn.Module with its weights)
    or a file (see load.load). ACTIVATIONS is "int8", or "int16" for 16x8 (int16 activations,
    int8 weights) where TFLite Micro runs every operator so. CALIB is a .npy of float32 inputs
    [N, ...] without the batch dim; EVAL_DATA an optional .npz with inputs `x` and integer
    labels `y`. OUT is replaced as a whole, and only once everything succeeded. When
    conversion fails (not on bad input) the log is kept next to it as OUT.failed.log.
    """
    if activations not in ACTIVATIONS:
        raise UserError(f"activations {activations!r} is not one of {', '.join(ACTIVATIONS)}")
    started = time.monotonic()
    out = Path(out).absolute()
    _check_out(out)
    calib_x = data.load_calib(calib)
    eval_xy = data.load_eval(eval_data) if eval_data is not None else None
    if eval_xy is not None and eval_xy[0].shape[1:] != calib_x.shape[1:]:
        raise UserError(
            f"evaluation inputs have shape {list(eval_xy[0].shape[1:])} per sample but calibration"
            f" inputs {list(calib_x.shape[1:])}; both must be model inputs"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    build = work / "out"
    build.mkdir()
    try:
        with output_to(build / LOG_NAME):
            result = _convert(model, calib_x, eval_xy, build, work, activations)
        result["seconds"] = round(time.monotonic() - started, 2)
        report.write(result, build)
        _replace(out, build)
    except UserError:
        raise  # the message says it all; no log kept
    except UnsupportedModel as e:
        kept = _keep_log(build, out)
        raise UnsupportedModel(f"{e} (log: {kept})") from None
    except BaseException:
        _keep_log(build, out)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _convert(
    spec: str,
    calib_x: np.ndarray,
    eval_xy: tuple[np.ndarray, np.ndarray] | None,
    build: Path,
    work: Path,
    activations: str,
) -> dict:
    source = load.load(spec)
    if source.input_shape is not None and calib_x.shape[1:] != source.input_shape:
        raise UserError(
            f"calibration samples have shape {list(calib_x.shape[1:])} but {spec} expects"
            f" {list(source.input_shape)} (each sample without the batch dimension)"
        )
    float_calib = _run_float(source, calib_x)

    t = time.monotonic()
    float_tflite = source.to_tflite(calib_x[:1], work)
    log.info("float TFLite in %.1f s", time.monotonic() - t)
    if activations == "int16":
        float_tflite = prepare_int16(float_tflite)
    t = time.monotonic()
    raw = compact(quantize(float_tflite, calib_x, activations))
    log.info("%s quantization in %.1f s", activations, time.monotonic() - t)

    int8 = parse_model(raw)
    if activations == "int16":
        check_int16(int8)
    else:
        validate.check_int8(int8)
    model_path = build / "model.tflite"
    model_path.write_bytes(raw)
    t = time.monotonic()
    arena = tflm.measure_arena(model_path)
    log.info("TFLite Micro arena %d bytes, measured in %.1f s", arena, time.monotonic() - t)
    write_c_arrays(build, "model_data", [CArray.of(MODEL_ARRAY, raw)])

    i, o = int8.input, int8.output
    if i.shape != (1, *calib_x.shape[1:]) or o.size != float_calib[0].size:
        raise UnsupportedModel(
            f"the converted model maps {list(i.shape)} to {list(o.shape)}, but the source model"
            f" maps [1, {_dims(calib_x)}] to [1, {_dims(float_calib)}]"
        )

    reference = Reference(raw, arena)

    def run_int8(x: np.ndarray) -> np.ndarray:
        q = reference.run_many(np.stack([quantize_for(s, i) for s in x]))
        return dequantize(q, o.scale[0], int(o.zero_point[0]))

    t = time.monotonic()
    layer_errors = layers.layer_errors(float_tflite, int8, reference, calib_x)
    log.info("per-tensor errors in %.1f s", time.monotonic() - t)
    result: dict = {
        "source": spec,
        "activations": activations,
        "rewrites": legalize.read_record(float_tflite),
        "ops": int8.op_counts(),
        "params": report.count_params(int8),
        "macs": report.count_macs(int8),
        "tflite_bytes": len(raw),
        "tflm_arena_bytes": arena,
        "input": report.tensor_info(i),
        "output": report.tensor_info(o),
        "float_vs_int8": {"calib": compare.float_vs_int8(float_calib, run_int8(calib_x))},
        "layers": layer_errors,
    }
    if eval_xy is not None:
        x, y = eval_xy
        float_eval, int8_eval = _run_float(source, x), run_int8(x)
        result["float_vs_int8"]["eval"] = compare.float_vs_int8(float_eval, int8_eval)
        result["accuracy"] = {
            "float": compare.accuracy(float_eval, y),
            "int8": compare.accuracy(int8_eval, y),
        }
    result["converter"] = report.tool_versions()
    return result


def _run_float(source: load.FloatModel, xs: np.ndarray) -> np.ndarray:
    """Float outputs [N, ...], one sample at a time (the model is exported with batch 1)."""
    try:
        first = source.run(xs[:1])
    except Exception as e:
        raise UserError(
            f"the model fails on inputs of shape {list(xs.shape[1:])} (run as [1, {_dims(xs)}]):"
            f" {type(e).__name__}: {first_line(e)}; {source.expects}"
        ) from None
    return np.concatenate([first, *(source.run(x[None]) for x in xs[1:])])


def _dims(batch: np.ndarray) -> str:
    return ", ".join(str(d) for d in batch.shape[1:])


def _check_out(out: Path) -> None:
    # OUT is replaced wholesale, so refuse a directory that is not an earlier convert output.
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "report.json").is_file())
    ):
        raise UserError(
            f"{out} exists and is not an edgetx convert output; choose a new or empty directory"
        )


def _replace(out: Path, build: Path) -> None:
    if out.exists():
        out.rename(build.parent / "old")  # removed with the work directory
    build.rename(out)
    out.with_name(f"{out.name}.failed.log").unlink(missing_ok=True)


def _keep_log(build: Path, out: Path) -> Path:
    kept = out.with_name(f"{out.name}.failed.log")
    if (build / LOG_NAME).is_file():
        shutil.copyfile(build / LOG_NAME, kept)
    return kept
