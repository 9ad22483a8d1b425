"""int8 SOFTMAX and TRANSPOSE in the AOT runtime equal TFLite Micro's, byte for byte.

SOFTMAX keeps the exponentials of each row (a per-model table indexed by max - x, cut after
its last non-zero entry) and has two row loops: four bytes at a time with the Arm DSP
extension (rows of up to 32 elements, the last depth % 4 one at a time), one element at a time
otherwise (longer rows, and every row without the DSP extension). The host build runs the
second, the Cortex-M4 firmware under QEMU both.
TRANSPOSE becomes loops generated for its permutation and shape; every permutation of rank 2
to 4 is checked.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.ops.tables import softmax_exp_table
from edgetx.reference import Reference
from edgetx.tflite_model import parse_model
from tests.test_aot_dsp import both_paths
from tests.test_aot_kernels import check
from tests.tflite_builder import Spec, const, options, single_op

SOFTMAX_OUT = {"scale": 1 / 256, "zero_point": -128}


def softmax_model(shape: tuple[int, ...], in_scale: float, zp: int, beta: float) -> bytes:
    return single_op(
        "SOFTMAX",
        [Spec(shape, scale=in_scale, zero_point=zp)],
        Spec(shape, **SOFTMAX_OUT),
        options("SoftmaxOptions", beta=beta),
    )


def softmax_rows(rng: np.random.Generator, size: int, depth: int) -> np.ndarray:
    """Random rows, rows of one value, rows where about one element per row stands out (its
    probability saturates at 127), and narrow-range rows."""
    xs = [rng.integers(-128, 128, size) for _ in range(60)]
    xs += [np.full(size, v) for v in (-128, -1, 0, 127)]
    for v in (0, 127):
        spike = np.full(size, v - 100)
        spike[rng.integers(0, size, max(1, size // depth))] = v
        xs.append(spike)
    xs += [rng.integers(c - 3, c + 4, size) for c in (-125, 0, 124) for _ in range(4)]
    return np.clip(np.stack(xs), -128, 127).astype(np.int8)


# (shape, input scale, zero point, beta): row lengths around a word and the 32 saved, input
# scales from tiny (every one of the 256 exponentials kept) to large (a table of a few entries).
SOFTMAX_CASES = [
    ((3, 1), 0.05, -128, 1.0),
    ((2, 3, 3), 2e-6, 127, 1.0),
    ((4, 4), 0.25, 72, 1.0),
    ((5,), 1e-4, -128, 0.5),
    ((2, 2, 8), 0.02, 127, 2.0),
    ((6, 32), 0.25, 72, 1.0),
    ((3, 33), 0.9, -5, 1.0),
    ((2, 36), 8.0, 0, 1.0),
    ((2, 64), 0.004, -128, 0.1),
    ((2, 100), 0.3, 127, 1.0),
]


@pytest.mark.parametrize(("shape", "in_scale", "zp", "beta"), SOFTMAX_CASES)
def test_softmax_on_the_host_equals_tflm(
    shape: tuple[int, ...], in_scale: float, zp: int, beta: float, tmp_path: Path
) -> None:
    model = softmax_model(shape, in_scale, zp, beta)
    rng = np.random.default_rng(int(np.prod(shape)))
    check(model, softmax_rows(rng, int(np.prod(shape)), shape[-1]), tmp_path)


@pytest.mark.parametrize(
    ("in_scale", "length"), [(2e-6, 256), (0.02, 256), (0.25, 64), (1.0, 17), (8.0, 3)]
)
def test_softmax_table_ends_after_its_last_term(in_scale: float, length: int) -> None:
    x = parse_model(softmax_model((2, 8), in_scale, 0, 1.0)).tensors[0]
    table = softmax_exp_table(x, 1.0)
    assert len(table) == length
    assert table[0] == 2**31 - 1  # exp(0)
    assert all(a >= b for a, b in itertools.pairwise(table))
    if length < 256:
        assert table[-1] == 0 and table[-2] > 0  # one 0, read for every larger difference


@pytest.mark.qemu
@pytest.mark.parametrize(
    ("shape", "in_scale", "zp", "beta"),
    [
        ((8, 32), 0.25, 72, 1.0),  # the audio example's rows: eight words
        ((4, 4), 2e-6, -128, 1.0),  # one word per row, all 256 exponentials kept
        ((3, 27), 0.9, 127, 0.5),  # six words and three elements
        ((5, 2), 0.3, 5, 1.0),  # no whole word
        ((6, 1), 0.05, -128, 1.0),  # one element: probability 1
        ((2, 36), 0.02, -128, 2.0),  # longer than 32: the element loop on the DSP build
    ],
)
def test_softmax_dsp_and_portable_equal_tflm(
    shape: tuple[int, ...], in_scale: float, zp: int, beta: float, tmp_path: Path
) -> None:
    model = softmax_model(shape, in_scale, zp, beta)
    size = int(np.prod(shape))
    xs = softmax_rows(np.random.default_rng(size), size, shape[-1])
    want = Reference(model).run_many(xs).reshape(len(xs), -1)
    host, device = both_paths(model, xs, tmp_path, dsp=("smmlar", "usub8"))
    np.testing.assert_array_equal(host, want)
    np.testing.assert_array_equal(device, want)


def transpose_model(shape: tuple[int, ...], perm: tuple[int, ...], dtype: type) -> bytes:
    q = {"scale": 0.05, "zero_point": 0 if dtype == np.int16 else 3}
    out = tuple(shape[p] for p in perm)
    return single_op(
        "TRANSPOSE",
        [Spec(shape, dtype, **q), const(np.array(perm), np.int32)],
        Spec(out, dtype, **q),
        options("TransposeOptions"),
    )


TRANSPOSES = [
    pytest.param(rank, perm, id=f"{''.join(map(str, perm))}")
    for rank in (2, 3, 4)
    for perm in itertools.permutations(range(rank))
]


@pytest.mark.parametrize(("rank", "perm"), TRANSPOSES)
def test_transpose_every_permutation_equals_tflm(
    rank: int, perm: tuple[int, ...], tmp_path: Path
) -> None:
    rng = np.random.default_rng(list(perm))
    # Sizes 1 to 9: dimensions of 1 dropped, runs merged across dimensions, runs of 4 and 8.
    shape = tuple(int(n) for n in rng.choice([1, 2, 3, 4, 5, 8, 9], rank))
    dtype = np.int16 if rng.random() < 0.25 else np.int8
    model = transpose_model(shape, perm, dtype)
    size = int(np.prod(shape))
    info = np.iinfo(dtype)
    xs = rng.integers(info.min, info.max + 1, (20, size)).astype(dtype)
    check(model, xs, tmp_path, cxx=rank == 4)


@pytest.mark.parametrize("perm", [(0, 2, 1, 3), (0, 2, 3, 1), (0, 3, 1, 2)])
def test_attention_transposes_equal_tflm(perm: tuple[int, ...], tmp_path: Path) -> None:
    # The audio example's heads: [1, 32, 2, 8] split and joined again.
    model = transpose_model((1, 32, 2, 8), perm, np.int8)
    xs = np.random.default_rng(1).integers(-128, 128, (50, 512)).astype(np.int8)
    check(model, xs, tmp_path)


@pytest.mark.qemu
def test_transpose_on_the_device_equals_tflm(tmp_path: Path) -> None:
    model = transpose_model((1, 32, 2, 8), (0, 2, 3, 1), np.int8)
    xs = np.random.default_rng(2).integers(-128, 128, (20, 512)).astype(np.int8)
    want = Reference(model).run_many(xs).reshape(len(xs), -1)
    host, device = both_paths(model, xs, tmp_path, dsp=())
    np.testing.assert_array_equal(host, want)
    np.testing.assert_array_equal(device, want)
    assert "etx_copy" not in (tmp_path / "src" / "edgetx_model.c").read_text()


def test_transpose_loops_are_generated_for_the_shape(tmp_path: Path) -> None:
    # (0, 2, 1, 3) on [1, 32, 2, 8]: 64 runs of 8 contiguous bytes, copied with memcpy of a
    # constant 8 (whole words for the compiler), in two loops.
    generate_aot(parse_model(transpose_model((1, 32, 2, 8), (0, 2, 1, 3), np.int8)), tmp_path)
    source = (tmp_path / "edgetx_model.c").read_text()
    assert "i1 * 16, 8);" in source
    assert "for (int32_t i2" not in source
