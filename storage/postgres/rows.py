"""The statements that save contacts, conversations and transcript entries; their rows are
mapped in `storage.rows`, shared with the other stores.

asyncpg gives `timestamptz` back as aware datetimes in UTC; a naive time is refused on the way
in, as the SQLite store refuses it, rather than read as some zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.models import Contact, Conversation, TranscriptEntry
from storage.rows import (
    CONTACT_COLUMNS,
    CONVERSATION_COLUMNS,
    ENTRY_COLUMNS,
    Times,
    columns,
    contact_values,
    conversation_values,
    entry_values,
    in_utc,
)


def _as_given(moment: datetime) -> datetime:
    return moment


TIMES = Times(column=in_utc, moment=_as_given)
aware = in_utc


def _places(names: tuple[str, ...]) -> str:
    return ", ".join(f"${n}" for n in range(1, len(names) + 1))


# contacts ---------------------------------------------------------------------------------

CONTACT = columns(CONTACT_COLUMNS)

SAVE_CONTACT = f"""
    INSERT INTO contacts ({CONTACT}) VALUES ({_places(CONTACT_COLUMNS)})
    ON CONFLICT (id) DO UPDATE SET
        channel = excluded.channel, external_id = excluded.external_id,
        name = excluded.name, username = excluded.username,
        language = excluded.language, email = excluded.email,
        phone = excluded.phone, country = excluded.country,
        fields = excluded.fields, tags = excluded.tags,
        created_at = excluded.created_at, unreachable_since = excluded.unreachable_since,
        workflow_fields = excluded.workflow_fields
"""

MARK_UNREACHABLE = """
    UPDATE contacts SET unreachable_since = COALESCE(unreachable_since, $1)
    WHERE channel = $2 AND external_id = $3
"""


def contact_row(contact: Contact) -> tuple[Any, ...]:
    return contact_values(contact, TIMES)


# conversations ----------------------------------------------------------------------------

CONVERSATION = columns(CONVERSATION_COLUMNS)
_PLACE = {name: f"${n}" for n, name in enumerate(CONVERSATION_COLUMNS, start=1)}

INSERT_CONVERSATION = f"""
    INSERT INTO conversations ({CONVERSATION}) VALUES ({_places(CONVERSATION_COLUMNS)})
"""

# Optimistic concurrency: the row must still be at the version the caller loaded.
UPDATE_CONVERSATION = f"""
    UPDATE conversations SET
        {", ".join(f"{name} = {_PLACE[name]}" for name in CONVERSATION_COLUMNS if name != "id")}
    WHERE id = {_PLACE["id"]} AND version = {_PLACE["version"]} - 1
"""


def conversation_write(conversation: Conversation) -> tuple[str, tuple[Any, ...]]:
    """Version 1 inserts; a later one updates the row stored at version - 1."""
    values = conversation_values(conversation, TIMES)
    sql = INSERT_CONVERSATION if conversation.version == 1 else UPDATE_CONVERSATION
    return sql, tuple(values[name] for name in CONVERSATION_COLUMNS)


# transcript -------------------------------------------------------------------------------

ENTRY = columns(ENTRY_COLUMNS)

ADD_TRANSCRIPT = f"INSERT INTO transcript ({ENTRY}) VALUES ({_places(ENTRY_COLUMNS)})"


def transcript_row(entry: TranscriptEntry) -> tuple[Any, ...]:
    return entry_values(entry, TIMES)
