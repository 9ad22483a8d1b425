"""The pytest plugin (entry point pytest11 edgetx), run inside pytester sessions: it skips
without a board, and gives a synced link to QEMU firmware given by --edgetx-port or
--edgetx-firmware."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetx.boards import load_board
from edgetx.codegen import build_firmware, render_project
from edgetx.flash import QemuRunner

pytest_plugins = ["pytester"]

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
BOARD = "qemu-mps2-an386"
needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)

USER_TESTS = """
def test_device_answers(edgetx_link):
    info = edgetx_link.info()
    assert (info.runtime, info.input_bytes, info.output_bytes) == ("echo", 1280, 8)
    assert edgetx_link.run(bytes(1280)).output == bytes(8)

def test_board(edgetx_board):
    assert edgetx_board.id == "qemu-mps2-an386"

def test_without_board():
    pass
"""


@pytest.fixture(scope="module")
def fwdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fw = render_project(load_board(BOARD), ECHO_MODEL, tmp_path_factory.mktemp("fw") / "fw")
    build_firmware(fw)
    return fw


@pytest.fixture()
def qemu_url(fwdir: Path) -> Iterator[str]:
    with QemuRunner.from_board(load_board(BOARD)) as qemu:
        yield qemu.start(fwdir / "firmware.elf")


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--edgetx-board*", "*--edgetx-port*"])


def test_without_a_board_the_fixtures_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*no --edgetx-board given*"])


def test_an_emulated_board_needs_firmware_or_port(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--edgetx-board", BOARD, "-k", "device_answers")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--edgetx-port URL or --edgetx-firmware FWDIR*"])


def test_an_unknown_board_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--edgetx-board", "no-such-board", "-k", "test_board")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--edgetx-board:*no-such-board*"])


@pytest.mark.qemu
@needs_toolchain
def test_link_to_a_board_at_a_port(pytester: pytest.Pytester, qemu_url: str) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--edgetx-board", BOARD, "--edgetx-port", qemu_url)
    result.assert_outcomes(passed=3)


@pytest.mark.qemu
@needs_toolchain
def test_link_to_firmware_booted_in_qemu(pytester: pytest.Pytester, fwdir: Path) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--edgetx-board", BOARD, "--edgetx-firmware", str(fwdir))
    result.assert_outcomes(passed=3)
