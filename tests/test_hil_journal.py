"""The HIL journal and sharding on their own: append, resume, torn lines, refusals, shards
and where they run (no device needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgetx.boards import load_board
from edgetx.errors import UserError
from edgetx.hil.harness import _targets, shards
from edgetx.hil.journal import JOURNAL_FILE, Entry, Journal

HEADER = {"firmware_sha256": "f" * 64, "dataset_sha256": "d" * 64, "samples": 5}


def test_entries_survive_and_resume_continues(tmp_path: Path) -> None:
    with Journal.open(tmp_path, HEADER, resume=False) as j:
        j.append(Entry(3, b"\x01\xff", 10))
        j.append(Entry(0, b"\x00\x80", 11))
    with Journal.open(tmp_path, HEADER, resume=True) as j:
        assert j.done == {3: Entry(3, b"\x01\xff", 10), 0: Entry(0, b"\x00\x80", 11)}
        j.append(Entry(1, b"\x02\x02", 12))
    lines = (tmp_path / JOURNAL_FILE).read_text().splitlines()
    assert json.loads(lines[0])["samples"] == 5
    assert [json.loads(line)["i"] for line in lines[1:]] == [3, 0, 1]


def test_a_torn_last_line_is_dropped_on_resume(tmp_path: Path) -> None:
    with Journal.open(tmp_path, HEADER, resume=False) as j:
        j.append(Entry(0, b"\x05", 1))
    with open(tmp_path / JOURNAL_FILE, "a") as f:
        f.write('{"i": 1, "outp')  # the process died mid-write
    with Journal.open(tmp_path, HEADER, resume=True) as j:
        assert list(j.done) == [0]
        j.append(Entry(1, b"\x06", 2))
    with Journal.open(tmp_path, HEADER, resume=True) as j:
        assert j.done == {0: Entry(0, b"\x05", 1), 1: Entry(1, b"\x06", 2)}


def test_resume_refuses_a_journal_of_other_inputs(tmp_path: Path) -> None:
    Journal.open(tmp_path, HEADER, resume=False).close()
    other = HEADER | {"dataset_sha256": "e" * 64}
    with pytest.raises(UserError, match=r"different dataset_sha256.*--report"):
        Journal.open(tmp_path, other, resume=True)


def test_resume_without_a_journal_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no journal"):
        Journal.open(tmp_path / "report", HEADER, resume=True)
    assert not (tmp_path / "report").exists()  # nothing written


def test_an_unfinished_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    with Journal.open(tmp_path, HEADER, resume=False) as j:
        j.append(Entry(0, b"\x05", 1))
    with pytest.raises(UserError, match="--resume"):
        Journal.open(tmp_path, HEADER, resume=False)
    with Journal.open(tmp_path, HEADER, resume=True) as j:
        for i in range(1, 5):
            j.append(Entry(i, b"\x05", 1))
    with Journal.open(tmp_path, HEADER, resume=False) as j:  # finished: a new run starts
        assert j.done == {}


def test_a_corrupt_record_is_a_user_error(tmp_path: Path) -> None:
    Journal.open(tmp_path, HEADER, resume=False).close()
    with open(tmp_path / JOURNAL_FILE, "a") as f:
        f.write('{"i": "x"}\n{"i": 1, "output": "00", "ticks": 1}\n')
    with pytest.raises(UserError, match="line 2 is corrupt"):
        Journal.open(tmp_path, HEADER, resume=True)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_cover_every_index_once_in_order(n: int) -> None:
    todo = [0, 2, 3, 5, 8, 9, 10]
    parts = shards(todo, n)
    assert len(parts) == n
    assert [i for part in parts for i in part] == todo
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_targets_one_per_port_or_per_emulator_job() -> None:
    board = load_board("qemu-mps2-an386")
    assert _targets(board, [], None) == [None]
    assert _targets(board, [], 3) == [None, None, None]
    assert _targets(board, ["socket://a:1", "socket://b:2"], None) == [
        "socket://a:1",
        "socket://b:2",
    ]
    with pytest.raises(UserError, match="one port per job"):
        _targets(board, ["socket://a:1"], 2)
    with pytest.raises(UserError, match="--jobs must be 1 or more"):
        _targets(board, [], 0)
