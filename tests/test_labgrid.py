"""An edgetx target as a labgrid place, with labgrid's own local set-up: labgrid-coordinator, a
labgrid-exporter exporting two QEMUs' consoles (a TCP console declared as a raw
NetworkSerialPort; a pty as a RawSerialPort, which the exporter serves by RFC 2217 through
ser2net), and places made and acquired with labgrid-client. `edgetx hil --port
labgrid://PLACE` then runs real firmware through them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgetx.boards import load_board
from edgetx.errors import UserError
from edgetx.flash import QemuRunner
from edgetx.link.labgrid_place import serial_url

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parent.parent
MLP = f"{ROOT / 'tests' / 'fixtures' / 'models' / 'tiny_mlp.py'}:mlp"
BOARD = "qemu-mps2-an386"
SAMPLES = 200
BIN = Path(sys.executable).parent  # labgrid's programs, installed with it in this venv
HOST = "127.0.0.1"
EXPORTER = "edgetx-test"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Lab:
    env: dict[str, str]  # LG_COORDINATOR for labgrid-client and edgetx
    qemu_port: int

    def client(self, *args: str) -> str:
        r = subprocess.run(
            [str(BIN / "labgrid-client"), *args], env=self.env, capture_output=True, text=True,
            timeout=30,
        )  # fmt: skip
        assert r.returncode == 0, f"labgrid-client {' '.join(args)}: {r.stderr}"
        return r.stdout

    def make_place(self, place: str, match: str | None, acquire: bool) -> None:
        self.client("-p", place, "create")
        if match:
            self.client("-p", place, "add-match", match)
        if acquire:
            self.client("-p", place, "acquire")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(what: str, ready: Callable[[], bool], procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        for p in procs:
            assert p.poll() is None, f"{p.args[0]} exited with status {p.returncode}; see its log"
        assert time.monotonic() < deadline, f"{what} not ready within {START_TIMEOUT_S} s"
        time.sleep(0.2)


def start(work: Path, env: dict[str, str], program: str, *args: str) -> subprocess.Popen:
    """Start one of labgrid's programs in work, where its log goes (and the coordinator keeps
    its places)."""
    with (work / f"{program}.log").open("w") as log:
        return subprocess.Popen(
            [str(BIN / program), *args], cwd=work, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny MLP firmware for the emulated board, with data.npz of SAMPLES samples."""
    from edgetx.build import build
    from edgetx_converters import convert

    work = tmp_path_factory.mktemp("mlp")
    rng = np.random.default_rng(1)
    np.save(work / "calib.npy", rng.standard_normal((64, 16)).astype(np.float32))
    x = rng.standard_normal((SAMPLES, 16)).astype(np.float32)
    np.savez(work / "data.npz", x=x, y=rng.integers(0, 4, SAMPLES))
    convert(MLP, work / "calib.npy", work / "model")
    build(work / "model", BOARD, work / "fw")
    return work


@contextlib.contextmanager
def qemu_on_pty(elf: Path) -> Iterator[str]:
    """QEMU with its console on a pseudo-terminal, like a board on a USB serial port."""
    argv = QemuRunner.from_board(load_board(BOARD)).argv(elf, 0)
    argv[argv.index("-serial") + 1] = "pty"
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True) as p:
        try:
            line = p.stdout.readline()  # "char device redirected to /dev/pts/N (label serial0)"
            match = re.search(r"/dev/pts/\d+", line)
            assert match, f"QEMU did not report its pty: {line!r}"
            yield match.group(0)
        finally:
            p.terminate()


@pytest.fixture(scope="module")
def lab(mlp: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Two QEMUs running the firmware, exported by a labgrid exporter to a local coordinator.
    Places: edgetx-qemu (acquired; QEMU's TCP console as a raw NetworkSerialPort), edgetx-uart
    (acquired; a QEMU pty as a RawSerialPort, which the exporter serves by RFC 2217 through
    ser2net, as it does a USB serial port), edgetx-idle (not acquired), edgetx-empty (acquired,
    no resources), edgetx-pair (acquired, two serial ports)."""
    work = tmp_path_factory.mktemp("lab")
    coordinator = free_port()
    address = f"{HOST}:{coordinator}"
    env = {**os.environ, "LG_COORDINATOR": address}
    elf = mlp / "fw" / "firmware.elf"
    with QemuRunner.from_board(load_board(BOARD)) as qemu, qemu_on_pty(elf) as pty:
        qemu_port = int(qemu.start(elf).rsplit(":", 1)[1])
        # The pair's ports are never opened: they only need to resolve.
        (work / "exporter.yaml").write_text(
            f"qemu:\n  NetworkSerialPort:\n    host: {HOST}\n    port: {qemu_port}\n"
            "    speed: 115200\n    protocol: raw\n"
            f"uart:\n  RawSerialPort:\n    port: {pty}\n    speed: 115200\n"
            "pair:\n"
            f"  console:\n    cls: NetworkSerialPort\n    host: {HOST}\n    port: 1\n"
            "    protocol: raw\n"
            f"  debug:\n    cls: NetworkSerialPort\n    host: {HOST}\n    port: 2\n"
            "    protocol: rfc2217\n"
        )
        procs: list[subprocess.Popen] = []
        try:
            procs.append(start(work, env, "labgrid-coordinator", "--listen", address))
            wait_for("labgrid-coordinator", lambda: listening(coordinator), procs)
            procs.append(
                start(work, env, "labgrid-exporter", "--coordinator", address, "--name", EXPORTER,
                      "--hostname", HOST, "exporter.yaml")
            )  # fmt: skip
            lab = Lab(env, qemu_port)
            wait_for(
                "labgrid-exporter",
                lambda: f"{EXPORTER}/pair/NetworkSerialPort" in lab.client("resources"),
                procs,
            )
            places = [
                ("edgetx-qemu", f"{EXPORTER}/qemu/*", True),
                ("edgetx-uart", f"{EXPORTER}/uart/*", True),
                ("edgetx-idle", f"{EXPORTER}/qemu/*", False),
                ("edgetx-empty", None, True),
                ("edgetx-pair", f"{EXPORTER}/pair/*", True),
            ]
            # Each labgrid-client call takes most of a second, so the places are made in parallel.
            with ThreadPoolExecutor(len(places)) as pool:
                list(pool.map(lambda p: lab.make_place(*p), places))
            yield lab
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def hil(mlp: Path, report: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "edgetx", "hil", str(mlp / "fw"), "--board", BOARD,
        "--dataset", str(mlp / "data.npz"), "--report", str(report), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_hil_runs_on_an_acquired_labgrid_place(mlp: Path, lab: Lab, tmp_path: Path) -> None:
    r = hil(mlp, tmp_path / "hil", "--port", "labgrid://edgetx-qemu", env=lab.env)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "hil" / "report.json").read_text())
    assert report["status"] == "complete"
    assert report["completed"] == report["samples"] == SAMPLES
    assert report["agreement_with_host"] == 1.0
    assert report["mismatches"] == []


def test_hil_shares_samples_between_two_places(
    mlp: Path, lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One place raw TCP, the other RFC 2217 through the exporter's ser2net."""
    monkeypatch.setenv("LG_COORDINATOR", lab.env["LG_COORDINATOR"])
    assert serial_url("labgrid://edgetx-uart").startswith(f"rfc2217://{HOST}:")
    ports = ("--port", "labgrid://edgetx-qemu", "--port", "labgrid://edgetx-uart")
    r = hil(mlp, tmp_path / "hil", *ports, env=lab.env)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "hil" / "report.json").read_text())
    assert report["jobs"] == 2
    assert report["completed"] == SAMPLES and report["agreement_with_host"] == 1.0


def test_a_place_not_acquired_is_refused_with_exit_2_before_anything_is_written(
    mlp: Path, lab: Lab, tmp_path: Path
) -> None:
    r = hil(mlp, tmp_path / "hil", "--port", "labgrid://edgetx-idle", env=lab.env)
    assert r.returncode == 2, r.stderr
    assert "place edgetx-idle is not acquired" in r.stderr
    assert "labgrid-client -p edgetx-idle acquire" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "hil").exists()


def test_resolution_follows_the_places_resources(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_COORDINATOR", lab.env["LG_COORDINATOR"])
    assert serial_url("labgrid://edgetx-qemu") == f"socket://{HOST}:{lab.qemu_port}"
    assert serial_url("labgrid://edgetx-pair/console") == f"socket://{HOST}:1"
    assert serial_url("labgrid://edgetx-pair/debug") == f"rfc2217://{HOST}:2?ign_set_control"
    assert serial_url("/dev/ttyACM0") == "/dev/ttyACM0"  # not a place: as given
    for port, message in [
        ("labgrid://edgetx-pair", "has serial ports console, debug; name one"),
        ("labgrid://edgetx-pair/uart9", "has no serial port 'uart9'; it has console, debug"),
        ("labgrid://edgetx-empty", "place edgetx-empty has no NetworkSerialPort"),
        ("labgrid://no-such-place", "place pattern no-such-place matches nothing"),
        ("labgrid://", "names no place"),
    ]:
        with pytest.raises(UserError, match=message):
            serial_url(port)


def test_an_unreachable_coordinator_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_COORDINATOR", f"{HOST}:{free_port()}")  # nothing listens there
    with pytest.raises(UserError, match=r"Could not connect to coordinator.*LG_COORDINATOR"):
        serial_url("labgrid://edgetx-qemu")


def test_without_labgrid_a_place_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "labgrid" or name.startswith("labgrid."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "labgrid", None)  # import labgrid raises ImportError
    with pytest.raises(UserError, match="needs labgrid; install it with 'pip install labgrid'"):
        serial_url("labgrid://edgetx-qemu")


def test_flash_through_a_probe_refuses_a_place(mlp: Path, tmp_path: Path) -> None:
    from edgetx.build import build

    build(mlp / "model", "nucleo-f446re", tmp_path / "fw")
    cmd = [
        sys.executable, "-m", "edgetx", "flash", str(tmp_path / "fw"), "--board", "nucleo-f446re",
        "--port", "labgrid://edgetx-qemu",
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "runner 'openocd' flashes through a probe attached to this machine" in r.stderr
    assert "labgrid-client -p PLACE bootstrap" in r.stderr and "Traceback" not in r.stderr
