"""Where log lines go and what they look like: text or JSON, one line per record, fields
given as `extra=` rendered as fields, and no secret value at any level.

Every record passes the handler's filters, whichever library wrote it: the redaction filter
replaces each configured secret value with `***` in the message, the fields and the
traceback, so a library that prints a request's headers cannot leak a token either.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
MASK = "***"

# Libraries that print SQL parameters, request headers or whole payloads at DEBUG (aiosqlite
# logs every statement with its arguments; httpx logs Bot API URLs, which hold the token), or
# a line per routine event at INFO (aiogram's "update is handled"). Warnings still show. A
# channel's package adds its own SDK's with `quiet`.
QUIET = [
    "aiosqlite",
    "asyncio",
    "aiohttp.client",
    "aiohttp.access",
    "aiogram",
    "httpx",
    "httpcore",
    "telegram",
]
# Libraries whose multi-line messages (a suggestion of code to copy) are cut to the first line.
ONE_LINE: list[str] = []

# What every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields, in the order they were given."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


class Redactor(logging.Filter):
    """Replaces every secret value it was told about with `***`."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def hide(self, values: Iterable[str]) -> None:
        known = set(self._secrets) | {v for v in values if v}
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        for name, value in fields(record).items():
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class FirstLine(logging.Filter):
    """Keeps only the first line of the messages of chatty libraries."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(tuple(ONE_LINE)):
            message = record.getMessage()
            if "\n" in message:
                record.msg = message.split("\n", 1)[0].rstrip(" :")
                record.args = None
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the fields, and an exception
    (traceback included) as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields(record),
        }
        exception = _exception(self, record)
        if exception is not None:
            entry["exception"] = exception
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`; a traceback follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname, f"{record.name}:", record.getMessage()]
        parts.extend(f"{k}={_value(v)}" for k, v in fields(record).items())
        line = " ".join(parts)
        exception = _exception(self, record)
        if exception is not None:
            line = f"{line}\n{exception}"
        if record.stack_info:
            line = f"{line}\n{record.stack_info}"
        return line


def _value(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (a test runner may swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_redactor = Redactor()
_handler: logging.Handler | None = None


def hide(values: Iterable[str]) -> None:
    """Mask these values in every line from now on (the config's secrets, once loaded)."""
    _redactor.hide(values)


def quiet(*names: str, first_line: bool = False) -> None:
    """Keep the loggers `names` (a channel's SDK) at WARNING or above, as those of `QUIET`;
    with `first_line`, cut their multi-line messages to the first line. Applies at once when
    logging is set up already (a channel's package is imported when the config names it)."""
    for name in names:
        if name not in QUIET:
            QUIET.append(name)
        if first_line and name not in ONE_LINE:
            ONE_LINE.append(name)
        if _handler is not None:
            logging.getLogger(name).setLevel(max(_handler.level, logging.WARNING))


def setup(
    level: str = "INFO", log_format: LogFormat = "text", stream: TextIO | None = None
) -> None:
    """Send every log record at `level` or above to `stream` (stderr), in `log_format`.
    Called again, it replaces the handler it installed before."""
    global _handler
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    handler: logging.StreamHandler[Any] = logging.StreamHandler(
        stream if stream is not None else _Stderr()
    )
    handler.setLevel(number)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(FirstLine())
    handler.addFilter(_redactor)  # last: it sees the final message
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(number)
    _handler = handler
    for name in QUIET:
        logging.getLogger(name).setLevel(max(number, logging.WARNING))
