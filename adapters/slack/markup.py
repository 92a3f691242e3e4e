"""Slack's text format, both ways: what a person typed in Slack as plain text, and plain
text as Slack must be sent it.

Slack sends a message's `text` in its own markup: `&`, `<` and `>` escaped as entities, and
links, mentions and special words in angle brackets, such as `<https://example.com|our help
page>`, `<@U123>`, `<#C123|general>` or `<!here>`.
https://api.slack.com/reference/surfaces/formatting#retrieving-messages

Why the `text` and not the event's `rich_text` blocks: every message event has a `text`
(messages from other apps, from workflows, from older clients and edited ones may come
without blocks), and it is defined by one short grammar that is read here in one place. The
blocks carry the same pieces (a user element is an id just as `<@U123>` is), so reading them
would be no more faithful, only a second way that must agree with the first.

What the markup becomes as plain text: entities their characters; a link its label and its
address (`our help page (https://example.com/help)`), or just the address when the label
says nothing more; an email or phone link its label; a mention the person's display name
(`@Carol`); a channel `#name`; `<!here>`, `<!channel>` and `<!everyone>` `@here` and so
on; a user group its handle; a date its fallback text.

The other way, plain text is sent with its three control characters escaped, so that
`<!channel>` in a customer's message is shown as typed and pings nobody.
https://api.slack.com/reference/surfaces/formatting#escaping
"""

from __future__ import annotations

import re
from collections.abc import Mapping

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
ENTITY = re.compile(r"&(amp|lt|gt);")
ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Anything in angle brackets; Slack escapes every `<` and `>` that is not markup.
TOKEN = re.compile(r"<([^<>]*)>")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
BROADCASTS = frozenset({"here", "channel", "everyone"})


def encode(text: str) -> str:
    """`text` as Slack must be sent it to show it as typed (mrkdwn or plain)."""
    return "".join(ESCAPES.get(char, char) for char in text)


def unescape(text: str) -> str:
    """`text` with Slack's three entities turned back into their characters."""
    return ENTITY.sub(lambda found: ENTITIES[found.group(1)], text)


def mentioned(text: str) -> list[str]:
    """The user ids `text` mentions (`<@U123>`), each once, in order."""
    return list(dict.fromkeys(MENTION.findall(text)))


def decode(text: str, names: Mapping[str, str] | None = None) -> str:
    """What a person reading `text` (Slack markup) in Slack sees, as plain text. `names`
    gives the display names of the users it mentions; an unknown one is shown by its id."""
    names = names or {}
    parts: list[str] = []
    at = 0
    for token in TOKEN.finditer(text):
        parts.append(unescape(text[at : token.start()]))
        parts.append(_token(token.group(1), names))
        at = token.end()
    parts.append(unescape(text[at:]))
    return "".join(parts)


def _token(body: str, names: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        user = target[1:]
        return "@" + (names.get(user) or label.lstrip("@") or user)
    if target.startswith("#"):
        return "#" + (label.lstrip("#") or target[1:])
    if target.startswith("!"):
        return _special(target[1:], label)
    return _link(unescape(target), label)


def _special(command: str, label: str) -> str:
    """`<!here>`, `<!subteam^S123|@team>`, `<!date^1700000000^{date}|fallback>`, ..."""
    word, _, rest = command.partition("^")
    if word in BROADCASTS:
        return f"@{word}"
    if word == "subteam":
        return label or "@" + rest.split("^")[0]
    return label  # a date's fallback text; an unknown word shows what Slack would


def _link(url: str, label: str) -> str:
    scheme, _, address = url.partition(":")
    if scheme.lower() in ("mailto", "tel"):
        return label or address
    if not label or label in (url, _bare(url)):
        return url
    return f"{label} ({url})"


def _bare(url: str) -> str:
    """The address without its scheme, as Slack labels a link typed without one."""
    return url.split("://", 1)[-1]
