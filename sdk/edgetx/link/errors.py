"""Errors of the serial link to a device."""

from __future__ import annotations

from edgetx.errors import DeviceError


class LinkError(DeviceError):
    """The serial link failed: it closed, could not be opened, or gave up retrying."""


class LinkTimeout(LinkError):
    """No valid reply in time. `partial` holds the bytes received meanwhile, for diagnosis."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        if partial:
            message += f" (received {len(partial)} bytes: {partial[:32].hex(' ')}...)"
        super().__init__(message)
        self.partial = partial


class FrameError(LinkError):
    """Bytes that are not a valid frame, or a frame whose contents do not fit its type."""


class DeviceReportedError(LinkError):
    """The device answered a request with an ERROR frame."""

    def __init__(self, code: int, name: str) -> None:
        super().__init__(f"device rejected the request: {name} (error code {code})")
        self.code = code
        self.name = name


class DeviceReset(LinkError):
    """The device sent BOOT while a request was outstanding: it reset and lost that request."""

    def __init__(self, message: str, boot: bytes) -> None:
        super().__init__(message)
        self.boot = boot  # the BOOT frame's info record
