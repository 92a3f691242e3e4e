"""Purging finished data (see `core.retention`): a few hundred rows per transaction, so that
a large first purge never holds the writer for long.

What is still needed is spelled out in the statements: only processed events that were not
set aside, only sent or given-up messages, only transcripts of closed conversations, and only
closed conversations with no pending message and no timer.
"""

from __future__ import annotations

import json
from datetime import datetime

from core.retention import Cutoffs, Purged
from storage.sqlite.codec import to_micros
from storage.sqlite.connection import fetch_all
from storage.sqlite.writer import Writer

BATCH = 500

# An event set aside (its `error` set) stays for operators to read.
_INBOX = """
    DELETE FROM inbox WHERE id IN (
        SELECT id FROM inbox
        WHERE processed_at IS NOT NULL AND error IS NULL AND received_at < ?1
        LIMIT ?2
    )
"""
_OUTBOX = """
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox
        WHERE (status = 'sent' AND sent_at < ?1) OR (status = 'failed' AND failed_at < ?1)
        LIMIT ?2
    )
"""
_TRANSCRIPT = """
    DELETE FROM transcript WHERE id IN (
        SELECT t.id FROM transcript AS t JOIN conversations AS c ON c.id = t.conversation_id
        WHERE c.status = 'closed' AND t.at < ?1
        LIMIT ?2
    )
"""
_FINISHED_CONVERSATIONS = """
    SELECT c.id FROM conversations AS c
    WHERE c.status = 'closed' AND c.closed_at < ?1
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS o WHERE o.conversation_id = c.id AND o.status = 'pending'
      )
      AND NOT EXISTS (SELECT 1 FROM timers AS t WHERE t.conversation_id = c.id)
    LIMIT ?2
"""
# desk_threads' foreign key is checked at once, so its rows go before their conversation.
_CONVERSATION_ROWS = (
    "DELETE FROM desk_threads WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM transcript WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM history WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM outbox WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM conversations WHERE id IN (SELECT value FROM json_each(?))",
)


async def purge(writer: Writer, cutoffs: Cutoffs) -> Purged:
    return Purged(
        inbound_events=await _delete(writer, _INBOX, cutoffs.inbox_dedupe),
        outbox_messages=await _delete(writer, _OUTBOX, cutoffs.delivered_outbox),
        transcript_entries=await _delete(writer, _TRANSCRIPT, cutoffs.transcripts),
        conversations=await _delete_conversations(writer, cutoffs.closed_conversations),
    )


async def _delete(writer: Writer, sql: str, before: datetime | None) -> int:
    if before is None:
        return 0
    total = 0
    while True:
        async with writer.transaction() as conn:
            cursor = await conn.execute(sql, (to_micros(before), BATCH))
            deleted = cursor.rowcount
        total += deleted
        if deleted < BATCH:
            return total


async def _delete_conversations(writer: Writer, before: datetime | None) -> int:
    if before is None:
        return 0
    total = 0
    while True:
        async with writer.transaction() as conn:
            rows = await fetch_all(conn, _FINISHED_CONVERSATIONS, (to_micros(before), BATCH))
            ids = json.dumps([str(row[0]) for row in rows])
            for statement in _CONVERSATION_ROWS:
                await conn.execute(statement, (ids,))
        total += len(rows)
        if len(rows) < BATCH:
            return total
