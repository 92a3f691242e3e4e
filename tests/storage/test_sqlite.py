"""What is particular to the SQLite store: settings, the file, schema versions, the writer."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.errors import StoreUnavailable, Unstorable
from core.listing import ConversationFilter, ListStatus
from core.models import (
    Attachment,
    ConversationStatus,
    DeskThread,
    Direction,
    Outbound,
    TranscriptEntry,
)
from core.ports import Store
from storage.sqlite import SqliteSettings, SqliteStore, conversations, records
from storage.sqlite.codec import to_micros
from storage.sqlite.in_thread import Work
from storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from storage.sqlite.store import SAVE_CURSOR
from storage.sqlite.writer import Writer
from tests.storage.builders import (
    T0,
    contact,
    conversation,
    enqueue,
    event,
    message,
    seconds,
    seed,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(SqliteSettings(), tmp_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def raw(path: Path) -> closing[sqlite3.Connection]:
    """A plain sqlite3 connection to look at (or damage) the file behind the store's back."""
    return closing(sqlite3.connect(path, isolation_level=None))


def migrate_to(conn: sqlite3.Connection, version: int) -> None:
    """The schema as a database of `version` had it, for the store to migrate from."""
    for migration in MIGRATIONS[:version]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")


def test_sqlite_store_fits_the_port(tmp_path: Path) -> None:
    # Mostly for mypy, on an instance: mypy cannot match the class object to StoreType,
    # a protocol with a ClassVar member (core/ports.py).
    store: Store = SqliteStore(SqliteSettings(), tmp_path)

    assert SqliteStore.settings_model is SqliteSettings
    assert isinstance(store, SqliteStore)


@pytest.mark.parametrize("path", [":memory:", "", "file:x.db?mode=memory"])
def test_settings_refuse_databases_that_cannot_be_shared(path: str) -> None:
    with pytest.raises(ValidationError, match="not supported"):
        SqliteSettings(path=path)


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="journal"):
        SqliteSettings.model_validate({"path": "x.db", "journal": "wal"})


def test_relative_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    relative = SqliteStore(SqliteSettings(path="data/fd.db"), tmp_path)
    absolute = SqliteStore(SqliteSettings(path=str(tmp_path / "abs.db")), Path("/elsewhere"))

    assert relative.path == tmp_path / "data" / "fd.db"
    assert absolute.path == tmp_path / "abs.db"


async def test_open_in_a_missing_folder_is_store_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(path="missing/fd.db"), tmp_path)

    with pytest.raises(StoreUnavailable, match="missing"):
        await store.open()
    await store.close()


async def test_open_sets_wal_and_the_schema_version(store: SqliteStore) -> None:
    with raw(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


async def test_open_refuses_a_newer_schema(tmp_path: Path) -> None:
    with raw(tmp_path / "frontdesk.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SqliteStore(SqliteSettings(), tmp_path)

    with pytest.raises(StoreUnavailable, match="newer"):
        await store.open()
    await store.close()


async def test_record_inbound_turns_sqlite_errors_into_store_unavailable(
    store: SqliteStore,
) -> None:
    with raw(store.path) as conn:
        conn.execute("DROP TABLE inbox")

    results = await asyncio.gather(
        *(store.record_inbound(event(n), T0) for n in range(3)), return_exceptions=True
    )

    for result in results:
        assert isinstance(result, StoreUnavailable)
        assert isinstance(result.__cause__, sqlite3.OperationalError)


async def test_record_inbound_on_a_closed_store_is_store_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)

    with pytest.raises(StoreUnavailable, match="not open"):
        await store.record_inbound(event(1), T0)


async def test_the_backlog_s_read_on_a_closed_store_is_store_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    await store.record_inbound(event(1), T0)
    assert len(await store.pending_inbound(10)) == 1  # on its own connection
    await store.close()

    with pytest.raises(StoreUnavailable, match="not open"):
        await store.pending_inbound(10)


async def test_concurrent_record_inbound_share_one_commit(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    members: list[Writer] = []
    unit = Writer.unit

    async def counted(writer: Writer, work: Work[Any]) -> Any:
        members.append(writer)
        return await unit(writer, work)

    monkeypatch.setattr(Writer, "unit", counted)

    ids = await asyncio.gather(*(store.record_inbound(event(n), T0) for n in range(50)))

    assert len(set(ids)) == 50
    assert len(members) == 1


async def test_an_urgent_write_is_committed_before_the_members_queued_behind(
    store: SqliteStore,
) -> None:
    writer = store._writer_or_fail()
    first_in, first_done, second_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def member(entered: asyncio.Event | None, done: asyncio.Event) -> None:
        async with writer.transaction() as conn:
            await conn.execute("SELECT 1")
            if entered is not None:
                entered.set()
            await done.wait()

    first = asyncio.create_task(member(first_in, first_done))
    await first_in.wait()
    second = asyncio.create_task(member(None, second_done))  # queued behind the first
    mark = asyncio.create_task(writer.later(SAVE_CURSOR, ("c", "v"), urgent=True))
    await asyncio.sleep(0)
    first_done.set()

    # Committed while the second member still works, not when the whole group is done.
    await asyncio.wait_for(mark, 5)
    assert not second.done()
    second_done.set()
    await asyncio.gather(first, second)
    assert await store.load_cursor("c") == "v"


async def test_close_waits_for_queued_inbound_events(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    recording = [asyncio.create_task(store.record_inbound(event(n), T0)) for n in range(5)]
    await asyncio.sleep(0)  # let each task queue its event

    await store.close()

    assert all(isinstance(task.result(), int) for task in recording)
    reopened = SqliteStore(SqliteSettings(), tmp_path)
    await reopened.open()
    try:
        assert len(await reopened.pending_inbound(10)) == 5
    finally:
        await reopened.close()


async def test_a_transaction_cannot_be_used_after_its_block(store: SqliteStore) -> None:
    async with store.transaction() as tx:
        pass

    with pytest.raises(RuntimeError, match="ended"):
        await tx.load_agent("ann")


async def test_failed_commit_rolls_back_and_frees_the_writer(store: SqliteStore) -> None:
    orphan = TranscriptEntry(
        conversation_id="nowhere", direction=Direction.IN, text="hi", message_id="m1", at=T0
    )

    async def commit_orphan() -> None:
        async with store.transaction() as tx:
            await tx.add_transcript([orphan])

    # The foreign key is checked at COMMIT, which fails and must roll back; the same write
    # would fail every time, so it is not reported as the store being unavailable.
    with pytest.raises(Unstorable, match="FOREIGN KEY"):
        await commit_orphan()

    assert await store.transcript("nowhere") == []
    async with store.transaction() as tx:
        await tx.save_workflow_version("h", "greet", "body")
    async with store.transaction() as tx:
        assert await tx.load_workflow_version("h") == "body"


async def test_main_lookups_use_indexes(store: SqliteStore) -> None:
    """Per-message paths must not scan a whole table."""
    lookups = {
        "SELECT id FROM inbox WHERE processed_at IS NULL AND id > 0 ORDER BY id LIMIT 5": "inbox",
        "SELECT id FROM conversations WHERE contact_id = 'c' AND status = 'open'": "conversations",
        "SELECT COUNT(*) FROM conversations WHERE status = 'open' AND assignee = 'a'": (
            "conversations"
        ),
        "SELECT id FROM timers WHERE due_at <= 0 ORDER BY due_at, id LIMIT 5": "timers",
        "SELECT MIN(id) FROM outbox WHERE lane = 'c' AND status = 'pending'": "outbox",
        "SELECT id FROM outbox WHERE conversation_id = 'c' ORDER BY id": "outbox",
        "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= 0": "outbox",
        "SELECT id FROM desk_threads WHERE handoff_id = 'h' ORDER BY id": "desk_threads",
        "SELECT id FROM desk_threads WHERE desk = 'd' AND place = 'p' AND ts = 't'": (
            "desk_threads"
        ),
    }
    with raw(store.path) as conn:
        for query, table in lookups.items():
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
            assert f"SCAN {table}" not in plan, (query, plan)


async def test_a_failed_write_leaves_the_database_free_for_other_processes(
    store: SqliteStore,
) -> None:
    async def read_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.load_agent("ann")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await read_then_fail()
    with pytest.raises(ValueError, match="unknown agents"):
        await store.sync_directory([], {"team": ["ghost"]})
    # Another connection (another process) can take the write lock at once.
    with closing(sqlite3.connect(store.path, timeout=0)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


async def test_a_version_1_database_is_migrated_with_its_outbox_in_lanes(tmp_path: Path) -> None:
    first = Outbound(
        message_id="m1", conversation_id="v1", channel="webhook", recipient="u1", text="hi"
    )
    with raw(tmp_path / "frontdesk.db") as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO contacts (id, channel, external_id, fields, tags, created_at) "
            "VALUES ('c1', 'webhook', 'u1', '{}', '[]', ?)",
            (to_micros(T0),),
        )
        conn.execute(
            "INSERT INTO conversations (id, contact_id, channel, status, opened_at, seq, version) "
            "VALUES ('v1', 'c1', 'webhook', 'open', ?, 0, 1)",
            (to_micros(T0),),
        )
        conn.execute(
            "INSERT INTO outbox (message_id, conversation_id, message, status, attempts, "
            "created_at, next_attempt_at) VALUES ('m1', 'v1', ?, 'pending', 0, ?, ?)",
            (first.model_dump_json(), to_micros(T0), to_micros(T0)),
        )
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        with raw(store.path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert conn.execute("SELECT lane FROM outbox").fetchall() == [("v1",)]
        conversation = await store.load_conversation("v1")
        assert conversation is not None
        assert conversation.handoff is None
        # A message enqueued now is in the same lane as the migrated one: it waits behind it.
        second = first.model_copy(update={"message_id": "m2"})
        async with store.transaction() as tx:
            await tx.enqueue([second], T0)
        [claimed] = await store.claim_due_outbound(T0, 10, 30)
        assert claimed.message == first
        await store.mark_sent(claimed.id, T0)
        [claimed] = await store.claim_due_outbound(T0, 10, 30)
        assert claimed.message == second
    finally:
        await store.close()


def _indexes(conn: sqlite3.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
    )
    return {name for (name,) in rows if not name.startswith("sqlite_autoindex")}


async def test_a_version_6_database_learns_leases_and_uncertain_messages(tmp_path: Path) -> None:
    sent, in_flight = (
        Outbound(message_id=m, conversation_id="v1", channel="telegram", recipient="u1", text=m)
        for m in ("m1", "m2")
    )
    with raw(tmp_path / "frontdesk.db") as conn:
        migrate_to(conn, 6)
        conn.execute(
            "INSERT INTO contacts (id, channel, external_id, fields, tags, created_at) "
            "VALUES ('c1', 'telegram', 'u1', '{}', '[]', ?)",
            (to_micros(T0),),
        )
        # A run waiting for an HTTP response, with the timer that stands for it.
        run = '{"waiting": {"kind": "http", "step_id": "crm", "timer_id": "v1.3"}}'
        conn.execute(
            "INSERT INTO conversations (id, contact_id, channel, status, opened_at, run, seq, "
            "version) VALUES ('v1', 'c1', 'telegram', 'open', ?, ?, 3, 1)",
            (to_micros(T0), run),
        )
        for timer_id in ("v1.3", "v1.9"):
            conn.execute(
                "INSERT INTO timers (id, conversation_id, key, due_at) "
                "VALUES (?, 'v1', 'telegram:k', ?)",
                (timer_id, to_micros(T0) + 60_000_000),
            )
        for row_id, message, status, leased in (
            (1, sent, "sent", None),
            (7, in_flight, "pending", 1),
        ):
            conn.execute(
                "INSERT INTO outbox (id, message_id, conversation_id, lane, message, status, "
                "attempts, created_at, next_attempt_at, leased_until) "
                "VALUES (?, ?, 'v1', 'v1', ?, ?, 0, 0, 0, ?)",
                (row_id, message.message_id, message.model_dump_json(), status, leased),
            )
        # An id handed out once and pruned since must never come back.
        conn.execute("UPDATE sqlite_sequence SET seq = 20 WHERE name = 'outbox'")
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        taken = await store.take_back(T0, {"telegram"})
        assert (taken.resent, [i.message for i in taken.uncertain], taken.requests) == (
            0,
            [in_flight],
            1,
        )
        assert [t.id for t in await store.due_timers(T0, 10)] == ["v1.3"]
        assert [(r.message_id, r.status) for r in await store.outbox("v1")] == [
            ("m1", "sent"),
            ("m2", "uncertain"),
        ]
        async with store.transaction() as tx:
            await tx.enqueue([sent.model_copy(update={"message_id": "m3"})], T0)
        with raw(store.path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert conn.execute("SELECT MAX(id) FROM outbox").fetchone() == (21,)
            migrated = _indexes(conn, "outbox")
    finally:
        await store.close()
    fresh = SqliteStore(SqliteSettings(path="fresh.db"), tmp_path)
    await fresh.open()
    await fresh.close()
    with raw(tmp_path / "fresh.db") as conn:
        assert migrated == _indexes(conn, "outbox")


async def test_a_thread_of_an_unknown_conversation_fails_alone(store: SqliteStore) -> None:
    orphan = DeskThread(
        desk="slack", place="C1", ts="1.0", conversation_id="nowhere", handoff_id="h1"
    )

    # Both in one write group: the orphan must not take the cursor's commit down with it.
    failed, saved = await asyncio.gather(
        store.save_thread(orphan), store.save_cursor("poller", "7"), return_exceptions=True
    )

    assert isinstance(failed, sqlite3.IntegrityError)
    assert saved is None
    assert await store.load_cursor("poller") == "7"
    assert await store.threads_of("h1") == []


LONE = "\ud83d"  # text Python holds but cannot encode as UTF-8


async def test_text_that_cannot_be_encoded_is_unstorable_not_unavailable(
    store: SqliteStore,
) -> None:
    unstorable = contact("c-bad")
    unstorable.name = LONE

    with pytest.raises(Unstorable, match="surrogates not allowed"):
        async with store.transaction() as tx:
            await tx.save_contact(unstorable)

    assert await store.load_contact("c-bad") is None
    async with store.transaction() as tx:  # the writer goes on
        await tx.save_contact(contact("c-good", "u2"))
    assert await store.load_contact("c-good") is not None


async def test_an_event_the_inbox_cannot_store_fails_alone(store: SqliteStore) -> None:
    # Built without validation, as a bug upstream of the store might.
    bad = event(1).model_copy(update={"text": LONE})
    good = [event(n) for n in range(2, 6)]

    results = await asyncio.gather(
        store.record_inbound(bad, T0),
        *(store.record_inbound(e, T0) for e in good),
        return_exceptions=True,
    )

    assert isinstance(results[0], Unstorable)
    assert all(isinstance(r, int) for r in results[1:])
    assert [p.event.event_id for p in await store.pending_inbound(10)] == [e.event_id for e in good]


@pytest.mark.parametrize(
    "where",
    [
        ConversationFilter(),
        *(ConversationFilter(status=status) for status in ListStatus),
        ConversationFilter(team="t"),
        ConversationFilter(assignee="a"),
        ConversationFilter(channel="webhook"),
        ConversationFilter(contact="u1", channel="webhook"),
        ConversationFilter(since=T0, until=seconds(60)),
        ConversationFilter(status=ListStatus.WAITING, team="t"),
    ],
    ids=repr,
)
async def test_listings_walk_an_index_in_order(
    store: SqliteStore, where: ConversationFilter
) -> None:
    """Each filter reads its conversations newest first from an index, from the cursor on:
    no scan of the table and no sort of everything it matched."""
    terms, params = records._where(where)
    terms.append("(v.opened_at, v.id) < (?, ?)")
    index = records._PARTIAL.get(where.status) if where.status is not None else None
    sql = (
        f"{records._select(index)} WHERE {' AND '.join(terms)} "
        "ORDER BY v.opened_at DESC, v.id DESC LIMIT 5"
    )
    with raw(store.path) as conn:
        plan = " | ".join(
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (*params, 0, ""))
        )
    assert "SCAN" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def test_a_version_2_database_keeps_its_transcript_and_stored_events_readable(
    tmp_path: Path,
) -> None:
    old_event = event(1).model_dump(mode="json") | {"attachment": "photo"}
    with raw(tmp_path / "frontdesk.db") as conn:
        migrate_to(conn, 2)
        conn.execute(
            "INSERT INTO contacts (id, channel, external_id, fields, tags, created_at) "
            "VALUES ('c1', 'webhook', 'u1', '{}', '[]', ?)",
            (to_micros(T0),),
        )
        conn.execute(
            "INSERT INTO conversations (id, contact_id, channel, status, opened_at, seq, version) "
            "VALUES ('v1', 'c1', 'webhook', 'open', ?, 0, 1)",
            (to_micros(T0),),
        )
        conn.execute(
            "INSERT INTO transcript (conversation_id, direction, text, options, message_id, at) "
            "VALUES ('v1', 'in', 'hello', '[]', 'v1.1', ?)",
            (to_micros(T0),),
        )
        conn.execute(
            "INSERT INTO inbox (channel, event_id, contact_key, event, received_at) "
            "VALUES ('webhook', 'e1', 'webhook:u1', ?, ?)",
            (json.dumps(old_event), to_micros(T0)),
        )
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        record = await store.conversation_record("v1")
        assert record is not None
        [entry] = record.transcript
        assert (entry.text, entry.attachment) == ("hello", None)
        assert record.history == []
        [stored] = await store.pending_inbound(10)
        assert stored.event.attachment == Attachment(kind="photo")
    finally:
        await store.close()


async def test_a_version_12_database_drops_desk_addresses_and_reads_notices_queued_before(
    tmp_path: Path,
) -> None:
    # A handoff notice queued by an earlier version: its agent carries a Slack user id.
    agent = {"id": "ann", "name": "Ann", "status": "online", "capacity": 2, "slack_user_id": "U1"}
    notice = {"kind": "handoff", "conversation_id": "v1", "handoff_id": "h1", "agent": agent}
    queued = {
        "message_id": "m1",
        "conversation_id": "v1",
        "channel": "slack",
        "recipient": "ann",
        "text": "New conversation",
        "notice": {**notice, "at": T0.isoformat()},
    }
    with raw(tmp_path / "frontdesk.db") as conn:
        migrate_to(conn, 12)
        conn.execute(
            "INSERT INTO agents (id, name, status, capacity, slack_user_id) "
            "VALUES ('ann', 'Ann', 'away', 2, 'U1')"
        )
        conn.execute(
            "INSERT INTO outbox (message_id, conversation_id, lane, message, status, attempts, "
            "created_at, next_attempt_at) VALUES ('m1', 'v1', 'v1#desk', ?, 'pending', 0, 0, 0)",
            (json.dumps(queued),),
        )
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    try:
        [stored] = await store.list_agents()
        [item] = await store.claim_due_outbound(T0, 10, 30)
    finally:
        await store.close()
    with raw(store.path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(agents)")]

    assert (stored.id, stored.status, stored.capacity) == ("ann", "away", 2)
    assert columns == ["id", "name", "status", "capacity"]
    assert item.message.notice is not None
    assert item.message.notice.agent == stored.model_copy(update={"status": "online"})


async def test_an_inbound_event_is_stored_while_a_turn_runs_its_steps(
    store: SqliteStore,
) -> None:
    # A platform waits for its 200 until the event is stored: a turn that has read what it
    # needs and is running its steps must not keep that insert queued behind it.
    async with store.transaction() as tx:
        await tx.load_contact_and_open_conversation("webhook", "u1")
        stored = await asyncio.wait_for(store.record_inbound(event(1, user="u2"), T0), 10)
        assert stored is not None
        await tx.save_contact(contact("c1", external_id="u1"))
    assert [item.id for item in await store.pending_inbound(10)] == [stored]
    assert await store.load_contact("c1") is not None


async def test_a_message_queued_behind_one_in_flight_goes_once_that_one_is_sent(
    store: SqliteStore,
) -> None:
    await seed(store, *(conversation(f"v{n}", f"c{n}") for n in (1, 2, 3)))
    await enqueue(store, message("m1", "v1"))
    [first] = await store.claim_due_outbound(T0, 10, 30)
    assert await store.claim_due_outbound(T0, 10, 30) == []
    # Claimed with nothing behind it; a turn then queues another in its lane.
    await enqueue(store, message("m2", "v1"))
    await store.mark_sent(first.id, T0)
    [second] = await store.claim_due_outbound(T0, 10, 30)
    assert second.message.message_id == "m2"
    await store.mark_sent(second.id, T0)
    assert await store.claim_due_outbound(T0, 10, 30) == []
    # Another conversation's message, and one due later, are claimed when due.
    await enqueue(store, message("m3", "v2"))
    await enqueue(store, message("m4", "v3"), at=seconds(60))
    [third] = await store.claim_due_outbound(T0, 10, 30)
    assert third.message.message_id == "m3"
    await store.mark_sent(third.id, T0)
    assert await store.claim_due_outbound(seconds(59), 10, 30) == []
    [fourth] = await store.claim_due_outbound(seconds(60), 10, 30)
    assert fourth.message.message_id == "m4"


def _leased(path: Path) -> dict[str, bool]:
    """Message id → whether its outbox row holds a lease, read behind the store's back."""
    with raw(path) as conn:
        rows = conn.execute("SELECT message_id, leased_until FROM outbox").fetchall()
    return {message_id: until is not None for message_id, until in rows}


def _on(channel: str, message_id: str, conversation_id: str) -> Outbound:
    return message(message_id, conversation_id).model_copy(update={"channel": channel})


async def test_a_turn_claims_its_replies_ahead_on_channels_that_send_again_after_a_crash(
    store: SqliteStore,
) -> None:
    await store.take_back(T0, {"telegram"})  # telegram: after_crash skip
    await seed(store, *(conversation(f"v{n}", f"c{n}") for n in (1, 2)))
    assert await store.claim_due_outbound(T0, 10, 30) == []  # the loop, waiting
    await enqueue(store, _on("webhook", "m1", "v1"), _on("telegram", "m2", "v2"))
    # The commit leased the webhook reply for the loop; the skip channel's is left alone:
    # claimed ahead and never handed out, a crash would have it set uncertain, never sent.
    assert _leased(store.path) == {"m1": True, "m2": False}
    claimed = await store.claim_due_outbound(T0, 10, 30)
    assert sorted(item.message.message_id for item in claimed) == ["m1", "m2"]
    assert await store.claim_due_outbound(T0, 10, 30) == []
    for item in claimed:
        await store.mark_sent(item.id, T0)
    assert [r.status for r in await store.outbox("v1")] == ["sent"]


async def test_a_reply_claimed_ahead_goes_once_when_its_lease_ran_out_first(
    store: SqliteStore,
) -> None:
    await store.take_back(T0, ())
    await seed(store, conversation("v1", "c1"))
    assert await store.claim_due_outbound(T0, 10, 30) == []
    await enqueue(store, message("m1", "v1"))
    assert _leased(store.path) == {"m1": True}
    # The loop comes for it after its lease (30 s) has run out: the row is due again, and
    # is handed out once, not once from memory and once from the file.
    [late] = await store.claim_due_outbound(seconds(31), 10, 30)
    assert late.message.message_id == "m1"
    assert await store.claim_due_outbound(seconds(31), 10, 30) == []


async def test_only_free_slots_are_claimed_ahead(store: SqliteStore) -> None:
    await store.take_back(T0, ())
    await seed(store, *(conversation(f"v{n}", f"c{n}") for n in (1, 2, 3)))
    await enqueue(store, message("m1", "v1"))
    [busy] = await store.claim_due_outbound(T0, 2, 30)  # 2 slots, 1 now in flight
    await enqueue(store, message("m2", "v2"), message("m3", "v3"))
    assert sorted(m for m, leased in _leased(store.path).items() if leased) == ["m1", "m2"]
    [second] = await store.claim_due_outbound(T0, 1, 30)
    await store.mark_sent(busy.id, T0)
    [third] = await store.claim_due_outbound(T0, 1, 30)
    assert [second.message.message_id, third.message.message_id] == ["m2", "m3"]


async def test_a_reply_claimed_ahead_is_due_again_after_a_restart(tmp_path: Path) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    await store.take_back(T0, ())
    await seed(store, conversation("v1", "c1"))
    assert await store.claim_due_outbound(T0, 10, 30) == []
    await enqueue(store, message("m1", "v1"))
    await store.close()  # as after a crash: the lease is still in the file
    again = SqliteStore(SqliteSettings(), tmp_path)
    await again.open()
    try:
        taken = await again.take_back(T0, ())
        assert (taken.resent, taken.uncertain) == (1, [])
        [item] = await again.claim_due_outbound(T0, 10, 30)
        assert item.message.message_id == "m1"
    finally:
        await again.close()


async def test_a_turn_after_an_event_stored_alone_reads_what_the_file_holds(
    store: SqliteStore,
) -> None:
    # The contact and open conversation are read as the event is stored, for the turn
    # that follows; a write in between (here the conversation closed, then another one
    # opened) makes the turn read again rather than act on what was true before.
    async with store.transaction() as tx:
        await tx.save_contact(contact("c1", external_id="u1"))
        await tx.save_conversation(conversation("v1", "c1"))
    assert await store.record_inbound(event(1, user="u1"), T0) is not None
    async with store.transaction() as tx:
        found_contact, found = await tx.load_contact_and_open_conversation("webhook", "u1")
        assert found_contact is not None
        assert found is not None
        assert found.id == "v1"
        closed = {"status": ConversationStatus.CLOSED, "version": 2}
        await tx.save_conversation(found.model_copy(update=closed))
    assert await store.record_inbound(event(2, user="u1"), T0) is not None
    await seed(store, conversation("v2", "c1"))
    async with store.transaction() as tx:
        _, found = await tx.load_contact_and_open_conversation("webhook", "u1")
    assert found is not None
    assert found.id == "v2"
    # Stored alone with nothing written after it: the turn gets what the file holds.
    assert await store.record_inbound(event(3, user="u1"), T0) is not None
    async with store.transaction() as tx:
        _, found = await tx.load_contact_and_open_conversation("webhook", "u1")
        assert found is not None
        assert found.id == "v2"
        # Another sender's turn is not handed it.
        assert await tx.load_contact_and_open_conversation("webhook", "u9") == (None, None)


def test_every_column_an_index_of_conversations_names_is_one_a_save_compares(
    tmp_path: Path,
) -> None:
    """A save sets only the indexed columns that changed since the read: a column some index
    names (in its key or its WHERE) and the save does not compare would keep a stale entry."""
    with raw(tmp_path / "schema.db") as conn:
        for migration in MIGRATIONS:
            for statement in migration:
                conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(conversations)")}
        named: set[str] = set()
        indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        for name, sql in conn.execute(indexes, ("conversations",)).fetchall():
            named |= {row[2] for row in conn.execute(f"PRAGMA index_info({name})")}
            named |= set(re.findall(r"\w+", sql or "")) & columns
    assert named == {*conversations.INDEXED, "id", "run"}


def test_an_update_sets_the_indexed_columns_that_changed_and_the_rest() -> None:
    def assigned(sql: str) -> set[str]:
        return set(re.findall(r"(\w+) = :", sql.partition("WHERE")[0]))

    unindexed = {"assigned_at", "queue_limit", "handoff", "run", "seq", "version"}
    unindexed.add("assigned_message")
    read = conversation()
    read.version = 2
    sql, _ = conversations.conversation_write(read, conversations.indexed(read))
    assert assigned(sql) == unindexed  # the run moved on: no index is touched

    closed = read.model_copy(update={"status": ConversationStatus.CLOSED, "closed_at": T0})
    sql, _ = conversations.conversation_write(closed, conversations.indexed(read))
    assert assigned(sql) == unindexed | {"status", "closed_at"}

    sql, _ = conversations.conversation_write(closed)  # not read in this transaction
    assert assigned(sql) == unindexed | set(conversations.INDEXED)


async def test_a_conversation_saved_through_narrow_updates_is_found_by_every_index(
    store: SqliteStore,
) -> None:
    await seed(store, conversation())
    for change in (
        {"seq": 3},
        {"team": "sales", "queued_at": seconds(1)},
        {"assignee": "ada", "queued_at": None},
        {"status": ConversationStatus.CLOSED, "closed_at": seconds(2)},
    ):
        async with store.transaction() as tx:
            loaded = await tx.load_conversation("v1")
            assert loaded is not None
            saved = loaded.model_copy(update={**change, "version": loaded.version + 1})
            await tx.save_conversation(saved)
    stored = await store.load_conversation("v1")
    assert stored is not None
    expected = (5, 3, "sales", "ada", None, ConversationStatus.CLOSED, seconds(2))
    found = (stored.version, stored.seq, stored.team, stored.assignee, stored.queued_at)
    assert (*found, stored.status, stored.closed_at) == expected
    with raw(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        by_status = "SELECT id FROM conversations INDEXED BY conversations_by_status"
        assert conn.execute(f"{by_status} WHERE status = 'closed'").fetchall() == [("v1",)]
        assert conn.execute(f"{by_status} WHERE status = 'open'").fetchall() == []
        open_of = "SELECT id FROM conversations WHERE status = 'open' AND assignee = 'ada'"
        assert conn.execute(open_of).fetchall() == []
