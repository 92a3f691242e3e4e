"""HTTP requests that workflows make (a CRM lookup), performed outside any transaction.

A run that reaches an http_request step commits "waiting for request R" first; the request
is made after that commit, and its result comes back to the run as an event of its own. If
the process dies in between, a durable timer set beside the request makes it again.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from core.models import HttpCall, HttpResult

log = logging.getLogger("frontdesk.http")


async def perform(session: aiohttp.ClientSession, call: HttpCall) -> HttpResult:
    """Make the request; never raises for what the other side does, says it in the result."""
    base = {"request_id": call.request_id, "conversation_id": call.conversation_id, "key": call.key}
    headers = dict(call.headers)
    if call.body is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        async with session.request(
            call.method,
            call.url,
            headers=headers,
            data=call.body.encode() if call.body is not None else None,
            timeout=aiohttp.ClientTimeout(total=call.timeout_seconds),
            allow_redirects=False,
        ) as response:
            raw = await response.content.read(call.max_response_bytes + 1)
            if len(raw) > call.max_response_bytes:
                return HttpResult(
                    **base,
                    status=response.status,
                    error=f"response over {call.max_response_bytes} bytes",
                )
            return HttpResult(**base, status=response.status, body=raw.decode(errors="replace"))
    except TimeoutError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None  # we are stopping, not timing out
        return HttpResult(**base, error=f"no answer within {call.timeout_seconds:g}s")
    except aiohttp.ClientError as exc:
        return HttpResult(**base, error=f"request failed: {exc.__class__.__name__}: {exc}")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bad URL and the like: the run's failure branch, not a crash
        log.warning("http request failed: conversation=%s error=%r", call.conversation_id, exc)
        return HttpResult(**base, error=f"request failed: {exc!r}")
