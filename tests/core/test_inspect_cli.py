"""`frontdesk conversations|queues|agents` without a server: refusals, and the store read
directly (a served frontdesk is in tests/test_operators.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from core.config import load_config
from core.events import ConversationOpened, ConversationQueued
from storage.sqlite import SqliteSettings, SqliteStore
from tests.storage.builders import T0, conversation, seed
from tests.support.harness import API_TOKEN, write_config
from tests.support.process import free_port, listen_on

GREET = """
name: greet
trigger: conversation_opened
steps:
  - {id: hi, type: send_message, text: "Hi"}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose server is not running, and whose store holds one queued conversation."""
    path = write_config(tmp_path, "http://127.0.0.1:9/callback", {"greet": GREET})
    listen_on(path, free_port())
    loaded = load_config(path)

    async def fill() -> None:
        store = SqliteStore(SqliteSettings(path="frontdesk.db"), tmp_path)
        await store.open()
        try:
            await store.sync_directory(loaded.agents, loaded.teams)
            waiting = conversation("4becd61b679541128fef5aed31d8c356", "c1")
            waiting.team, waiting.queued_at = "support", T0
            await seed(store, waiting)
            async with store.transaction() as tx:
                await tx.add_history(
                    waiting.id,
                    [ConversationOpened(at=T0), ConversationQueued(at=T0, team="support")],
                )
        finally:
            await store.close()

    asyncio.run(fill())
    return path


def test_a_bad_filter_is_refused_before_anything_is_read(config: Path) -> None:
    result = CliRunner().invoke(
        main, ["conversations", "list", "--config", str(config), "--status", "pending"]
    )

    assert result.exit_code == 2
    assert "--status: 'pending' is not one of open, waiting, queued, closed" in result.stderr
    assert "reading the store" not in result.stderr


def test_with_the_server_down_the_store_answers_and_says_so(config: Path) -> None:
    result = CliRunner().invoke(
        main, ["conversations", "list", "--config", str(config), "--status", "queued", "--json"]
    )

    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.stdout)["conversations"]
    assert (listed["id"], listed["team"], listed["contact"]["id"]) == (
        "4becd61b679541128fef5aed31d8c356",
        "support",
        "c1",
    )
    [said] = result.stderr.splitlines()
    assert said.startswith("frontdesk is not answering at http://127.0.0.1:")
    assert said.endswith("reading the store directly")


def test_show_takes_a_unique_prefix_and_fails_for_an_unknown_id(config: Path) -> None:
    shown = CliRunner().invoke(
        main, ["conversations", "show", "4becd61b6795", "--config", str(config)]
    )
    missing = CliRunner().invoke(main, ["conversations", "show", "nope", "--config", str(config)])

    assert shown.exit_code == 0, shown.output
    assert "conversation  4becd61b679541128fef5aed31d8c356" in shown.stdout
    assert "queued for support" in shown.stdout
    assert missing.exit_code == 1
    assert "no conversation 'nope'" in missing.stderr


def test_queues_and_agents_as_tables(config: Path) -> None:
    queues = CliRunner().invoke(main, ["queues", "--config", str(config)])
    agents = CliRunner().invoke(main, ["agents", "--config", str(config)])

    assert queues.exit_code == 0, queues.output
    assert queues.stdout.startswith("sales: 0 waiting\n\nsupport: 1 waiting\nID ")
    assert "4becd61b679541128fef5aed31d8c356  webhook  c1" in queues.stdout
    assert agents.exit_code == 0, agents.output
    rows = [line.split() for line in agents.stdout.splitlines()]
    assert rows[0] == ["ID", "NAME", "STATUS", "OPEN", "CAPACITY", "TEAMS"]
    assert rows[1:] == [
        ["alice", "Alice", "online", "0", "-", "sales"],
        ["bob", "Bob", "online", "0", "-", "sales"],
        ["carol", "Carol", "online", "0", "-", "support"],
        ["dave", "Dave", "away", "0", "-", "support"],
    ]


def test_without_an_api_token_the_store_is_read(config: Path) -> None:
    config.write_text(config.read_text().replace(f"api: {{token: {API_TOKEN}}}", ""))

    result = CliRunner().invoke(main, ["agents", "--config", str(config), "--json"])

    assert result.exit_code == 0, result.output
    assert [a["id"] for a in json.loads(result.stdout)] == ["alice", "bob", "carol", "dave"]
    assert result.stderr == "api.token is not set: reading the store directly\n"
