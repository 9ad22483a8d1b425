"""`edgetx hil` end to end on QEMU with a tiny MLP (16-byte input, so thousands of samples run
in seconds): --jobs sharding, Ctrl-C and --resume, a board that dies, and the report schema."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgetx.boards import load_board
from edgetx.flash import QemuRunner

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parent.parent
MLP = f"{ROOT / 'tests' / 'fixtures' / 'models' / 'tiny_mlp.py'}:mlp"
BOARD = "qemu-mps2-an386"
SAMPLES = 2000
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted and built tiny MLP firmware, with data.npz of SAMPLES samples."""
    from edgetx.build import build
    from edgetx_converters import convert

    work = tmp_path_factory.mktemp("mlp")
    rng = np.random.default_rng(0)
    np.save(work / "calib.npy", rng.standard_normal((64, 16)).astype(np.float32))
    x = rng.standard_normal((SAMPLES, 16)).astype(np.float32)
    np.savez(work / "data.npz", x=x, y=rng.integers(0, 4, SAMPLES))
    convert(MLP, work / "calib.npy", work / "model")
    build(work / "model", BOARD, work / "fw")
    return work


def hil_cmd(work: Path, report: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "edgetx", "hil", str(work / "fw"), "--board", BOARD,
        "--dataset", str(work / "data.npz"), "--report", str(report), *extra,
    ]  # fmt: skip


def hil(work: Path, report: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hil_cmd(work, report, *extra), capture_output=True, text=True, timeout=900
    )


def journal(report: Path) -> list[dict]:
    lines = (report / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def wait_for_records(report: Path, n: int, running: subprocess.Popen[str]) -> None:
    path = report / "journal.jsonl"
    while not path.exists() or len(path.read_text().splitlines()) <= n:
        assert running.poll() is None, running.communicate()
        time.sleep(0.05)


def load_report(report: Path) -> dict:
    data = json.loads((report / "report.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data


@pytest.mark.slow
def test_jobs_2_gives_the_results_of_jobs_1(mlp: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    r = hil(mlp, one)
    assert r.returncode == 0, r.stderr
    r = hil(mlp, two, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    a, b = load_report(one), load_report(two)
    assert a["status"] == b["status"] == "complete"
    assert a["completed"] == b["completed"] == SAMPLES
    assert (a["jobs"], b["jobs"]) == (1, 2)
    assert a["agreement_with_host"] == b["agreement_with_host"] == 1.0
    for key in ("device_accuracy", "host_accuracy", "mismatches", "classes", "confusion"):
        assert a[key] == b[key], key
    ra = {e["i"]: e for e in journal(one)}
    rb = {e["i"]: e for e in journal(two)}
    assert sorted(ra) == sorted(rb) == list(range(SAMPLES))
    assert all(ra[i]["output"] == rb[i]["output"] for i in range(SAMPLES))
    # Under -icount every inference starts at the same timer phase, so counts are exact.
    assert all(ra[i]["ticks"] == rb[i]["ticks"] for i in range(SAMPLES))
    for name in ("latency.png", "confusion.png", "per_class_accuracy.png"):
        assert (two / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in (two / "report.md").read_text()


def test_ctrl_c_leaves_a_partial_report_and_resume_completes(mlp: Path, tmp_path: Path) -> None:
    report = tmp_path / "hil"
    # A shell without job control starts background jobs with SIGINT ignored, and children
    # inherit that (CI may run the tests so); the child gets the default a terminal gives.
    with subprocess.Popen(
        hil_cmd(mlp, report, "--limit", "600"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as running:  # fmt: skip
        wait_for_records(report, 100, running)
        running.send_signal(signal.SIGINT)
        _, err = running.communicate(timeout=60)
    assert running.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    partial = load_report(report)
    done = journal(report)
    assert partial["status"] == "partial" and partial["reason"] == "interrupted"
    assert partial["samples"] == 600
    assert 100 <= partial["completed"] == len(done) < 600
    assert partial["agreement_with_host"] == 1.0
    assert f"{len(done)} of 600 samples measured" in (report / "report.md").read_text()

    r = hil(mlp, report, "--limit", "600")
    assert r.returncode == 2 and "--resume" in r.stderr  # not silently overwritten

    r = hil(mlp, report, "--limit", "500", "--resume")
    assert r.returncode == 2 and "different samples" in r.stderr  # another run's journal

    r = hil(mlp, report, "--limit", "600", "--resume")
    assert r.returncode == 0, r.stderr
    final = load_report(report)
    assert final["status"] == "complete" and final["reason"] is None
    assert final["completed"] == final["samples"] == 600
    assert final["agreement_with_host"] == 1.0
    indices = [e["i"] for e in journal(report)]
    assert sorted(indices) == list(range(600))  # every sample exactly once
    assert indices[: len(done)] == [e["i"] for e in done]  # earlier results kept as they were


def test_a_dead_board_leaves_a_partial_report(mlp: Path, tmp_path: Path) -> None:
    report = tmp_path / "hil"
    with QemuRunner.from_board(load_board(BOARD)) as qemu:
        url = qemu.start(mlp / "fw" / "firmware.elf")
        with subprocess.Popen(
            hil_cmd(mlp, report, "--port", url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        ) as running:  # fmt: skip
            wait_for_records(report, 100, running)
            qemu.stop()  # the board dies mid-run
            out, err = running.communicate(timeout=120)
    assert running.returncode == 4, err
    assert "serial link" in err and "Traceback" not in err
    partial = load_report(report)
    assert partial["status"] == "partial"
    assert "serial link" in partial["reason"]
    assert 100 <= partial["completed"] == len(journal(report)) < SAMPLES
    assert "PARTIAL" in out
