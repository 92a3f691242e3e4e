"""The console over plain HTTP: nothing without a session, no form without its CSRF token,
signing in and out, and the cookie it keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from core.agents import AgentStatus
from core.config import load_config
from core.console.live import Feed
from core.console.site import Console
from core.errors import ConfigError
from tests.console.signing import (
    ANA_TOKEN,
    DIRECTORY,
    WORKFLOW,
    client,
    console_config,
    csrf_in,
    sign_in,
)
from tests.support.harness import API_TOKEN, Running, records_of, running, write_config
from tests.support.receiver import Receiver

CALLBACK = "http://127.0.0.1:9/callback"  # never called: nobody writes in these tests


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Running]:
    receiver = Receiver("test-webhook-secret-0123456789")
    url = await receiver.start()
    try:
        async with running(console_config(tmp_path, url)) as desk:
            await desk.say("c-1", "hello", name="Ana")
            yield desk
    finally:
        await receiver.close()


def console_routes(desk: Running, conversation_id: str) -> list[tuple[str, str]]:
    """(method, path) of every console route, its parameters filled in."""
    app = Console(
        config=lambda: desk.frontdesk.config,
        records=None,
        controls=desk.frontdesk.runtime,
        clock=desk.clock,
        feed=Feed(),
    ).app()
    found = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical if route.resource is not None else ""
        path = (
            path.replace("{conversation_id}", conversation_id)
            .replace("{agent_id}", "alice")
            .replace("{name}", "console.js")
        )
        found.append((route.method, f"/console{path}"))
    return found


async def conversation_id(desk: Running) -> str:
    [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", "c-1")
    return conversation.id


async def unchanged(desk: Running) -> None:
    """Nothing that a console form could change has changed."""
    [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", "c-1")
    assert conversation.status.value == "open"
    assert conversation.assignee is None
    agents = {a.id: a.status for a in await desk.frontdesk.store.list_agents()}
    assert agents["alice"] == AgentStatus.ONLINE


async def test_every_route_wants_a_session(desk: Running) -> None:
    routes = console_routes(desk, await conversation_id(desk))
    assert len(routes) >= 14
    async with client() as http:
        for method, path in routes:
            if path == "/console/sign-in":
                continue
            async with http.request(
                method,
                f"{desk.url}{path}",
                data={"agent": "carol", "status": "away"},
                allow_redirects=False,
            ) as response:
                if path == "/console/events":
                    assert response.status == 401, path
                else:
                    assert response.status == 303, (method, path)
                    assert response.headers["Location"] == "/console/sign-in"
    await unchanged(desk)


async def test_every_form_wants_its_csrf_token(desk: Running) -> None:
    routes = console_routes(desk, await conversation_id(desk))
    posts = [path for method, path in routes if method == "POST"]
    assert len(posts) == 6
    async with client() as http:
        csrf = await sign_in(http, desk.url)
        for path in posts:
            for given in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
                form = {**given, "agent": "carol", "status": "away", "token": API_TOKEN}
                async with http.post(
                    f"{desk.url}{path}", data=form, allow_redirects=False
                ) as response:
                    assert response.status == 403, (path, given)
                    assert "CSRF" in await response.text()
        # Still signed in (sign-out refused too), and nothing else moved.
        async with http.get(f"{desk.url}/console/queues", allow_redirects=False) as response:
            assert response.status == 200
    await unchanged(desk)


async def test_signing_in_and_out(desk: Running) -> None:
    async with client() as http:
        async with http.get(f"{desk.url}/console/sign-in") as response:
            csrf = csrf_in(await response.text())
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Path=/console" in cookie
        assert "Secure" not in cookie
        form = {"csrf": csrf, "token": "not-anybody-s-token-0123"}
        async with http.post(f"{desk.url}/console/sign-in", data=form) as response:
            assert response.status == 401
            assert "not one of this desk" in await response.text()
        async with http.get(f"{desk.url}/console/queues", allow_redirects=False) as response:
            assert response.status == 303
        csrf = await sign_in(http, desk.url)
        async with http.get(f"{desk.url}/console/queues") as response:
            assert ">ana</span>" in await response.text()
        async with http.post(
            f"{desk.url}/console/sign-out", data={"csrf": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
        async with http.get(f"{desk.url}/console/queues", allow_redirects=False) as response:
            assert response.status == 303


async def test_the_api_token_signs_in_as_admin(desk: Running) -> None:
    async with client() as http:
        await sign_in(http, desk.url, API_TOKEN)
        async with http.get(f"{desk.url}/console/conversations") as response:
            assert ">admin</span>" in await response.text()


async def test_a_stolen_cookie_from_before_sign_in_is_not_signed_in(desk: Running) -> None:
    async with client() as http:
        async with http.get(f"{desk.url}/console/sign-in") as response:
            before = response.cookies["frontdesk_console"].value
        await sign_in(http, desk.url)
    async with (
        aiohttp.ClientSession(
            cookies={"frontdesk_console": before}, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as thief,
        thief.get(f"{desk.url}/console/queues", allow_redirects=False) as response,
    ):
        assert response.status == 303


async def test_the_event_stream_wants_a_session(desk: Running) -> None:
    async with client() as http, http.get(f"{desk.url}/console/events") as response:
        assert response.status == 401


async def test_the_cookie_can_be_kept_to_https(tmp_path: Path) -> None:
    extra = f"console: {{users: {{ana: {ANA_TOKEN}}}, secure_cookie: true}}"
    config = write_config(tmp_path, CALLBACK, {"desk": WORKFLOW}, DIRECTORY, extra)
    async with (
        running(config) as desk,
        client() as http,
        http.get(f"{desk.url}/console/sign-in") as response,
    ):
        assert response.status == 200
        assert "Secure" in response.headers["Set-Cookie"]


def test_a_short_user_token_is_refused_by_name(tmp_path: Path) -> None:
    extra = "console: {users: {ana: short}}"
    config = write_config(tmp_path, CALLBACK, {"desk": WORKFLOW}, DIRECTORY, extra)
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    [problem] = refused.value.problems
    assert problem.file == str(config)
    assert str(problem).endswith(": console: users.ana: token must be at least 16 characters")
