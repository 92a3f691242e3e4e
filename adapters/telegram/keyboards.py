"""Which chats show the share-my-phone keyboard, kept in the store so that a restart forgets
none of them.

Telegram keeps a reply keyboard under the input field until a message takes it away
(https://core.telegram.org/bots/api#replykeyboardremove), so the chat's next message after a
phone question must carry `remove_keyboard`, even when a restart came in between. Each chat's
state is one named value through the inbox's cursors (`Inbox.save_cursor`), read from the
store the first time this process sends to the chat and remembered in memory after that.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from core.errors import StoreUnavailable
from core.ports import Inbox

log = logging.getLogger(__name__)

# The most chats whose state is remembered in memory; past it the oldest is read again from
# the store when next needed.
CHATS_REMEMBERED = 100_000
SHOWN = "shown"
HIDDEN = ""


class PhoneKeyboards:
    def __init__(self, slug: str, inbox: Inbox) -> None:
        self._slug = slug
        self._inbox = inbox
        self._known: OrderedDict[str, bool] = OrderedDict()

    def _name(self, chat: str) -> str:
        return f"telegram:{self._slug}:phone-keyboard:{chat}"

    async def shown(self, chat: str) -> bool:
        """Whether the chat still shows the keyboard; False when the store cannot say (the
        keyboard is one-time, so at worst it stays until used)."""
        if chat in self._known:
            self._known.move_to_end(chat)
            return self._known[chat]
        try:
            value = await self._inbox.load_cursor(self._name(chat))
        except StoreUnavailable:
            log.warning(
                "telegram %s: could not read whether a chat shows the phone keyboard",
                self._slug,
                extra={"channel": self._slug},
            )
            return False
        self._remember(chat, value == SHOWN)
        return value == SHOWN

    async def mark(self, chat: str, shown: bool) -> None:
        """Note that the chat now shows (or no longer shows) the keyboard."""
        if self._known.get(chat) == shown:
            return
        self._remember(chat, shown)
        try:
            await self._inbox.save_cursor(self._name(chat), SHOWN if shown else HIDDEN)
        except StoreUnavailable:
            # The message went out: remembered in memory only, as before a restart.
            log.warning(
                "telegram %s: could not store whether a chat shows the phone keyboard",
                self._slug,
                extra={"channel": self._slug},
            )

    def _remember(self, chat: str, shown: bool) -> None:
        self._known[chat] = shown
        self._known.move_to_end(chat)
        if len(self._known) > CHATS_REMEMBERED:
            self._known.popitem(last=False)
