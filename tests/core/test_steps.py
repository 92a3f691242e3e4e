"""Steps' own rules on a turn with no store: which translation a contact is sent, and what
update_contact changes on the contact."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.turns import contact, drive, program, start, turn

GREETING = """
- id: hi
  type: send_message
  text: Hello
  translations: {es: Hola, es-AR: Hola che, pt-BR: Olá}
"""

# (rule, the contact's language, what they are sent)
LANGUAGES: list[tuple[str, str | None, str]] = [
    ("no language: the text", None, "Hello"),
    ("a language with no translation: the text", "fr", "Hello"),
    ("the exact tag", "es-AR", "Hola che"),
    ("the primary language serves its regions", "es-MX", "Hola"),
    ("the primary language itself", "es", "Hola"),
    ("tags compare without case", "PT-br", "Olá"),
    ("a region alone is not its language", "pt", "Hello"),
]


@pytest.mark.parametrize(
    ("language", "sent"), [r[1:] for r in LANGUAGES], ids=[r[0] for r in LANGUAGES]
)
async def test_a_message_is_sent_in_the_contacts_language(language: str | None, sent: str) -> None:
    prog = program(GREETING)
    assert await drive(prog, start(prog, turn(who=contact(language=language)))) == [sent]


# (rule, the step's changes, the contact before, the contact's fields afterwards)
UPDATES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "set a profile field from a template",
        "set: {contact.name: '{{ vars.first }} {{ vars.last }}'}",
        {},
        {"name": "Ana Gil", "workflow_fields": ["name"]},
    ),
    (
        "set a custom field",
        "set: {contact.fields.plan: pro}",
        {"fields": {"seats": 3}},
        {"fields": {"seats": 3, "plan": "pro"}},
    ),
    (
        "a template that renders empty clears the field",
        "set: {contact.email: '{{ vars.nothing }}'}",
        {"email": "a@b.co", "workflow_fields": ["email"]},
        {"email": None, "workflow_fields": []},
    ),
    (
        "clear a custom field",
        "clear: [contact.fields.plan]",
        {"fields": {"plan": "pro", "seats": 3}},
        {"fields": {"seats": 3}},
    ),
    (
        "add tags once each, in order",
        "add_tags: [vip, new, vip2]",
        {"tags": ["new"]},
        {"tags": ["new", "vip", "vip2"]},
    ),
    ("remove a tag", "remove_tags: [new]", {"tags": ["vip", "new"]}, {"tags": ["vip"]}),
    ("remove a tag they lack", "remove_tags: [old]", {"tags": ["vip"]}, {"tags": ["vip"]}),
    (
        "a template that fails leaves the field and the rest goes on",
        "{set: {contact.name: '{{ vars.first + 1 }}'}, add_tags: [seen]}",
        {"name": "Lu"},
        {"name": "Lu", "tags": ["seen"]},
    ),
]


@pytest.mark.parametrize(
    ("change", "before", "after"), [r[1:] for r in UPDATES], ids=[r[0] for r in UPDATES]
)
async def test_update_contact(change: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    fields = change.strip("{}") if change.startswith("{") else change
    prog = program(f"- {{id: u, type: update_contact, {fields}}}")
    at = start(prog, turn(who=contact(**before)), vars={"first": "Ana", "last": "Gil"})
    await drive(prog, at)
    assert at.contact.model_dump(include=set(after)) == after
    # Saved only when something changed.
    assert at.contact_changed is (contact(**before).model_dump(include=set(after)) != after)


async def test_update_contact_that_changes_nothing_saves_nothing() -> None:
    prog = program("- {id: u, type: update_contact, add_tags: [vip]}")
    at = start(prog, turn(who=contact(tags=["vip"])))
    await drive(prog, at)
    assert at.contact_changed is False
