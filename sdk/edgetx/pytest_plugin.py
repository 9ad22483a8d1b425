"""pytest plugin: HIL checks in your own test suite (registered as a pytest11 entry point).

    pytest --edgetx-board qemu-mps2-an386 --edgetx-firmware build/fw     # boots it in QEMU
    pytest --edgetx-board my-board --edgetx-port /dev/ttyACM0            # a flashed board

    def test_keyword(edgetx_link):
        assert edgetx_link.run(x.tobytes()).output == expected

Without --edgetx-board, tests using these fixtures are skipped, so the same suite runs on
machines with no board attached.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetx.boards import Board, load_board
from edgetx.errors import EdgetxError
from edgetx.flash import QemuRunner
from edgetx.link import Link
from edgetx.link.labgrid_place import serial_url


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgetx", "edgetx hardware-in-the-loop")
    group.addoption("--edgetx-board", help="board id to run edgetx HIL tests on")
    group.addoption(
        "--edgetx-port",
        help="serial URL or labgrid://PLACE of the board (default: boot it in QEMU)",
    )
    group.addoption(
        "--edgetx-firmware", type=Path, help="firmware directory of 'edgetx build' to boot in QEMU"
    )


@pytest.fixture(scope="session")
def edgetx_board(request: pytest.FixtureRequest) -> Board:
    """The board given with --edgetx-board; skips the test when none was given."""
    board_id = request.config.getoption("edgetx_board")
    if board_id is None:
        pytest.skip("no --edgetx-board given")
    try:
        return load_board(board_id)
    except EdgetxError as e:
        raise pytest.UsageError(f"--edgetx-board: {e}") from None


@pytest.fixture(scope="session")
def edgetx_link(request: pytest.FixtureRequest, edgetx_board: Board) -> Iterator[Link]:
    """An edgetx.link.Link to the board, synced; one per test session."""
    port = request.config.getoption("edgetx_port")
    if port is not None:
        with Link.open(serial_url(port)) as link:
            link.sync()
            yield link
        return
    firmware = request.config.getoption("edgetx_firmware")
    if not edgetx_board.emulated or firmware is None:
        raise pytest.UsageError(
            f"--edgetx-board {edgetx_board.id}: give --edgetx-port URL"
            + (" or --edgetx-firmware FWDIR to boot it in QEMU" if edgetx_board.emulated else "")
        )
    elf = firmware / "firmware.elf"
    with QemuRunner.from_board(edgetx_board) as qemu, Link.open(qemu.start(elf)) as link:
        link.sync()
        yield link
