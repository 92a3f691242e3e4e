"""The conversation page: the CRM calls a workflow made, with their outcome, and the agents'
internal notes told apart from their replies."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.console.browser import browser
from tests.console.signing import ANA_TOKEN, client, sign_in
from tests.support.crm import Crm
from tests.support.harness import API_TOKEN, Running, records_of, running, write_config
from tests.support.receiver import Receiver
from tests.support.slack import DESK, recorded_notice, slack_desk

CONSOLE = f"console: {{users: {{ana: {ANA_TOKEN}}}}}"
LOOKUP = """
name: lookup
trigger: conversation_opened
steps:
  - id: crm
    type: http_request
    url: "{{ settings.crm_url }}/customers?email={{ contact.email }}&api_key=query-key-0042"
    headers: {Authorization: "Bearer header-key-0042"}
    timeout_seconds: 2
    save: {customer_type: "$.customerType"}
    on_success:
      - {id: found, type: send_message, text: "Hello {{ vars.customer_type }}"}
    on_failure:
      - {id: unknown, type: send_message, text: "Hello stranger"}
"""
DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
teams:
  support: {agents: [carol]}
"""
_LINE = re.compile(r'<li class="(line|stop) ([a-z]+)">(.*?)</li>', re.S)


def shown(page: str, block: str) -> list[tuple[str, str]]:
    """(kind, visible text) of every transcript line ("line") or path stop ("stop")."""
    found = []
    for what, kind, inner in _LINE.findall(page):
        if what == block:
            text = html.unescape(re.sub(r"<[^>]+>", " ", inner))
            found.append((kind, " ".join(text.split())))
    return found


async def page_of(desk: Running, contact: str) -> str:
    [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", contact)
    async with client() as http:
        await sign_in(http, desk.url)
        async with http.get(f"{desk.url}/console/conversations/{conversation.id}") as response:
            assert response.status == 200
            return await response.text()


@pytest.mark.parametrize(
    ("email", "outcome", "told"),
    [
        ("vip@example.com", "crm: GET {crm}/customers → success (HTTP 200)", "Hello VIP"),
        ("who@example.com", "crm: GET {crm}/customers → failure (HTTP 404)", "Hello stranger"),
    ],
    ids=["success", "failure"],
)
async def test_the_page_shows_each_crm_call_with_its_status(
    tmp_path: Path, receiver: Receiver, crm: Crm, email: str, outcome: str, told: str
) -> None:
    crm.types["vip@example.com"] = "VIP"
    extra = f'settings: {{crm_url: "{crm.url}"}}\n{CONSOLE}'
    config = write_config(tmp_path, receiver.url, {"lookup": LOOKUP}, extra=extra)
    async with running(config) as desk:
        await desk.say("c-1", "hi", email=email)
        assert await receiver.wait_for_texts("c-1", 1) == [told]
        page = await page_of(desk, "c-1")
        [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", "c-1")
        async with desk.session.get(
            f"{desk.url}/api/conversations/{conversation.id}",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response:
            assert response.status == 200
            shown_by_api = await response.json()
    path = shown(page, "stop")
    assert ("request", outcome.format(crm=crm.url)) in path
    # Where the call stands among the rest: before what its answer chose to say.
    kinds = [kind for kind, _ in path]
    assert kinds.index("request") < kinds.index("step")
    # Neither the query nor the headers reach the page: they may carry keys.
    assert "query-key-0042" not in page
    assert "header-key-0042" not in page
    # Kept with the conversation, as stored history, and shown by the API too.
    [call] = [e for e in shown_by_api["history"] if e["kind"] == "request"]
    assert call["outcome"] == ("success" if told == "Hello VIP" else "failure")
    assert call["status"] == (200 if told == "Hello VIP" else 404)
    assert call["url"] == f"{crm.url}/customers"


async def test_an_internal_note_is_shown_apart_from_replies_and_never_sent(
    tmp_path: Path, receiver: Receiver
) -> None:
    console_desk = slack_desk(tmp_path, receiver.url, DIRECTORY, desk=f"{DESK}\n{CONSOLE}")
    async with console_desk as (desk, api, slack):
        await desk.say("c-1", "Hello", name="Ana Lopez")
        await desk.say("c-1", "support")
        await receiver.wait_for_texts("c-1", 2)
        dm = api.dm_of("UCAROL")
        notice = await recorded_notice(api, dm, desk.frontdesk.runtime)

        status, _ = await slack.message("UCAROL", dm, "It ships today.", thread_ts=notice.ts)
        assert status == 200
        status, _ = await slack.message("UCAROL", dm, "// check stock", thread_ts=notice.ts)
        assert status == 200
        await desk.frontdesk.runtime.idle()
        texts = await receiver.wait_for_texts("c-1", 3)
        await desk.outbox_when("c-1", lambda rows: all(r.status == "sent" for r in rows))
        page = await page_of(desk, "c-1")
        async with browser() as b:
            [conversation] = await records_of(desk.frontdesk).conversations_of("webhook", "c-1")
            await b.open(f"{desk.url}/console/sign-in")
            await b.type("#token", ANA_TOKEN)
            await b.click("#sign-in button")
            await b.until_css("html[data-live-ready]")
            await b.open(f"{desk.url}/console/conversations/{conversation.id}")
            await b.until_text("#transcript .line.note", "check stock")
            await b.screenshot("conversation-note.png")

    assert texts[-1] == "It ships today."
    assert not any("check stock" in text for text in receiver.texts("c-1"))
    lines = [(kind, text[: text.rfind(" ")]) for kind, text in shown(page, "line")]  # no time
    assert ("agent", "agent · Carol It ships today.") in lines
    assert ("note", "note · Carol check stock") in lines
    assert {kind for kind, _ in lines} == {"customer", "bot", "agent", "note"}
    assert ("note", 'note by Carol: "check stock"') in shown(page, "stop")
