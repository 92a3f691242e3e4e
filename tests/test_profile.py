"""What channels say about a contact, against what a workflow saved: a channel's fields
follow its latest event; fields a workflow saved stay as it saved them. On Telegram (the
language_code of the sender) and on the webhook channel (the contact's email)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.models import Contact
from tests.adapters.telegram.fake_bot_api import FakeBotApi
from tests.adapters.telegram.fakes import USER, message_update
from tests.support.harness import Running, records_of, running, write_config
from tests.support.telegram import CHAT, write_telegram_config
from tests.test_telegram_journey import deliver

# The first answer is anything; then the workflow sets the language on purpose.
SETS_LANGUAGE = """
name: sets-language
trigger: conversation_opened
steps:
  - {id: first, type: ask_question, text: "How can we help?", answer: text}
  - {id: german, type: update_contact, set: {contact.language: de}}
  - {id: second, type: ask_question, text: "Anything else?", answer: text}
"""

# The email first comes from the channel; then the customer gives one in answer.
ASKS_EMAIL = """
name: asks-email
trigger: conversation_opened
steps:
  - {id: first, type: ask_question, text: "How can we help?", answer: text}
  - {id: email, type: ask_question, text: "Your email?", answer: email}
  - {id: last, type: ask_question, text: "Anything else?", answer: text}
"""


def speaking(language: str) -> dict[str, Any]:
    return {**USER, "language_code": language}


async def telegram_contact(fd: Running) -> Contact:
    contact = await records_of(fd.frontdesk).contact_at("telegram", CHAT)
    assert contact is not None
    return contact


async def test_telegrams_language_follows_the_latest_message_until_a_workflow_sets_it(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, SETS_LANGUAGE)
    async with running(config) as fd:
        await deliver(fd, message_update(1, sender=speaking("es"), text="hola"))
        assert (await telegram_contact(fd)).language == "es"

        # Their answer comes with English; then the workflow sets German on purpose.
        await deliver(fd, message_update(2, sender=speaking("en"), text="I need help"))
        contact = await telegram_contact(fd)
        assert (contact.language, contact.workflow_fields) == ("de", ["language"])

        # Telegram's language no longer overrides the workflow's.
        await deliver(fd, message_update(3, sender=speaking("fr"), text="merci"))
        assert (await telegram_contact(fd)).language == "de"


async def test_a_language_change_reaches_the_stored_contact(
    tmp_path: Path, bot_api: FakeBotApi, route_by_team: str
) -> None:
    config = write_telegram_config(tmp_path, bot_api.url, route_by_team)
    async with running(config) as fd:
        await deliver(fd, message_update(1, sender=speaking("es"), text="hola"))
        await deliver(fd, message_update(2, sender=speaking("pt-br"), text="Sales"))

        contact = await telegram_contact(fd)
        assert (contact.language, contact.workflow_fields) == ("pt-br", [])


async def test_the_webhooks_email_follows_the_latest_event_until_the_customer_gives_one(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", {"asks-email": ASKS_EMAIL})
    async with running(config) as fd:
        await fd.say("u1", "hi", email="old@example.com")
        await fd.say("u1", "help", email="new@example.com")
        contact = await records_of(fd.frontdesk).contact_at("webhook", "u1")
        assert contact is not None
        assert (contact.email, contact.workflow_fields) == ("new@example.com", [])

        # Asked, they give another address: that one is the workflow's and stays.
        await fd.say("u1", "Mine@Example.com ", email="new@example.com")
        await fd.say("u1", "no", email="other@example.com")
        contact = await records_of(fd.frontdesk).contact_at("webhook", "u1")
        assert contact is not None
        assert (contact.email, contact.workflow_fields) == ("Mine@example.com", ["email"])
