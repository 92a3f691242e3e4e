"""The HTTP server's connection hygiene: binding first, deadlines, and a connection cap.

- `bind` takes the port before anything else starts, so a busy port is one clear error.
- Headers: aiohttp closes a connection that is waiting for a request (nothing sent, or part
  of the headers) once its `keepalive_timeout` has passed since the connection opened or its
  previous response went out; `serve` sets that to `server.header_timeout_seconds`. So the
  same deadline bounds idle keep-alive connections (a proxy's upstream keep-alive must be
  shorter, see the README).
- Bodies: `body_deadline` fails a request whose body has not fully arrived within
  `server.body_timeout_seconds` of its headers with 408, and closes its connection.
- The cap: `GuardedSite` answers a connection over `server.max_connections` with 503 and
  closes it (platforms deliver again later), with a WARNING when the cap is reached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from core.bodies import error_response
from core.errors import FrontdeskError, Refused

log = logging.getLogger("frontdesk.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REFUSAL_LINGER = 1.0  # seconds a refused connection has to send its request before closing


class CannotStart(FrontdeskError):
    """`serve` could not listen or start; the message is one line for the operator."""


def cannot_listen(host: str, port: int, exc: OSError, what: str = "") -> CannotStart:
    # create_server adds the address to strerror; the message says it once.
    reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
    return CannotStart(f"cannot listen on {host}:{port}{what}: {reason}")


class BodyTimeout(Refused):
    """A request body did not arrive in time: 408."""

    status = 408


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or CannotStart saying why."""
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise cannot_listen(host, port, exc) from exc


def body_deadline(seconds: float) -> Middleware:
    """A middleware: a body still arriving `seconds` after its headers fails the handler's
    read with BodyTimeout (a Refused, so channels answer it as they answer any refusal); the
    answer is 408 and the connection is closed, whatever was left unsent."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = request.content
        if body.is_eof():
            return await handler(request)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not body.is_eof():
                expired = True
                log.warning(
                    "%s %s: the body did not arrive within %g s; closing the connection",
                    request.method,
                    request.path,
                    seconds,
                )
                body.set_exception(BodyTimeout(f"the body did not arrive within {seconds:g} s"))

        timer = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            response = await handler(request)
        except BodyTimeout as exc:
            response = error_response(exc.status, str(exc))
        finally:
            timer.cancel()
        if expired:
            response.force_close()
        return response

    return middleware


class GuardedSite(web.BaseSite):
    """A site on a socket bound beforehand (`bind`), with at most `max_connections` open."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, max_connections: int) -> None:
        super().__init__(runner)
        self._sock = sock
        self._max = max_connections
        self._open = 0
        self._full = False
        host, port = sock.getsockname()[:2]
        self._name = f"http://{host}:{port}"

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, sock=self._sock)

    def _protocol(self) -> asyncio.Protocol:
        if self._open >= self._max:
            if not self._full:
                self._full = True
                log.warning(
                    "connection cap reached: %d connections open (server.max_connections); "
                    "refusing new ones with 503 until one closes",
                    self._open,
                )
            return _Refusal()
        server = self._runner.server
        assert server is not None  # a site starts after its runner's setup
        self._open += 1
        return _Counted(server(), self._closed)

    def _closed(self) -> None:
        self._open -= 1
        if self._full and self._open < self._max:
            self._full = False
            log.info("connections below the cap again: %d open", self._open)


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, telling the site when the connection ends."""

    def __init__(self, inner: asyncio.Protocol, closed: Callable[[], None]) -> None:
        self._inner = inner
        self._closed: Callable[[], None] | None = closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        closed, self._closed = self._closed, None
        if closed is not None:
            closed()
        self._inner.connection_lost(exc)


_BODY = json.dumps({"error": "too many connections; try again shortly"}).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class _Refusal(asyncio.Protocol):
    """Answers 503 and closes. The close waits for the request (or REFUSAL_LINGER): closing
    with a request unread would reset the connection, and the client might not see the 503."""

    def __init__(self) -> None:
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server's transport: a cast, not an isinstance check, because uvloop's
        # transports do not subclass asyncio.Transport (they implement it); an assertion
        # failing here made uvloop reset the connection instead of sending the 503.
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        transport.write(REFUSAL)
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
