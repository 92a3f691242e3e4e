"""`frontdesk migrate-store`: a SQLite store copied into PostgreSQL reads the same through the
store ports, and copying again copies nothing twice."""

from __future__ import annotations

from pathlib import Path

from core.events import ConversationOpened
from core.keys import ConversationKey
from core.models import DeskThread, Timer
from core.ports import Store
from storage.postgres import PostgresStore
from storage.sqlite import SqliteSettings, SqliteStore
from tests.storage.builders import (
    T0,
    agent,
    contact,
    conversation,
    entry,
    event,
    message,
    pick,
    seconds,
)
from tests.support.postgres import DATABASE_URL, scratch_schema
from tests.support.process import run_frontdesk


async def migrate_store(*args: str) -> tuple[int, str, str]:
    return await run_frontdesk("migrate-store", *args)


async def fill(store: Store) -> None:
    await store.sync_directory([agent("a1"), agent("a2")], {"crew": ["a1", "a2"]})
    async with store.transaction() as tx:
        await tx.advance_cursor("crew", "a1")
        await tx.save_contact(contact("k1", "u1"))
        await tx.save_conversation(conversation("v1", "k1", assignee="a1"))
        await tx.add_transcript([entry("v1", "hello", T0), entry("v1", "hi there", seconds(1))])
        await tx.add_history("v1", [ConversationOpened(at=T0)])
        await tx.enqueue([message("m1", "v1"), message("m2", "v1")], T0)
        await tx.schedule_timer(
            Timer(
                id="t1",
                conversation_id="v1",
                conversation_key=ConversationKey("webhook", "k"),
                due_at=seconds(9),
            )
        )
        await tx.save_workflow_version("hash1", "greet", "body")
    await store.record_inbound(event(1), T0)
    await store.save_cursor("telegram:bot:offset", "42")
    await store.save_thread(
        DeskThread(desk="slack", place="C1", ts="1.0", conversation_id="v1", handoff_id="h1")
    )
    [head] = await store.claim_due_outbound(seconds(1), 10, lease_seconds=600)
    await store.mark_sent(head.id, seconds(2))
    # m2 is in flight (leased) when the old process stops.
    assert len(await store.claim_due_outbound(seconds(2), 10, lease_seconds=600)) == 1


async def test_a_copied_store_reads_the_same_and_a_second_copy_adds_nothing(
    tmp_path: Path,
) -> None:
    sqlite = SqliteStore(SqliteSettings(path="frontdesk.db"), tmp_path)
    await sqlite.open()
    try:
        await fill(sqlite)
    finally:
        await sqlite.close()
    async with scratch_schema() as settings:
        source, target = f"sqlite:{tmp_path / 'frontdesk.db'}", DATABASE_URL
        schema = settings.schema_name

        code, out, _ = await migrate_store("--from", source, "--to", target, "--schema", schema)
        assert code == 0
        assert "conversations: 1 copied" in out
        assert "transcript: 2 copied" in out
        code, out, _ = await migrate_store("--from", source, "--to", target, "--schema", schema)
        assert code == 0
        assert [line for line in out.splitlines() if "copied" in line and ": 0" not in line] == [
            f"copied into {settings.where()} schema {schema}"
        ], out

        await sqlite.open()
        postgres = PostgresStore(settings, tmp_path)
        await postgres.open()
        try:
            for store in (sqlite, postgres):
                assert await store.load_cursor("telegram:bot:offset") == "42"
                assert [t.id for t in await store.due_timers(seconds(10), 10)] == ["t1"]
            assert await postgres.conversation_record("v1") == await sqlite.conversation_record(
                "v1"
            )
            assert await postgres.outbox("v1") == await sqlite.outbox("v1")
            assert await postgres.threads_of("h1") == await sqlite.threads_of("h1")
            assert await postgres.agent_loads() == await sqlite.agent_loads()
            assert [i.event for i in await postgres.pending_inbound(10)] == [event(1)]
            assert await postgres.record_inbound(event(1), T0) is None  # still a duplicate
            # The round-robin cursor came along: a2 is next.
            assert await pick(postgres, "crew") == "a2"
            # The message left pending is deliverable at once: the old lease did not come.
            assert [
                i.message.message_id
                for i in await postgres.claim_due_outbound(seconds(3), 10, lease_seconds=60)
            ] == ["m2"]
        finally:
            await postgres.close()
            await sqlite.close()


async def test_a_file_that_is_not_a_store_is_refused_and_nothing_is_copied(
    tmp_path: Path,
) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("not a database")

    code, _, err = await migrate_store("--from", f"sqlite:{bogus}", "--to", DATABASE_URL)

    assert code == 1
    assert "notes.db" in err
