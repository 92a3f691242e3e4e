"""Ids of new contacts and conversations (`core.ids`): UUIDv7, time first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.arrival import arrived, new_conversation
from core.ids import time_ordered
from core.models import ContactProfile

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
MS_AT_T0 = 1_796_117_400_000  # T0 in milliseconds since the Unix epoch


def test_an_id_is_a_uuid7_that_starts_with_its_millisecond() -> None:
    made = time_ordered(T0)
    assert len(made) == 32
    assert made == made.lower()
    parsed = uuid.UUID(made)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert int(made[:12], 16) == MS_AT_T0


def test_later_ids_sort_after_earlier_ones_and_ids_of_one_millisecond_differ() -> None:
    times = [T0 + timedelta(microseconds=n) for n in (0, 1_000, 2_000, 3_000, 10**9)]
    ids = [time_ordered(t) for t in times]
    assert ids == sorted(ids)
    # Within one millisecond the prefix is the same: the time is cut, never rounded up.
    assert time_ordered(T0 + timedelta(microseconds=999))[:12] == ids[0][:12]
    same = {time_ordered(T0) for _ in range(1000)}
    assert len(same) == 1000


def test_a_new_contact_and_conversation_take_the_turns_time_in_their_ids() -> None:
    contact, _ = arrived(None, "webhook", ContactProfile(external_id="u1"), T0)
    later = T0 + timedelta(seconds=5)
    conversation = new_conversation(contact, later)
    assert int(contact.id[:12], 16) == MS_AT_T0
    assert int(conversation.id[:12], 16) == MS_AT_T0 + 5_000
    assert conversation.id > contact.id
