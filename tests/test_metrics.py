"""`/metrics` scraped over HTTP after a real journey: the numbers an operator graphs."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.harness import event, running, write_config
from tests.support.process import free_port
from tests.support.receiver import Receiver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(session: aiohttp.ClientSession, url: str) -> Samples:
    async with session.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_a_route_by_team_journey_in_numbers(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    async with running(config) as fd:
        await fd.say("c-1", "Hello", name="Ana")
        await fd.say("c-1", option="sales")
        await fd.set_status("carol", "offline")  # dave is away: nobody left in support
        await fd.say("c-2", "hi")
        again = event("c-2", "support")
        assert (await fd.post(again))[0] == 200
        assert await fd.post(again) == (200, {"status": "duplicate"})
        assert (await fd.post(event("c-3", "hi"), secret="not-the-secret"))[0] == 401
        await fd.frontdesk.runtime.idle()
        await receiver.wait_for_texts("c-2", 3)
        await fd.outbox_when("c-2", lambda rows: all(r.status == "sent" for r in rows))
        fd.clock.advance(90)

        m = await scrape(fd.session, fd.url)

    inbound = "frontdesk_inbound_events_total"
    assert value(m, inbound, channel="webhook", outcome="accepted") == 4
    assert value(m, inbound, channel="webhook", outcome="duplicate") == 1
    assert value(m, inbound, channel="webhook", outcome="refused_401") == 1
    # Every 2xx answer is timed: the four accepted and the duplicate.
    assert value(m, "frontdesk_inbound_ack_seconds_count", channel="webhook") == 5

    steps = "frontdesk_steps_total"
    assert value(m, steps, workflow="route-by-team", step_type="send_message") == 4
    assert value(m, steps, workflow="route-by-team", step_type="ask_question") == 2
    assert value(m, steps, workflow="route-by-team", step_type="assign") == 2
    assignments = "frontdesk_assignments_total"
    assert value(m, assignments, team="sales", strategy="round_robin", by="workflow") == 1
    assert value(m, "frontdesk_queued_total", team="support") == 1
    assert value(m, "frontdesk_conversations_opened_total", channel="webhook") == 2

    # c-1: welcome, question, who helps; c-2: welcome, question, support is away.
    assert value(m, "frontdesk_deliveries_total", channel="webhook", outcome="sent") == 6
    assert value(m, "frontdesk_delivery_seconds_count", channel="webhook") == 6

    assert value(m, "frontdesk_queue_depth", team="support") == 1
    assert value(m, "frontdesk_queue_depth", team="sales") is None
    assert value(m, "frontdesk_queue_oldest_seconds", team="support") == 90
    assert value(m, "frontdesk_agents", status="online") == 2
    assert value(m, "frontdesk_agents", status="away") == 1
    assert value(m, "frontdesk_agents", status="offline") == 1
    assert value(m, "frontdesk_agent_status_changes_total", status="offline") == 1
    assert value(m, "frontdesk_open_conversations", channel="webhook") == 2


async def test_the_outbox_backlog_and_retries(tmp_path: Path, receiver: Receiver) -> None:
    workflow = """
        name: hello
        trigger: conversation_opened
        steps:
          - {id: one, type: send_message, text: one}
          - {id: two, type: send_message, text: two}
    """
    receiver.script = [503]
    config = write_config(tmp_path, receiver.url, {"hello": workflow})
    async with running(config) as fd:
        await fd.say("c-1", "hi")
        await fd.outbox_when("c-1", lambda rows: rows[0].attempts == 1)

        waiting = await scrape(fd.session, fd.url)
        fd.clock.advance(1)  # the cached workload is read again
        await fd.advance(60)
        await fd.outbox_when("c-1", lambda rows: all(r.status == "sent" for r in rows))
        fd.clock.advance(1)
        done = await scrape(fd.session, fd.url)

    backlog = "frontdesk_outbox_backlog"
    assert value(waiting, backlog, channel="webhook", lane="customer") == 2
    assert value(waiting, "frontdesk_deliveries_total", channel="webhook", outcome="retry") == 1
    assert value(done, backlog, channel="webhook", lane="customer") is None
    assert value(done, "frontdesk_deliveries_total", channel="webhook", outcome="sent") == 2


async def test_on_a_port_of_their_own_the_main_server_does_not_answer(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    port = free_port()
    extra = f"metrics: {{host: 127.0.0.1, port: {port}}}"
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team}, extra=extra)
    async with running(config) as fd:
        await fd.say("c-1", "Hello")
        async with fd.session.get(f"{fd.url}/metrics") as response:
            assert response.status == 404

        m = await scrape(fd.session, f"http://127.0.0.1:{port}")

        assert (
            value(m, "frontdesk_inbound_events_total", channel="webhook", outcome="accepted") == 1
        )


async def test_metrics_can_be_turned_off(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    extra = "metrics: {enabled: false}"
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team}, extra=extra)
    async with running(config) as fd, fd.session.get(f"{fd.url}/metrics") as response:
        assert response.status == 404
