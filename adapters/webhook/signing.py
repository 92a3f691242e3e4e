"""Signatures of webhook bodies, the same both ways: frontdesk verifies what the integrated
system posts to it, and signs what it posts to the callback URL.

The header carries `sha256=<lowercase hex HMAC-SHA256 of the raw body, keyed by the secret>`,
the scheme GitHub and many others use, so receivers can reuse code they already have.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Frontdesk-Signature"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` (the header value, None when absent) is the one for `body`."""
    if not signature:
        return False
    expected = sign(secret, body).encode("ascii")
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a header may hold any.
    received = signature.encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, received)
