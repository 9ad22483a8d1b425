"""MAX_POOL_2D (int8, int16), NHWC: the largest input under the window, taps outside the image
skipped, then clamped to the fused activation's range, as TFLM's reference kernel does."""

from __future__ import annotations

from edgetx.codegen.aot.ops.common import Context, Emitted, Emitter, activation_range
from edgetx.codegen.aot.ops.conv import _check_rank, _geometry
from edgetx.tflite_model import Operator


def emit_max_pool(ctx: Context, op: Operator, name: str) -> Emitted:
    _check_rank(ctx, op)
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    o = op.options
    geo = _geometry(op, x.shape, out.shape, int(o.filterHeight), int(o.filterWidth))
    lo, hi = activation_range(op, out)
    consts = [
        f"static const etx_conv_params {name}_p = {{{', '.join(str(v) for v in geo)}, "
        f"0, 0, 0, 0, {lo}, {hi}}};"
    ]
    fn = "etx_max_pool_s16" if x.dtype == "INT16" else "etx_max_pool"
    return Emitted(f"{fn}(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});", consts)


INT8: dict[str, Emitter] = {"MAX_POOL_2D": emit_max_pool}
INT16: dict[str, Emitter] = dict(INT8)
