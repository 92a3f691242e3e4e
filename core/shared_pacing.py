"""A bot's send limits kept for the whole deployment, on a store that replicas share.

Each replica's `SendLimiter` would let its own 30 calls a second through, so three replicas
could send 90 under one Telegram token. On a store implementing `SendWindows` the window is
the store's instead: every call is one reservation there (a round trip), atomically checked
against the calls of every replica, with the same rules as `SendLimiter` (any one-second
window, a call holding its place from its start until a window after it ends, a chat's
interval, a 429 pausing the whole bot).

Times are the replicas' own clocks (the injected `Clock`), passed with every reservation, so
that the window is measured in the time the senders see; replicas' clocks are kept in step by
the machines (NTP), and an offset between two of them shifts their calls by as much.

A call in flight holds a slot under a token until it ends; if its replica dies first, the slot
is held only until `IN_FLIGHT_LEASE` from its start (longer than any platform call may take).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from core.pacing import Pacing, SendLimiter, SendLimits
from core.ports import Clock

log = logging.getLogger("frontdesk.pacing")

IN_FLIGHT_LEASE = timedelta(seconds=60)
# When the store cannot be asked, a message waits this long and asks again (never sent
# unchecked: the other replicas may be using the whole window).
UNANSWERED_WAIT = 1.0


@runtime_checkable
class SendWindows(Protocol):
    """A store shared by replicas keeps each bot's send window for all of them."""

    async def reserve_send(
        self,
        bot: str,
        chat: str | None,
        limits: SendLimits,
        now: datetime,
        holder: str | None,
        lease: timedelta,
    ) -> float:
        """Seconds to wait before a call of `bot` to `chat` may go (as `Pacing.start`); 0.0
        when it may, and then it is counted at `now`, atomically with every replica's calls.
        With a `holder` the call holds its place until `release_send` of that holder, or
        until `now + lease` if that never comes; without one it has ended at `now`."""
        ...

    async def release_send(
        self, bot: str, chat: str | None, limits: SendLimits, now: datetime, holder: str
    ) -> None:
        """The call reserved under `holder` ended at `now` (see `Pacing.finish`)."""
        ...

    async def pause_sends(self, bot: str, until: datetime) -> None:
        """No call of `bot` may go before `until`, whichever replica asks (a later pause
        under way is kept)."""
        ...


class SharedPacing:
    """The Pacing port over a store's `SendWindows`: one reservation per call."""

    def __init__(self, windows: SendWindows, clock: Clock, bot: str, limits: SendLimits) -> None:
        self._windows = windows
        self._clock = clock
        self._bot = bot
        self._limits = limits
        # The holders of this process's calls in flight: any one of them is released when a
        # call ends (the slots of one bot are alike), so `finish` need not say which.
        self._held: deque[str] = deque()

    async def acquire(self, chat: str | None) -> float:
        return await self._reserve(chat, None)

    async def start(self, chat: str | None) -> float:
        holder = uuid.uuid4().hex
        wait = await self._reserve(chat, holder)
        if wait == 0.0:
            self._held.append(holder)
        return wait

    async def finish(self, chat: str | None) -> None:
        if not self._held:
            return
        holder = self._held.popleft()
        try:
            await self._windows.release_send(
                self._bot, chat, self._limits, self._clock.now(), holder
            )
        except Exception as exc:  # the slot stays held until its lease runs out
            log.warning("send window of %s: a call's end was not recorded: %r", self._bot, exc)

    async def pause(self, seconds: float) -> None:
        until = self._clock.now() + timedelta(seconds=seconds)
        try:
            await self._windows.pause_sends(self._bot, until)
        except Exception as exc:  # the platform's own retry-after still holds the message
            log.warning("send window of %s: the pause was not recorded: %r", self._bot, exc)

    async def _reserve(self, chat: str | None, holder: str | None) -> float:
        try:
            return await self._windows.reserve_send(
                self._bot, chat, self._limits, self._clock.now(), holder, IN_FLIGHT_LEASE
            )
        except Exception as exc:
            log.warning("send window of %s could not be asked: %r", self._bot, exc)
            return UNANSWERED_WAIT


def deployment_pacing(store: object, clock: Clock, bot: str, limits: SendLimits) -> Pacing:
    """The store's window when it keeps one for every replica, else this process's."""
    if isinstance(store, SendWindows):
        return SharedPacing(store, clock, bot, limits)
    return SendLimiter(clock, limits.per_chat_interval_seconds, limits.per_bot_per_second)
