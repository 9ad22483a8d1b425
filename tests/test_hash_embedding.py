"""Hashed n-gram embedding: the spec's pieces, and C (host-compiled) == Python bit for bit."""

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgetx.frontends import hash_embedding as he
from tests.frontend_stream import build_stream, run_stream

FRONTENDS_C = Path(he.__file__).parents[1] / "codegen" / "frontends"
CFG = he.HashEmbeddingConfig(dims=(8, 12, 12), seq_len=6)
SCALE, ZERO_POINT = 0.0052, -3

HOST_MAIN = r"""
#include <stdio.h>
#include "edgetx_hash_embedding.h"

/* stdin: records of u32 length + bytes; stdout per record: i32 result, int8 [SEQ_LEN][WIDTH]. */
int main(void) {
    static uint8_t text[EDGETX_HASH_MAX_TEXT_BYTES + 16];
    static int8_t out[EDGETX_HASH_SEQ_LEN * EDGETX_HASH_WIDTH];
    uint32_t len;
    while (fread(&len, sizeof len, 1, stdin) == 1) {
        if (len > sizeof text || fread(text, 1, len, stdin) != len) {
            return 1;
        }
        for (unsigned i = 0; i < sizeof out; i++) {
            out[i] = 99; /* untouched on error */
        }
        int32_t n = edgetx_hash_embed(text, len, out);
        fwrite(&n, sizeof n, 1, stdout);
        fwrite(out, sizeof out, 1, stdout);
    }
    return 0;
}
"""

CORPUS = [
    "",
    "   ",
    "?!.,;",
    "Turn ON the kitchen lights",
    "turn on the kitchen lights",
    "set the thermostat to 21.5°C, please!!",
    "ÀÉÎÕÜ ÇÑ ß Œuvre × ÷ naïve café",
    "Ελληνικά κείμενα και 日本語のテキスト 😀👍🏽",
    "x",
    "a-b_c/d\\e@f[g]h{i}j~k`l",
    "supercalifragilisticexpialidocious" * 12,  # one 408-character token
    "one two three four five six seven eight nine ten eleven twelve",  # > seq_len tokens
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds",
    "\xff\xfe invalid bytes",  # encoded as UTF-8 code points U+00FF U+00FE
]
RAW_CORPUS = [
    b"\xc3\x80\xc3\x97\xc3\x9e\xc3\x9f",  # À × Þ ß: only À and Þ are lowered
    b"\x80\x80lone continuation \xc3",  # invalid UTF-8 is still deterministic
    b"x" * he.MAX_TEXT_BYTES,
]


@pytest.fixture(scope="module", params=["c", "c++"])
def host_embed(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"hash-{request.param}")
    he.write_hash_embedding_c(CFG, SCALE, ZERO_POINT, out)
    (out / "main.c").write_text(HOST_MAIN)
    compiler = ["g++", "-x", "c++"] if request.param == "c++" else ["gcc", "-std=c99"]
    sources = [FRONTENDS_C / "edgetx_hash_embedding.c", out / "main.c"]
    cmd = [*compiler, "-Wall", "-Wextra", "-Werror", "-O2", f"-I{out}", f"-I{FRONTENDS_C}"]
    subprocess.run([*cmd, *map(str, sources), "-o", str(out / "embed")], check=True)
    return out / "embed"


def run_c(exe: Path, texts: list[bytes]) -> list[tuple[int, np.ndarray]]:
    stdin = b"".join(struct.pack("<I", len(t)) + t for t in texts)
    stdout = subprocess.run([str(exe)], input=stdin, capture_output=True, check=True).stdout
    size = 4 + CFG.seq_len * CFG.width
    assert len(stdout) == size * len(texts)
    results = []
    for k in range(len(texts)):
        record = stdout[k * size : (k + 1) * size]
        row = np.frombuffer(record[4:], np.int8).reshape(CFG.seq_len, CFG.width)
        results.append((struct.unpack("<i", record[:4])[0], row))
    return results


def test_c_equals_python_bit_for_bit(host_embed: Path) -> None:
    texts = [t.encode() for t in CORPUS] + RAW_CORPUS
    for text, (n_tokens, c_out) in zip(texts, run_c(host_embed, texts), strict=True):
        py_out = he.embed_int8(text, CFG, SCALE, ZERO_POINT)
        np.testing.assert_array_equal(c_out, py_out, err_msg=repr(text[:40]))
        assert n_tokens == min(len(he.tokens(text)), CFG.seq_len)


def test_c_refuses_text_over_the_limit(host_embed: Path) -> None:
    [(result, out)] = run_c(host_embed, [b"y" * (he.MAX_TEXT_BYTES + 1)])
    assert result == -1
    assert (out == 99).all()
    with pytest.raises(ValueError, match="bytes"):
        he.embed_int8(b"y" * (he.MAX_TEXT_BYTES + 1), CFG, SCALE, ZERO_POINT)


def test_pre_tokenizer_follows_the_spec() -> None:
    assert he.lowercase("ÀBÇ×Þß".encode()) == "àbç×þß".encode()
    assert he.tokens(b"Hi, there!  a-b\tc") == [b"Hi", b"there", b"a", b"b", b"c"]
    assert he.characters("naïve".encode()) == [b"n", b"a", "ï".encode(), b"v", b"e"]
    assert he.ngrams(b"ab", 1) == [b"a", b"b"]
    assert he.ngrams(b"ab", 2) == [b"<a", b"ab", b"b>"]
    assert he.ngrams(b"ab", 3) == [b"<ab", b"ab>"]
    assert he.ngrams(b"a", 3) == [b"<a>"]


def test_hash_and_prng_match_their_published_values() -> None:
    # FNV-1a 64 test vectors (Fowler/Noll/Vo reference); splitmix64 from seed 0 is
    # 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, ..., each seed with its low bit set.
    assert he.fnv1a64(b"") == 0xCBF29CE484222325
    assert he.fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert he.fnv1a64(b"foobar") == 0x85944171F73967E8
    first = he.seeds(he.HashEmbeddingConfig(seed=0))[:2]
    assert [int(s) for s in first] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F5]


def test_float_values_are_means_in_range_and_case_insensitive() -> None:
    x = he.embed_float("Turn ON the lights", CFG)
    assert x.shape == (CFG.seq_len, CFG.width)
    assert np.abs(x).max() <= 1.0
    assert (x[4:] == 0).all()  # padding rows
    np.testing.assert_array_equal(x, he.embed_float("turn on THE LIGHTS", CFG))
    # a one-character token's unigram part is exactly the value of that one hash
    h = he.fnv1a64(b"x")
    u = (np.uint64(h) * he.seeds(CFG)[:8]) >> np.uint64(48)
    expected = (2 * u.astype(np.int64) - 65535) / 65535
    np.testing.assert_allclose(he.embed_float("x", CFG)[0, :8], expected, rtol=1e-6)


def test_int8_is_the_rounded_float_value() -> None:
    text = " ".join(CORPUS[3:9])
    q = he.embed_int8(text, CFG, SCALE, ZERO_POINT).astype(int)
    reference = np.clip(np.round(he.embed_float(text, CFG) / SCALE) + ZERO_POINT, -128, 127)
    assert np.abs(q - reference).max() <= 1
    assert (q == reference).mean() > 0.99


def test_config_round_trips_and_rejects_other_versions() -> None:
    cfg = he.HashEmbeddingConfig(dims=(4, 8, 16), seq_len=3, seed=7)
    assert he.HashEmbeddingConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="version"):
        he.HashEmbeddingConfig(version=2)
    with pytest.raises(ValueError, match="unknown"):
        he.HashEmbeddingConfig.from_dict({"dims": [1, 1, 1], "ngram": 4})


def test_streaming_front_end_equals_python(tmp_path: Path) -> None:
    from edgetx.frontends import device

    device.write_c(CFG, SCALE, ZERO_POINT, tmp_path)
    input_bytes = CFG.seq_len * CFG.width
    binary = build_stream(tmp_path, input_bytes)
    texts = [t.encode() for t in CORPUS] + RAW_CORPUS
    # Chunks of 7 bytes split UTF-8 characters across pushes; the last input is too long.
    inputs = [[t[at : at + 7] for at in range(0, len(t), 7)] for t in texts]
    records = run_stream(binary, [*inputs, [b"z" * 600] * 2], input_bytes)
    for text, (rc, data) in zip(texts, records[:-1], strict=True):
        assert rc == 0
        got = np.frombuffer(data, np.int8).reshape(CFG.seq_len, CFG.width)
        np.testing.assert_array_equal(got, device.host_input(CFG, text, SCALE, ZERO_POINT))
    assert records[-1][0] == -1


def test_torch_module_has_a_fixed_hash_and_a_trainable_projection() -> None:
    import torch

    from edgetx.frontends.hash_embedding_torch import HashEmbedding

    texts = ["Turn ON the lights", "", "naïve café"]
    fixed = HashEmbedding(CFG)
    features = fixed.encode(texts)
    assert features.shape == (3, CFG.seq_len, CFG.width)
    np.testing.assert_array_equal(features[2].numpy(), he.embed_float(texts[2], CFG))
    assert not list(fixed.parameters())
    assert torch.equal(fixed(features), features)
    projected = HashEmbedding(CFG, out_dim=20)
    assert [p.shape for p in projected.parameters()] == [(20, CFG.width), (20,)]
    projected(features).sum().backward()
    assert projected.projection.weight.grad.abs().sum() > 0
