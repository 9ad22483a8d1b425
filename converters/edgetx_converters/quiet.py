"""Send converter noise (TF/absl C++ logs, progress bars, warnings) to a log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Read by TensorFlow's C++ logging when it is first imported: 3 keeps only fatal errors.
_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}

log = logging.getLogger("edgetx_converters")


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Redirect stdout and stderr, at the file-descriptor level, to LOG_PATH (appending).

    C++ libraries write to fd 1 and 2 directly, so swapping sys.stdout alone is not enough.
    This package's own log records (logger "edgetx_converters") go to the same file.
    """
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        handler = logging.StreamHandler(file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False  # libraries may have configured the root logger to print
        # sys.stdout/sys.stderr stay the process's own streams (now writing to the log's fds):
        # libraries keep handlers on them, which must outlive this file.
        try:
            yield
        finally:
            log.removeHandler(handler)
            log.propagate = True
            sys.stdout.flush()
            sys.stderr.flush()
            file.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def first_line(e: BaseException) -> str:
    """The first line of an exception's message: errors to the user stay one line long."""
    text = str(e).strip()
    return text.splitlines()[0] if text else "no message"
