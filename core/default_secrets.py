"""Secrets everyone knows: the example values that the demo and older template configs ship.

On 127.0.0.1 they are harmless and make the demo work with no setup; on an address other
machines can reach, anyone who has read the README could sign webhooks or call the API with
them, so `frontdesk serve` refuses to start there unless told it is a demo.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from pydantic import BaseModel, SecretStr

from core.config import Config

KNOWN = frozenset(
    {
        "demo-webhook-secret-change-me",
        "demo-api-token-change-me",
        "change-me-api-token-0000",
        "change-me-webhook-secret-00",
    }
)
# Example configs mark a value to replace this way; any secret still saying so is one.
MARKER = "change-me"


def is_known(value: str) -> bool:
    return value in KNOWN or MARKER in value.lower()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def secrets_of(config: Config) -> Iterator[tuple[str, SecretStr]]:
    """Every secret in the config, with its key (`channels.webhook.secret`)."""
    if config.api.token is not None:
        yield "api.token", config.api.token
    yield from _fields("store", config.store.settings)
    for slug, channel in config.channels.items():
        yield from _fields(f"channels.{slug}", channel.settings)
    for name, value in config.secrets.items():
        yield f"secrets.{name}", value


def _fields(prefix: str, model: BaseModel) -> Iterator[tuple[str, SecretStr]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield f"{prefix}.{name}", value
        elif isinstance(value, BaseModel):
            yield from _fields(f"{prefix}.{name}", value)


def refusal(config: Config) -> str | None:
    """One line saying why the server must not start (naming keys, never values), or None."""
    host = config.server.host
    if is_loopback(host):
        return None
    keys = [key for key, value in secrets_of(config) if is_known(value.get_secret_value())]
    if not keys:
        return None
    return (
        f"{config.source}: {', '.join(keys)}: a known default secret, and the server would "
        f"listen on {host}; set your own (`frontdesk init` writes fresh ones into .env) "
        "or pass --insecure-demo"
    )
