"""How fast one bot may send: a platform's limits, kept on our side so that we rarely see a 429.

Chat platforms ask for about one message per second to one chat (a group, a channel, a
direct message), and a bot-wide cap; a 429 holds for the whole bot, not just one chat. Each
channel configures the numbers; this only does the arithmetic.

The limiter only answers "how long until this may go"; it never sleeps. The sender turns a
wait into a DEFER, so the message waits in the outbox rather than in a handler.

A call is not at the platform the moment we decide to make it: a busy event loop, a slow
connection or a long request puts it there later, anywhere up to when its answer comes back.
So a call made with `start` holds its place in the bot's window from the decision until one
window after `finish`: then however late the platform counted each call, no window of the
platform's own clock sees more than the cap (if 31 calls reached it within one second, the
last of them was started while the 30 others were in flight or had finished less than a
second before, and was told to wait). `acquire` is the simpler form, for a sender that counts
a call at the moment it decides.

A sender holds a `Pacing`: `SendLimiter` keeps the window in this process, which is all of
frontdesk on SQLite; on a store that replicas share, the window is the deployment's
(`core.shared_pacing`), so that three replicas together still send 30 a second, not 90.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from core.ports import Clock

WINDOW = timedelta(seconds=1)


@dataclass(frozen=True)
class SendLimits:
    """A bot's limits as its channel configures them."""

    per_chat_interval_seconds: float  # 0: no spacing
    per_bot_per_second: int


class Pacing(Protocol):
    """How long until a bot's next call may go; what a channel's sender holds."""

    async def acquire(self, chat: str | None) -> float:
        """Seconds to wait before a message may go to `chat` (None: a call to no chat, such
        as answering a button, counted for the bot only); 0.0 means go now, and the call is
        counted as made this instant (a caller that is told to wait has used nothing)."""
        ...

    async def start(self, chat: str | None) -> float:
        """As `acquire`, but a call told to go holds its place until `finish` is called for
        it (call it however the call ended: a failed call may still have been counted)."""
        ...

    async def finish(self, chat: str | None) -> None:
        """A call `start` let go has ended: it leaves the window one window from now, and the
        chat's interval runs from now."""
        ...

    async def pause(self, seconds: float) -> None:
        """The platform said 429: nothing goes to any chat for `seconds`."""
        ...


@runtime_checkable
class Pacers(Protocol):
    """Who gives a channel its bot's pacing (the Runtime, beside the Inbox port): the
    deployment's on a store replicas share, else this process's."""

    def pacing(self, bot: str, limits: SendLimits) -> Pacing: ...


def pacing_for(inbox: object, clock: Clock, bot: str, limits: SendLimits) -> Pacing:
    """The pacing of the channel `bot` whose events go to `inbox`: the one `inbox` gives when
    it gives one, else kept in this process."""
    if isinstance(inbox, Pacers):
        return inbox.pacing(bot, limits)
    return SendLimiter(clock, limits.per_chat_interval_seconds, limits.per_bot_per_second)


class SendLimiter:
    """Per chat, one message per `per_chat_interval_seconds` (0: no spacing); per bot, at
    most `per_bot_per_second` calls in any one-second window; none while paused."""

    def __init__(
        self, clock: Clock, per_chat_interval_seconds: float, per_bot_per_second: int
    ) -> None:
        self._clock = clock
        self._interval = timedelta(seconds=per_chat_interval_seconds)
        self._per_second = per_bot_per_second
        # When each chat last got a message, oldest first (a chat is moved to the end when
        # it gets another), so that chats whose interval has passed are dropped from the
        # front on every use and the dict holds only the chats sent to within the interval.
        self._last_sent: dict[str, datetime] = {}
        self._sent: deque[datetime] = deque()  # when the bot's calls ended, last second only
        self._in_flight = 0  # calls started and not finished: each holds a place
        self._paused_until: datetime | None = None

    # The Pacing port; nothing here waits on anything, so the hot path costs a method call.

    async def acquire(self, chat: str | None) -> float:
        wait = await self.start(chat)
        if wait == 0.0:
            await self.finish(chat)
        return wait

    async def start(self, chat: str | None) -> float:
        now = self._clock.now()
        self._forget(now)
        waits = [timedelta(0)]
        if self._paused_until is not None:
            waits.append(self._paused_until - now)
        last = self._last_sent.get(chat) if chat is not None else None
        if last is not None:
            waits.append(last + self._interval - now)
        over = self._in_flight + len(self._sent) - self._per_second + 1
        if over > 0:
            # The `over` oldest ended calls must leave the window; calls in flight leave it
            # a window after they end, so with the window full of them wait a window.
            waits.append(self._sent[over - 1] + WINDOW - now if over <= len(self._sent) else WINDOW)
        wait = max(waits)
        if wait > timedelta(0):
            return wait.total_seconds()
        self._in_flight += 1
        self._mark_chat(chat, now)
        return 0.0

    async def finish(self, chat: str | None) -> None:
        now = self._clock.now()
        self._in_flight = max(0, self._in_flight - 1)
        self._sent.append(now)
        self._mark_chat(chat, now)

    async def pause(self, seconds: float) -> None:
        until = self._clock.now() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    @property
    def chats(self) -> int:
        """How many chats are remembered (tests: that the memory stays bounded)."""
        return len(self._last_sent)

    def _mark_chat(self, chat: str | None, at: datetime) -> None:
        if chat is not None and self._interval > timedelta(0):
            self._last_sent.pop(chat, None)
            self._last_sent[chat] = at

    def _forget(self, now: datetime) -> None:
        while self._sent and self._sent[0] + WINDOW <= now:
            self._sent.popleft()
        while self._last_sent:
            chat, last = next(iter(self._last_sent.items()))
            if last + self._interval > now:
                break
            del self._last_sent[chat]
        if self._paused_until is not None and self._paused_until <= now:
            self._paused_until = None
