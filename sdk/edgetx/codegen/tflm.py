"""The `tflm` runtime: the TensorFlow Lite Micro interpreter that the user supplies, driven by a
generated C++ app (op resolver from the model's operators, arena from the measured size).

edgetx never vendors or builds TFLM. Bare-metal boards link the prebuilt
libtensorflow-microlite.a named by TFLM_LIB with the headers under TFLM_INCLUDE; ESP-IDF
boards get it from the espressif/esp-tflite-micro component.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgetx import proc
from edgetx.errors import UnsupportedModel, UserError
from edgetx.tflite_model import Model

# TFLM's MicroMutableOpResolver method for each builtin operator edgetx models may use.
RESOLVER_METHODS = {
    "ADD": "AddAdd", "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul",
    "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "EXPAND_DIMS": "AddExpandDims", "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather",
    "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean", "MUL": "AddMul",
    "PAD": "AddPad", "QUANTIZE": "AddQuantize", "RELU": "AddRelu", "RESHAPE": "AddReshape",
    "RSQRT": "AddRsqrt", "SOFTMAX": "AddSoftmax", "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze", "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub", "SUM": "AddSum",
    "TANH": "AddTanh", "TRANSPOSE": "AddTranspose",
}  # fmt: skip
# The convert report's tflm_arena_bytes is the smallest arena that worked on the 64-bit host.
# A 32-bit target needs a little less (smaller pointers in TFLM's tensor records), but
# allocation alignment can differ, so the app gets 10 % more, at least 1 KiB.
ARENA_MARGIN_FRACTION = 0.10
ARENA_MARGIN_MIN_BYTES = 1024
# The interpreter's call depth needs more stack than the AOT agent's 2 KB default; a TFLM
# reference-kernel firmware for a model of this class ran on mps2-an386 with 8 KB.
STACK_BYTES = 8192
MODEL_DATA = ("model_data.c", "model_data.h")
CXX = "arm-none-eabi-g++"
REPORT = "report.json"
TFLM_HINT = (
    "--runtime tflm links the TensorFlow Lite Micro library you supply (edgetx does not build "
    "it): set TFLM_LIB to a prebuilt libtensorflow-microlite.a for this core (tflite-micro's "
    "'make -f tensorflow/lite/micro/tools/make/Makefile TARGET=cortex_m_generic "
    "TARGET_ARCH=<core> microlite') and TFLM_INCLUDE to its include directories separated by "
    "':' (the tflite-micro checkout, third_party/flatbuffers/include, third_party/gemmlowp). "
    "The app is C++, so it also needs arm-none-eabi-g++ with libstdc++-arm-none-eabi-newlib "
    "(apt-get install libstdc++-arm-none-eabi-newlib; 1.5 GB, so 'make' does not install it)"
)


@dataclass(frozen=True)
class TflmModel:
    arena_bytes: int
    measured_arena_bytes: int
    macs: int
    input_bytes: int
    output_bytes: int
    operators: tuple[str, ...]


@dataclass(frozen=True)
class TflmLibrary:
    lib: Path
    includes: tuple[Path, ...]


def tflm_library() -> TflmLibrary:
    """The user's prebuilt TFLM from TFLM_LIB and TFLM_INCLUDE, checked to exist."""
    lib, include = os.environ.get("TFLM_LIB"), os.environ.get("TFLM_INCLUDE")
    if not lib or not include:
        missing = " and ".join(
            n for n, v in (("TFLM_LIB", lib), ("TFLM_INCLUDE", include)) if not v
        )
        raise UserError(f"{missing} not set; {TFLM_HINT}")
    if not Path(lib).is_file():
        raise UserError(f"TFLM_LIB={lib} is not a file; {TFLM_HINT}")
    includes = tuple(Path(p) for p in include.split(os.pathsep) if p)
    for d in includes:
        if not d.is_dir():
            raise UserError(f"TFLM_INCLUDE entry {d} is not a directory; {TFLM_HINT}")
    if not any(
        (d / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").is_file() for d in includes
    ):
        raise UserError(
            f"no tensorflow/lite/micro/micro_interpreter.h under TFLM_INCLUDE={include}; "
            f"{TFLM_HINT}"
        )
    # g++ prints the bare name back when it cannot find the library.
    libstdcxx = proc.run([CXX, "-print-file-name=libstdc++_nano.a"]).stdout.strip()
    if not Path(libstdcxx).is_absolute():
        raise UserError(f"{CXX} has no libstdc++ for the TFLM app; {TFLM_HINT}")
    return TflmLibrary(Path(lib).resolve(), tuple(d.resolve() for d in includes))


def arena_with_margin(measured: int) -> int:
    margin = max(ARENA_MARGIN_MIN_BYTES, int(measured * ARENA_MARGIN_FRACTION))
    return (measured + margin + 15) // 16 * 16


def generate_tflm(model: Model, model_dir: Path, out_dir: Path) -> TflmModel:
    """Write the TFLM app for the converted model in model_dir (convert's output) to out_dir."""
    report_path = model_dir / REPORT
    if not report_path.is_file():
        raise UserError(f"{report_path} not found; run 'edgetx convert' to measure the arena")
    report = json.loads(report_path.read_text())
    unknown = sorted(set(model.op_counts()) - set(RESOLVER_METHODS))
    if unknown:
        raise UnsupportedModel(f"edgetx has no TFLM op resolver entry for {', '.join(unknown)}")
    ops = tuple(sorted(model.op_counts()))
    measured = int(report["tflm_arena_bytes"])
    result = TflmModel(
        arena_bytes=arena_with_margin(measured), measured_arena_bytes=measured,
        macs=int(report["macs"]), input_bytes=model.input.nbytes,
        output_bytes=model.output.nbytes, operators=ops,
    )  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_DATA:
        if not (model_dir / name).is_file():
            raise UserError(f"{model_dir / name} not found; run 'edgetx convert' again")
        shutil.copyfile(model_dir / name, out_dir / name)
    (out_dir / "edgetx_model.h").write_text(_header(result))
    (out_dir / "edgetx_model_tflm.cc").write_text(_app(result))
    return result


def _header(m: TflmModel) -> str:
    return f"""\
/* Generated by edgetx: model interface of the TFLM runtime. */
#ifndef EDGETX_MODEL_H
#define EDGETX_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define EDGETX_MODEL_INPUT_BYTES {m.input_bytes}
#define EDGETX_MODEL_OUTPUT_BYTES {m.output_bytes}
#define EDGETX_MODEL_ARENA_BYTES {m.arena_bytes}
#define EDGETX_MODEL_RUNTIME "tflm"

void edgetx_model_invoke(const int8_t *input, int8_t *output);

#ifdef __cplusplus
}}
#endif

#endif /* EDGETX_MODEL_H */
"""


def _app(m: TflmModel) -> str:
    adds = "\n".join(f"    resolver.{RESOLVER_METHODS[op]}();" for op in m.operators)
    return f"""\
// Generated by edgetx: TensorFlow Lite Micro app for the model in model_data.c.
// Operators: {", ".join(m.operators)}.
// Arena: {m.arena_bytes} bytes = {m.measured_arena_bytes} measured by 'edgetx convert' + margin.
#include <string.h>

#include "edgetx_model.h"
#include "model_data.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {{

alignas(16) uint8_t arena[EDGETX_MODEL_ARENA_BYTES];

tflite::MicroInterpreter *interpreter()
{{
    static tflite::MicroMutableOpResolver<{len(m.operators)}> resolver;
{adds}
    static tflite::MicroInterpreter interp(tflite::GetModel(edgetx_model_tflite), resolver, arena,
                                           sizeof arena);
    // Allocation fails only if the arena or resolver is wrong: a build bug. Stop here rather
    // than answer with bytes the interpreter never computed.
    if (interp.AllocateTensors() != kTfLiteOk)
        __builtin_trap();
    return &interp;
}}

}} // namespace

extern "C" void edgetx_model_invoke(const int8_t *input, int8_t *output)
{{
    static tflite::MicroInterpreter *interp = interpreter();
    memcpy(interp->input(0)->data.int8, input, EDGETX_MODEL_INPUT_BYTES);
    if (interp->Invoke() != kTfLiteOk)
        __builtin_trap();
    memcpy(output, interp->output(0)->data.int8, EDGETX_MODEL_OUTPUT_BYTES);
}}
"""
