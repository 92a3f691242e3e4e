"""Console sessions: a random id in an HttpOnly, SameSite=Strict cookie, the rest held here.

A visitor gets a session before signing in, so that the sign-in form carries a CSRF token
too; signing in replaces it with a new one (a fixed id is never promoted). Sessions live in
the process's memory: a restart signs everyone out, which costs a sign-in, not data.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

COOKIE = "frontdesk_console"
MAX_SESSIONS = 10_000  # the oldest go first: visitors cannot fill the memory


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    user: str | None  # None: not signed in yet
    expires: datetime

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, lifetime: timedelta) -> None:
        self._lifetime = lifetime
        self._held: OrderedDict[str, Session] = OrderedDict()

    def start(self, now: datetime, user: str | None = None) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            user=user,
            expires=now + self._lifetime,
        )
        self._held[session.id] = session
        while len(self._held) > MAX_SESSIONS:
            self._held.popitem(last=False)
        return session

    def find(self, session_id: str | None, now: datetime) -> Session | None:
        if session_id is None:
            return None
        session = self._held.get(session_id)
        if session is None:
            return None
        if session.expires <= now:
            del self._held[session_id]
            return None
        return session

    def end(self, session_id: str) -> None:
        self._held.pop(session_id, None)


def who(token: str, api_token: SecretStr | None, users: dict[str, SecretStr]) -> str | None:
    """The user a sign-in token belongs to (the API token signs in as "admin"); None when it
    is nobody's. Every token is compared, in constant time, whichever matches."""
    given = token.encode()
    found: str | None = None
    candidates = [("admin", api_token)] if api_token is not None else []
    candidates += list(users.items())
    for name, secret in candidates:
        if secret is not None and hmac.compare_digest(given, secret.get_secret_value().encode()):
            found = found or name
    return found
