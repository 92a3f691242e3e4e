"""A stand-in for the Inbox port, for testing a channel's endpoint on its own."""

from __future__ import annotations

from core.errors import StoreUnavailable
from core.models import Inbound


class FakeInbox:
    """Records accepted events; a repeated event id is a duplicate, as in the real inbox."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []
        self.unavailable = False
        self.cursors: dict[str, str] = {}

    async def accept(self, event: Inbound) -> bool:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")
        if any(seen.event_id == event.event_id for seen in self.events):
            return False
        self.events.append(event)
        return True

    async def room(self) -> None:
        pass

    async def load_cursor(self, name: str) -> str | None:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")
        return self.cursors.get(name)

    async def save_cursor(self, name: str, value: str) -> None:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")
        self.cursors[name] = value
