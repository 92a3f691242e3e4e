"""The running pieces put together: inbox, dispatcher, engine, timers and outbox.

An accepted event is stored first, then handed to the dispatcher under its conversation key.
On start, and every sweep interval, events and timers left in the store (by a crash, or by a
failed attempt) are handed over again, so nothing accepted is ever lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

import aiohttp

from core.addresses import DeskAddresses
from core.agents import Agent, AgentStatus
from core.backlog import REFILL, RETRY_AFTER_SECONDS, Backlog, Intake
from core.callouts import perform
from core.config import Config
from core.config_sections import AfterCrash, OutboxSettings
from core.desk import DeskRules
from core.desk_actions import HandAssignment
from core.dispatch import Dispatcher
from core.engine import Engine
from core.errors import Backlogged, StoreUnavailable, stored
from core.keys import ConversationKey
from core.loops import TIMER_BATCH, Sweep, TimerLoop, supervised
from core.models import (
    Conversation,
    DeskThread,
    HttpCall,
    HttpResult,
    Inbound,
    Outbound,
    StoredInbound,
    Timer,
)
from core.offers import Offer, QueueOffers
from core.outbox import OutboxWorker
from core.pacing import Pacing, SendLimits
from core.ports import Channel, Clock, Leadership, Store
from core.reporting import Reporter
from core.retention import RetentionSettings, RetentionSweep
from core.schedules import Schedule
from core.shared_pacing import deployment_pacing
from core.takeover import Takeover, TakeoverLoop, take_back
from core.tasks import TaskSet, settle
from core.turn import TurnReport
from core.workflow import Workflow

log = logging.getLogger("frontdesk.runtime")

T = TypeVar("T")

MAX_FAILURES = 3


@dataclass(frozen=True)
class EngineJob(Generic[T]):
    """Engine work a caller waits for (close, offer, assign by hand), run in the
    conversation's turn order."""

    conversation_key: ConversationKey
    work: Callable[[], Awaitable[T]]
    outcome: asyncio.Future[T]


Job = StoredInbound | Timer | EngineJob[Any] | HttpResult


class Runtime:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        workflows: list[Workflow],
        channels: Mapping[str, Channel],
        outbox: OutboxSettings,
        concurrency: int = 64,
        max_backlog: int = 10_000,
        on_turn: Callable[[TurnReport], None] | None = None,
        schedules: Mapping[str, Schedule] | None = None,
        settings: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        desk: DeskRules | None = None,
        addresses: DeskAddresses | None = None,
        away_outside: Mapping[str, str] | None = None,
        reporter: Reporter | None = None,
        retention: RetentionSettings | None = None,
        after_crash: Mapping[str, AfterCrash] | None = None,
    ) -> None:
        self.store = store
        self.reporter = reporter if reporter is not None else Reporter()
        self.clock = clock
        self.engine = Engine(
            store=store,
            clock=clock,
            workflows=workflows,
            on_commit=self._committed,
            schedules=schedules,
            settings=settings,
            secrets=secrets,
            desk=desk,
            addresses=addresses,
        )
        self._http: aiohttp.ClientSession | None = None
        self._calls = TaskSet()
        self._stopping = False
        self.outbox = OutboxWorker(
            store=store,
            channels=channels,
            clock=clock,
            settings=outbox,
            reporter=self.reporter,
            on_undelivered=self._undelivered,
        )
        self._intake = Intake()  # inbound events being stored: jobs start when none is
        self._dispatcher: Dispatcher[Job] = Dispatcher(self._handle, concurrency, self._intake.idle)
        self._queue_offers = QueueOffers(store=store, offer=self._offer, key_of=self._key_of)
        self.backlog = Backlog(max_backlog)  # stored events handed over, not processed yet
        self._refilling: asyncio.Task[None] | None = None  # reads back what waits in the store
        self._failures: dict[int, int] = {}  # inbound id → failed tries, for setting aside
        self.parked = 0  # events set aside since start
        # The engine is looked up at each turn, not bound here (tests replace its methods).
        self.timer_loop = TimerLoop(
            store=store,
            clock=clock,
            submit=self._submit,
            process=lambda timer: self.engine.process_timer(timer),
        )
        self._sweep = Sweep(
            store=store,
            clock=clock,
            reporter=self.reporter,
            recover=self.recover,
            agent_status_changed=self.agent_status_changed,
        )
        self._sweep.away_outside = dict(away_outside or {})
        self._sweep.schedules = dict(schedules or {})
        self._tasks = TaskSet()
        self.loops: dict[str, asyncio.Task[None]] = {}
        self._on_turn = on_turn
        self.retention = RetentionSweep(store, clock, retention) if retention is not None else None
        self._after_crash = dict(after_crash or {})

    # the Inbox port ---------------------------------------------------------------------

    async def accept(self, event: Inbound) -> bool:
        if self.backlog.full:
            raise Backlogged(RETRY_AFTER_SECONDS)
        received_at = self.clock.now()
        self._intake.enter()
        try:
            inbound_id = await stored(
                f"the inbox could not store the event of {event.conversation_key}",
                self.store.record_inbound(event, received_at),
            )
        finally:
            self._intake.leave()
        self.reporter.inbound(event, inbound_id)
        if inbound_id is None:
            return False
        # While stopping (a poller may still hand over an event), the event is stored but
        # not started: the sweep of the next start picks it up.
        if not self._stopping and self.backlog.arrived(inbound_id):
            item = StoredInbound(id=inbound_id, received_at=received_at, event=event)
            self._dispatcher.submit(event.conversation_key, item)
        return True

    async def room(self) -> None:
        await self.backlog.room()

    async def lead(self, job: str) -> bool:  # the Leadership port: alone, a process leads
        return not isinstance(self.store, Leadership) or await self.store.lead(job)

    def pacing(self, bot: str, limits: SendLimits) -> Pacing:  # the Pacers port
        return deployment_pacing(self.store, self.clock, bot, limits)

    async def load_cursor(self, name: str) -> str | None:
        return await stored(f"the cursor {name!r} could not be read", self.store.load_cursor(name))

    async def save_cursor(self, name: str, value: str) -> None:
        await stored(f"the cursor {name!r} could not be saved", self.store.save_cursor(name, value))

    # the Desk port ----------------------------------------------------------------------

    async def list_agents(self) -> list[Agent]:
        return await stored("the agents could not be read", self.store.list_agents())

    async def agent_at(self, desk: str, address: str) -> Agent | None:
        found = self.engine.addresses.agent_at(desk, address)
        return next((a for a in await self.list_agents() if a.id == found), None)

    async def set_agent_status(self, agent_id: str, status: AgentStatus) -> Agent | None:
        agent = await stored(
            f"the status of {agent_id} could not be saved",
            self.store.set_agent_status(agent_id, status),
        )
        if agent is not None:
            self.reporter.agent_status(agent)
            self.agent_status_changed(agent)
        return agent

    async def open_assigned(self, agent_id: str) -> list[Conversation]:
        return await stored(
            f"the conversations of {agent_id} could not be read",
            self.store.open_assigned(agent_id),
        )

    async def conversation_key(self, conversation_id: str) -> ConversationKey | None:
        return await stored(
            f"the conversation {conversation_id} could not be read",
            self._key_of_conversation(conversation_id),
        )

    async def save_thread(self, thread: DeskThread) -> None:
        await stored("the notice's thread could not be saved", self.store.save_thread(thread))

    async def threads_of(self, handoff_id: str) -> list[DeskThread]:
        return await stored(
            "the notice's threads could not be read", self.store.threads_of(handoff_id)
        )

    async def thread_at(self, desk: str, place: str, ts: str) -> DeskThread | None:
        return await stored(
            "the notice's thread could not be read", self.store.thread_at(desk, place, ts)
        )

    # lifecycle --------------------------------------------------------------------------

    async def take_back(self) -> None:
        """Take back what the previous process held when it stopped, before anything runs:
        its deliveries and HTTP requests under way are redone now, not when their leases
        would have run out; a delivery on an `after_crash: skip` channel is set uncertain."""
        await take_back(self.store, self.clock, self._after_crash)

    async def start(self) -> None:
        await self.engine.prepare()  # idempotent: a stored version is left as it is
        self._spawn("outbox", self.outbox.run)
        self._spawn("timers", self.timer_loop.run)
        self._spawn("sweep", self._sweep.run)
        if isinstance(self.store, Takeover):  # a dead replica's events, within seconds
            taker = TakeoverLoop(
                store=self.store, clock=self.clock, submit=self._take_over, wake=self._wake_work
            )
            self._spawn("takeover", taker.run)
        if self.retention is not None:
            self._spawn("retention", self.retention.run)

    async def reload(self, config: Config) -> None:
        """Take a reloaded config's workflows, schedules, settings, secrets and retention
        (see `core.reload`); runs under way stay on their workflow versions."""
        schedules, secrets = config.schedules, config.secret_values()
        await self.engine.reload(
            config.workflows, schedules=schedules, settings=config.settings, secrets=secrets
        )
        self.engine.addresses = config.addresses  # whom the next notices go to
        self._sweep.schedules, self._sweep.away_outside = schedules, config.away_outside
        if self.retention is not None:
            self.retention.settings = config.retention

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the turns and deliveries under way (for at most `grace` seconds each), then
        stop; whatever is cut short stays in the store and is picked up at the next start."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._dispatcher.join(), grace)
        except TimeoutError:
            log.warning("stopping with %d conversations still busy", self._dispatcher.busy)
        await self.outbox.stop(grace)
        # A request cut short: the run's safety-net timer makes it again after a restart.
        await self._calls.cancel()
        if self._http is not None:
            await self._http.close()
        await self._queue_offers.rounds.cancel()
        await self._tasks.cancel()
        await self._queue_offers.rounds.cancel()
        if self._refilling is not None:
            self._refilling.cancel()
            await asyncio.wait({self._refilling})
        await self._dispatcher.close()

    async def idle(self) -> None:
        """Wait until every event handed over so far has been processed, with the HTTP
        requests it made and their results, and the queues offered to agents it freed or
        brought online (tests, `chat`)."""
        while True:
            await self._dispatcher.join()
            if self._refilling is not None:
                await asyncio.wait({self._refilling})
            elif self.backlog.wants_refill:
                self._refill_soon()
                if self._refilling is None:  # stopping
                    return
            elif self._calls:
                await self._calls.join()
            elif self._queue_offers.rounds:
                await self._queue_offers.rounds.join()
            else:
                return

    async def settled(self) -> None:
        """Wait until every event handed over so far, and every queue offer it caused (an
        agent came online, a conversation closed), has been processed (`chat`, tests)."""
        await self.idle()
        while self._queue_offers.rounds:
            await self._queue_offers.rounds.join()
            await self.idle()

    async def fire_due_timers(self) -> int:
        """Hand over every due timer and wait for them (`frontdesk chat`, tests)."""
        due = await self.store.due_timers(self.clock.now(), TIMER_BATCH)
        for timer in due:
            self._submit(timer)
        await self.idle()
        return len(due)

    def _spawn(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self.loops[name] = supervised(self._tasks, name, loop)

    def _take_over(self, item: StoredInbound) -> None:
        if not self._stopping:  # else this replica's sign-off leaves it to the others
            self._submit(item)

    def _wake_work(self) -> None:
        self.outbox.wake()
        self.timer_loop.wake.set()

    # work -------------------------------------------------------------------------------

    def _submit(self, job: Job) -> None:
        if isinstance(job, EngineJob | HttpResult):
            self._dispatcher.submit(job.conversation_key, job)
        elif isinstance(job, StoredInbound):
            if self.backlog.take(job.id):
                self._dispatcher.submit(job.event.conversation_key, job)
        elif self.timer_loop.take(job):
            self._dispatcher.submit(job.conversation_key, job)

    async def _handle(self, job: Job) -> None:
        if isinstance(job, EngineJob):
            await settle(job.outcome, job.work())
            return
        if isinstance(job, HttpResult):
            report = await self.engine.process_http_result(job)
            if report is not None and self._on_turn is not None:
                self._on_turn(report)
            return
        try:
            if isinstance(job, StoredInbound):
                report = await self._process(job)
            else:
                report = await self.timer_loop.process(job)
        finally:
            if isinstance(job, StoredInbound):
                self.backlog.discard(job.id)
                self._refill_soon()
            else:
                self.timer_loop.finished(job)
        if report is not None and self._on_turn is not None:
            self._on_turn(report)

    def _refill_soon(self) -> None:
        if self._refilling is None and self.backlog.wants_refill and not self._stopping:
            self._refilling = asyncio.get_running_loop().create_task(
                self._refill(), name="backlog-refill"
            )

    async def _refill(self) -> None:
        """Read back the events of the backlog that wait in the store (`backlog.HOLD`), in
        the order they were stored, as far as there is room to hold them."""
        try:
            while self.backlog.wants_refill:
                # A read at a time of at most REFILL events: each read back is parsed on the
                # event loop, which acknowledges nothing meanwhile.
                async with self.backlog.reading():
                    room = min(self.backlog.room_to_hold, REFILL)
                    if room == 0 or (after := self.backlog.left_from()) is None:
                        return
                    try:
                        batch = await self.store.pending_inbound(room, after_id=after - 1)
                    except Exception:
                        self.backlog.left_at(after)  # the sweep reads them back otherwise
                        log.warning("could not read back stored events", exc_info=True)
                        return
                    for item in batch:
                        self._submit(item)
                    if len(batch) == room:  # more may wait behind the last one read
                        self.backlog.left_at(batch[-1].id + 1)
                await asyncio.sleep(0)  # let the requests that came meanwhile be stored
        finally:
            self._refilling = None

    async def _process(self, item: StoredInbound) -> TurnReport | None:
        """Process an event; one that keeps failing (a bug, a workflow that cannot run) is set
        aside after MAX_FAILURES tries so that it stops taking a turn at every sweep."""
        try:
            report = await self.engine.process_inbound(item)
        except StoreUnavailable:
            raise  # the store, not the event: tried again at the next sweep, uncounted
        except Exception as exc:
            failures = self._failures.get(item.id, 0) + 1
            self._failures[item.id] = failures
            if failures < MAX_FAILURES:
                raise
            del self._failures[item.id]
            await self.store.set_inbound_aside(item.id, self.clock.now(), repr(exc)[:1000])
            self.parked += 1
            metrics = self.reporter.metrics
            metrics.of(metrics.inbound, item.event.channel, "parked").inc()
            conversation_id = await self._conversation_of(item.event)
            log.error(
                "event parked after %d failures: inbound=%s conversation=%s key=%s error=%r",
                failures,
                item.id,
                conversation_id or "-",
                item.event.conversation_key,
                exc,
                extra={
                    "conversation_id": conversation_id,
                    "channel": item.event.channel,
                    "contact_key": str(item.event.conversation_key),
                    "inbound_id": item.id,
                },
            )
            return None
        self._failures.pop(item.id, None)
        return report

    async def _conversation_of(self, event: Inbound) -> str | None:
        """The id of the conversation an event belongs to, for the log: its contact's open
        one; None if they have none (or the store cannot say)."""
        if event.action is not None:
            return event.action.conversation_id
        try:
            found = await self.store.open_conversation(event.channel, event.contact.external_id)
        except Exception:
            log.warning("could not look up the conversation of %s", event.conversation_key)
            return None
        return None if found is None else found.id

    async def retry_parked(self, inbound_id: int) -> bool:
        """Process a parked event again (once the cause is fixed); False when no parked event
        has that id. If it fails again, it is parked again after MAX_FAILURES tries."""
        item = await self.store.unpark_inbound(inbound_id)
        if item is None:
            return False
        self._failures.pop(inbound_id, None)
        if not self._stopping:
            self._submit(item)
        return True

    def _committed(self, report: TurnReport, timers: list[Timer]) -> None:
        self.reporter.turn(report)
        if report.sent:
            self.outbox.wake()
        if timers:
            self.timer_loop.wake.set()
        for agent_id in report.freed:
            self.agent_available(agent_id)
        for call in report.calls:
            if self._stopping:
                break  # the run's safety-net timer makes the request after the restart
            self._calls.spawn(self._call(call), name=f"http:{call.request_id}")

    async def _call(self, call: HttpCall) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        result = await perform(self._http, call)
        if not self._stopping:  # else the run's timer asks again after the restart
            self._submit(result)

    # the team queues --------------------------------------------------------------------

    def agent_available(self, agent_id: str) -> None:
        """The agent may take more conversations: offer them their teams' queues."""
        self._queue_offers.agent_available(agent_id)

    async def _offer(self, key: ConversationKey, conversation_id: str, agent_id: str) -> Offer:
        return await self._in_turn(key, partial(self.engine.offer, conversation_id, agent_id))

    async def _in_turn(self, key: ConversationKey, work: Callable[[], Awaitable[T]]) -> T:
        """Run engine work in the turn order of the conversation under `key`."""
        outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._submit(EngineJob(key, work, outcome))
        return await outcome

    async def _undelivered(self, message: Outbound, error: str) -> None:
        """A customer's message failed for good: the engine hears of it in their turn order."""
        key = ConversationKey(message.channel, message.recipient)
        await self._in_turn(key, partial(self.engine.undelivered, message, error))

    async def _key_of(self, contact_id: str, channel: str) -> ConversationKey | None:
        contact = await self.store.load_contact(contact_id)
        return None if contact is None else ConversationKey(channel, contact.external_id)

    async def _key_of_conversation(self, conversation_id: str) -> ConversationKey | None:
        conversation = await self.store.load_conversation(conversation_id)
        if conversation is None:
            return None
        return await self._key_of(conversation.contact_id, conversation.channel)

    async def close_conversation(self, conversation_id: str) -> bool | None:
        """Close it (in its turn order); None when there is no such conversation, False when
        it was closed already."""
        key = await self._key_of_conversation(conversation_id)
        if key is None:
            return None
        return await self._in_turn(key, partial(self.engine.close, conversation_id))

    async def assign_conversation(self, conversation_id: str, agent_id: str) -> HandAssignment:
        """Assign it by hand (in its turn order)."""
        key = await self._key_of_conversation(conversation_id)
        if key is None:
            return HandAssignment.NO_CONVERSATION
        work = partial(self.engine.assign_by_hand, conversation_id, agent_id)
        return await self._in_turn(key, work)

    async def unassign_conversation(self, conversation_id: str) -> bool | None:
        """Take it from its agent by hand (in its turn order); see `Engine.unassign_by_hand`."""
        key = await self._key_of_conversation(conversation_id)
        if key is None:
            return None
        return await self._in_turn(key, partial(self.engine.unassign_by_hand, conversation_id))

    def agent_status_changed(self, agent: Agent) -> None:
        if agent.status == AgentStatus.ONLINE:
            self.agent_available(agent.id)

    async def recover(self) -> int:
        """Hand over every stored event not yet processed; returns how many."""
        count, after = 0, 0
        async with self.backlog.reading():
            while True:
                batch = await self.store.pending_inbound(500, after_id=after)
                for item in batch:
                    self._submit(item)
                count += len(batch)
                if len(batch) < 500:
                    break
                after = batch[-1].id
        self._refill_soon()  # what arrived meanwhile waits in the store
        return count
