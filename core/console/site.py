"""The console as an aiohttp sub-application under /console: the session guard, signing in
and out, the live event stream and the vendored static files; the pages are in `pages`, the
forms in `actions`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import resources

import jinja2
from aiohttp import web

from core.config import Config
from core.console import actions, pages
from core.console.context import SESSION, Context, Controls, session_of
from core.console.live import Feed
from core.console.sessions import COOKIE, Session, Sessions, tokens, who
from core.ports import Clock, Records

PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
HEARTBEAT_SECONDS = 15.0
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Console:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        records: Records | None,
        controls: Controls,
        clock: Clock,
        feed: Feed,
    ) -> None:
        templates = jinja2.Environment(
            loader=jinja2.PackageLoader("core.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        lifetime = timedelta(hours=config().console.session_hours)
        self.context = Context(
            current=config,
            records=records,
            controls=controls,
            clock=clock,
            feed=feed,
            sessions=Sessions(
                lifetime,
                lambda: tokens(config().api.token, config().console.users),
            ),
            templates=templates,
        )

    def app(self) -> web.Application:
        """The sub-application to mount at PREFIX."""
        app = web.Application(middlewares=[self._guard])
        c = self.context
        app.add_routes(
            [
                web.get("", self.home),
                web.get("/", self.home),
                web.get("/sign-in", self.sign_in_form),
                web.post("/sign-in", self.sign_in),
                web.post("/sign-out", self.sign_out),
                web.get("/events", self.events),
                web.get("/static/{name}", self.static),
                *pages.routes(c),
                *actions.routes(c),
            ]
        )

        async def shutdown(_: web.Application) -> None:
            c.feed.close()  # open event streams end, so that the server can stop

        app.on_shutdown.append(shutdown)
        return app

    # the guard ------------------------------------------------------------------------

    def _session(self, request: web.Request) -> Session | None:
        return self.context.sessions.find(request.cookies.get(COOKIE), self.context.clock.now())

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        session = self._session(request)
        public = request.path == SIGN_IN
        if not public and (session is None or session.user is None):
            if request.path == f"{PREFIX}/events":
                return web.Response(status=401, text="sign in first")
            raise web.HTTPSeeOther(SIGN_IN)
        if request.method == "POST":
            form = await request.post()
            given = form.get("csrf")
            token = given if isinstance(given, str) else None
            if session is None or not session.csrf_matches(token):
                reason = "the form's CSRF token is missing or wrong"
                return self.context.refuse(request, 403, reason)
        request[SESSION] = session
        return await handler(request)

    def _set_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.context.sessions.cookie(session),
            httponly=True,
            samesite="Strict",
            secure=self.context.config.console.secure_cookie,
            path=PREFIX,
            max_age=int(self.context.config.console.session_hours * 3600),
        )

    # signing in and out ---------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(f"{PREFIX}/conversations")

    async def sign_in_form(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is not None and session.user is not None:
            raise web.HTTPSeeOther(f"{PREFIX}/conversations")
        if session is None:
            session = self.context.sessions.start(self.context.clock.now())
        request[SESSION] = session
        response = self.context.render(request, "sign_in.html", failed=False)
        self._set_cookie(response, session)
        return response

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        c = self.context
        form = await request.post()
        token = form.get("token")
        user = None
        if isinstance(token, str) and token:
            user = who(token, c.config.api.token, dict(c.config.console.users))
        old = session_of_any(request)
        if user is None:
            return c.render(request, "sign_in.html", status=401, failed=True)
        c.sessions.end(old, c.clock.now())
        session = c.sessions.start(c.clock.now(), user)
        response = web.HTTPSeeOther(f"{PREFIX}/conversations")
        self._set_cookie(response, session)
        raise response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        self.context.sessions.end(session_of(request), self.context.clock.now())
        response = web.HTTPSeeOther(SIGN_IN)
        response.del_cookie(COOKIE, path=PREFIX)
        raise response

    # live updates and static files -----------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        feed = self.context.feed
        queue = feed.listen()
        try:
            await response.write(b"retry: 2000\n\n")
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if message is None:
                    break
                await response.write(message.encode())
        except ConnectionResetError:
            pass  # the browser went away
        finally:
            feed.leave(queue)
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            return self.context.refuse(request, 404, "no such file")
        body = resources.files("core.console").joinpath("static", name).read_bytes()
        return web.Response(
            body=body, content_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
        )


def session_of_any(request: web.Request) -> Session:
    """The session of a form the guard let through (signed in or not)."""
    session = request.get(SESSION)
    assert isinstance(session, Session)
    return session
