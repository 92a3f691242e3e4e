"""The Prometheus metrics: what is counted and measured, in a registry of each frontdesk's own.

Counters and histograms are updated as things happen (see `reporting`); the gauges of what is
open and waiting (queues, agents, outbox) are read from the store when scraped, in one query,
at most once a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from core.ports import Records, Waiting, Workload

M = TypeVar("M", bound=MetricWrapperBase)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WORKLOAD_TTL = timedelta(seconds=1)
# An inbound acknowledgement is a store commit: milliseconds; a delivery may wait for retries.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class WorkloadCollector(Collector):
    """The store's latest `Workload` as gauges; `refresh` reads it before a scrape."""

    def __init__(self) -> None:
        self._workload: Workload | None = None
        self._read_at: datetime | None = None

    async def refresh(self, records: Records, now: datetime) -> None:
        if self._read_at is not None and now - self._read_at < WORKLOAD_TTL:
            return
        self._workload = await records.workload()
        self._read_at = now

    def collect(self) -> Iterable[Metric]:
        if self._workload is None or self._read_at is None:
            return []
        w, now = self._workload, self._read_at

        def age(since: datetime | None) -> float:
            return 0.0 if since is None else max(0.0, (now - since).total_seconds())

        depth, oldest = _waits(
            ("frontdesk_queue_depth", "Open conversations waiting in a team's queue"),
            (
                "frontdesk_queue_oldest_seconds",
                "How long the longest-waiting conversation of a team's queue has waited",
            ),
            ["team"],
            [([team], waiting) for team, waiting in sorted(w.queues.items())],
            age,
        )
        # What waits for one agent alone (`assign agent:` while they are away) is theirs, team
        # or no team, and counted here rather than in a team's queue.
        agent_depth, agent_oldest = _waits(
            ("frontdesk_agent_queue_depth", "Open conversations waiting for one agent alone"),
            (
                "frontdesk_agent_queue_oldest_seconds",
                "How long the longest-waiting conversation of an agent's own queue has waited",
            ),
            ["agent"],
            [([agent_id], waiting) for agent_id, waiting in sorted(w.agent_queues.items())],
            age,
        )
        agents = GaugeMetricFamily("frontdesk_agents", "Agents by status", labels=["status"])
        for status, count in sorted(w.agents.items()):
            agents.add_metric([status.value], count)
        open_ = GaugeMetricFamily(
            "frontdesk_open_conversations", "Open conversations", labels=["channel"]
        )
        for channel, count in sorted(w.open_conversations.items()):
            open_.add_metric([channel], count)
        backlog, due = _waits(
            ("frontdesk_outbox_backlog", "Outbound messages not yet delivered"),
            (
                "frontdesk_outbox_oldest_due_seconds",
                "How long the most overdue outbound message has been due (0: none is overdue)",
            ),
            ["channel", "lane"],
            [([channel, lane], waiting) for (channel, lane), waiting in sorted(w.outbox.items())],
            age,
        )
        return [depth, oldest, agent_depth, agent_oldest, agents, open_, backlog, due]


def _waits(
    count: tuple[str, str],
    oldest: tuple[str, str],
    labels: list[str],
    rows: list[tuple[list[str], Waiting]],
    age: Callable[[datetime | None], float],
) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    """Two gauges (name, help) of what waits: how many, and how long the oldest has."""
    counted = GaugeMetricFamily(*count, labels=labels)
    aged = GaugeMetricFamily(*oldest, labels=labels)
    for values, waiting in rows:
        counted.add_metric(values, waiting.count)
        aged.add_metric(values, age(waiting.oldest))
    return counted, aged


class Metrics:
    """One frontdesk's metrics. Each instance has its own registry, so that several
    frontdesks in one process (tests, a host bot) never share a series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}
        r = self.registry
        self.inbound = Counter(
            "frontdesk_inbound_events",
            "Inbound platform events by outcome: accepted, duplicate, refused_<HTTP status>, or "
            "parked (accepted, then set aside after processing kept failing)",
            ["channel", "outcome"],
            registry=r,
        )
        self.inbound_ack = Histogram(
            "frontdesk_inbound_ack_seconds",
            "From a platform request's arrival to its 2xx answer",
            ["channel"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.steps = Counter(
            "frontdesk_steps", "Workflow steps run", ["workflow", "step_type"], registry=r
        )
        self.assignments = Counter(
            "frontdesk_assignments",
            "Conversations assigned, by team, strategy and how (workflow, queue, hand...)",
            ["team", "strategy", "by"],
            registry=r,
        )
        self.queued = Counter(
            "frontdesk_queued", "Conversations put in a team's queue", ["team"], registry=r
        )
        self.queued_for_agent = Counter(
            "frontdesk_queued_for_agent",
            "Conversations put in one agent's queue (waiting for that agent alone)",
            ["agent"],
            registry=r,
        )
        self.opened = Counter(
            "frontdesk_conversations_opened", "Conversations opened", ["channel"], registry=r
        )
        self.closed = Counter(
            "frontdesk_conversations_closed", "Conversations closed", ["channel"], registry=r
        )
        self.deliveries = Counter(
            "frontdesk_deliveries",
            "Delivery attempts by outcome: sent, retry, deferred, failed, given_up",
            ["channel", "outcome"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "frontdesk_delivery_seconds",
            "From a message's commit to the outbox until its channel took it",
            ["channel"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.agent_status = Counter(
            "frontdesk_agent_status_changes",
            "Agents' status changes, by the new status",
            ["status"],
            registry=r,
        )
        self.workload = WorkloadCollector()
        r.register(self.workload)

    def of(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)`, kept: `labels` checks its arguments and takes a lock on
        every call, and each message is counted several times."""
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child  # type: ignore[return-value]  # labels() of an M is an M

    async def exposition(self, records: Records | None, now: datetime) -> bytes:
        """The Prometheus text format of every metric, gauges read from `records` now (a
        store that cannot count its workload has none of these gauges)."""
        if records is not None:
            await self.workload.refresh(records, now)
        return generate_latest(self.registry)
