"""How fast one bot may send: a platform's limits, kept on our side so that we rarely see a 429.

Telegram and Slack both ask for about one message per second to one chat (a Slack
channel), and a bot-wide cap; a 429 holds for the whole bot, not just one chat. Each channel
configures the numbers; this only does the arithmetic.

The limiter only answers "how long until this may go"; it never sleeps. The sender turns a
wait into a DEFER, so the message waits in the outbox rather than in a handler.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from core.ports import Clock

WINDOW = timedelta(seconds=1)


class SendLimiter:
    """Per chat, one message per `per_chat_interval_seconds` (0: no spacing); per bot, at
    most `per_bot_per_second` messages in any one-second window; none while paused."""

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
        self._sent: deque[datetime] = deque()  # the bot's sends in the last second
        self._paused_until: datetime | None = None

    def acquire(self, chat: str) -> float:
        """Seconds to wait before a message may go to `chat`; 0.0 means go now, and the send
        is counted (a caller that is told to wait has used nothing)."""
        now = self._clock.now()
        self._forget(now)
        waits = [timedelta(0)]
        if self._paused_until is not None:
            waits.append(self._paused_until - now)
        last = self._last_sent.get(chat)
        if last is not None:
            waits.append(last + self._interval - now)
        if len(self._sent) >= self._per_second:
            waits.append(self._sent[-self._per_second] + WINDOW - now)
        wait = max(waits)
        if wait > timedelta(0):
            return wait.total_seconds()
        self._sent.append(now)
        if self._interval > timedelta(0):
            self._last_sent.pop(chat, None)
            self._last_sent[chat] = now
        return 0.0

    def pause(self, seconds: float) -> None:
        """The platform said 429: nothing goes to any chat for `seconds`."""
        until = self._clock.now() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    @property
    def chats(self) -> int:
        """How many chats are remembered (tests: that the memory stays bounded)."""
        return len(self._last_sent)

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
