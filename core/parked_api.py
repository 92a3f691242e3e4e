"""Parked events over HTTP: the list, and retrying one once its cause is fixed.

`GET /api/inbox/parked` lists the events set aside because processing them kept failing,
most recently parked first, each with its error; `POST /api/inbox/parked/{id}/retry` makes
one pending again and processes it. Both need `Authorization: Bearer <api.token>`, like
every /api/ route; without a configured token they answer 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import SecretStr

from core.api import bearer_refusal
from core.bodies import error_response
from core.models import ParkedInbound
from core.ports import Records

LIST_LIMIT = 100
MAX_LIMIT = 1000


def parked_json(item: ParkedInbound) -> dict[str, object]:
    """What a person needs to find the cause: where it came from, when, and the error."""
    event = item.event
    return {
        "id": item.id,
        "channel": event.channel,
        "event_id": event.event_id,
        "contact_key": str(event.conversation_key),
        "conversation_id": event.action.conversation_id if event.action else None,
        "received_at": item.received_at.isoformat(),
        "parked_at": item.parked_at.isoformat(),
        "error": item.error,
        "text": event.text,
        "option_id": event.option_id,
    }


class ParkedApi:
    def __init__(
        self,
        records: Records | None,
        token: SecretStr | None,
        retry: Callable[[int], Awaitable[bool]],
    ) -> None:
        self._records = records
        self._token = token
        self._retry = retry

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/inbox/parked", self.list_parked),
            web.post("/api/inbox/parked/{inbound_id}/retry", self.retry),
        ]

    async def list_parked(self, request: web.Request) -> web.Response:
        if (refused := bearer_refusal(self._token, request)) is not None:
            return refused
        text = request.query.get("limit", str(LIST_LIMIT))
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
            return error_response(400, f"limit: a whole number from 1 to {MAX_LIMIT}")
        if self._records is None:
            return error_response(503, "this store cannot list what it holds")
        parked = await self._records.parked_inbound(int(text))
        return web.json_response([parked_json(item) for item in parked])

    async def retry(self, request: web.Request) -> web.Response:
        if (refused := bearer_refusal(self._token, request)) is not None:
            return refused
        text = request.match_info["inbound_id"]
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return error_response(400, "the id of a parked event is a whole number")
        if not await self._retry(int(text)):
            return error_response(404, "no parked event with that id")
        return web.json_response({"status": "retrying", "id": int(text)})
