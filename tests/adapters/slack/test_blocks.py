"""Block Kit rendering: what agents and customers see, escaped and within Slack's limits."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack import blocks
from core.agents import AgentStatus
from core.models import DeskActionKind, NoticeKind, Option
from tests.adapters.slack.fakes import notice


def _texts(rendered: list[dict[str, Any]]) -> str:
    return json.dumps(rendered, ensure_ascii=False)


def test_a_handoff_shows_the_contact_their_answers_and_three_buttons() -> None:
    text, rendered = blocks.handoff(notice())

    assert text == "New conversation for <@UCAROL>: Ana (@ana_g) (Telegram)"
    assert rendered[0]["text"]["text"] == "*New conversation for <@UCAROL>*\nby workflow support"
    fields = [f["text"] for f in rendered[1]["fields"]]
    assert fields == [
        "*Contact*\nAna (@ana_g)",
        "*Channel*\nTelegram (tg)",
        "*Language*\nes",
        "*Email*\nana@example.com",
        "*Team*\nsupport",
    ]
    assert rendered[2]["text"]["text"] == "*Answers*\n• *topic*: billing\n• *order*: 1234"
    assert rendered[3]["text"]["text"] == (
        "*Recent messages*\n*Ana (@ana_g)*: hi, my invoice is wrong\n*frontdesk*: Which team?"
    )
    actions = rendered[-1]
    assert actions["type"] == "actions"
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert list(buttons) == ["fd_accept", "fd_reassign", "fd_close"]
    assert {json.loads(b["value"])["c"] for b in buttons.values()} == {"conv-1"}
    assert buttons["fd_accept"]["value"] == '{"c":"conv-1","h":"h-1"}'
    assert buttons["fd_accept"]["style"] == "primary"
    assert buttons["fd_close"]["style"] == "danger"
    assert buttons["fd_close"]["confirm"]["confirm"]["text"] == "Close"


def test_a_handoff_without_a_slack_user_names_the_agent_escaped() -> None:
    agent = notice().agent
    assert agent is not None
    unlinked = agent.model_copy(update={"name": "Bob <admin>"})

    text, rendered = blocks.handoff(notice(agent=unlinked, agent_address=None, reason=None))

    assert rendered[0]["text"]["text"] == "*New conversation for Bob &lt;admin&gt;*"
    assert text.startswith("New conversation for Bob &lt;admin&gt;")


def test_user_text_never_becomes_a_mention_or_a_link() -> None:
    contact = notice().contact
    assert contact is not None
    sneaky = notice(
        contact=contact.model_copy(update={"name": "<!channel>", "username": None}),
        answers={"note": "ping <@U123> & <https://evil|click>"},
    )

    _, rendered = blocks.handoff(sneaky)
    line = blocks.relay(notice(NoticeKind.MESSAGE, contact=sneaky.contact, text="hi <@U123>"))

    dumped = _texts(rendered)
    assert "<@U123>" not in dumped
    assert "<!channel>" not in dumped
    assert "ping &lt;@U123&gt; &amp; &lt;https://evil|click&gt;" in dumped
    assert line == "*&lt;!channel&gt;*: hi &lt;@U123&gt;"


def test_long_answers_and_messages_are_shortened() -> None:
    answers = {f"q{i}": "x" * 500 for i in range(15)}

    _, rendered = blocks.handoff(notice(answers=answers))

    lines = rendered[2]["text"]["text"].split("\n")[1:]
    assert len(lines) == blocks.MAX_ANSWERS
    assert all(line.endswith("…") and len(line) < 250 for line in lines)


def test_an_outcome_is_the_card_without_buttons_and_with_what_happened() -> None:
    done = notice(NoticeKind.OUTCOME, text="Closed by Carol")

    text, rendered = blocks.outcome(done)
    _, original = blocks.handoff(done)

    assert [b["type"] for b in rendered] == ["section", "section", "section", "section", "context"]
    assert rendered[:-1] == original
    line = rendered[-1]["elements"][0]["text"]
    assert line.startswith("Closed by Carol · <!date^")
    assert line.endswith("|2024-05-06 12:00 UTC>")
    assert text.endswith(": Closed by Carol")


def test_an_outcome_keeps_the_buttons_that_still_apply() -> None:
    accepted = notice(
        NoticeKind.OUTCOME,
        text="Accepted by Carol",
        actions=[DeskActionKind.REASSIGN, DeskActionKind.CLOSE],
    )

    _, rendered = blocks.outcome(accepted)

    assert rendered[-2]["type"] == "actions"
    assert [e["action_id"] for e in rendered[-2]["elements"]] == ["fd_reassign", "fd_close"]


def test_a_line_for_an_agent_is_escaped_as_is() -> None:
    assert blocks.relay(notice(NoticeKind.REFUSED, text="Re-routed to <sales> & co")) == (
        "Re-routed to &lt;sales&gt; &amp; co"
    )


def test_a_customer_message_without_options_is_text_only() -> None:
    assert blocks.customer_message("5 < 6 & *yes*", []) == ("5 &lt; 6 &amp; *yes*", None)


def test_a_customer_message_with_options_has_a_button_per_option() -> None:
    options = [Option(id="sales", label="Sales"), Option(id="support", label="S" * 100)]

    text, rendered = blocks.customer_message("Which team?", options)

    assert text == "Which team?"
    assert rendered is not None
    assert rendered[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "Which team?"}}
    buttons = rendered[1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("fd_option_0", "sales"),
        ("fd_option_1", "support"),
    ]
    assert buttons[0]["text"]["text"] == "Sales"
    assert len(buttons[1]["text"]["text"]) == blocks.BUTTON_TEXT_LIMIT


def test_a_long_text_is_split_into_sections_that_fit_without_breaking_escapes() -> None:
    text = ("a&b " * 1000).strip()  # 3999 characters, 7999 once escaped

    _, rendered = blocks.customer_message(text, [Option(id="ok", label="OK")])

    assert rendered is not None
    sections = [b["text"]["text"] for b in rendered if b["type"] == "section"]
    assert len(sections) == 3
    assert all(len(s) <= blocks.SECTION_TEXT_LIMIT for s in sections)
    assert "".join(sections).replace("&amp;", "&") == text
    assert rendered[-1]["type"] == "actions"


def test_a_huge_text_keeps_to_fifty_blocks_and_keeps_the_buttons() -> None:
    options = [Option(id=f"o{i}", label=f"Option {i}") for i in range(30)]

    _, rendered = blocks.customer_message("word " * 40_000, options)

    assert rendered is not None
    assert len(rendered) == blocks.MAX_BLOCKS
    assert [b["type"] for b in rendered[-2:]] == ["actions", "actions"]
    assert sum(len(b["elements"]) for b in rendered[-2:]) == 30


def test_the_home_tab_shows_the_status_and_its_buttons() -> None:
    view = blocks.home("Carol", AgentStatus.AWAY, 1)

    assert view["type"] == "home"
    assert "you are *away*" in view["blocks"][1]["text"]["text"]
    assert "1 conversation open" in view["blocks"][1]["text"]["text"]
    buttons = view["blocks"][2]["elements"]
    assert [b["action_id"] for b in buttons[:2]] == ["fd_status_online", "fd_status_away"]
    assert [b.get("style") for b in buttons[:2]] == [None, "primary"]


def test_the_hand_back_offer_has_its_button() -> None:
    rendered = blocks.hand_back_offer("away", 2)

    assert "2 conversations open" in rendered[0]["text"]["text"]
    assert rendered[1]["elements"][0]["action_id"] == "fd_hand_back"


def test_an_answered_question_keeps_its_text_and_shows_the_choice_without_buttons() -> None:
    rendered = blocks.chosen("Sales or support? &lt;pick one&gt;", "Support <team>")

    assert [b["type"] for b in rendered] == ["section", "context"]
    assert rendered[0]["text"]["text"] == "Sales or support? &lt;pick one&gt;"  # not escaped twice
    assert rendered[1]["elements"][0]["text"] == "✔ Support &lt;team&gt;"


def test_the_home_tab_offers_to_hand_back_only_when_away_with_open_conversations() -> None:
    def action_ids(view: dict[str, Any]) -> list[str]:
        actions = next(b for b in view["blocks"] if b["type"] == "actions")
        return [e["action_id"] for e in actions["elements"]]

    assert action_ids(blocks.home("Carol", "away", 2)) == [
        "fd_status_online",
        "fd_status_away",
        "fd_hand_back",
    ]
    assert "fd_hand_back" not in action_ids(blocks.home("Carol", "away", 0))
    assert "fd_hand_back" not in action_ids(blocks.home("Carol", "online", 2))


def test_a_notice_buttons_value_names_what_was_acted_on() -> None:
    assert blocks.acted_on(blocks.button_value(notice())) == ("conv-1", "h-1")
    assert blocks.acted_on('{"c": "conv-1"}') is None
    assert blocks.acted_on("not json") is None
    assert blocks.acted_on(None) is None
