"""`SlackSender.send` through the real AsyncWebClient against the fake Web API."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.slack.outbound import SlackSender
from core.clock import ManualClock
from core.deliveries import Delivery, DeliveryOutcome
from core.models import DeskThread, NoticeKind, Option, Outbound
from core.pacing import SendLimiter
from tests.adapters.slack.conftest import make_client
from tests.adapters.slack.fake_web_api import FakeWebApi, serving
from tests.adapters.slack.fakes import SLUG, TEAM_CHANNEL, FakeDesk, notice

SENT = Delivery(outcome=DeliveryOutcome.SENT)
CUSTOMER = "UANA"


def customer_message(**changes: Any) -> Outbound:
    fields: dict[str, Any] = {
        "message_id": "m-1",
        "conversation_id": "conv-1",
        "channel": SLUG,
        "recipient": CUSTOMER,
        "text": "Which team?",
        **changes,
    }
    return Outbound.model_validate(fields)


def desk_message(kind: NoticeKind = NoticeKind.HANDOFF, **changes: Any) -> Outbound:
    return customer_message(
        message_id=f"d-{kind.value}", recipient="desk", text="", notice=notice(kind, **changes)
    )


async def test_a_customer_message_goes_to_their_dm_as_text(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    assert await sender.send(customer_message(text="a < b")) == SENT

    dm = web_api.dm_of(CUSTOMER)
    [posted] = web_api.in_channel(dm)
    assert (posted.text, posted.blocks) == ("a &lt; b", None)
    assert web_api.of("conversations.open")[0].params == {"users": CUSTOMER}


async def test_options_become_buttons_carrying_the_option_ids(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    options = [Option(id="sales", label="Sales"), Option(id="support", label="Support")]

    assert await sender.send(customer_message(options=options)) == SENT

    [posted] = web_api.messages
    assert posted.blocks is not None
    buttons = posted.blocks[-1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("fd_option_0", "sales"),
        ("fd_option_1", "support"),
    ]


async def test_the_dm_channel_is_opened_once(
    sender: SlackSender, web_api: FakeWebApi, clock: ManualClock
) -> None:
    await sender.send(customer_message())
    clock.advance(1)
    await sender.send(customer_message(message_id="m-2"))

    assert len(web_api.of("conversations.open")) == 1
    assert len(web_api.messages) == 2

    await sender.close()
    clock.advance(1)
    await sender.send(customer_message(message_id="m-3"))
    assert len(web_api.of("conversations.open")) == 2


async def test_a_handoff_goes_to_the_agent_and_the_team_channel_and_is_remembered(
    sender: SlackSender, web_api: FakeWebApi, desk: FakeDesk
) -> None:
    assert await sender.send(desk_message()) == SENT

    dm = web_api.dm_of("UCAROL")
    assert [m.channel for m in web_api.messages] == [dm, TEAM_CHANNEL]
    assert all(m.blocks and m.blocks[-1]["type"] == "actions" for m in web_api.messages)
    assert desk.threads == [
        DeskThread(
            desk=SLUG,
            place=m.channel,
            ts=m.ts,
            conversation_id="conv-1",
            handoff_id="h-1",
            agent_id="carol",
        )
        for m in web_api.messages
    ]


async def test_a_retry_after_a_partial_failure_posts_only_the_missing_target(
    sender: SlackSender, web_api: FakeWebApi, desk: FakeDesk, clock: ManualClock
) -> None:
    web_api.fail_channel(TEAM_CHANNEL, "fatal_error")

    first = await sender.send(desk_message())
    web_api.fail_channel(TEAM_CHANNEL, None)
    clock.advance(1)
    again = await sender.send(desk_message())

    assert (first.outcome, first.error) == (DeliveryOutcome.RETRY, "slack: fatal_error")
    assert again == SENT
    assert [m.channel for m in web_api.messages] == [web_api.dm_of("UCAROL"), TEAM_CHANNEL]
    assert len(desk.threads) == 2


async def test_a_post_the_store_could_not_record_is_saved_not_posted_again(
    sender: SlackSender, web_api: FakeWebApi, desk: FakeDesk
) -> None:
    desk.fail_saves = 1

    first = await sender.send(desk_message())
    again = await sender.send(desk_message())

    assert desk.saves == 3  # the failed save of the DM's post, then both saved
    assert first.outcome == DeliveryOutcome.RETRY
    assert again == SENT
    assert len(web_api.messages) == 2
    assert [t.place for t in desk.threads] == [web_api.dm_of("UCAROL"), TEAM_CHANNEL]


async def test_a_dead_target_fails_the_handoff_but_not_the_other_targets(
    sender: SlackSender, web_api: FakeWebApi, desk: FakeDesk
) -> None:
    web_api.fail_channel(TEAM_CHANNEL, "is_archived")

    delivery = await sender.send(desk_message())

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.error == f"channel {TEAM_CHANNEL}: slack: is_archived"
    assert [t.place for t in desk.threads] == [web_api.dm_of("UCAROL")]


async def test_a_handoff_without_targets_fails(sender: SlackSender, web_api: FakeWebApi) -> None:
    delivery = await sender.send(desk_message(targets=[]))

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.error == "no Slack user id or team channel to notify"
    assert web_api.calls == []


async def test_a_customer_message_goes_into_every_thread_of_the_handoff(
    sender: SlackSender, web_api: FakeWebApi, clock: ManualClock
) -> None:
    await sender.send(desk_message())
    clock.advance(1)

    delivery = await sender.send(desk_message(NoticeKind.MESSAGE, text="it is <urgent>"))

    assert delivery == SENT
    notices = web_api.messages[:2]
    for posted in notices:
        [reply] = web_api.in_thread(posted.channel, posted.ts)
        assert reply.text == "*Ana (@ana_g)*: it is &lt;urgent&gt;"


async def test_a_message_for_a_handoff_never_posted_fails(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    delivery = await sender.send(desk_message(NoticeKind.MESSAGE, text="hello?"))

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.error is not None
    assert "the handoff notice was never posted" in delivery.error
    assert web_api.calls == []


async def test_an_outcome_updates_the_notices_in_place_without_buttons(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    await sender.send(desk_message())

    done = desk_message(NoticeKind.OUTCOME, text="Accepted by Carol at 10:02 UTC")
    assert await sender.send(done) == SENT

    assert len(web_api.updates) == 2
    for posted in web_api.messages:
        assert posted.blocks is not None
        assert [b["type"] for b in posted.blocks][-1] == "context"
        assert all(b["type"] != "actions" for b in posted.blocks)
        assert posted.text is not None
        assert posted.text.endswith("Accepted by Carol at 10:02 UTC")


async def test_an_outcome_updates_the_other_posts_when_one_is_gone(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    await sender.send(desk_message())
    # Someone deleted the first post (the DM): the team channel's is still updated.
    web_api.fail_channel(web_api.dm_of("UCAROL"), "message_not_found")

    delivery = await sender.send(desk_message(NoticeKind.OUTCOME, text="Closed by Carol"))

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.error is not None
    assert "message_not_found" in delivery.error
    [updated] = web_api.updates
    assert updated.channel == TEAM_CHANNEL


async def test_a_refused_action_is_told_only_to_the_actor(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    refused = desk_message(
        NoticeKind.REFUSED, text="Already accepted by Carol", actor="UBOB", place="CSUPPORT"
    )

    assert await sender.send(refused) == SENT

    [ephemeral] = web_api.ephemerals
    assert (ephemeral.channel, ephemeral.user, ephemeral.text) == (
        "CSUPPORT",
        "UBOB",
        "Already accepted by Carol",
    )
    assert web_api.messages == []


async def test_429_is_a_retry_after_slacks_delay_and_pauses_every_channel(
    sender: SlackSender, web_api: FakeWebApi, clock: ManualClock
) -> None:
    web_api.rate_limit_next("chat.postMessage", retry_after=3)

    delivery = await sender.send(customer_message())
    clock.advance(2)
    paused = await sender.send(desk_message())

    assert delivery == Delivery(
        outcome=DeliveryOutcome.RETRY, error="slack: ratelimited", retry_after=3
    )
    assert paused.outcome == DeliveryOutcome.DEFER
    assert paused.retry_after == pytest.approx(1)
    assert len(web_api.of("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("error", "gone"),
    [("not_in_channel", False), ("channel_not_found", False), ("account_inactive", True)],
)
async def test_permanent_errors_fail_with_the_reason(
    sender: SlackSender, web_api: FakeWebApi, error: str, gone: bool
) -> None:
    web_api.fail_next("chat.postMessage", error)

    delivery = await sender.send(customer_message())

    assert delivery == Delivery(
        outcome=DeliveryOutcome.FAILED, error=f"slack: {error}", recipient_gone=gone
    )


async def test_an_inactive_agent_is_not_a_gone_customer(
    sender: SlackSender, web_api: FakeWebApi
) -> None:
    web_api.fail_next("chat.postMessage", "account_inactive", times=2)

    delivery = await sender.send(desk_message())

    assert delivery.outcome == DeliveryOutcome.FAILED
    assert delivery.recipient_gone is False


@pytest.mark.parametrize(("error", "status"), [("internal_error", 200), ("fatal_error", 503)])
async def test_other_errors_are_retried(
    sender: SlackSender, web_api: FakeWebApi, error: str, status: int
) -> None:
    web_api.fail_next("chat.postMessage", error, status=status)

    delivery = await sender.send(customer_message())

    assert delivery == Delivery(outcome=DeliveryOutcome.RETRY, error=f"slack: {error}")


async def test_a_wrong_token_fails(
    web_api: FakeWebApi, desk: FakeDesk, limiter: SendLimiter
) -> None:
    client = make_client(web_api.url)
    client.token = "xoxb-wrong"
    sender = SlackSender(client, desk, SLUG, limiter)

    delivery = await sender.send(customer_message())

    assert delivery == Delivery(outcome=DeliveryOutcome.FAILED, error="slack: invalid_auth")


async def test_no_server_is_a_retry(desk: FakeDesk, limiter: SendLimiter) -> None:
    async with serving() as gone:
        url = gone.url
    sender = SlackSender(make_client(url), desk, SLUG, limiter)

    delivery = await sender.send(customer_message())

    assert delivery.outcome == DeliveryOutcome.RETRY
    assert delivery.error is not None
    assert delivery.error.startswith("ClientConnectorError")


async def test_a_second_message_to_a_channel_within_a_second_is_deferred(
    sender: SlackSender, web_api: FakeWebApi, clock: ManualClock
) -> None:
    assert await sender.send(customer_message()) == SENT
    clock.advance(0.25)

    delivery = await sender.send(customer_message(message_id="m-2"))
    clock.advance(0.75)
    later = await sender.send(customer_message(message_id="m-2"))

    assert delivery == Delivery(outcome=DeliveryOutcome.DEFER, retry_after=0.75)
    assert later == SENT
    assert len(web_api.messages) == 2


async def test_a_deferred_relay_goes_on_where_it_stopped(
    sender: SlackSender, web_api: FakeWebApi, clock: ManualClock, limiter: SendLimiter
) -> None:
    await sender.send(desk_message())
    clock.advance(1)
    # The team channel just got another message: the relay's second post must wait.
    assert await limiter.acquire(TEAM_CHANNEL) == 0

    line = desk_message(NoticeKind.MESSAGE, text="hello")
    first = await sender.send(line)
    clock.advance(1)
    second = await sender.send(line)

    assert first.outcome == DeliveryOutcome.DEFER
    assert second == SENT
    replies = [m for m in web_api.messages if m.thread_ts is not None]
    assert [m.channel for m in replies] == [web_api.dm_of("UCAROL"), TEAM_CHANNEL]


async def test_a_refused_bot_token_is_a_failure_and_an_error_saying_what_to_do(
    sender: SlackSender, web_api: FakeWebApi, caplog: pytest.LogCaptureFixture
) -> None:
    web_api.token = "xoxb-the-token-slack-has-now"

    delivery = await sender.send(customer_message())

    assert delivery == Delivery(outcome=DeliveryOutcome.FAILED, error="slack: invalid_auth")
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith(f"slack {SLUG}: Slack refused the bot token")
    assert f"channels.{SLUG}.bot_token" in error.getMessage()
    assert error.__dict__["channel"] == SLUG
