"""HTTP requests that workflows make (a CRM lookup), performed outside any transaction.

A run that reaches an http_request step commits "waiting for request R" first; the request
is made after that commit, and its result comes back to the run as an event of its own. If
the process dies in between, a durable timer set beside the request makes it again: a lease
timer, which the next process makes due as it starts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import jsonpath

from core.bodies import read_at_most
from core.events import RequestCompleted, RequestOutcome
from core.models import HttpCall, HttpResult, Waiting
from core.program import Instruction
from core.step_types import HttpRequestStep
from core.templating import TemplateRenderError, Verbatim, render, render_url
from core.turn import Turn

log = logging.getLogger("frontdesk.http")


async def perform(session: aiohttp.ClientSession, call: HttpCall) -> HttpResult:
    """Make the request; never raises for what the other side does, says it in the result."""
    base = {
        "request_id": call.request_id,
        "conversation_id": call.conversation_id,
        "conversation_key": call.conversation_key,
    }
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
            raw = await read_at_most(response.content, call.max_response_bytes + 1)
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


# After the request's own timeout, how long a lost result is waited for before the request is
# made again. A restart does not wait for it: the timer is a lease, taken back at once.
LOST_RESULT_GRACE = 60


def request(step: HttpRequestStep, instruction: Instruction, turn: Turn, *, attempt: int) -> None:
    """Decide the request now; the runtime makes it once this turn has committed."""
    run = turn.conversation.run
    assert run is not None
    context = turn.template_context()
    try:
        url = render_url(
            step.url,
            {**context, "settings": {k: Verbatim(str(v)) for k, v in turn.settings.items()}},
        )
        headers = {
            name: render(text, {**context, "secrets": dict(turn.secrets)})
            for name, text in step.headers.items()
        }
        body = None if step.body is None else json.dumps(_render_body(step.body, context))
    except TemplateRenderError as exc:
        log.error(
            "request not made: conversation=%s step=%s error=%s", turn.conversation.id, step.id, exc
        )
        turn.effects.trace.append(f"{step.id} (request not made: {exc})")
        _record(turn, step, step.url, RequestOutcome.NOT_MADE, error=str(exc))
        run.pc = instruction.blocks.get("on_failure", run.pc + 1)
        return
    request_id = turn.next_id()
    call = HttpCall(
        request_id=request_id,
        conversation_id=turn.conversation.id,
        conversation_key=turn.conversation_key,
        method=step.method,
        url=url,
        headers=headers,
        body=body,
        timeout_seconds=step.timeout_seconds,
        max_response_bytes=step.max_response_bytes,
    )
    timer_id = turn.schedule(int(step.timeout_seconds) + LOST_RESULT_GRACE, lease=True)
    run.waiting = Waiting(
        kind="http", step_id=step.id, timer_id=timer_id, request=call, attempts=attempt
    )
    turn.effects.calls.append(call)


def _render_body(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string in the body; json.dumps then encodes the values it produced."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: _render_body(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_body(item, context) for item in value]
    return value


def request_lost(step: HttpRequestStep, instruction: Instruction, turn: Turn) -> None:
    """No result came back in time (the process restarted): make the request again, or give
    up after `max_attempts` and take the failure steps."""
    run = turn.conversation.run
    assert run is not None
    assert run.waiting is not None
    attempts = run.waiting.attempts
    url = run.waiting.request.url if run.waiting.request is not None else step.url
    error = f"no result after attempt {attempts} of {step.max_attempts}"
    _record(turn, step, url, RequestOutcome.LOST, error=error)
    run.waiting = None
    if attempts < step.max_attempts:
        turn.effects.trace.append(f"{step.id} (no result; asking again)")
        request(step, instruction, turn, attempt=attempts + 1)
        return
    turn.effects.trace.append(f"{step.id} (no result after {attempts} attempts)")
    run.pc = instruction.blocks.get("on_failure", run.pc + 1)


def request_done(
    step: HttpRequestStep, instruction: Instruction, turn: Turn, result: HttpResult
) -> None:
    """Map the answer into variables and take the success or the failure steps."""
    run = turn.conversation.run
    assert run is not None
    made = run.waiting.request if run.waiting is not None else None
    url = made.url if made is not None else step.url
    turn.stop_waiting()
    values, problem = _interpret(step, result)
    outcome = RequestOutcome.SUCCESS if problem is None else RequestOutcome.FAILURE
    _record(turn, step, url, outcome, status=result.status, error=problem)
    if problem is None:
        run.vars.update(values)
        turn.effects.trace.append(f"{step.id} (HTTP {result.status})")
        run.pc = instruction.blocks.get("on_success", run.pc + 1)
        return
    log.info("request failed: conversation=%s step=%s %s", turn.conversation.id, step.id, problem)
    turn.effects.trace.append(f"{step.id} (failed: {problem})")
    run.pc = instruction.blocks.get("on_failure", run.pc + 1)


def shown_url(url: str) -> str:
    """The URL as an operator may see it: scheme, host and path; the query and any user info
    may carry a key, so they go."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(not a URL)"
    return urlunsplit((parts.scheme, f"{host}{port}", parts.path, "", ""))


def _record(
    turn: Turn,
    step: HttpRequestStep,
    url: str,
    outcome: RequestOutcome,
    *,
    status: int | None = None,
    error: str | None = None,
) -> None:
    turn.effects.events.append(
        RequestCompleted(
            at=turn.now,
            step_id=step.id,
            method=step.method,
            url=shown_url(url),
            status=status,
            outcome=outcome,
            error=error,
        )
    )


def _interpret(step: HttpRequestStep, result: HttpResult) -> tuple[dict[str, Any], str | None]:
    if result.error is not None:
        return {}, result.error
    if result.status is None or not 200 <= result.status < 300:
        return {}, f"HTTP {result.status}"
    if not step.save:
        return {}, None
    try:
        data = json.loads(result.body or "")
    except ValueError:
        return {}, "the answer is not JSON"
    values: dict[str, Any] = {}
    for name, path in step.save.items():
        found = jsonpath.findall(path, data)
        if not found:
            return {}, f"nothing at {path}"
        values[name] = found[0]
    return values, None
