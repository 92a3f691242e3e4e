"""A real `frontdesk serve` with agents in Slack, killed with SIGKILL while the outcome of an
agent's action and their reply are still in the outbox: after the restart both arrive, once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import aiohttp

from tests.adapters.slack.fake_web_api import BOT_USER_ID, FakeWebApi, serving
from tests.support.harness import event, post_event
from tests.support.process import free_port, listen_on, until_healthy
from tests.support.process import serving as frontdesk_serving
from tests.support.receiver import Receiver
from tests.support.slack import SlackClient, buttons, handoff_notice, shown, slack_desk_config
from tests.support.waiting import until

DIRECTORY = """
agents:
  carol: {name: Carol, status: online, desk: {slack: UCAROL}}
teams:
  support: {agents: [carol]}
"""

# A delivery cut short by the kill is leased for 2 s; a retry waits at most 2 s, so what is due
# after the restart comes within the tests' bounds however many attempts the load allowed.
SHORT_LEASE = ("max_delay_seconds: 60, max_attempts: 5}", "max_delay_seconds: 2, lease_seconds: 2}")


def crash_config(tmp_path: Path, receiver: Receiver, api: FakeWebApi) -> Path:
    """Support agents in Slack; a delivery cut short by the kill is leased: it goes again once
    the lease is over."""
    config = slack_desk_config(tmp_path, receiver.url, api.url, DIRECTORY)
    config.write_text(config.read_text().replace(*SHORT_LEASE))
    return config


async def say(session: aiohttp.ClientSession, url: str, contact: str, text: str) -> None:
    status, _ = await post_event(session, url, event(contact, text, name="Ana"))
    assert status == 200


async def reply(slack: SlackClient, dm: str, thread_ts: str, text: str) -> None:
    """Carol answers in the notice's thread; sent again as Slack does while frontdesk answers
    503 (the notice is posted but not recorded yet)."""
    event_id = f"EvReply{thread_ts}"

    async def accepted() -> bool:
        status, _ = await slack.message(
            "UCAROL", dm, text, thread_ts=thread_ts, parent_user_id=BOT_USER_ID, event_id=event_id
        )
        assert status in (200, 503)
        return status == 200

    await until(accepted)


async def test_kill_with_an_accept_and_a_reply_still_to_deliver(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serving() as api:
        config = crash_config(tmp_path, receiver, api)
        url = listen_on(config, free_port())
        log = tmp_path / "frontdesk.log"
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"{url}/slack/events")
            async with frontdesk_serving(config, log) as process:
                await until_healthy(session, url)
                await say(session, url, "c-1", "Hello")
                await receiver.wait_for_texts("c-1", 1)
                await say(session, url, "c-1", "support")
                await receiver.wait_for_texts("c-1", 2)
                dm = api.dm_of("UCAROL")
                notice = await handoff_notice(api, dm)
                # Slack and the customer's system stop answering: what follows stays queued.
                api.fail_next("chat.update", "internal_error", times=1000)
                receiver.script = [503] * 1000
                value = buttons(notice.blocks)["fd_accept"]
                status, _ = await slack.press(
                    "UCAROL", "fd_accept", value, channel=dm, message_ts=notice.ts
                )
                assert status == 200
                await reply(slack, dm, notice.ts, "On it, Ana!")
                await until(lambda: len(api.of("chat.update")) >= 2)
                await receiver.wait_until(lambda r: len(r.attempts) >= 2)
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()

            api.clear_failures()
            receiver.script = []
            async with frontdesk_serving(config, log):
                await until_healthy(session, url)
                texts = await receiver.wait_for_texts("c-1", 3)
                assert texts[2] == "On it, Ana!"
                await until(lambda: "Accepted by Carol" in shown(notice.blocks))
    assert receiver.repeats == 0
    assert receiver.texts("c-1").count("On it, Ana!") == 1
    assert api.in_channel(dm) == [notice]  # one handoff notice, posted once
    assert "Traceback" not in log.read_text()


async def test_kill_while_slack_cannot_take_the_note_about_an_undelivered_reply(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serving() as api:
        config = crash_config(tmp_path, receiver, api)
        url = listen_on(config, free_port())
        log = tmp_path / "frontdesk.log"

        def notes() -> list[str]:
            return [
                m.text or ""
                for m in api.in_thread(dm, notice.ts)
                if "did not reach" in (m.text or "")
            ]

        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"{url}/slack/events")
            async with frontdesk_serving(config, log) as process:
                await until_healthy(session, url)
                await say(session, url, "c-1", "Hello")
                await say(session, url, "c-1", "support")
                await receiver.wait_for_texts("c-1", 2)
                dm = api.dm_of("UCAROL")
                notice = await handoff_notice(api, dm)
                # The customer's system refuses the reply; Slack cannot take the note about it.
                receiver.script = [403]
                api.fail_next("chat.postMessage", "internal_error", times=1000)
                await reply(slack, dm, notice.ts, "On it, Ana!")
                await until(
                    lambda: any(
                        "did not reach" in str(c.params.get("text"))
                        for c in api.of("chat.postMessage")
                    )
                )
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()

            api.clear_failures()
            async with frontdesk_serving(config, log):
                await until_healthy(session, url)
                [note] = await until(notes)
                assert "On it, Ana!" in note
                assert "HTTP 403" in note
    assert notes() == [note]  # told once
    assert receiver.texts("c-1")[2:] == []  # the refused reply was not tried again
    assert "Traceback" not in log.read_text()
