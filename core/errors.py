"""The one small exception hierarchy of frontdesk.

Adapters turn these into HTTP statuses with a reason; the CLI into exit codes and messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("frontdesk.runtime")


class FrontdeskError(Exception):
    """Base of every error frontdesk raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where, which field, and why."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(FrontdeskError):
    """A config or workflow file is wrong; carries every problem found, each with its place."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Refused(FrontdeskError):
    """An inbound request frontdesk refuses: the platform gets `status` with this reason."""

    status = 400


class BadInbound(Refused):
    """An inbound request is malformed: 400."""


class Unauthorized(Refused):
    """An inbound request failed its signature or secret check: 401."""

    status = 401


class PayloadTooLarge(Refused):
    """An inbound body is over the channel's limit: 413."""

    status = 413


class Unstorable(Refused):
    """The store can never record this (text that is not valid Unicode, a number beyond its
    range): retrying cannot help, so an inbound request gets 400 and a turn counts a failure.
    """


class Backlogged(FrontdeskError):
    """The inbox holds `server.max_backlog` events not processed yet and takes no more for
    now: the channel answers 503 with Retry-After (the event is not stored), so that the
    platform sends it again once the backlog has drained."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"too many events waiting, retry in {retry_after_seconds} s")


class StoreUnavailable(FrontdeskError):
    """The store could not durably record something; the caller must not acknowledge it."""


class ConcurrentUpdate(FrontdeskError):
    """Another writer changed a conversation first, or processed the event a turn was for;
    the step is run again on fresh state."""


# What a store says when a write that must change one row changed none.
CHANGED = "a row moved on before it could be saved: a conversation, or an event processed already"


async def stored(failure: str, work: Awaitable[T]) -> T:
    """Store work a channel waits on: any failure reaches the channel as StoreUnavailable,
    so that it answers the platform with an error status and the event comes again; except
    a refusal (`Unstorable`), which would fail the same way every time."""
    try:
        return await work
    except (StoreUnavailable, Refused):
        raise
    except Exception as exc:
        log.exception("%s", failure)
        raise StoreUnavailable(failure) from exc
