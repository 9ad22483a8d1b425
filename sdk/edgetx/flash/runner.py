"""Runner base: one small class per way of getting firmware onto a target (Zephyr west style).

Boards choose runners and pass their per-board arguments through `from_board`; runners know
nothing else about boards. What a runner can do is declared data in `caps`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from edgetx.boards import Board


@dataclass(frozen=True)
class RunnerCaps:
    flash: bool  # writes the image to the target's persistent storage
    console: bool  # start() returns a console URL for edgetx.link


class Runner(ABC):
    """Powers a target with an image and hands out its console; a context manager that stops."""

    name: ClassVar[str]
    caps: ClassVar[RunnerCaps]

    @classmethod
    @abstractmethod
    def from_board(cls, board: Board) -> Self: ...

    @abstractmethod
    def start(self, elf: Path) -> str:
        """Run elf on the target; return the console URL (a pyserial URL)."""

    @abstractmethod
    def stop(self) -> None:
        """Power the target off. Safe to call when it is not running."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
