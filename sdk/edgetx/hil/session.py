"""One device working through its share of the samples, healing the link as it goes.

The link layer resends a request whose reply is late or damaged. When that is not enough (a
device reset, a long burst of line noise), the session re-syncs and repeats the sample in
flight, a bounded number of times per sample, so every sample yields exactly one result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgetx.errors import DeviceError
from edgetx.link import DeviceInfo, DeviceReset, FrameError, Link, LinkTimeout, RunResult

# Re-syncs allowed for one sample before the board is declared dead.
RECOVERIES_PER_SAMPLE = 5

# What one sample asks of the device: a request type per mode (RUN today), given its payload.
RunFn = Callable[[Link, bytes], RunResult]


@dataclass
class LinkStats:
    resets: int = 0  # BOOT frames seen mid-run: the device restarted
    resyncs: int = 0  # samples repeated after a re-sync (resets included)


class Session:
    """Measures samples on one device; `check` refuses a device running other firmware."""

    def __init__(self, link: Link, check: Callable[[DeviceInfo], None], run: RunFn) -> None:
        self.link = link
        self.check = check
        self.run_fn = run
        self.stats = LinkStats()
        self.info: DeviceInfo | None = None
        self._synced = False

    def measure(
        self,
        samples: Sequence[tuple[int, bytes]],
        on_result: Callable[[int, RunResult], None],
        stop: threading.Event,
    ) -> None:
        """Run each (index, payload) and report it; returns early once stop is set."""
        if samples and not self._synced:
            # Unguarded: a board that never answers fails at once with sync's diagnosis. Once
            # it has answered, failures (INFO included) are line trouble, healed below.
            self.link.sync()
        for index, payload in samples:
            if stop.is_set():
                return
            on_result(index, self._run_one(index, payload))

    def _run_one(self, index: int, payload: bytes) -> RunResult:
        failures = 0
        while True:
            try:
                if not self._synced:
                    self._sync()
                return self.run_fn(self.link, payload)
            except (DeviceReset, LinkTimeout, FrameError) as e:
                if isinstance(e, DeviceReset):
                    self.stats.resets += 1
                failures += 1
                if failures > RECOVERIES_PER_SAMPLE:
                    raise DeviceError(
                        f"sample {index}: the link did not recover after "
                        f"{RECOVERIES_PER_SAMPLE} re-syncs ({e}); check the cable and the board"
                    ) from None
                self.stats.resyncs += 1
                self._synced = False

    def _sync(self) -> None:
        self.link.sync()
        if self.info is None:  # once: a reset restarts the same firmware
            info = self.link.info()
            self.check(info)
            self.info = info
        self._synced = True
