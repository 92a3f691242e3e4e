"""Question answer types, question timeouts, update_contact, language variants and the
branch operators, end to end over the webhook channel."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import records_of, running, write_config
from tests.support.receiver import Receiver

PROFILE = """
name: profile
trigger: conversation_opened
steps:
  - {id: email, type: ask_question, text: "Email?", answer: email, max_attempts: 2,
     on_failure: [{id: no_email, type: send_message, text: "Skipping the email."}]}
  - {id: phone, type: ask_question, text: "Phone?", answer: phone, default_region: ES}
  - {id: seats, type: ask_question, text: "Seats?", answer: number, min: 1, max: 500,
     save_to: vars.seats}
  - {id: start, type: ask_question, text: "Start date?", answer: date, date_format: "%d/%m/%Y",
     save_to: contact.fields.start}
  - {id: plan, type: ask_question, text: "Plan?", save_to: contact.tags}
  - id: sum
    type: send_message
    text: "{{ contact.email }} {{ contact.phone }} {{ contact.country }} {{ vars.seats }}
      {{ contact.fields.start }} {{ contact.tags | join(',') }}"
"""


async def test_answer_types_validate_and_save(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url, {"profile": PROFILE})
    async with running(config) as fd:
        await fd.say("p", "hi")
        for answer in [
            "not an email",
            " Ana@Example.COM ",
            "12345",
            "612 34 56 78",
            "lots",
            "0",
            "12,5",
            "2026-12-01",
            "01/12/2026",
            "gold",
        ]:
            await fd.say("p", answer)
        texts = await receiver.wait_for_texts("p", 11)
        assert texts == [
            "Email?",
            "That doesn't look like an email address. Please try again.",
            "Phone?",
            "That doesn't look like a phone number. Please include the country code.",
            "Seats?",
            "Please answer with a number.",
            "Please answer with a number.",
            "Start date?",
            "Please answer with a date.",
            "Plan?",
            "Ana@example.com +34612345678 ES 12.5 2026-12-01 gold",
        ]
        contact = await records_of(fd.frontdesk).contact_at("webhook", "p")
        assert contact is not None
        assert (contact.email, contact.phone, contact.country) == (
            "Ana@example.com",
            "+34612345678",
            "ES",
        )
        assert contact.fields == {"start": "2026-12-01"}
        assert contact.tags == ["gold"]


async def test_invalid_answers_then_the_failure_steps(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url, {"profile": PROFILE})
    async with running(config) as fd:
        await fd.say("f", "hi")
        await fd.say("f", "nope")
        await fd.say("f", "still nope")
        texts = await receiver.wait_for_texts("f", 4)
        assert texts[2:] == ["Skipping the email.", "Phone?"]
        contact = await records_of(fd.frontdesk).contact_at("webhook", "f")
        assert contact is not None
        assert contact.email is None


TIMEOUT = """
name: timeout
trigger: conversation_opened
steps:
  - id: ask
    type: ask_question
    text: "Sales or support?"
    answer: multiple_choice
    options: [{id: sales, label: Sales}, {id: support, label: Support}]
    save_to: vars.team
    timeout_seconds: 300
    on_timeout:
      - {id: late, type: send_message, text: "No answer; an agent will follow up."}
      - {id: give, type: assign, team: support}
  - {id: done, type: send_message, text: "Got {{ vars.team }}."}
"""


async def test_question_timeout_is_a_durable_timer(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url, {"timeout": TIMEOUT})
    async with running(config) as fd:
        await fd.say("slow", "hi")
        await fd.say("quick", "hi")
        await fd.say("quick", "2")
        await fd.advance(299)
        assert receiver.texts("slow") == ["Sales or support?"]
    # Restarted with the clock past the deadline: the stored timer fires.
    async with running(config, start=fd.clock.now()) as fd2:
        await fd2.advance(1)
        texts = await receiver.wait_for_texts("slow", 3)
        assert texts[1:] == ["No answer; an agent will follow up.", "Got ."]
        [conversation] = await records_of(fd2.frontdesk).conversations_of("webhook", "slow")
        assert conversation.assignee == "carol"
        # The answered question's timer was dropped with the answer.
        assert await receiver.wait_for_texts("quick", 2) == ["Sales or support?", "Got support."]
        assert await fd2.frontdesk.store.next_timer_due() is None


LANGUAGES = """
name: languages
trigger: conversation_opened
steps:
  - id: hello
    type: send_message
    text: "Hello!"
    translations: {es: "¡Hola!", pt-BR: "Olá!"}
  - id: tag
    type: update_contact
    set: {contact.fields.greeted: "yes", contact.name: "{{ contact.name | upper }}"}
    add_tags: [greeted]
    remove_tags: [new]
  - id: route
    type: branch
    branches:
      - conditions: [{field: contact.email, op: contains, value: "@acme."}]
        steps: [{id: acme, type: send_message, text: "acme"}]
      - conditions: [{field: contact.name, op: starts_with, value: "dr"}]
        steps: [{id: doctor, type: send_message, text: "doctor"}]
      - conditions: [{field: contact.language, op: is_one_of, value: [es, pt-BR]}]
        steps: [{id: iberian, type: send_message, text: "iberian"}]
      - conditions: [{field: contact.tags, op: equals, value: greeted}]
        steps: [{id: greeted, type: send_message, text: "greeted"}]
"""


async def test_language_variants_update_contact_and_operators(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, receiver.url, {"languages": LANGUAGES})
    async with running(config) as fd:
        await fd.say("es", "hola", language="es-MX")
        await fd.say("br", "oi", language="pt-BR", name="Dra. Lima")
        await fd.say("acme", "hi", email="bo@ACME.com")
        await fd.say("en", "hi", language="en")
        assert await receiver.wait_for_texts("es", 2) == ["¡Hola!", "iberian"]
        assert await receiver.wait_for_texts("br", 2) == ["Olá!", "doctor"]
        assert await receiver.wait_for_texts("acme", 2) == ["Hello!", "acme"]
        assert await receiver.wait_for_texts("en", 2) == ["Hello!", "greeted"]
        contact = await records_of(fd.frontdesk).contact_at("webhook", "br")
        assert contact is not None
        assert (contact.name, contact.fields, contact.tags) == (
            "DRA. LIMA",
            {"greeted": "yes"},
            ["greeted"],
        )


NUMBERS = """
name: numbers
trigger: conversation_opened
steps:
  - {id: seats, type: ask_question, text: "Seats?", answer: number, save_to: vars.seats}
  - id: size
    type: branch
    branches:
      - conditions: [{field: vars.seats, op: greater_than, value: 100}]
        steps: [{id: big, type: send_message, text: "big"}]
      - conditions: [{field: answer, op: less_than, value: 10}]
        steps: [{id: small, type: send_message, text: "small"}]
    else:
      - {id: medium, type: send_message, text: "medium"}
"""


async def test_number_comparisons(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url, {"numbers": NUMBERS})
    async with running(config) as fd:
        for contact, seats in [("a", "250"), ("b", "3"), ("c", "10")]:
            await fd.say(contact, "hi")
            await fd.say(contact, seats)
        assert (await receiver.wait_for_texts("a", 2))[1] == "big"
        assert (await receiver.wait_for_texts("b", 2))[1] == "small"
        assert (await receiver.wait_for_texts("c", 2))[1] == "medium"


async def test_option_labels_are_templates(tmp_path: Path, receiver: Receiver) -> None:
    workflow = """
name: labels
trigger: conversation_opened
steps:
  - id: who
    type: ask_question
    text: "Who are you?"
    answer: multiple_choice
    options:
      - {id: me, label: "{{ contact.name }}"}
      - {id: other, label: "Someone else"}
    save_to: vars.who
  - {id: said, type: send_message, text: "You chose {{ vars.who }}."}
"""
    config = write_config(tmp_path, receiver.url, {"labels": workflow})
    async with running(config) as fd:
        await fd.say("o", "hi", name="Ana")
        await receiver.wait_for_texts("o", 1)
        [question] = [m for m in receiver.messages if m["contact_id"] == "o"]
        assert question["options"] == [
            {"id": "me", "label": "Ana"},
            {"id": "other", "label": "Someone else"},
        ]
        await fd.say("o", "ana")  # typed as the customer saw it
        assert (await receiver.wait_for_texts("o", 2))[1] == "You chose me."
