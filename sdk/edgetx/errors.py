"""Typed errors. Every error a user can cause maps to one exit code in cli.main."""

USER_ERROR = 2
UNSUPPORTED_MODEL = 3
DEVICE_ERROR = 4


class EdgetxError(Exception):
    """An error with a message fit for the user: what is wrong and how to fix it."""

    exit_code = USER_ERROR


class UserError(EdgetxError):
    """Bad input from the user: a missing file, a wrong shape, an unknown board."""


class ToolMissing(UserError):
    """A required external program is not installed."""

    def __init__(self, program: str, install_hint: str) -> None:
        super().__init__(f"required program {program!r} not found; {install_hint}")
        self.program = program


class UnsupportedModel(EdgetxError):
    """The model uses something edgetx cannot convert or run."""

    exit_code = UNSUPPORTED_MODEL


class DeviceError(EdgetxError):
    """The device or the link to it failed."""

    exit_code = DEVICE_ERROR
