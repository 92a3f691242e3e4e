"""Retention: finished data older than the config's `retention` windows is deleted, by a
sweep that runs every `sweep_every` on the injected clock.

Core says what may go and when (the cutoffs); the store deletes it in its own small
transactions. A store never deletes what is still needed, whatever its age: an unprocessed
inbound event, a pending or leased outbox message, an open conversation or its transcript, a
timer, or a closed conversation that still has one of those.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

if TYPE_CHECKING:
    from core.ports import Clock, Store

log = logging.getLogger("frontdesk.retention")

_DURATION = re.compile(r"(\d+)\s*([dhms])")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def _duration(value: Any) -> Any:
    """`90d`, `12h`, `30m` or `45s` as a timedelta; `off` (or null) as None: keep forever."""
    if value is None or isinstance(value, timedelta):
        return value
    if value is False:  # YAML reads an unquoted `off` as false
        return None
    text = str(value).strip().lower()
    if text == "off":
        return None
    found = _DURATION.fullmatch(text)
    if found is None:
        raise ValueError(f"{value!r} is not a duration: write e.g. 90d, 12h, 30m, 45s or off")
    seconds = int(found[1]) * _UNIT_SECONDS[found[2]]
    if seconds == 0:
        raise ValueError("a duration must be more than zero (write off to keep forever)")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Keep = Annotated[timedelta | None, BeforeValidator(_duration)]


class RetentionSettings(BaseModel):
    """How long finished data is kept before the sweep deletes it; `off` keeps it forever.
    What is still needed (open conversations, pending messages, unprocessed events, timers)
    is never deleted, whatever its age."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Transcript entries of closed conversations.
    transcripts: Keep = timedelta(days=90)
    # Closed conversations, with everything of theirs, counted from when they closed.
    closed_conversations: Keep = timedelta(days=365)
    # Processed inbound events: a platform's redelivery within this window is still
    # recognised as one seen before.
    inbox_dedupe: Keep = timedelta(days=7)
    # Outbox messages that were sent (or given up on).
    delivered_outbox: Keep = timedelta(days=7)
    sweep_every: Duration = timedelta(hours=1)


@dataclass(frozen=True)
class Cutoffs:
    """What is older than each of these may be deleted; None: keep it forever."""

    transcripts: datetime | None = None
    closed_conversations: datetime | None = None
    inbox_dedupe: datetime | None = None
    delivered_outbox: datetime | None = None

    @classmethod
    def at(cls, settings: RetentionSettings, now: datetime) -> Cutoffs:
        def before(keep: timedelta | None) -> datetime | None:
            return None if keep is None else now - keep

        return cls(
            transcripts=before(settings.transcripts),
            closed_conversations=before(settings.closed_conversations),
            inbox_dedupe=before(settings.inbox_dedupe),
            delivered_outbox=before(settings.delivered_outbox),
        )


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind a purge deleted."""

    transcript_entries: int = 0
    conversations: int = 0
    inbound_events: int = 0
    outbox_messages: int = 0

    def __bool__(self) -> bool:
        return any(
            (self.transcript_entries, self.conversations, self.inbound_events, self.outbox_messages)
        )


class RetentionSweep:
    def __init__(self, store: Store, clock: Clock, settings: RetentionSettings) -> None:
        self._store = store
        self._clock = clock
        self.settings = settings

    async def once(self) -> Purged:
        purged = await self._store.purge(Cutoffs.at(self.settings, self._clock.now()))
        if purged:
            log.info(
                "retention: deleted %d transcript entries, %d conversations, %d inbound "
                "events, %d outbox messages",
                purged.transcript_entries,
                purged.conversations,
                purged.inbound_events,
                purged.outbox_messages,
            )
        return purged

    async def run(self) -> None:
        """Sweep now, then every `sweep_every` (a failed sweep is logged by the caller's
        supervisor and the loop started again)."""
        while True:
            await self.once()
            await self._clock.sleep_until(self._clock.now() + self.settings.sweep_every)
