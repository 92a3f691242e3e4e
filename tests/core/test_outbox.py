"""The outbox's retry arithmetic: exponential, capped, with jitter of 50 to 100%."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest

from core.clock import ManualClock
from core.config_sections import OutboxSettings
from core.outbox import OutboxWorker
from core.ports import Store


def worker(jitter: float, base: float = 2.0, cap: float = 60.0) -> OutboxWorker:
    return OutboxWorker(
        store=cast(Store, object()),  # the arithmetic reads no store
        channels={},
        clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC)),
        settings=OutboxSettings(base_delay_seconds=base, max_delay_seconds=cap),
        jitter=lambda: jitter,
    )


# (rule, attempts made, jitter drawn, seconds to wait)
DELAYS: list[tuple[str, int, float, float]] = [
    ("after the first attempt: the base, fully jittered down to half", 1, 0.0, 1.0),
    ("after the first attempt: the base at most", 1, 1.0, 2.0),
    ("doubles with each attempt", 2, 1.0, 4.0),
    ("and again", 3, 1.0, 8.0),
    ("jitter in between", 3, 0.5, 6.0),
    ("capped at the maximum", 10, 1.0, 60.0),
    ("the cap jittered too", 10, 0.0, 30.0),
    ("the cap holds for very many attempts", 200, 1.0, 60.0),
]


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"), [r[1:] for r in DELAYS], ids=[r[0] for r in DELAYS]
)
def test_the_wait_before_the_next_attempt(attempts: int, jitter: float, seconds: float) -> None:
    assert worker(jitter).backoff(attempts) == pytest.approx(seconds)
