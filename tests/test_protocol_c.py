"""The firmware's C protocol code, compiled on the host with sanitizers, against the Python side."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgetx import proc
from edgetx.link.frames import ErrorCode, Frame, FrameType, cobs_encode, encode_frame
from edgetx.link.seeded import SEED_MAX, seeded_inputs
from edgetx.paths import TEMPLATES_DIR

SRC = TEMPLATES_DIR / "cortex-m" / "src"
FLAGS = ["-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fsanitize=address,undefined"]
FLAGS += ["-fno-sanitize-recover=all", f"-I{SRC}"]

# decode CAP: feeds stdin to a receiver with a CAP-byte buffer, prints "F type seq hex" per
# frame and "E code" per error. encode TYPE SEQ HEX: prints the wire bytes in hex, and checks
# that a buffer one byte short is refused. seeded SEED N: prints RUN_SEEDED's N input bytes in hex.
HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protocol.h"

static int decode(size_t cap)
{
    uint8_t *buf = (uint8_t *)malloc(cap);
    etx_rx rx;
    etx_frame f;
    uint8_t err;
    int c;
    etx_rx_init(&rx, buf, cap);
    while ((c = getchar()) != EOF) {
        etx_rx_result r = etx_rx_push(&rx, (uint8_t)c, &f, &err);
        if (r == ETX_RX_FRAME) {
            printf("F %u %u ", (unsigned)f.type, (unsigned)f.seq);
            for (size_t i = 0; i < f.len; i++)
                printf("%02x", f.payload[i]);
            printf("\n");
        } else if (r == ETX_RX_ERROR) {
            printf("E %u\n", (unsigned)err);
        }
    }
    free(buf);
    return 0;
}

static int encode(unsigned type, unsigned seq, const char *hex)
{
    size_t n = strlen(hex) / 2, cap;
    uint8_t *payload = (uint8_t *)malloc(n + 1), *out, *short_out;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        payload[i] = (uint8_t)v;
    }
    cap = ETX_WIRE_BYTES(n);
    out = (uint8_t *)malloc(cap);
    size_t len = etx_encode((uint8_t)type, (uint16_t)seq, payload, n, out, cap);
    if (len == 0)
        return 1;
    for (size_t i = 0; i < len; i++)
        printf("%02x", out[i]);
    printf("\n");
    short_out = (uint8_t *)malloc(len - 1);
    if (etx_encode((uint8_t)type, (uint16_t)seq, payload, n, short_out, len - 1) != 0)
        return 2;
    free(payload);
    free(out);
    free(short_out);
    return 0;
}

static int seeded(const char *seed, size_t n)
{
    uint8_t *out = (uint8_t *)malloc(n ? n : 1); /* exactly n, so ASan sees any overrun */
    etx_seeded_fill((uint64_t)strtoull(seed, NULL, 10), out, n);
    for (size_t i = 0; i < n; i++)
        printf("%02x", out[i]);
    printf("\n");
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "decode") == 0)
        return decode((size_t)atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "encode") == 0)
        return encode((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argv[4]);
    if (argc == 4 && strcmp(argv[1], "seeded") == 0)
        return seeded(argv[2], (size_t)atoi(argv[3]));
    return 3;
}
"""


@pytest.fixture(scope="module", params=["gcc", "g++"])
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = request.param
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    out = tmp_path_factory.mktemp(compiler)
    (out / "harness.c").write_text(HARNESS)
    lang = ["-x", "c++", "-std=c++11"] if compiler == "g++" else ["-x", "c", "-std=c99"]
    exe = out / "harness"
    proc.run([compiler, *FLAGS, *lang, out / "harness.c", SRC / "protocol.c", "-o", exe])
    return exe


def decode_in_c(exe: Path, stream: bytes, cap: int = 2048) -> list[str]:
    result = subprocess.run([exe, "decode", str(cap)], input=stream, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().splitlines()


def encode_in_c(exe: Path, frame: Frame) -> bytes:
    argv = [exe, "encode", str(frame.type), str(frame.seq), frame.payload.hex()]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return bytes.fromhex(result.stdout.strip())


def line(frame: Frame) -> str:
    return f"F {frame.type} {frame.seq} {frame.payload.hex()}"


def random_frames(count: int) -> list[Frame]:
    rng = random.Random(1234)
    sizes = [0, 1, 253, 254, 255, 508, 1000]
    return [
        Frame(rng.randrange(256), rng.randrange(0x10000), rng.randbytes(rng.choice(sizes)))
        for _ in range(count)
    ] + [Frame(1, 2, bytes(300)), Frame(3, 4, b"\xff" * 600)]


def test_python_frames_parse_in_c(harness: Path) -> None:
    frames = random_frames(40)
    stream = b"".join(encode_frame(f) for f in frames)
    assert decode_in_c(harness, stream) == [line(f) for f in frames]


def test_c_encoding_is_byte_identical_to_python(harness: Path) -> None:
    for frame in random_frames(15):
        assert encode_in_c(harness, frame) == encode_frame(frame)


def test_errors_then_resync(harness: Path) -> None:
    good = Frame(FrameType.PING, 5, b"ok")
    bad_crc = b"\x00" + cobs_encode(b"\x01\x05\x00ok" + bytes(4)) + b"\x00"
    stream = (
        b"\x00\x09abc\x00"  # the code byte promises 8 bytes, 3 arrive
        + b"\x00\x02\x01\x00"  # shorter than header + CRC
        + bad_crc
        + b"noise"  # ended by the next frame's leading 0x00; "n" promises 109 bytes
        + encode_frame(good)
    )  # fmt: skip
    assert decode_in_c(harness, stream) == [
        f"E {ErrorCode.FRAME}",
        f"E {ErrorCode.FRAME}",
        f"E {ErrorCode.CRC}",
        f"E {ErrorCode.FRAME}",
        line(good),
    ]


def test_frame_larger_than_the_buffer_is_refused(harness: Path) -> None:
    big, fits = Frame(3, 1, bytes(range(1, 101))), Frame(3, 2, bytes(93))
    stream = encode_frame(big) + encode_frame(fits)
    assert decode_in_c(harness, stream, cap=100) == [f"E {ErrorCode.TOO_LONG}", line(fits)]


def test_empty_frames_are_ignored(harness: Path) -> None:
    assert decode_in_c(harness, b"\x00" * 10) == []


def test_random_bytes_never_crash(harness: Path) -> None:
    rng = random.Random(99)
    noise = rng.randbytes(200_000)
    events = decode_in_c(harness, noise, cap=64)
    assert all(e.startswith(("E ", "F ")) for e in events)


def test_seeded_inputs_are_the_same_bytes_in_c_and_python(harness: Path) -> None:
    rng = random.Random(7)
    seeds = [0, 1, 1234567, SEED_MAX, *(rng.randrange(SEED_MAX + 1) for _ in range(8))]
    for seed, n in zip(seeds, [0, 1, 7, 8, 9, 800, 1960, 3136, 2001, 64, 5, 1280], strict=True):
        result = subprocess.run([harness, "seeded", str(seed), str(n)], capture_output=True)
        assert result.returncode == 0, result.stderr.decode()
        want = seeded_inputs([seed], n)[0].tobytes()
        assert bytes.fromhex(result.stdout.decode().strip()) == want


def test_seeded_inputs_are_splitmix64() -> None:
    # Reference outputs of splitmix64 for seed 1234567, as docs/protocol.md quotes them.
    words = np.frombuffer(seeded_inputs([1234567], 24)[0].tobytes(), "<u8")
    assert words.tolist() == [6457827717110365317, 3203168211198807973, 9817491932198370423]
    bytes_ = seeded_inputs(range(100), 1000)
    assert len(np.unique(bytes_)) == 256  # the full int8 range
    assert len({row.tobytes() for row in bytes_}) == 100
