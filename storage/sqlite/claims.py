"""What the SQLite store knows of the delivery loop's claims, so that most claims cost no
call to the writer's thread.

Two things save the calls:
- When the next row is due. A short claim also reads when a row is next due (`outbox`):
  while the writer changes no row but quiet ones, nothing else becomes due before then, so a
  claim before that time is answered at once (`next_due`).
- Claiming ahead. A turn's commit claims the replies it has just queued, in the same call to
  the thread (`Writer.rider`, `outbox.claim_queued`), for as many free delivery slots as the
  loop had at its last claim; the loop's next claim is handed them without a call. Only on
  channels that send again after a crash (`after_crash: resend`): a row claimed ahead but not
  handed out yet looks in flight to the next process, which sends it then; on a `skip`
  channel it would be set uncertain, never sent. Nothing is claimed ahead before the store
  knows those channels (`take_back`) and the loop's slots (its first claim).

One process owns the file (see `Store`), so this memory is the whole truth of its leases.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from datetime import datetime
from functools import partial

from core.models import OutboxItem
from storage.sqlite import outbox
from storage.sqlite.codec import from_micros
from storage.sqlite.writer import Batch, Ride, Writer


class Claims:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        # From the last short claim: when a row is next due (None: none pending) and the
        # writer's changes it was read at (`Writer.changes`).
        self._next_due: tuple[datetime | None, int] | None = None
        # Claimed rows not marked yet, and when their leases end: left out of `_next_due`,
        # and counted here instead until each is marked.
        self._leases: dict[int, datetime] = {}
        self._ahead: deque[OutboxItem] = deque()  # claimed ahead, not handed to the loop yet
        self._slots: int | None = None  # the loop's deliveries at once, as of its last claim
        self._lease_seconds = 0.0
        self._skip: frozenset[str] | None = None  # `after_crash: skip` channels
        writer.rider = self._ride

    def taken_back(self, uncertain_channels: Collection[str]) -> None:
        """Every lease was cleared (`take_back`); `uncertain_channels` are never claimed
        ahead."""
        self.forget()
        self._skip = frozenset(uncertain_channels)

    async def claim(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxItem]:
        """See `SqliteStore.claim_due_outbound`."""
        if limit <= 0:
            return []
        # The loop asks for its free slots; those in flight hold leases handed out already.
        self._slots = limit + len(self._leases) - len(self._ahead)
        self._lease_seconds = lease_seconds
        handed = self._hand_out(now, limit)
        if len(handed) == limit or self._known_next_due(now):
            return handed
        writer = self._writer
        claimed = await writer.unit(
            partial(
                outbox.claim_due,
                now,
                limit - len(handed),
                lease_seconds,
                writer.quiet,
                tuple(self._leases),
            )
        )
        self._took(claimed)
        return [*handed, *claimed.items]

    def marked(self, item_id: int) -> None:
        """The row's delivery is recorded (sent, retry, deferred, failed): its lease is over."""
        self._leases.pop(item_id, None)

    def next_due(self) -> tuple[bool, datetime | None]:
        """(known, when): whether the last short claim still tells when a row is next due,
        and then when."""
        if not self._stands():
            return False, None
        return True, self._cached_next_due()

    def forget(self) -> None:
        """Every lease is cleared, or the connection is closing (the next one counts its
        changes from 0): nothing known stands."""
        self._next_due = None
        self._leases.clear()
        self._ahead.clear()

    def _hand_out(self, now: datetime, limit: int) -> list[OutboxItem]:
        handed: list[OutboxItem] = []
        while self._ahead and len(handed) < limit:
            item = self._ahead.popleft()
            lease = self._leases.get(item.id)
            if lease is None or lease <= now:
                # Its lease ran out before the loop came for it: due again, for a claim of
                # the thread's to take; what `_next_due` says no longer counts it.
                self._leases.pop(item.id, None)
                self._next_due = None
                continue
            handed.append(item)
        return handed

    def _ride(self, batch: Batch) -> Ride | None:
        if self._skip is None or self._slots is None or not batch.enqueued:
            return None
        free = self._slots - len(self._leases)
        queued = [(mid, due) for mid, channel, due in batch.enqueued if channel not in self._skip]
        if free <= 0 or not queued:
            return None
        writer = self._writer
        work = partial(
            outbox.claim_queued,
            [mid for mid, _ in queued],
            from_micros(max(due for _, due in queued)),
            free,
            self._lease_seconds,
            writer.quiet,
            tuple(self._leases),
        )
        return Ride(work, self._took_ahead)

    def _took_ahead(self, claimed: object) -> None:
        assert isinstance(claimed, outbox.Claimed)
        self._ahead.extend(claimed.items)
        self._took(claimed)

    def _took(self, claimed: outbox.Claimed) -> None:
        self._next_due = claimed.next_due
        self._leases.update(claimed.leases)

    def _known_next_due(self, now: datetime) -> bool:
        """Whether the last short claim still tells when a row is next due, later than `now`."""
        if not self._stands():
            return False
        due = self._cached_next_due()
        return due is None or now < due

    def _stands(self) -> bool:
        """Whether the writer has changed no row but quiet ones since the last short claim."""
        return self._next_due is not None and self._next_due[1] == self._writer.changes

    def _cached_next_due(self) -> datetime | None:
        assert self._next_due is not None
        times = [t for t in (self._next_due[0], *self._leases.values()) if t is not None]
        return min(times, default=None)
