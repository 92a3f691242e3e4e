"""Console sessions: signed, expiring cookies (HttpOnly, SameSite=Strict), so that a restart
signs nobody out and no store holds them.

A cookie carries the session's random id, its CSRF token, the user and when it expires,
signed with itsdangerous. A signed-in session is signed with a key derived from that user's
own sign-in token: changing a user's token (or removing the user) ends every session of
theirs, and nobody can mint a session for a user without their token. A visitor gets a
session before signing in, so that the sign-in form carries a CSRF token too; that one is
signed with a key of this process only (a restart costs reloading the form). Signing in
always starts a new session (a fixed id is never promoted).

Signing out must refuse the cookie from then on although it is still validly signed: the
ids of signed-out sessions are kept here until they expire. That list lives in memory, so a
restart forgets it; a copy of a cookie taken before its sign-out then works again until it
expires (`session_hours`). The browser deletes its cookie on sign-out, and changing the
user's token ends all their sessions for good.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

COOKIE = "frontdesk_console"
SALT = "frontdesk.console.session"
MAX_SIGNED_OUT = 100_000  # the oldest go first: sign-outs cannot fill the memory


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    user: str | None  # None: not signed in yet
    expires: datetime

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class _Claims(BaseModel):
    """What a cookie says, as signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    i: str
    c: str
    u: str | None
    e: float  # expiry, seconds since the epoch


class Sessions:
    def __init__(self, lifetime: timedelta, tokens: Callable[[], Mapping[str, SecretStr]]) -> None:
        """`tokens`: each user's sign-in token, read afresh (a config reload changes them)."""
        self._lifetime = lifetime
        self._tokens = tokens
        self._visitors = secrets.token_bytes(32)
        self._signed_out: OrderedDict[str, datetime] = OrderedDict()

    def start(self, now: datetime, user: str | None = None) -> Session:
        return Session(
            id=secrets.token_urlsafe(24),
            csrf=secrets.token_urlsafe(32),
            user=user,
            expires=now + self._lifetime,
        )

    def cookie(self, session: Session) -> str:
        """The cookie's value for `session`."""
        key = self._key(session.user)
        assert key is not None  # sessions start only for users with a token
        expires = session.expires.timestamp()
        claims = _Claims(i=session.id, c=session.csrf, u=session.user, e=expires)
        return str(_serializer(key).dumps(claims.model_dump()))

    def find(self, cookie: str | None, now: datetime) -> Session | None:
        """The session `cookie` stands for; None when it is missing, forged, tampered with,
        expired, signed out, or its user has no token any more."""
        if not cookie or not _canonical_signature(cookie):
            return None
        # Read who it claims to be, to know the key; the signature is checked next.
        _, payload = _serializer(b"").loads_unsafe(cookie)
        try:
            claims = _Claims.model_validate(payload)
        except ValidationError:
            return None
        key = self._key(claims.u)
        if key is None:
            return None
        try:
            _serializer(key).loads(cookie)
        except BadSignature:
            return None
        expires = datetime.fromtimestamp(claims.e, UTC)
        if expires <= now or claims.i in self._signed_out:
            return None
        return Session(id=claims.i, csrf=claims.c, user=claims.u, expires=expires)

    def end(self, session: Session, now: datetime) -> None:
        """Refuse `session`'s cookie from now on."""
        for old, expires in list(self._signed_out.items()):
            if expires > now:
                break  # the first to expire is the first in the list (lifetimes are equal)
            del self._signed_out[old]
        self._signed_out[session.id] = session.expires
        while len(self._signed_out) > MAX_SIGNED_OUT:
            self._signed_out.popitem(last=False)

    def _key(self, user: str | None) -> bytes | None:
        if user is None:
            return self._visitors
        token = self._tokens().get(user)
        if token is None:
            return None
        return hmac.new(token.get_secret_value().encode(), SALT.encode(), hashlib.sha256).digest()


def _canonical_signature(cookie: str) -> bool:
    """Whether the cookie's signature is written the one way it encodes: base64 ignores the
    spare low bits of its last character, so without this check a signature with its last
    character changed (e.g. A to B) would still verify."""
    _, _, signature = cookie.rpartition(".")
    try:
        return base64_encode(base64_decode(signature)).decode() == signature
    except BadData:
        return False


def _serializer(key: bytes) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=SALT)


def tokens(api_token: SecretStr | None, users: Mapping[str, SecretStr]) -> dict[str, SecretStr]:
    """Each user's sign-in token; the API token signs in as "admin" (as in `who`)."""
    found = dict(users)
    if api_token is not None:
        found["admin"] = api_token
    return found


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
