"""What happened, told to the operator: one log line per domain event, and the metrics.

The runtime hands every accepted event, committed turn, delivery and agent status change to
one `Reporter`; the turn's domain events (see `events`) say what the turn did, so the steps
themselves never log or count. Each line carries `conversation_id`, `channel` and
`contact_key` as fields (see `logs`), so one conversation's story is one filter away.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

from core.agents import Agent
from core.events import (
    ConversationAccepted,
    ConversationAssigned,
    ConversationClosed,
    ConversationOpened,
    ConversationQueued,
    ConversationUnassigned,
    DomainEvent,
    RequestCompleted,
    StepRan,
)
from core.keys import ConversationKey
from core.metrics import Metrics
from core.models import Inbound, Outbound
from core.turn import TurnReport

log = logging.getLogger("frontdesk.events")
delivery_log = logging.getLogger("frontdesk.outbox")


class DeliveryResult(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    DEFERRED = "deferred"
    FAILED = "failed"  # the channel said it can never be delivered
    GIVEN_UP = "given_up"  # it failed `max_attempts` times


class Reporter:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else Metrics()

    def inbound(self, event: Inbound, inbound_id: int | None) -> None:
        """An event was stored (`inbound_id`), or was a duplicate (None)."""
        outcome = "duplicate" if inbound_id is None else "accepted"
        self.metrics.of(self.metrics.inbound, event.channel, outcome).inc()
        if not log.isEnabledFor(logging.INFO):  # every event comes here: no fields for nobody
            return
        fields = {"channel": event.channel, "contact_key": str(event.conversation_key)}
        if inbound_id is None:
            log.info("duplicate event acknowledged, not processed again", extra=fields)
            return
        log.info("event accepted", extra={**fields, "inbound_id": inbound_id})

    def refused(self, channel: str, status: int) -> None:
        """A channel answered a platform request with an error status."""
        self.metrics.of(self.metrics.inbound, channel, f"refused_{status}").inc()

    def acknowledged(self, channel: str, seconds: float) -> None:
        self.metrics.of(self.metrics.inbound_ack, channel).observe(seconds)

    def turn(self, report: TurnReport) -> None:
        if not log.isEnabledFor(logging.INFO):
            for event in report.events:
                self._event(report.channel, event)  # counted all the same
            return
        where = {
            "conversation_id": report.conversation_id,
            "channel": report.channel,
            "contact_key": str(report.conversation_key or ""),
        }
        for event in report.events:
            message, fields = self._event(report.channel, event)
            log.info(message, extra={**where, **fields})

    def _event(self, channel: str, event: DomainEvent) -> tuple[str, dict[str, Any]]:
        m = self.metrics
        match event:
            case ConversationOpened():
                m.of(m.opened, channel).inc()
                return "conversation opened", {}
            case StepRan(workflow=workflow, step_id=step_id, step_type=step_type):
                m.of(m.steps, workflow, step_type).inc()
                fields = {"workflow": workflow, "step_id": step_id, "step_type": step_type}
                return f"step {step_id} ({step_type}) ran", fields
            case ConversationAssigned():
                team, strategy = event.team or "", event.strategy or ""
                m.of(m.assignments, team, strategy, event.by.value).inc()
                how = ", ".join(p for p in (event.team, event.by.value, event.strategy) if p)
                who: dict[str, Any] = {
                    "agent": event.agent_id,
                    "team": event.team,
                    "by": event.by.value,
                    "strategy": event.strategy,
                    "previous": event.previous,
                }
                return f"assigned to {event.agent_id} ({how})", who
            case ConversationAccepted(agent_id=agent):
                return f"accepted by {agent}", {"agent": agent}
            case ConversationUnassigned(agent_id=agent, by=by):
                return f"unassigned from {agent} ({by})", {"agent": agent, "by": by}
            case ConversationQueued(team=team, agent=agent):
                if agent is not None:
                    m.of(m.queued_for_agent, agent).inc()
                    return f"queued for agent {agent}", {"team": team, "agent": agent}
                m.of(m.queued, team).inc()
                return f"queued for team {team}", {"team": team}
            case ConversationClosed(by=by):
                m.of(m.closed, channel).inc()
                return f"conversation closed ({by})", {"by": by}
            case RequestCompleted():
                call: dict[str, Any] = {
                    "step_id": event.step_id,
                    "method": event.method,
                    "url": event.url,
                    "status": event.status,
                    "outcome": event.outcome.value,
                }
                return f"request {event.step_id} {event.outcome.value}", call
            case _:
                assert_never(event)

    def delivery(
        self,
        message: Outbound,
        result: DeliveryResult,
        *,
        attempts: int = 0,
        error: str | None = None,
        wait: float | None = None,
        created_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """A delivery attempt's outcome; `wait`: seconds until the next attempt."""
        m = self.metrics
        m.of(m.deliveries, message.channel, result.value).inc()
        fields: dict[str, Any] = {
            "conversation_id": message.conversation_id,
            "channel": message.channel,
            "message_id": message.message_id,
        }
        if message.notice is None:
            fields["contact_key"] = str(ConversationKey(message.channel, message.recipient))
        match result:
            case DeliveryResult.SENT:
                if created_at is not None and now is not None:
                    latency = max(0.0, (now - created_at).total_seconds())
                    m.of(m.delivery_latency, message.channel).observe(latency)
                delivery_log.debug("delivered", extra=fields)
            case DeliveryResult.DEFERRED:
                # Routine under load (the channel's own rate limit), so debug only.
                delivery_log.debug(f"delivery deferred {wait or 0:.3f}s", extra=fields)
            case DeliveryResult.RETRY:
                delivery_log.info(
                    f"delivery failed, retry in {wait or 0:.1f}s: {error}",
                    extra={**fields, "attempts": attempts, "error": error},
                )
            case DeliveryResult.FAILED | DeliveryResult.GIVEN_UP:
                why = "undeliverable" if result == DeliveryResult.FAILED else "given up"
                delivery_log.warning(
                    f"delivery failed for good ({why}) after {attempts} attempts: {error}",
                    extra={**fields, "attempts": attempts, "error": error},
                )
            case _:
                assert_never(result)

    def agent_status(self, agent: Agent, why: str | None = None) -> None:
        self.metrics.of(self.metrics.agent_status, agent.status.value).inc()
        reason = f": {why}" if why else ""
        log.info(
            f"agent {agent.id} is {agent.status.value}{reason}",
            extra={"agent": agent.id, "status": agent.status.value},
        )
