"""One conversation key: a channel and a contact's external id, written `channel:id`
wherever it is stored or logged, exactly as before it had a type."""

from __future__ import annotations

import json

import pytest

from core.keys import ConversationKey
from core.models import ContactProfile, DeskAction, DeskActionKind, HttpCall, Inbound


def test_its_text_is_the_stored_form_and_reads_back() -> None:
    key = ConversationKey("telegram", "12345")
    assert str(key) == "telegram:12345"
    assert ConversationKey.parse("telegram:12345") == key
    # An external id may hold colons; a channel slug never does.
    assert ConversationKey.parse("webhook:crm:42") == ConversationKey("webhook", "crm:42")
    assert ConversationKey.parse("webhook:") == ConversationKey("webhook", "")


@pytest.mark.parametrize("text", ["no-colon", ":id", ""])
def test_text_that_is_not_a_key_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match=f"{text!r} is not a conversation key"):
        ConversationKey.parse(text)


def test_equal_keys_are_one_key_in_a_dict_and_cannot_change() -> None:
    a, b = ConversationKey("slack", "U1"), ConversationKey.parse("slack:U1")
    assert {a: 1, b: 2} == {a: 2}
    with pytest.raises(AttributeError):
        a.channel = "telegram"  # type: ignore[misc]


def test_an_event_is_keyed_by_its_contact_or_by_the_conversation_a_desk_action_names() -> None:
    message = Inbound(channel="webhook", event_id="e1", contact=ContactProfile(external_id="c-1"))
    assert message.conversation_key == ConversationKey("webhook", "c-1")
    action = DeskAction(
        kind=DeskActionKind.ACCEPT,
        conversation_id="v1",
        conversation_key=ConversationKey("telegram", "77"),
        actor="U9",
    )
    on_desk = Inbound(
        channel="slack", event_id="e2", contact=ContactProfile(external_id="U9"), action=action
    )
    assert on_desk.conversation_key == ConversationKey("telegram", "77")


def test_stored_events_and_runs_keep_their_json() -> None:
    # An event stored before the key had a type reads back, and is written the same way.
    stored = {
        "kind": "accept",
        "conversation_id": "v1",
        "customer_key": "telegram:77",
        "agent_id": None,
        "actor": "U9",
        "place": None,
        "handoff_id": None,
    }
    action = DeskAction.model_validate(stored)
    assert action.conversation_key == ConversationKey("telegram", "77")
    assert json.loads(action.model_dump_json()) == stored
    call = HttpCall.model_validate(
        {
            "request_id": "v1.5",
            "conversation_id": "v1",
            "key": "webhook:c-1",
            "method": "GET",
            "url": "http://127.0.0.1:9/",
            "timeout_seconds": 10,
            "max_response_bytes": 100,
        }
    )
    assert call.conversation_key == ConversationKey("webhook", "c-1")
    assert json.loads(call.model_dump_json())["key"] == "webhook:c-1"
    with pytest.raises(ValueError, match="is not a conversation key"):
        DeskAction.model_validate({**stored, "customer_key": "nocolon"})
