"""Slack's markup as a person reads it, and plain text as Slack must be sent it."""

from __future__ import annotations

import pytest

from adapters.slack.markup import decode, encode, mentioned

NAMES = {"U0CAROL": "Carol", "W0DAVE": "Dave Ng"}

# What Slack sends as a message's `text` → what its writer saw in Slack.
# https://api.slack.com/reference/surfaces/formatting#retrieving-messages
DECODED = [
    ("plain words", "plain words"),
    ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
    ("a &gt; b &amp;&amp; c &lt; d", "a > b && c < d"),
    ("&amp;lt; typed as is", "&lt; typed as is"),
    (
        "see <https://example.com/help|our help page>",
        "see our help page (https://example.com/help)",
    ),
    ("<https://example.com/help>", "https://example.com/help"),
    ("<https://example.com|example.com>", "https://example.com"),
    ("<https://example.com/a?b=1&amp;c=2|the form>", "the form (https://example.com/a?b=1&c=2)"),
    ("<https://example.com|Tom &amp; Jerry>", "Tom & Jerry (https://example.com)"),
    ("<mailto:gus@example.com|gus@example.com>", "gus@example.com"),
    ("<mailto:gus@example.com>", "gus@example.com"),
    ("<tel:+34600111222|+34 600 111 222>", "+34 600 111 222"),
    ("<tel:+34600111222>", "+34600111222"),
    ("ask <@U0CAROL>", "ask @Carol"),
    ("<@W0DAVE> and <@U0CAROL>", "@Dave Ng and @Carol"),
    ("<@U0NOBODY>", "@U0NOBODY"),
    ("<@U0NOBODY|gus>", "@gus"),
    ("in <#C0123|general>", "in #general"),
    ("in <#C0123>", "in #C0123"),
    ("<!here> lunch", "@here lunch"),
    ("<!channel>", "@channel"),
    ("<!everyone>", "@everyone"),
    ("<!here|here>", "@here"),
    ("<!subteam^S0123|@support-team> please", "@support-team please"),
    ("<!date^1700000000^{date_short}|Nov 14, 2023> works", "Nov 14, 2023 works"),
    ("a < b", "a < b"),  # never sent by Slack, but not markup: kept
    ("", ""),
]


@pytest.mark.parametrize(("sent", "seen"), DECODED)
def test_slack_markup_reads_as_its_writer_saw_it(sent: str, seen: str) -> None:
    assert decode(sent, NAMES) == seen


# Plain text → what Slack must be sent to show it as typed (and ping nobody).
ENCODED = [
    ("Tom & Jerry <3", "Tom &amp; Jerry &lt;3"),
    ("<!channel> hello", "&lt;!channel&gt; hello"),
    ("<@U0CAROL>", "&lt;@U0CAROL&gt;"),
    ("&amp; as typed", "&amp;amp; as typed"),
    ("nothing to do", "nothing to do"),
]


@pytest.mark.parametrize(("typed", "sent"), ENCODED)
def test_plain_text_is_escaped_for_slack(typed: str, sent: str) -> None:
    assert encode(typed) == sent


@pytest.mark.parametrize("typed", [typed for typed, _ in ENCODED] + ["<https://x.y|z> & co"])
def test_encoded_text_reads_back_as_typed(typed: str) -> None:
    assert decode(encode(typed)) == typed


def test_the_users_a_text_mentions_are_named_once_in_order() -> None:
    text = "<@W0DAVE> <@U0CAROL|carol> <@W0DAVE> <#C0123|general> <!here>"
    assert mentioned(text) == ["W0DAVE", "U0CAROL"]
