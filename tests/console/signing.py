"""Signing in to the console over plain HTTP, and the config the console tests run."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.support.harness import write_config

ANA_TOKEN = "ana-console-token-0123456789"
WORKFLOW = """
name: desk
trigger: conversation_opened
steps:
  - {id: welcome, type: send_message, text: "Hi! Let me find someone for you."}
  - id: give
    type: assign
    team: support
    timeout_seconds: 3600
  - id: told
    type: branch
    branches:
      - conditions: [{field: conversation.assignee, op: exists}]
        steps:
          - {id: assigned, type: send_message, text: "{{ agent.name }} will help you."}
"""
# Nobody of support is online: a new conversation waits at `give` for an agent.
DIRECTORY = """
agents:
  alice: {name: Alice, status: online}
  carol: {name: Carol, status: offline}
  dave: {name: Dave, status: offline}
teams:
  sales: {agents: [alice]}
  support: {agents: [carol, dave]}
schedules:
  office:
    timezone: Europe/Madrid
    hours: {mon: ["09:00-14:00", "16:00-19:00"], tue: ["22:00-06:00"]}
    closed: ["2026-11-24"]
"""
CONSOLE = f"""
console:
  users: {{ana: {ANA_TOKEN}}}
"""
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def console_config(folder: Path, callback_url: str) -> Path:
    return write_config(folder, callback_url, {"desk": WORKFLOW}, DIRECTORY, CONSOLE)


def csrf_in(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def client() -> aiohttp.ClientSession:
    """A client that keeps cookies set by 127.0.0.1, and does not follow redirects."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(session: aiohttp.ClientSession, url: str, token: str = ANA_TOKEN) -> str:
    """Sign in with `token`; the session's CSRF token."""
    async with session.get(f"{url}/console/sign-in") as response:
        csrf = csrf_in(await response.text())
    form = {"csrf": csrf, "token": token}
    async with session.post(f"{url}/console/sign-in", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    async with session.get(f"{url}/console/conversations") as response:
        assert response.status == 200
        return csrf_in(await response.text())
