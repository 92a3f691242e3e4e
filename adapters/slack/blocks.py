"""What frontdesk shows in Slack, as Block Kit: pure functions of our models, no I/O.

Everything a customer or a workflow wrote is escaped before it goes into mrkdwn, so that
`<@U123>` or `<!channel>` in a message is shown as typed and never pings anyone.
https://api.slack.com/reference/surfaces/formatting#escaping

Blocks are built with slack_sdk's models and returned as dicts; `to_dict()` checks Block
Kit's limits, so a rendering that Slack would refuse fails here, not on the wire.
https://api.slack.com/reference/block-kit/blocks
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters.slack.markup import ESCAPES, decode
from adapters.slack.markup import encode as escape
from core.agents import AgentStatus
from core.models import (
    ContactCard,
    DeskActionKind,
    Direction,
    Notice,
    NoticeKind,
    Option,
    RecentMessage,
)

BlockDict = dict[str, Any]

# Block Kit's limits (see the module docstring's link).
SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
SECTION_FIELDS_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
BUTTONS_PER_ACTIONS_BLOCK = 25
MAX_BLOCKS = 50
# Slack truncates a message's top-level text beyond this.
# https://api.slack.com/methods/chat.postMessage#truncating
TEXT_LIMIT = 40_000

# How much of a contact's data a notice shows: enough to pick the conversation up.
MAX_ANSWERS = 10
ANSWER_VALUE_LIMIT = 200
RECENT_TEXT_LIMIT = 300
FALLBACK_LIMIT = 300

ELLIPSIS = "…"

ACCEPT = "fd_accept"
REASSIGN = "fd_reassign"
CLOSE = "fd_close"
OPTION_PREFIX = "fd_option_"
STATUS_ONLINE = "fd_status_online"
STATUS_AWAY = "fd_status_away"
HAND_BACK = "fd_hand_back"


def mrkdwn(text: str, limit: int) -> str:
    """`text` escaped, and cut with an ellipsis so that the escaped form fits `limit`
    characters (never inside an escape)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return escape(_prefix(text, limit - len(ELLIPSIS))) + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """Plain text (no escaping) of at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def handoff(notice: Notice) -> tuple[str, list[BlockDict]]:
    """The handoff notice: who the contact is, what they said, and the agent's buttons."""
    return _fallback(notice), [*_card(notice), *_buttons(notice)]


def outcome(notice: Notice) -> tuple[str, list[BlockDict]]:
    """The handoff notice after someone acted on it: the same card, the buttons that still
    apply (`notice.actions`), and what happened (`notice.text`, such as "Accepted by
    Carol"), with the time shown in each reader's own time zone."""
    blocks = [*_card(notice), *_buttons(notice)]
    text = _fallback(notice)
    if notice.text:
        when = int(notice.at.timestamp())
        fallback = notice.at.strftime("%Y-%m-%d %H:%M UTC")
        line = (
            f"{mrkdwn(notice.text, FIELD_TEXT_LIMIT - 100)}"
            f" · <!date^{when}^{{date_short_pretty}} {{time}}|{fallback}>"
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]).to_dict())
        text = f"{text}: {mrkdwn(notice.text, FALLBACK_LIMIT)}"
    return text, blocks


def relay(notice: Notice) -> str:
    """The customer's words (MESSAGE) for the handoff notice's thread, attributed to them;
    or, for any other notice, its line as it is (escaped)."""
    if notice.kind == NoticeKind.MESSAGE:
        name = _contact_name(notice.contact) or "Customer"
        prefix = f"*{mrkdwn(name, 100)}*: "
        return prefix + mrkdwn(notice.text or "", TEXT_LIMIT - len(prefix))
    if notice.kind == NoticeKind.UNDELIVERED:
        prefix = ":warning: "
        return prefix + mrkdwn(notice.text or "", TEXT_LIMIT - len(prefix))
    return mrkdwn(notice.text or "", TEXT_LIMIT)


def customer_message(text: str, options: Sequence[Option]) -> tuple[str, list[BlockDict] | None]:
    """A workflow's message to a customer on Slack: mrkdwn text, and with options, the
    text in sections and one button per option (its action_id carries the index, its value
    the option id)."""
    if not options:
        return mrkdwn(text, TEXT_LIMIT), None
    buttons = [
        ButtonElement(
            text=PlainTextObject(text=shorten(option.label, BUTTON_TEXT_LIMIT)),
            action_id=f"{OPTION_PREFIX}{index}",
            value=option.id,
        )
        for index, option in enumerate(options)
    ]
    rows = [
        ActionsBlock(elements=buttons[start : start + BUTTONS_PER_ACTIONS_BLOCK])
        for start in range(0, len(buttons), BUTTONS_PER_ACTIONS_BLOCK)
    ]
    room = MAX_BLOCKS - len(rows)
    parts = _split(text, SECTION_TEXT_LIMIT)
    if len(parts) > room:  # over 140,000 characters: what fits, then the buttons
        parts = [*parts[: room - 1], ELLIPSIS]
    sections: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=part)) for part in parts if part.strip()
    ]
    blocks = [block.to_dict() for block in [*sections, *rows]]
    return mrkdwn(text, TEXT_LIMIT), blocks


def chosen(question: str, label: str) -> list[BlockDict]:
    """A customer's question once answered by a button: its text (as Slack sent it back to
    us, in Slack's markup) and the choice, without the buttons."""
    plain = decode(question)
    parts = [part for part in _split(plain, SECTION_TEXT_LIMIT) if part.strip()]
    rendered: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=part)) for part in parts[: MAX_BLOCKS - 1]
    ]
    if label:
        choice = MarkdownTextObject(text=f"✔ {mrkdwn(label, FIELD_TEXT_LIMIT)}")
        rendered.append(ContextBlock(elements=[choice]))
    return [block.to_dict() for block in rendered]


def home(agent_name: str, status: str, open_count: int) -> dict[str, Any]:
    """The agent's App Home tab (views.publish): their status ("online", "away", ...), the
    buttons to set it, and while not online with conversations open, the hand-back offer."""
    summary = (
        f"Hi {mrkdwn(agent_name, 100)}, you are *{escape(status)}*.\n"
        f"You have {conversations(open_count)} open."
    )
    buttons = [
        _status_button("Online", STATUS_ONLINE, AgentStatus.ONLINE, status),
        _status_button("Away", STATUS_AWAY, AgentStatus.AWAY, status),
    ]
    if status != AgentStatus.ONLINE and open_count:
        buttons.append(_hand_back_button())
    view = View(
        type="home",
        blocks=[
            HeaderBlock(text=PlainTextObject(text="frontdesk")),
            SectionBlock(text=MarkdownTextObject(text=summary)),
            ActionsBlock(elements=buttons),
        ],
    )
    rendered: dict[str, Any] = view.to_dict()
    return rendered


def _hand_back_button() -> ButtonElement:
    return ButtonElement(text="Hand them back", action_id=HAND_BACK, value="hand_back")


def hand_back_offer(status: str, open_count: int) -> list[BlockDict]:
    """Told to an agent who goes away with conversations still open: a button that hands
    them back to their teams (action_id `fd_hand_back`)."""
    text = (
        f"You are *{escape(status)}* and still have {conversations(open_count)} open."
        " Hand them back to your teams?"
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(elements=[_hand_back_button()]),
    ]
    return [block.to_dict() for block in blocks]


def conversations(count: int) -> str:
    """ "1 conversation", "2 conversations"."""
    return f"{count} conversation" if count == 1 else f"{count} conversations"


def button_value(notice: Notice) -> str:
    """What the notice's buttons carry back: the conversation and the handoff acted on."""
    return json.dumps({"c": notice.conversation_id, "h": notice.handoff_id}, separators=(",", ":"))


def acted_on(value: object) -> tuple[str, str] | None:
    """The conversation and the handoff a notice button's value names (see `button_value`);
    None for a value frontdesk did not write."""
    try:
        found = json.loads(str(value))
        return str(found["c"]), str(found["h"])
    except (ValueError, KeyError, TypeError):
        return None


def _status_button(label: str, action_id: str, status: AgentStatus, current: str) -> ButtonElement:
    # The current status is the highlighted one.
    style = "primary" if status == current else None
    return ButtonElement(
        text=PlainTextObject(text=label), action_id=action_id, value=status.value, style=style
    )


def _card(notice: Notice) -> list[BlockDict]:
    title = f"*New conversation for {_assignee(notice)}*"
    if notice.reason:
        title += f"\n{mrkdwn(notice.reason, 500)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=title))]
    fields = _fields(notice)
    if fields:
        blocks.append(SectionBlock(fields=fields))
    if notice.answers:
        lines = [
            f"• *{mrkdwn(str(key), 100)}*: {mrkdwn(_answer(value), ANSWER_VALUE_LIMIT)}"
            for key, value in list(notice.answers.items())[:MAX_ANSWERS]
        ]
        blocks.append(_section("*Answers*", lines))
    if notice.recent:
        name = mrkdwn(_contact_name(notice.contact) or "Customer", 100)
        lines = [
            f"*{_writer(m, name)}*: " + mrkdwn(m.text, RECENT_TEXT_LIMIT) for m in notice.recent
        ]
        blocks.append(_section("*Recent messages*", lines))
    return [block.to_dict() for block in blocks]


def _writer(message: RecentMessage, customer: str) -> str:
    """Who wrote a recent message, escaped: the customer, an agent, or the workflow."""
    if message.direction == Direction.IN:
        return customer
    return mrkdwn(message.author, 100) if message.author else "frontdesk"


def _buttons(notice: Notice) -> list[BlockDict]:
    """The actions block with the buttons that still apply; none when none do."""
    value = button_value(notice)
    confirm = ConfirmObject(
        title="Close this conversation?",
        text="The conversation is closed and the customer is no longer handled.",
        confirm="Close",
        deny="Cancel",
        style="danger",
    )
    every = {
        DeskActionKind.ACCEPT: ButtonElement(
            text="Accept", action_id=ACCEPT, value=value, style="primary"
        ),
        DeskActionKind.REASSIGN: ButtonElement(text="Reassign", action_id=REASSIGN, value=value),
        DeskActionKind.CLOSE: ButtonElement(
            text="Close", action_id=CLOSE, value=value, style="danger", confirm=confirm
        ),
    }
    elements = [button for kind, button in every.items() if kind in notice.actions]
    if not elements:
        return []
    rendered: BlockDict = ActionsBlock(elements=elements).to_dict()
    return [rendered]


def _fields(notice: Notice) -> list[MarkdownTextObject]:
    contact = notice.contact
    pairs: list[tuple[str, str | None]] = []
    if contact is not None:
        pairs += [
            ("Contact", _contact_name(contact) or "unknown"),
            ("Channel", f"{_title(contact.channel_type)} ({contact.channel})"),
            ("Language", contact.language),
            ("Email", contact.email),
            ("Phone", contact.phone),
            ("Tags", ", ".join(contact.tags) or None),
        ]
    pairs.append(("Team", notice.team))
    return [
        MarkdownTextObject(text=f"*{label}*\n{mrkdwn(value, FIELD_TEXT_LIMIT - len(label) - 3)}")
        for label, value in pairs
        if value
    ][:SECTION_FIELDS_LIMIT]


def _section(title: str, lines: list[str]) -> SectionBlock:
    """A titled list, with as many whole lines as fit in one section."""
    text = title
    for line in lines:
        if len(text) + 1 + len(line) > SECTION_TEXT_LIMIT:
            break
        text += "\n" + line
    return SectionBlock(text=MarkdownTextObject(text=text))


def _assignee(notice: Notice) -> str:
    agent = notice.agent
    if agent is not None and notice.agent_address:
        return f"<@{notice.agent_address}>"  # a mention: the agent is notified
    if agent is not None:
        return mrkdwn(agent.name, 100)
    if notice.team:
        return f"team {mrkdwn(notice.team, 100)}"
    return "the desk"


def _fallback(notice: Notice) -> str:
    """The plain summary that notifications and screen readers show."""
    text = f"New conversation for {_assignee(notice)}"
    name = _contact_name(notice.contact)
    if name and notice.contact is not None:
        text += f": {mrkdwn(name, 100)} ({escape(_title(notice.contact.channel_type))})"
    return text


def _contact_name(contact: ContactCard | None) -> str | None:
    if contact is None:
        return None
    if contact.name and contact.username:
        return f"{contact.name} (@{contact.username})"
    if contact.username:
        return f"@{contact.username}"
    return contact.name


def _title(channel_type: str) -> str:
    return channel_type[:1].upper() + channel_type[1:]


def _answer(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of `text` whose escaped form fits `limit` characters."""
    size = 0
    for index, char in enumerate(text):
        size += len(ESCAPES.get(char, char))
        if size > limit:
            return text[:index]
    return text


def _split(text: str, limit: int) -> list[str]:
    """`text` escaped, in parts of at most `limit` characters, cut at a line break or a
    space where there is one in the second half of a part."""
    parts: list[str] = []
    rest = text
    while rest:
        head = _prefix(rest, limit)
        if len(head) < len(rest):
            cut = max(head.rfind("\n"), head.rfind(" "))
            if cut > len(head) // 2:
                head = head[: cut + 1]
        parts.append(escape(head))
        rest = rest[len(head) :]
    return parts
