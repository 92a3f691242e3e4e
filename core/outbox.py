"""The outbox worker: delivers committed outbound messages through their channel.

Delivery is at least once on the wire: a message is marked sent only after its channel said
so, and every attempt carries the same message id so the receiver can drop a repeat. A
conversation's messages go out in order; a failing one holds back only its own conversation.
Failures are retried with exponential backoff and jitter, or after exactly the time a 429's
Retry-After asked for, until `max_attempts`. A DEFER (the channel's own rate limit) is not
an attempt: the message is due again after exactly the wait the channel named.

A message someone wrote (an agent's reply) that fails for good is reported to
`on_undelivered` before it is marked failed, so that a crash in between reports it again
rather than never (the report must be idempotent: the engine's is, by message id).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from core.config_sections import OutboxSettings
from core.deliveries import Delivery, DeliveryOutcome
from core.models import Outbound, OutboxItem
from core.ports import Channel, Clock, Store
from core.reporting import DeliveryResult, Reporter
from core.tasks import TaskSet
from core.waiting import wake_or_deadline

log = logging.getLogger("frontdesk.outbox")

IDLE_POLL = timedelta(seconds=30)  # a safety net; commits wake the worker directly


class OutboxWorker:
    def __init__(
        self,
        *,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Clock,
        settings: OutboxSettings,
        jitter: Callable[[], float] = random.random,
        reporter: Reporter | None = None,
        on_undelivered: Callable[[Outbound, str], Awaitable[None]] | None = None,
    ) -> None:
        self._on_undelivered = on_undelivered
        self._reporter = reporter if reporter is not None else Reporter()
        self._store = store
        self._channels = channels
        self._clock = clock
        self._settings = settings
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._active = TaskSet()  # the deliveries under way
        self._stopping = False
        self._running: asyncio.Event | None = None  # set while run() goes, fired as it ends
        self._grace = 10.0

    def wake(self) -> None:
        self._wake.set()

    @property
    def delivering(self) -> int:
        """How many deliveries are under way (tests: that the worker has settled)."""
        return len(self._active)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: exponential, capped, with jitter (50-100%)."""
        s = self._settings
        ceiling = min(s.max_delay_seconds, s.base_delay_seconds * 2 ** (attempts - 1))
        return float(ceiling * (0.5 + 0.5 * self._jitter()))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, and give the deliveries under way `grace` seconds to finish, so that
        a clean shutdown does not leave sent messages looking unsent (sent again after the
        restart, or set uncertain on an `after_crash: skip` channel)."""
        self._stopping = True
        self._grace = grace
        self._wake.set()
        if self._running is not None:
            await self._running.wait()  # run() drains its deliveries as it ends
        else:
            await self._active.close(grace)

    async def run(self) -> None:
        self._stopping = False
        self._running = asyncio.Event()
        try:
            while not self._stopping:
                self._wake.clear()
                free = self._settings.concurrency - len(self._active)
                # The time the claim looked at: what was due by then and not claimed is in
                # flight; what came due after, while the claim and the look below took their
                # time, is claimed on the next pass, not left to the idle poll.
                claimed_at = self._clock.now()
                if free > 0:
                    items = await self._store.claim_due_outbound(
                        claimed_at, free, self._settings.lease_seconds
                    )
                    for item in items:
                        task = self._active.spawn(self._deliver(item))
                        task.add_done_callback(self._finished)
                    if len(items) == free:
                        continue  # there may be more due right now
                    if items:
                        # Everything due now is claimed; what comes next is woken for (a
                        # commit, a finished delivery) or was counted by the next-due query.
                        await wake_or_deadline(self._wake, self._clock, None)
                        continue
                due = await self._store.next_outbound_due()
                now = self._clock.now()
                deadline = now + IDLE_POLL if due is None else max(due, now)
                if free <= 0 or (due is not None and due <= claimed_at):
                    deadline = now + IDLE_POLL  # busy, or only leased work: wait to be woken
                await wake_or_deadline(self._wake, self._clock, deadline)
            # Claims made while stop() was called are delivered too: left leased, they would
            # count as in flight at the restart.
            await self._active.close(self._grace)
        except asyncio.CancelledError:
            await self._active.cancel()
            raise
        finally:
            self._running.set()
            self._running = None

    async def flush(self) -> int:
        """Deliver everything due now, one message at a time, without the background loop
        (`frontdesk chat`); returns how many attempts were made."""
        attempts = 0
        while True:
            items = await self._store.claim_due_outbound(
                self._clock.now(), 100, self._settings.lease_seconds
            )
            if not items:
                return attempts
            for item in items:
                await self._deliver(item)
                attempts += 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._wake.set()  # a slot is free (the set dropped the task already)

    async def _deliver(self, item: OutboxItem) -> None:
        message = item.message
        channel = self._channels.get(message.channel)
        now = self._clock.now()
        if channel is None:
            error = f"no channel {message.channel!r} is configured"
            self._reporter.delivery(
                message, DeliveryResult.FAILED, attempts=item.attempts + 1, error=error
            )
            if await self._reported(message, error):
                await self._store.mark_failed(item.id, now, error)
            return
        try:
            result = await channel.send(message)
        except Exception as exc:  # a channel bug must not stop the worker
            log.exception(
                "channel %s raised",
                message.channel,
                extra={"conversation_id": message.conversation_id, "channel": message.channel},
            )
            result = Delivery.retry(f"channel raised {exc!r}")
        now = self._clock.now()
        if result.outcome == DeliveryOutcome.DEFER:
            # Delivery guarantees that a DEFER's retry_after is set.
            wait = result.retry_after or 0.0
            self._reporter.delivery(message, DeliveryResult.DEFERRED, wait=wait)
            await self._store.mark_deferred(item.id, now + timedelta(seconds=wait))
            return
        attempts = item.attempts + 1
        if result.outcome == DeliveryOutcome.SENT:
            await self._store.mark_sent(item.id, now)
            self._reporter.delivery(
                message, DeliveryResult.SENT, attempts=attempts, created_at=item.created_at, now=now
            )
            return
        error = result.error or result.outcome.value
        if result.outcome == DeliveryOutcome.FAILED or attempts >= self._settings.max_attempts:
            given_up = result.outcome != DeliveryOutcome.FAILED
            self._reporter.delivery(
                message,
                DeliveryResult.GIVEN_UP if given_up else DeliveryResult.FAILED,
                attempts=attempts,
                error=error,
            )
            if not await self._reported(message, error):
                return
            await self._store.mark_failed(item.id, now, error)
            if result.recipient_gone:
                await self._store.mark_unreachable(message.channel, message.recipient, now)
            return
        delay = result.retry_after if result.retry_after is not None else self.backoff(attempts)
        self._reporter.delivery(
            message, DeliveryResult.RETRY, attempts=attempts, error=error, wait=delay
        )
        await self._store.mark_retry(item.id, now + timedelta(seconds=delay), error)

    async def _reported(self, message: Outbound, error: str) -> bool:
        """Whether whoever must hear of `message`'s failure (its author) has been told, or
        nobody must; False leaves the message leased, so that it is tried (and, failing,
        reported) again once its lease runs out."""
        if message.author is None or message.notice is not None or self._on_undelivered is None:
            return True
        try:
            await self._on_undelivered(message, error)
        except Exception:
            log.exception(
                "could not report an undelivered message",
                extra={"conversation_id": message.conversation_id, "channel": message.channel},
            )
            return False
        return True
