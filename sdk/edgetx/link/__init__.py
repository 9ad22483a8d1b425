"""Serial link to a device running the edgetx agent (protocol: docs/protocol.md)."""

from edgetx.link.client import DeviceInfo, Link, RunResult
from edgetx.link.errors import (
    DeviceReportedError,
    DeviceReset,
    FrameError,
    LinkError,
    LinkTimeout,
)

__all__ = [
    "DeviceInfo",
    "DeviceReportedError",
    "DeviceReset",
    "FrameError",
    "Link",
    "LinkError",
    "LinkTimeout",
    "RunResult",
]
