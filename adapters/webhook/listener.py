"""A stand-in for the callback URL, for `frontdesk webhook listen`: it checks each message the
way a real receiver should (signature, then repeats) and prints it for a person to read."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import ValidationError

from adapters.webhook.payload import CallbackMessage
from adapters.webhook.signing import SIGNATURE_HEADER, verify
from core.bodies import describe

Echo = Callable[[str], None]


class CallbackPrinter:
    def __init__(self, secret: str, echo: Echo, warn: Echo) -> None:
        self._secret = secret
        self._echo = echo
        self._warn = warn
        # Kept for the life of the process: it is a developer's tool, not a long-running service.
        self._seen: set[str] = set()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self._secret, body, request.headers.get(SIGNATURE_HEADER)):
            self._warn(f"warning: refused a POST to {request.path}: missing or wrong signature")
            return web.json_response({"error": "missing or wrong signature"}, status=401)
        try:
            message = CallbackMessage.model_validate_json(body)
        except ValidationError as exc:
            reason = describe(exc)
            self._warn(f"warning: refused a POST to {request.path}: {reason}")
            return web.json_response({"error": reason}, status=400)
        if message.message_id not in self._seen:
            self._seen.add(message.message_id)
            self._echo(format_message(message))
        return web.json_response({"status": "ok"})


# Enough of a conversation's id to tell it apart, and for `frontdesk conversations show`,
# which takes a prefix only one conversation has: an id starts with the millisecond it was
# made in (`core.ids`), then the version digit, then random digits.
SHOWN_ID = 16


def format_message(message: CallbackMessage) -> str:
    """`[contact · conv id] text`, continuation lines indented under the text, then numbered
    options; the id is the conversation's, shortened."""
    prefix = f"[{message.contact_id} · conv {message.conversation_id[:SHOWN_ID]}] "
    lines = [prefix + message.text.replace("\n", "\n" + " " * len(prefix))]
    lines += [f"  {n}. {o.label} ({o.id})" for n, o in enumerate(message.options, start=1)]
    return "\n".join(lines)


def listener_app(secret: str, path: str | None, echo: Echo, warn: Echo) -> web.Application:
    """The receiver's app; on `path` only, or on every path when it is None."""
    printer = CallbackPrinter(secret, echo, warn)
    app = web.Application()
    app.add_routes([web.post(path or "/{tail:.*}", printer.handle)])
    return app
