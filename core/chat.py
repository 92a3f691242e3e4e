"""`frontdesk chat`: talk to a workflow in the terminal, as a customer would.

The real engine and a real (temporary) SQLite store run the workflow; messages go through the
real outbox to a console channel that prints them. Time is a manual clock, so a Wait step is
passed with `/skip` instead of waiting.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from aiohttp import web

from core import plugins
from core.clock import ManualClock
from core.config import Config, OutboxSettings
from core.engine import TurnReport
from core.models import (
    Agent,
    AgentStatus,
    ContactProfile,
    Delivery,
    Inbound,
    Outbound,
)
from core.ports import Records
from core.runtime import Runtime
from core.trail import lines, trail
from core.workflow import Workflow, references

CHANNEL = "chat"
HELP = "type a reply; a number or a label picks an option; /skip passes a wait; /quit leaves"


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


async def chat(
    workflow: Workflow,
    config: Config | None,
    at: datetime,
    read: Callable[[], str | None],
    write: Callable[[str], None],
    crm_answer: str | None = None,
    *,
    path: bool = False,
) -> None:
    """`path`: when the chat ends, print the path the conversation took (see `trail`)."""
    if crm_answer is None:
        await _chat(workflow, config, at, read, write, {}, path)
        return
    async with stub_crm(crm_answer) as url:
        write(f"(a stub CRM at {url} answers every request with {crm_answer})")
        await _chat(workflow, config, at, read, write, {"crm_url": url}, path)


async def _chat(
    workflow: Workflow,
    config: Config | None,
    at: datetime,
    read: Callable[[], str | None],
    write: Callable[[str], None],
    overrides: dict[str, str],
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
            store,
            clock,
            [workflow],
            {CHANNEL: console},
            OutboxSettings(),
            on_turn=trace,
            schedules=config.schedules if config is not None else {},
            settings={**(config.settings if config is not None else {}), **overrides},
            secrets=config.secret_values() if config is not None else {},
        )
        await store.open()
        try:
            agents, teams = directory_for(workflow, config)
            await store.sync_directory(agents, teams)
            await runtime.engine.prepare()
            write(f"frontdesk chat: workflow {workflow.name!r} ({HELP})")
            contact = ContactProfile(external_id="terminal", name="You")
            while True:
                line = await asyncio.to_thread(read)
                if line is None or line.strip() == "/quit":
                    break
                if line.strip() == "/skip":
                    upcoming = await store.next_timer_due()
                    if upcoming is None:
                        write("  (nothing is waiting on a timer)")
                        continue
                    clock.set(max(upcoming, clock.now()))
                    await runtime.fire_due_timers()
                else:
                    event = Inbound(
                        channel=CHANNEL, event_id=uuid.uuid4().hex, contact=contact, text=line
                    )
                    await runtime.accept(event)
                    await runtime.idle()
                await runtime.outbox.flush()
                await _show_state(runtime, write)
            if path:
                await _show_path(runtime, workflow, write)
        finally:
            await runtime.stop()
            await store.close()


async def _show_state(runtime: Runtime, write: Callable[[str], None]) -> None:
    conversations = await runtime.store.conversations_of(CHANNEL, "terminal")
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


async def _show_path(runtime: Runtime, workflow: Workflow, write: Callable[[str], None]) -> None:
    store = runtime.store
    conversations = await store.conversations_of(CHANNEL, "terminal")
    if not conversations or not isinstance(store, Records):
        return
    record = await store.conversation_record(conversations[-1].id)
    if record is None:
        return
    write("the path taken:")
    for line in lines(trail(record, [workflow])):
        write(f"  {line}")


def read_stdin() -> str | None:
    sys.stdout.write("you> ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None
