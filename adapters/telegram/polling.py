"""The poller: updates in through getUpdates, for a bot without a public URL (development).

Telegram keeps an update until a getUpdates call with a higher `offset` confirms it, so the
offset is ours to keep: the last update_id handed over, saved as a store cursor only once its
event is in the inbox (or was ignored, or was a duplicate). A crash between the two makes the
next run ask for that update again, and the inbox knows it already: no update is lost or
handled twice.
https://core.telegram.org/bots/api#getupdates
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from adapters.telegram.errors import BotApiFailure, ClientDecodeError, TelegramUnauthorizedError
from adapters.telegram.hints import token_refused
from adapters.telegram.inbound import UpdateHandler
from adapters.telegram.outbound import REQUEST_TIMEOUT_SECONDS
from adapters.telegram.updates import ALLOWED_UPDATES
from adapters.telegram.wire import BotApi
from core.errors import Backlogged, Refused, StoreUnavailable
from core.ports import Inbox, Leadership

log = logging.getLogger(__name__)

# A failed round (network, Bot API, store) is tried again after a pause that doubles up to
# the cap, and starts small again after a round that works.
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 10.0
# Beside other replicas, one polls a bot (Telegram allows one getUpdates at a time); the
# others ask this often whether the leader has gone.
FOLLOWER_PAUSE_SECONDS = 2.0


def cursor_name(slug: str) -> str:
    return f"telegram:{slug}:offset"


class UpdatePoller:
    def __init__(
        self,
        slug: str,
        poll_timeout: int,
        inbox: Inbox,
        handler: UpdateHandler,
        bot: Callable[[], BotApi | None],
    ) -> None:
        self._slug = slug
        self._poll_timeout = poll_timeout
        self._inbox = inbox
        self._handler = handler
        self._bot = bot
        self._cursor = cursor_name(slug)
        self._retry_delay = FIRST_RETRY_SECONDS
        self._last: int | None = None  # the update_id saved last; None until loaded

    async def run(self) -> None:
        """Poll until cancelled; a failed round is logged and tried again."""
        bot = self._bot()
        if bot is None:
            raise RuntimeError("the telegram poller needs a started channel")
        webhook_deleted = False
        while True:
            try:
                if not await self._leads():
                    self._last = None  # the leader moves the offset on: read it on taking over
                    await asyncio.sleep(FOLLOWER_PAUSE_SECONDS)
                    continue
                if not webhook_deleted:
                    # Telegram refuses getUpdates (409) while a webhook is set; deleting it
                    # keeps the updates it holds.
                    await bot.call("deleteWebhook", {"drop_pending_updates": False})
                    webhook_deleted = True
                if self._last is None:
                    saved = await self._inbox.load_cursor(self._cursor)
                    self._last = int(saved) if saved is not None else 0
                # A full backlog: no getUpdates until it drains; the updates wait at Telegram.
                await self._inbox.room()
                await self._round(bot, self._last)
            except Backlogged:
                pass  # filled part way through a batch: the rest is asked for again later
            except TelegramUnauthorizedError:
                log.error(token_refused(self._slug), extra={"channel": self._slug})
                await self._pause()
            except (StoreUnavailable, BotApiFailure) as exc:
                # BotApiFailure covers the Bot API's errors, network failures and timeouts.
                log.warning(
                    "telegram %s: polling failed, trying again in %.1f s: %s",
                    self._slug,
                    self._retry_delay,
                    exc,
                    extra={"channel": self._slug},
                )
                await self._pause()
            except Exception:
                log.exception(
                    "telegram %s: polling failed unexpectedly, trying again in %.1f s",
                    self._slug,
                    self._retry_delay,
                    extra={"channel": self._slug},
                )
                await self._pause()
            else:
                self._retry_delay = FIRST_RETRY_SECONDS

    async def _leads(self) -> bool:
        inbox = self._inbox
        return not isinstance(inbox, Leadership) or await inbox.lead(f"telegram:{self._slug}")

    async def _round(self, bot: BotApi, last: int) -> None:
        """One getUpdates and its batch, in order. A failure part way leaves the rest of the
        batch with Telegram, which sends it again when asked from the offset saved last."""
        params: dict[str, Any] = {
            "timeout": self._poll_timeout,
            "allowed_updates": ALLOWED_UPDATES,
        }
        if last:  # 0 (nothing saved yet): ask for whatever Telegram holds, from the oldest
            params["offset"] = last + 1
        # The long poll itself may take poll_timeout; the usual limit comes on top.
        updates = await bot.call(
            "getUpdates", params, timeout_seconds=self._poll_timeout + REQUEST_TIMEOUT_SECONDS
        )
        if not isinstance(updates, list):
            raise ClientDecodeError("getUpdates", "Failed to decode object")
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                raise ClientDecodeError("getUpdates", "an update without its update_id")
            try:
                await self._handler.handle(raw)
            except Refused as exc:
                # It would be refused again at every round and hold up the updates after it.
                log.warning(
                    "telegram %s: update %d refused and skipped: %s",
                    self._slug,
                    update_id,
                    exc,
                    extra={"channel": self._slug},
                )
            # Only now: the event is stored (or was ignored, or seen before).
            await self._inbox.save_cursor(self._cursor, str(update_id))
            self._last = update_id

    async def _pause(self) -> None:
        # A plain sleep, not the injected clock: this waits on the network, not a schedule.
        await asyncio.sleep(self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_SECONDS)
