"""A stream for a test's log lines, with the logging setup it replaces put back afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core import logs


@contextmanager
def captured() -> Iterator[io.StringIO]:
    """A stream to pass to `logs.setup`; the root handlers and levels (the quiet libraries'
    too) are as they were once the block ends."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET}
    stream = io.StringIO()
    try:
        yield stream
    finally:
        logs.setup("INFO", "text", io.StringIO())
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)
