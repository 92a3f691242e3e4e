"""Console sessions are signed cookies: they outlive a restart, and a signed-out, tampered or
forged one is refused."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from itsdangerous import URLSafeSerializer
from pydantic import SecretStr

from core.console.sessions import COOKIE, SALT, Sessions
from tests.console.signing import client, console_config, csrf_in, sign_in
from tests.support.harness import Running, running

CALLBACK = "http://127.0.0.1:9/callback"  # never called: nobody writes in these tests


def cookie_of(http: aiohttp.ClientSession) -> str:
    [value] = [c.value for c in http.cookie_jar if c.key == COOKIE]
    return value


async def opens(desk: Running, cookie: str) -> tuple[int, str]:
    """The conversations page with only `cookie`: its status (a refused session is sent to
    sign in) and the page's CSRF token, if any."""
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.get(
            f"{desk.url}/console/conversations",
            headers={"Cookie": f"{COOKIE}={cookie}"},
            allow_redirects=False,
        ) as response,
    ):
        page = await response.text()
        return response.status, csrf_in(page) if response.status == 200 else ""


async def test_a_session_survives_a_restart(tmp_path: Path) -> None:
    config = console_config(tmp_path, CALLBACK)
    async with running(config) as desk, client() as http:
        csrf = await sign_in(http, desk.url)
        cookie = cookie_of(http)
    async with running(config) as desk:
        assert await opens(desk, cookie) == (200, csrf)
        # Its forms still work: the CSRF token is the session's own.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            response = await http.post(
                f"{desk.url}/console/agents/alice/status",
                data={"csrf": csrf, "status": "away"},
                headers={"Cookie": f"{COOKIE}={cookie}"},
                allow_redirects=False,
            )
            assert response.status == 303, await response.text()
        agents = {a.id: a.status.value for a in await desk.frontdesk.store.list_agents()}
        assert agents["alice"] == "away"


async def test_a_signed_out_cookie_is_refused(tmp_path: Path) -> None:
    async with running(console_config(tmp_path, CALLBACK)) as desk, client() as http:
        csrf = await sign_in(http, desk.url)
        cookie = cookie_of(http)
        form = {"csrf": csrf}
        async with http.post(f"{desk.url}/console/sign-out", data=form, allow_redirects=False):
            pass
        assert await opens(desk, cookie) == (303, "")
        # Signing in again gives a new session; the old cookie stays refused.
        await sign_in(http, desk.url)
        assert cookie_of(http) != cookie
        assert (await opens(desk, cookie_of(http)))[0] == 200
        assert await opens(desk, cookie) == (303, "")


async def test_a_tampered_or_forged_cookie_is_refused(tmp_path: Path) -> None:
    async with running(console_config(tmp_path, CALLBACK)) as desk, client() as http:
        await sign_in(http, desk.url)
        cookie = cookie_of(http)
        payload, signature = cookie.rsplit(".", 1)
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["u"] == "ana"

        # Ana's signature on a session that says it is the admin's.
        raised = base64.urlsafe_b64encode(json.dumps({**claims, "u": "admin"}).encode())
        assert await opens(desk, f"{raised.decode().rstrip('=')}.{signature}") == (303, "")
        # Her session made to last a year longer.
        longer = base64.urlsafe_b64encode(json.dumps({**claims, "e": claims["e"] + 3e7}).encode())
        assert await opens(desk, f"{longer.decode().rstrip('=')}.{signature}") == (303, "")
        # A changed signature (every other character: test_every_changed_signature_is_refused).
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        assert await opens(desk, f"{payload}.{flipped}") == (303, "")
        # Signed with a key that is not the one of her token.
        forged = URLSafeSerializer(b"guessed", salt=SALT).dumps(claims)
        assert await opens(desk, str(forged)) == (303, "")
        # Garbage.
        assert await opens(desk, "not-a-session") == (303, "")
        # The real one still opens.
        assert (await opens(desk, cookie))[0] == 200


def test_every_changed_signature_is_refused() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    book = Sessions(timedelta(hours=8), lambda: {"ana": SecretStr("ana-console-token")})
    cookie = book.cookie(book.start(now, "ana"))
    assert book.find(cookie, now) is not None
    payload, signature = cookie.rsplit(".", 1)
    alphabet = string.ascii_letters + string.digits + "-_"
    # The first and the last character: base64 ignores the last one's spare low bits, which
    # must not make a second spelling of the same signature valid.
    for where in (0, len(signature) - 1):
        for other in alphabet.replace(signature[where], ""):
            changed = signature[:where] + other + signature[where + 1 :]
            assert book.find(f"{payload}.{changed}", now) is None, changed
    assert book.find(f"{payload}.{signature}=", now) is None
    assert book.find(f"{payload}.", now) is None


async def test_changing_a_users_token_ends_their_sessions(tmp_path: Path) -> None:
    config = console_config(tmp_path, CALLBACK)
    async with running(config) as desk, client() as http:
        await sign_in(http, desk.url)
        cookie = cookie_of(http)
    config.write_text(config.read_text().replace("ana-console-token", "ana-new-console-token"))
    async with running(config) as desk:
        assert await opens(desk, cookie) == (303, "")
