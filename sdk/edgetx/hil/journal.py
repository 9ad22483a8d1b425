"""The HIL journal: every device result is appended and fsync'd as it arrives, so an interrupted
run loses nothing and `edgetx hil --resume` continues it.

REPORT/journal.jsonl holds one JSON object per line: a header naming what is being measured
(hashes of the firmware and dataset, the sample count), then one record per measured sample
({"i": index, "output": hex bytes, "ticks": n}), in the order they arrived.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from edgetx.errors import UserError

JOURNAL_FILE = "journal.jsonl"
JOURNAL_VERSION = 1


@dataclass(frozen=True)
class Entry:
    index: int
    output: bytes
    ticks: int


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Journal:
    """Append-only, thread-safe record of measured samples; a context manager that closes."""

    def __init__(self, path: Path, header: dict[str, Any], done: dict[int, Entry]) -> None:
        self.path = path
        self.header = header
        self.done = done
        self._lock = threading.Lock()
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()

    @classmethod
    def open(cls, report_dir: Path, header: dict[str, Any], *, resume: bool) -> Journal:
        """Start a journal in report_dir, or with resume=True continue the one there, which
        must describe the same firmware, dataset and sample count."""
        header = {"journal": JOURNAL_VERSION, **header}
        path = Path(report_dir) / JOURNAL_FILE
        if not resume:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and _unfinished(path):
                raise UserError(
                    f"{path} holds an unfinished run; continue it with --resume, "
                    f"or delete {path} to start over"
                )
            _write_atomic(path, _line(header))
            return cls(path, header, {})
        if not path.is_file():
            raise UserError(f"--resume: no journal at {path}; run without --resume first")
        old, done = _read(path)
        if old != header:
            changed = sorted(k for k in header.keys() | old.keys() if header.get(k) != old.get(k))
            raise UserError(
                f"--resume: {path} is a run of different {', '.join(changed)}; "
                f"use another --report directory, or delete {path} to start over"
            )
        # Rewrite without a torn last line, so new records append after a complete one.
        entries = "".join(_line(_record(e)) for e in done.values())
        _write_atomic(path, _line(header) + entries)
        return cls(path, header, done)

    def append(self, entry: Entry) -> None:
        with self._lock:
            self._file.write(_line(_record(entry)).encode())
            self._file.flush()
            os.fsync(self._file.fileno())
            self.done[entry.index] = entry

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _record(e: Entry) -> dict[str, Any]:
    return {"i": e.index, "output": e.output.hex(), "ticks": e.ticks}


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True) + "\n"


def _read(path: Path) -> tuple[dict[str, Any], dict[int, Entry]]:
    """The header and the records; a torn last line (the process died mid-write) is dropped."""
    lines = path.read_bytes().split(b"\n")
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise UserError(f"{path} is not an edgetx HIL journal; delete it to start over") from None
    done: dict[int, Entry] = {}
    complete = lines[1:-1]  # the last element follows the final newline: empty or torn
    for n, raw in enumerate(complete, start=2):
        try:
            r = json.loads(raw)
            entry = Entry(int(r["i"]), bytes.fromhex(r["output"]), int(r["ticks"]))
        except (ValueError, KeyError, TypeError):
            raise UserError(
                f"{path} line {n} is corrupt; delete the journal to start over"
            ) from None
        done[entry.index] = entry
    return header, done


def _unfinished(path: Path) -> bool:
    old, done = _read(path)
    return 0 < len(done) < old.get("samples", 0)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
