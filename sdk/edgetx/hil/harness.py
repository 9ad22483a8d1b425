"""Run every sample of a dataset on one or more devices over the serial link.

An emulated board is started in QEMU with deterministic instruction counting; a real board is
reached at --port. Either way the harness speaks to it through pyserial only, the same code
path as a USB serial port. The host reference is the TensorFlow Lite Micro interpreter on the
same int8 inputs. With --jobs N (or N --port) the samples are shared among N devices, one
thread each, and merged in dataset order. Results go to a journal as they arrive, so an
interrupted run leaves a partial report and continues with --resume.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from edgetx.boards import Board, load_board
from edgetx.build import MODEL_FILE, BuildResult, read_build_info
from edgetx.errors import DeviceError, UserError
from edgetx.flash import QemuRunner
from edgetx.frontends.device import hil_raw_inputs
from edgetx.hil.dataset import load_dataset
from edgetx.hil.journal import Entry, Journal, file_sha256
from edgetx.hil.report import Outcome, build_report, table, write_report
from edgetx.hil.session import LinkStats, RunFn, Session
from edgetx.link import DeviceInfo, Link, RunResult
from edgetx.link.labgrid_place import serial_url
from edgetx.quant import quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import load_model

JOIN_POLL_S = 0.2  # how often the main thread wakes to notice Ctrl-C while devices work


@contextlib.contextmanager
def _console(board: Board, elf: Path, port: str | None) -> Iterator[str]:
    if port is not None:
        yield port
        return
    with QemuRunner.from_board(board) as runner:
        yield runner.start(elf)


class _Progress:
    def __init__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._lock = threading.Lock()

    def step(self) -> None:
        with self._lock:
            self.done += 1
            if sys.stderr.isatty() or self.done == self.total:
                bar = "#" * (30 * self.done // self.total)
                end = "\n" if self.done == self.total else ""
                print(f"\r[{bar:<30}] {self.done}/{self.total}", end=end, file=sys.stderr)


def _checker(board: Board, info: BuildResult, fwdir: Path) -> Callable[[DeviceInfo], None]:
    def check(dev: DeviceInfo) -> None:
        if (dev.input_bytes, dev.output_bytes) != (info.input_bytes, info.output_bytes):
            raise DeviceError(
                f"device runs a model with {dev.input_bytes}/{dev.output_bytes} input/output "
                f"bytes, {fwdir} has {info.input_bytes}/{info.output_bytes}; flash this firmware"
            )
        if dev.tick_hz != board.timer.clock_hz:
            raise DeviceError(
                f"device timer runs at {dev.tick_hz} Hz, board {board.id} says "
                f"{board.timer.clock_hz} Hz; is this board's firmware on it?"
            )

    return check


def shards(indices: Sequence[int], n: int) -> list[list[int]]:
    """Split indices into n contiguous runs of nearly equal length (some may be empty)."""
    bounds = np.linspace(0, len(indices), n + 1).round().astype(int)
    return [list(indices[a:b]) for a, b in itertools.pairwise(bounds)]


def run_hil(
    fwdir: Path,
    board_id: str,
    dataset: Path,
    report_dir: Path,
    *,
    ports: Sequence[str] = (),
    jobs: int | None = None,
    limit: int | None = None,
    resume: bool = False,
    raw: bool = False,
) -> dict:
    """With raw, the device gets the dataset's raw audio or text and runs its own front end;
    the host reference gets the same front end's output computed in Python."""
    board = load_board(board_id)
    fwdir, report_dir = Path(fwdir), Path(report_dir)
    info = read_build_info(fwdir, board.id)
    targets = _targets(board, list(ports), jobs)
    model = load_model(fwdir / MODEL_FILE)
    if raw:
        payloads, labels, xq = hil_raw_inputs(fwdir, model, Path(dataset), limit)
    else:
        data = load_dataset(dataset, model.input.shape[1:], limit)
        labels = data.y
        xq = np.stack([quantize_for(x, model.input).ravel() for x in data.x])
        payloads = [x.tobytes() for x in xq]
    host = Reference(model.raw).run_many(xq)
    elf = fwdir / "firmware.elf"
    header = {
        "firmware_sha256": file_sha256(elf),
        "dataset_sha256": file_sha256(Path(dataset)),
        "samples": len(xq),
    }
    with Journal.open(report_dir, header, resume=resume) as journal:
        todo = [i for i in range(len(xq)) if i not in journal.done]
        run = Link.run_raw if raw else Link.run
        outcome = _measure(board, info, fwdir, targets, journal, payloads, todo, run)

    emulated = board.emulated and not ports
    report, latency = build_report(
        board=board, info=info, fwdir=fwdir, dataset=Path(dataset), labels=labels, host=host,
        done=journal.done, outcome=outcome, emulated=emulated,
    )  # fmt: skip
    write_report(report_dir, report, latency)
    print(table(report))
    if outcome.interrupted:
        raise KeyboardInterrupt
    if outcome.error is not None:
        raise outcome.error
    return report


def _targets(board: Board, ports: list[str], jobs: int | None) -> list[str | None]:
    """Where each job runs: a serial URL (a labgrid place resolved to its own, here in the main
    thread), or None for an emulator the job starts."""
    if jobs is not None and jobs < 1:
        raise UserError("--jobs must be 1 or more")
    if ports:
        if jobs is not None and jobs != len(ports):
            raise UserError(f"--jobs {jobs} but {len(ports)} --port given; give one port per job")
        return [serial_url(p) for p in ports]
    if not board.emulated:
        raise UserError(f"board {board.id} is not emulated; give the serial port with --port")
    return [None] * (jobs or 1)


def _measure(
    board: Board,
    info: BuildResult,
    fwdir: Path,
    targets: list[str | None],
    journal: Journal,
    payloads: Sequence[bytes],
    todo: list[int],
    run: RunFn,
) -> Outcome:
    """Send payloads[i] for each i in todo with `run` (one request type per mode) on the
    targets, one thread each; every result goes to the journal as it arrives."""
    stop = threading.Event()
    progress = _Progress(len(journal.done), len(payloads))
    check = _checker(board, info, fwdir)
    stats = [LinkStats() for _ in targets]
    errors: list[BaseException] = []

    def record(index: int, result: RunResult) -> None:
        journal.append(Entry(index, result.output, result.ticks))
        progress.step()

    def work(job: int, port: str | None, shard: list[int], finished: threading.Event) -> None:
        try:
            if not shard:
                return
            with _console(board, fwdir / "firmware.elf", port) as url, Link.open(url) as link:
                session = Session(link, check, run)
                stats[job] = session.stats
                session.measure([(i, payloads[i]) for i in shard], record, stop)
        except BaseException as e:  # reported by the main thread; stop the others
            errors.append(e)
            stop.set()
        finally:
            finished.set()

    # The main thread waits on events, not Thread.join: a join interrupted by Ctrl-C can leave
    # the thread looking finished while it still runs (a CPython quirk).
    finished = [threading.Event() for _ in targets]
    for job, (port, shard) in enumerate(zip(targets, shards(todo, len(targets)), strict=True)):
        args = (job, port, shard, finished[job])
        threading.Thread(target=work, args=args, name=f"hil-{job}", daemon=True).start()
    interrupted = False
    try:
        for event in finished:
            while not event.wait(JOIN_POLL_S):
                pass
    except KeyboardInterrupt:
        interrupted = True
        stop.set()  # each device finishes its sample in flight, which is journaled
        for event in finished:
            event.wait()
    error = None if interrupted or not errors else errors[0]
    return Outcome(
        jobs=len(targets),
        resets=sum(s.resets for s in stats),
        resyncs=sum(s.resyncs for s in stats),
        interrupted=interrupted,
        error=error,
    )
