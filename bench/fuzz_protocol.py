"""Fuzz the device-side frame parser (protocol.c) with libFuzzer under ASan and UBSan.

Builds fuzz/protocol_fuzz with clang, seeds a corpus with valid frames (so the fuzzer starts
past the CRC check) and runs it for --runs executions; writes the figures as JSON. A crash
(an out-of-bounds access, undefined behaviour or a failed check) exits 1 and names the input
that caused it.

    python bench/fuzz_protocol.py                 # 1,000,000 runs -> bench/results/
    python bench/fuzz_protocol.py --runs 100000 --out /tmp/fuzz.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sdk"))

from edgetx.link.frames import Frame, encode_frame  # noqa: E402

FUZZER = ROOT / "build" / "fuzz" / "protocol_fuzz"
MAX_LEN = 512  # longer inputs add little: receive buffers are at most 63 bytes


def build() -> Path:
    subprocess.run(["make", "-s", "-C", str(ROOT / "fuzz")], check=True)
    return FUZZER


def seed_corpus(directory: Path) -> int:
    """Inputs holding valid frames (several buffer sizes), alone and between garbage."""
    frames = [
        encode_frame(Frame(t, seq, payload))
        for t, seq, payload in [
            (0x01, 0, b""),
            (0x01, 1, b"\x00hello\x00"),
            (0x02, 0xFFFE, b""),
            (0x03, 7, bytes(range(1, 40))),
            (0x03, 8, bytes(40)),
            (0xF0, 0xFFFF, b"\xff" * 30),
        ]
    ]
    seeds = []
    for cap in (0, 7, 16, 47, 63):
        for i, wire in enumerate(frames):
            seeds.append(bytes([cap, 64 + i]) + wire)
            seeds.append(bytes([cap, i]) + b"\x02\xff\x01" + wire + wire[: len(wire) // 2] + wire)
    for i, seed in enumerate(seeds):
        (directory / f"seed{i:03d}").write_bytes(seed)
    return len(seeds)


def fuzz(runs: int, seed: int) -> dict:
    fuzzer = build()
    with tempfile.TemporaryDirectory(prefix="edgetx-fuzz-") as tmp:
        corpus, artifacts = Path(tmp) / "corpus", Path(tmp) / "artifacts"
        corpus.mkdir()
        artifacts.mkdir()
        n_seeds = seed_corpus(corpus)
        argv = [
            str(fuzzer), f"-runs={runs}", f"-seed={seed}", f"-max_len={MAX_LEN}",
            "-print_final_stats=1", f"-artifact_prefix={artifacts}/", str(corpus),
        ]  # fmt: skip
        start = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        crashes = sorted(p.name for p in artifacts.iterdir())
        if r.returncode != 0 or crashes:
            saved = ROOT / "build" / "fuzz" / "crashes"
            saved.mkdir(parents=True, exist_ok=True)
            for name in crashes:
                (saved / name).write_bytes((artifacts / name).read_bytes())
            print(r.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"fuzzer failed (status {r.returncode}); inputs in {saved}")
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", r.stderr))
    cov = re.findall(r"cov: (\d+) ft: (\d+)", r.stderr)
    clang = subprocess.run(["clang-14", "--version"], capture_output=True, text=True)
    return {
        "target": "firmware_templates/cortex-m/src/protocol.c (etx_rx_push, etx_encode)",
        "engine": "libFuzzer",
        "compiler": clang.stdout.splitlines()[0],
        "sanitizers": ["address", "undefined"],
        "executions": int(stats["number_of_executed_units"]),
        "seconds": round(seconds, 1),
        "executions_per_second": int(stats["average_exec_per_sec"]),
        "edges_covered": int(cov[-1][0]) if cov else None,
        "features": int(cov[-1][1]) if cov else None,
        "peak_rss_mb": int(stats["peak_rss_mb"]),
        "seed_inputs": n_seeds,
        "seed": seed,
        "crashes": 0,
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz_protocol.json")
    args = ap.parse_args()
    result = fuzz(args.runs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
