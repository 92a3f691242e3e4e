"""Reading platform request bodies: never more than the limit, a JSON object or a clear 400.

Every channel's inbound endpoint does the same three things, so they live here once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import StreamReader, web
from pydantic import ValidationError

from core.errors import Backlogged, BadInbound, PayloadTooLarge
from core.values import MAX_RAW_DEPTH, may_nest_too_deep

log = logging.getLogger("frontdesk.inbound")


async def read_at_most(stream: StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of `stream`, fewer only at its end.

    `StreamReader.read(n)` may return less than n before the end (one chunk at a time), so it
    is looped; unlike `read()` it never buffers more than asked, whatever the sender claims.
    """
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, or PayloadTooLarge. An honest oversized request is refused by its
    Content-Length unread; a chunked or lying one is cut at limit + 1 bytes, just enough to
    know it is over."""
    too_large = PayloadTooLarge(f"body is over {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = await read_at_most(request.content, limit + 1)
    if len(body) > limit:
        raise too_large
    return body


def json_object(body: bytes | str) -> dict[str, Any]:
    """The body as a JSON object, or BadInbound saying what is wrong with it."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
        raise BadInbound("body is not valid JSON") from exc
    except RecursionError as exc:  # the parser recurses once per level of nesting
        raise BadInbound(f"body: nested deeper than {MAX_RAW_DEPTH} levels") from exc
    if not isinstance(data, dict):
        raise BadInbound("body: must be a JSON object")
    if may_nest_too_deep(body) and _depth(data) > MAX_RAW_DEPTH:
        raise BadInbound(f"body: nested deeper than {MAX_RAW_DEPTH} levels")
    return data


def _depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar: 0), without recursing."""
    deepest, level = 0, [(value, 0)]
    while level:
        node, depth = level.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_RAW_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        level.extend((child, depth + 1) for child in children)
    return deepest


def describe(error: ValidationError) -> str:
    """A one-line reason naming each wrong field, e.g. `contact.id: Field required`.

    Only pydantic's message is used, never the input, so a reason does not echo the body back.
    """
    parts = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in detail["loc"]) or "body"
        parts.append(f"{where}: {detail['msg']}")
    return "; ".join(parts)


def error_response(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def refused(channel: str, what: str, status: int, reason: str) -> web.Response:
    """Refuse a platform request with its reason, and log it. A reason never holds a
    secret, a signature or the body (see `describe`), so it is safe to log."""
    log.warning(
        "%s: refused %s with %d: %s", channel, what, status, reason, extra={"channel": channel}
    )
    return error_response(status, reason)


def backlogged(exc: Backlogged) -> web.Response:
    """503 with Retry-After: the inbox is full, the event was not stored, send it again later.
    Not logged per request (under overload that is every request): the runtime logs when
    the backlog fills and when it drains."""
    response = error_response(503, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response
