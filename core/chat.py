"""`frontdesk chat`: talk to a workflow in the terminal, as a customer would.

The real engine and a real (temporary) SQLite store run the workflow; messages go through the
real outbox to a console channel that prints them. Time is a manual clock, so a Wait step is
passed with `/skip` or `/wait SECONDS` instead of waiting; `/agent` and `/as` play the agents
and other customers, so that a whole journey (queue, shift change, close) can be tried.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from core import plugins
from core.agents import Agent, AgentStatus
from core.clock import ManualClock
from core.config import Config
from core.config_sections import OutboxSettings
from core.deliveries import Delivery
from core.hours import away_outside_hours
from core.models import ContactProfile, Conversation, ConversationStatus, Inbound, Outbound
from core.ports import Records, Store
from core.runtime import Runtime
from core.schedules import Schedule
from core.trail import lines, trail
from core.turn import TurnReport
from core.workflow import Workflow, references

CHANNEL = "chat"
HELP = (
    "type a reply; a number or a label picks an option; /skip passes a wait; "
    "/wait SECONDS moves the clock; /close; /agent NAME online|away|offline; "
    "/as CONTACT; /quit leaves"
)


class ConsoleChannel:
    """Prints what the bot says, with the options a customer could pick."""

    slug = CHANNEL

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def routes(self) -> Iterable[web.RouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, message: Outbound) -> Delivery:
        self._write(f"bot: {message.text}")
        for n, option in enumerate(message.options, start=1):
            self._write(f"     {n}. {option.label}  [{option.id}]")
        return Delivery.sent()


def directory_for(
    workflow: Workflow, config: Config | None
) -> tuple[list[Agent], dict[str, list[str]]]:
    """The config's agents and teams, or one online stand-in agent per team the workflow
    names, so that any workflow can be tried without writing a config first."""
    if config is not None:
        return config.agents, config.teams
    agents: dict[str, Agent] = {}
    teams: dict[str, list[str]] = {}
    for kind, name, _ in references(workflow):
        if kind == "schedule":
            continue
        agent_id = name if kind == "agent" else f"{name}-agent"
        agents[agent_id] = Agent(id=agent_id, name=agent_id, status=AgentStatus.ONLINE)
        if kind == "team":
            teams[name] = [agent_id]
    return list(agents.values()), teams


@asynccontextmanager
async def stub_crm(answer: str) -> AsyncIterator[str]:
    """A local HTTP server that answers every request with `answer` (JSON); its base URL."""

    async def respond(request: web.Request) -> web.Response:
        return web.Response(text=answer, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass(frozen=True)
class Customer:
    """Who `frontdesk chat` plays, and on which channel name."""

    profile: ContactProfile = field(default_factory=lambda: ContactProfile(external_id="terminal"))
    channel: str = CHANNEL


async def chat(
    workflow: Workflow,
    config: Config | None,
    at: datetime,
    read: Callable[[], str | None],
    write: Callable[[str], None],
    crm_answer: str | None = None,
    customer: Customer | None = None,
    *,
    path: bool = False,
) -> None:
    """`path`: when the chat ends, print the path the conversation took (see `trail`)."""
    customer = customer or Customer()
    if crm_answer is None:
        await _chat(workflow, config, at, read, write, {}, customer, path)
        return
    async with stub_crm(crm_answer) as url:
        write(f"(a stub CRM at {url} answers every request with {crm_answer})")
        await _chat(workflow, config, at, read, write, {"crm_url": url}, customer, path)


async def _chat(
    workflow: Workflow,
    config: Config | None,
    at: datetime,
    read: Callable[[], str | None],
    write: Callable[[str], None],
    overrides: dict[str, str],
    customer: Customer,
    path: bool = False,
) -> None:
    clock = ManualClock(at)
    with tempfile.TemporaryDirectory(prefix="frontdesk-chat-") as folder:
        store_type = plugins.store_type("sqlite")
        if store_type is None:
            raise RuntimeError("the sqlite store is not installed")
        store = store_type(
            store_type.settings_model.model_validate({"path": "chat.db"}), Path(folder)
        )
        console = ConsoleChannel(write)
        # Only this one workflow runs, on the console channel whatever channels it names.
        workflow = workflow.model_copy(update={"channels": None})

        def trace(report: TurnReport) -> None:
            for line in report.trace:
                write(f"  ▸ {line}")

        runtime = Runtime(
            store=store,
            clock=clock,
            workflows=[workflow],
            channels={customer.channel: console},
            outbox=OutboxSettings(),
            on_turn=trace,
            schedules=config.schedules if config is not None else {},
            settings={**(config.settings if config is not None else {}), **overrides},
            secrets=config.secret_values() if config is not None else {},
            away_outside=config.away_outside if config is not None else {},
        )
        await store.open()
        try:
            agents, teams = directory_for(workflow, config)
            await store.sync_directory(agents, teams)
            await runtime.engine.prepare()
            session = _Session(runtime, clock, write, customer)
            if config is not None:
                session.hours = (config.away_outside, config.schedules)
            await session.shift_change()
            write(f"frontdesk chat: workflow {workflow.name!r} ({HELP})")
            while True:
                line = await asyncio.to_thread(read)
                if line is None or line.strip() == "/quit":
                    break
                await session.handle(line)
                await runtime.settled()
                await runtime.outbox.flush()
                await _show_state(runtime, write, session.customer)
            if path:
                await _show_path(runtime, workflow, write, session.customer)
        finally:
            await runtime.stop()
            await store.close()


class _Session:
    """What the terminal's lines do: a customer's message, or a command."""

    def __init__(
        self, runtime: Runtime, clock: ManualClock, write: Callable[[str], None], who: Customer
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.write = write
        self.customer = who
        # Teams set away outside their schedules (team → schedule), and the schedules.
        self.hours: tuple[Mapping[str, str], Mapping[str, Schedule]] = ({}, {})

    async def handle(self, line: str) -> None:
        command, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        match command:
            case "/skip":
                upcoming = await self.runtime.store.next_timer_due()
                if upcoming is None:
                    self.write("  (nothing is waiting on a timer)")
                    return
                await self.advance(max(upcoming, self.clock.now()))
            case "/wait":
                try:
                    seconds = float(rest)
                except ValueError:
                    self.write("  (/wait takes a number of seconds, e.g. /wait 3600)")
                    return
                if seconds < 0:
                    self.write("  (/wait takes a number of seconds, e.g. /wait 3600)")
                    return
                await self.advance(self.clock.now() + timedelta(seconds=seconds))
            case "/close":
                current = await self.current()
                if current is None or current.status != ConversationStatus.OPEN:
                    self.write("  (no open conversation to close)")
                    return
                await self.runtime.close_conversation(current.id)
            case "/agent":
                await self.agent(rest)
            case "/as":
                if not rest:
                    self.write("  (/as takes a contact id, e.g. /as ana)")
                    return
                self.customer = replace(
                    self.customer, profile=ContactProfile(external_id=rest, name=rest)
                )
                self.write(f"  (now writing as {rest})")
            case _ if command.startswith("/"):
                self.write(f"  (unknown command {command}: {HELP})")
            case _:
                event = Inbound(
                    channel=self.customer.channel,
                    event_id=uuid.uuid4().hex,
                    contact=self.customer.profile,
                    text=line,
                )
                await self.runtime.accept(event)

    async def advance(self, to: datetime) -> None:
        """Move the clock on, firing every timer due on the way, in order."""
        while (upcoming := await self.runtime.store.next_timer_due()) is not None and (
            upcoming <= to
        ):
            self.clock.set(max(upcoming, self.clock.now()))
            await self.runtime.fire_due_timers()
            await self.runtime.settled()
        self.clock.set(max(to, self.clock.now()))
        await self.shift_change()
        self.write(f"  (it is now {self.clock.now():%a %Y-%m-%d %H:%M %Z})")

    async def shift_change(self) -> None:
        away_outside, schedules = self.hours
        now = self.clock.now()
        runtime = self.runtime
        for agent in await away_outside_hours(
            runtime.store, runtime.reporter, now, away_outside, schedules
        ):
            self.write(f"  ({agent.id} is away: outside their team's hours)")

    async def agent(self, rest: str) -> None:
        parts = rest.split()
        statuses = [s.value for s in AgentStatus]
        if len(parts) != 2 or parts[1] not in statuses:
            self.write(f"  (/agent takes a name and one of {', '.join(statuses)})")
            return
        agent = await self.runtime.set_agent_status(parts[0], AgentStatus(parts[1]))
        if agent is None:
            self.write(f"  (no agent {parts[0]!r})")
            return
        self.write(f"  ({agent.id} is {agent.status.value})")

    async def current(self) -> Conversation | None:
        found = await _records(self.runtime.store).conversations_of(
            self.customer.channel, self.customer.profile.external_id
        )
        return found[-1] if found else None


async def _show_state(runtime: Runtime, write: Callable[[str], None], who: Customer) -> None:
    records = _records(runtime.store)
    conversations = await records.conversations_of(who.channel, who.profile.external_id)
    if not conversations:
        return
    current = conversations[-1]
    if current.assignee or current.status.value == "closed":
        write(
            f"  ({current.status.value}; team={current.team or '-'}"
            f" assignee={current.assignee or '-'})"
        )
    upcoming = await runtime.store.next_timer_due()
    if upcoming is not None:
        seconds = int((upcoming - runtime.clock.now()).total_seconds())
        write(f"  (a wait is due in {seconds}s: /skip to pass it)")


async def _show_path(
    runtime: Runtime, workflow: Workflow, write: Callable[[str], None], who: Customer
) -> None:
    records = _records(runtime.store)
    conversations = await records.conversations_of(who.channel, who.profile.external_id)
    if not conversations:
        return
    record = await records.conversation_record(conversations[-1].id)
    if record is None:
        return
    write("the path taken:")
    for line in lines(trail(record, [workflow])):
        write(f"  {line}")


def _records(store: Store) -> Records:
    """The read side of the chat's own SQLite store, which has one."""
    if not isinstance(store, Records):
        raise RuntimeError("the chat's store cannot list what it holds")
    return store


def read_stdin() -> str | None:
    sys.stdout.write("you> ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None
