"""Fixed-point log-mel: the integer arithmetic of the device front end, in numpy, and its tables.

`logmel_fixed` (this module) and `edgetx_logmel.c` (sdk/edgetx/codegen/frontends/) compute
the same integers step for step; `write_logmel_c` emits the constants both use. Per frame of
`n_fft` int16 samples:

1. window: w[n] = (x[n] * win_q15[n] + 2^11) >> 12, win_q15 = min(round(hann * 2^15), 32767),
   so the FFT input keeps 3 fraction bits (|w| <= 2^18)
2. FFT: radix-2 decimation in time on bit-reversed input, int32 values, unscaled (|X| <= 2^26
   fits); twiddles round(cos/sin * 2^30), each complex product rounded: (a*w + 2^29) >> 30
3. power: P[k] = (re^2 + im^2 + 2^5) >> 6 (int64, drops the 3 fraction bits; <= 2^46),
   bins 0..n_fft/2
4. mel: acc[m] = sum_k wq[m, k] * P[k] (uint64) with wq = round(librosa_mel * 2^20);
   acc = mel_power * 2^50 (2^30 from int16 PCM scaling, 2^20 from the weights)
5. floor: acc = max(acc, round(amin * 2^50)), as power_to_db's amin
6. log2 in Q16: e = floor(log2 acc); 23-bit mantissa; a 129-entry table of
   round(log2(1 + i/128) * 2^16) with linear interpolation on the low 16 bits
7. int8: q = clamp(zp + ((l2 - 50 * 2^16) * mult + 2^31) >> 32, -128, 127), where
   mult = round(10 log10(2) / scale * 2^16) turns Q16 log2 into input steps
   (dB = 10 log10(2) * (l2 / 2^16 - 50)).

Right shifts of negative values are arithmetic (floor), as gcc and clang do on every target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.frontends.logmel import LogMelConfig

WIN_Q = 15
WIN_SHIFT = 12
POWER_SHIFT = 2 * (WIN_Q - WIN_SHIFT)
TWIDDLE_SHIFT = 30
MEL_SHIFT = 20
PCM_SHIFT = 30  # (int16 / 32768)^2
ACC_SHIFT = MEL_SHIFT + PCM_SHIFT
LOG2_TABLE_BITS = 7
LOG2_Q = 16
QUANT_SHIFT = 32
DB_PER_LOG2 = 10.0 * math.log10(2.0)


@dataclass(frozen=True)
class LogMelTables:
    """Every constant the fixed-point front end uses, derived from a LogMelConfig."""

    window: np.ndarray  # int16 [n_fft], Q15
    cos: np.ndarray  # int32 [n_fft / 2], Q30
    sin: np.ndarray  # int32 [n_fft / 2], Q30, of -2*pi*k/n_fft (forward transform)
    bitrev: np.ndarray  # int16 [n_fft]
    mel_start: np.ndarray  # int16 [n_mels], first FFT bin of each filter
    mel_len: np.ndarray  # int16 [n_mels], number of bins
    mel_weights: np.ndarray  # uint16, the filters' nonzero weights, concatenated, Q20
    log2_table: np.ndarray  # int32 [129], Q16
    amin_acc: int


def _check(cfg: LogMelConfig) -> None:
    n = cfg.n_fft
    if n < 4 or n & (n - 1) or n > 4096:
        raise ValueError(f"the fixed-point FFT needs n_fft a power of two up to 4096, got {n}")
    if cfg.win_length != n or cfg.window != "hann":
        raise ValueError("the fixed-point front end supports window='hann' with win_length=n_fft")


def make_tables(cfg: LogMelConfig) -> LogMelTables:
    import librosa

    _check(cfg)
    n = cfg.n_fft
    hann = librosa.filters.get_window(cfg.window, n, fftbins=True)
    window = np.minimum(np.round(hann * 2**WIN_Q), 2**15 - 1).astype(np.int16)
    k = np.arange(n // 2)
    cos = np.round(np.cos(2 * np.pi * k / n) * 2**TWIDDLE_SHIFT).astype(np.int32)
    sin = np.round(-np.sin(2 * np.pi * k / n) * 2**TWIDDLE_SHIFT).astype(np.int32)
    bits = n.bit_length() - 1
    bitrev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)], np.int16)
    fb = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=n, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    )
    wq = np.round(fb.astype(np.float64) * 2**MEL_SHIFT).astype(np.int64)
    if wq.max() >= 2**16:
        raise ValueError("a mel weight does not fit uint16 in Q20; use more mels or fewer bins")
    starts, lens, weights = [], [], []
    for row in wq:
        nz = np.flatnonzero(row)
        first, last = (int(nz[0]), int(nz[-1])) if nz.size else (0, -1)
        starts.append(first)
        lens.append(last - first + 1)
        weights.append(row[first : last + 1])
    table = np.round(np.log2(1 + np.arange(2**LOG2_TABLE_BITS + 1) / 2**LOG2_TABLE_BITS) * 2**16)
    return LogMelTables(
        window=window,
        cos=cos,
        sin=sin,
        bitrev=bitrev,
        mel_start=np.array(starts, np.int16),
        mel_len=np.array(lens, np.int16),
        mel_weights=np.concatenate(weights).astype(np.uint16),
        log2_table=table.astype(np.int32),
        amin_acc=max(1, round(cfg.amin * 2**ACC_SHIFT)),
    )


def quant_multiplier(scale: float) -> int:
    """mult with q = zp + ((l2 - 50 * 2^16) * mult + 2^31) >> 32 for the model input scale."""
    mult = round(DB_PER_LOG2 / scale * 2 ** (QUANT_SHIFT - LOG2_Q))
    if not 0 < mult < 2**31:
        raise ValueError(f"input scale {scale} is out of range for the log-mel front end")
    return mult


def frames_of(pcm: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """int16 [n_frames, n_fft] frames of one clip, padded/trimmed to clip_samples."""
    if pcm.ndim != 1 or pcm.dtype != np.int16:
        raise ValueError(f"expected int16 PCM of shape [samples], got {pcm.dtype} {pcm.shape}")
    clip = np.zeros(cfg.clip_samples, np.int16)
    clip[: min(pcm.size, cfg.clip_samples)] = pcm[: cfg.clip_samples]
    starts = np.arange(cfg.n_frames) * cfg.hop_length
    return clip[starts[:, None] + np.arange(cfg.n_fft)]


def _fft(re: np.ndarray, im: np.ndarray, t: LogMelTables) -> tuple[np.ndarray, np.ndarray]:
    n = re.shape[-1]
    rnd = np.int64(1 << (TWIDDLE_SHIFT - 1))
    size = 2
    while size <= n:
        half = size // 2
        wr = t.cos[np.arange(half) * (n // size)].astype(np.int64)
        wi = t.sin[np.arange(half) * (n // size)].astype(np.int64)
        r = re.reshape(*re.shape[:-1], n // size, 2, half)
        i = im.reshape(*im.shape[:-1], n // size, 2, half)
        ar, ai, br, bi = r[..., 0, :], i[..., 0, :], r[..., 1, :], i[..., 1, :]
        tr = (br * wr - bi * wi + rnd) >> TWIDDLE_SHIFT
        ti = (br * wi + bi * wr + rnd) >> TWIDDLE_SHIFT
        re = np.stack([ar + tr, ar - tr], axis=-2).reshape(re.shape)
        im = np.stack([ai + ti, ai - ti], axis=-2).reshape(im.shape)
        size *= 2
    return re, im


def _log2_q16(acc: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Integer log2 in Q16 of uint64 values >= 1 (see step 6)."""
    v = acc.astype(np.uint64)
    e = np.zeros(v.shape, np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = (v >> (e + s).astype(np.uint64)) != 0
        e = np.where(big, e + s, e)
    up = np.maximum(23 - e, 0).astype(np.uint64)
    down = np.maximum(e - 23, 0).astype(np.uint64)
    mant = ((v << up) >> down).astype(np.int64) - (1 << 23)
    idx, rem = mant >> 16, mant & 0xFFFF
    t = table.astype(np.int64)
    frac = t[idx] + (((t[idx + 1] - t[idx]) * rem + (1 << 15)) >> 16)
    return e * (1 << LOG2_Q) + frac


def logmel_log2(
    pcm: np.ndarray, cfg: LogMelConfig, tables: LogMelTables | None = None
) -> np.ndarray:
    """Q16 log2 of the floored mel accumulators, int32 [n_frames, n_mels] (steps 1-6)."""
    t = tables or make_tables(cfg)
    frames = frames_of(pcm, cfg).astype(np.int64)
    windowed = (frames * t.window + (1 << (WIN_SHIFT - 1))) >> WIN_SHIFT
    re = windowed[:, t.bitrev.astype(np.int64)]
    re, im = _fft(re, np.zeros_like(re), t)
    bins = cfg.n_fft // 2 + 1
    power = re[:, :bins] ** 2 + im[:, :bins] ** 2
    power = ((power + (1 << (POWER_SHIFT - 1))) >> POWER_SHIFT).astype(np.uint64)
    acc = np.zeros((power.shape[0], cfg.n_mels), np.uint64)
    offset = 0
    for m in range(cfg.n_mels):
        start, length = int(t.mel_start[m]), int(t.mel_len[m])
        w = t.mel_weights[offset : offset + length].astype(np.uint64)
        acc[:, m] = (power[:, start : start + length] * w).sum(axis=1, dtype=np.uint64)
        offset += length
    acc = np.maximum(acc, np.uint64(t.amin_acc))
    return _log2_q16(acc, t.log2_table).astype(np.int32)


def log2_to_db(l2: np.ndarray) -> np.ndarray:
    """dB (as librosa's power_to_db with ref=1) of Q16 log2 accumulators."""
    return (DB_PER_LOG2 * (l2.astype(np.float64) / 2**LOG2_Q - ACC_SHIFT)).astype(np.float32)


def quantize_log2(l2: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Step 7: int8 model input from Q16 log2 values."""
    v = l2.astype(np.int64) - ACC_SHIFT * (1 << LOG2_Q)
    q = zero_point + ((v * quant_multiplier(scale) + (1 << (QUANT_SHIFT - 1))) >> QUANT_SHIFT)
    return np.clip(q, -128, 127).astype(np.int8)


def logmel_fixed(pcm: np.ndarray, cfg: LogMelConfig, scale: float, zero_point: int) -> np.ndarray:
    """int8 model input [n_frames, n_mels] of one int16 clip, exactly as the C front end."""
    return quantize_log2(logmel_log2(pcm, cfg), scale, zero_point)


def _c_array(ctype: str, name: str, values: np.ndarray) -> str:
    body = ",".join(str(int(v)) + ("u" if ctype.startswith("uint") else "") for v in values)
    return f"const {ctype} {name}[{values.size}] = {{{body}}};\n"


def write_logmel_c(cfg: LogMelConfig, scale: float, zero_point: int, out_dir: Path) -> list[Path]:
    """Write edgetx_logmel_tables.h/.c (constants for edgetx_logmel.c) into out_dir."""
    t = make_tables(cfg)
    mult = quant_multiplier(scale)
    if not -128 <= zero_point <= 127:
        raise ValueError(f"input zero point {zero_point} is not int8")
    out_dir.mkdir(parents=True, exist_ok=True)
    header = f"""\
/* Generated by edgetx from a LogMelConfig; do not edit. */
#ifndef EDGETX_LOGMEL_TABLES_H
#define EDGETX_LOGMEL_TABLES_H
#include <stdint.h>

#define EDGETX_LOGMEL_N_FFT {cfg.n_fft}
#define EDGETX_LOGMEL_LOG2_N_FFT {cfg.n_fft.bit_length() - 1}
#define EDGETX_LOGMEL_HOP {cfg.hop_length}
#define EDGETX_LOGMEL_N_MELS {cfg.n_mels}
#define EDGETX_LOGMEL_N_FRAMES {cfg.n_frames}
#define EDGETX_LOGMEL_CLIP_SAMPLES {cfg.clip_samples}
#define EDGETX_LOGMEL_AMIN_ACC {t.amin_acc}ull
#define EDGETX_LOGMEL_ACC_SHIFT {ACC_SHIFT}
#define EDGETX_LOGMEL_QUANT_MULT {mult}
#define EDGETX_LOGMEL_ZERO_POINT ({zero_point})

extern const int16_t edgetx_logmel_window[{cfg.n_fft}];
extern const int32_t edgetx_logmel_cos[{cfg.n_fft // 2}];
extern const int32_t edgetx_logmel_sin[{cfg.n_fft // 2}];
extern const int16_t edgetx_logmel_bitrev[{cfg.n_fft}];
extern const int16_t edgetx_logmel_mel_start[{cfg.n_mels}];
extern const int16_t edgetx_logmel_mel_len[{cfg.n_mels}];
extern const uint16_t edgetx_logmel_mel_weights[{t.mel_weights.size}];
extern const int32_t edgetx_logmel_log2_table[{t.log2_table.size}];

#endif
"""
    source = (
        "/* Generated by edgetx from a LogMelConfig; do not edit. */\n"
        '#include "edgetx_logmel_tables.h"\n\n'
        + _c_array("int16_t", "edgetx_logmel_window", t.window)
        + _c_array("int32_t", "edgetx_logmel_cos", t.cos)
        + _c_array("int32_t", "edgetx_logmel_sin", t.sin)
        + _c_array("int16_t", "edgetx_logmel_bitrev", t.bitrev)
        + _c_array("int16_t", "edgetx_logmel_mel_start", t.mel_start)
        + _c_array("int16_t", "edgetx_logmel_mel_len", t.mel_len)
        + _c_array("uint16_t", "edgetx_logmel_mel_weights", t.mel_weights)
        + _c_array("int32_t", "edgetx_logmel_log2_table", t.log2_table)
    )
    paths = [out_dir / "edgetx_logmel_tables.h", out_dir / "edgetx_logmel_tables.c"]
    paths[0].write_text(header)
    paths[1].write_text(source)
    return paths
