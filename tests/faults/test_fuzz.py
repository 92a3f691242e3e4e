"""Seeded hostile input on all three channels against the real application on 127.0.0.1:
only 4xx (or 200 for what is valid or ignored), no traceback, and bystanders unharmed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.faults.fuzz import BYSTANDERS, fuzz

pytestmark = pytest.mark.faults

SEED = 20261201
INPUTS = 10_000


async def test_hostile_input_is_refused_without_a_5xx_or_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = await fuzz(tmp_path, INPUTS, SEED)

    with capsys.disabled():  # the counts are part of the test's output
        print(f"\nfuzz: {INPUTS} inputs, seed {SEED}\n{summary.table()}")
    assert summary.failures == []
    assert summary.server_errors == 0
    assert summary.tracebacks == []
    assert summary.bystanders == {name: True for name in summary.bystanders}
    assert len(summary.bystanders) == 3 * BYSTANDERS
    # Every channel was reached, and its parser too: refusals beyond the signature check.
    per_channel: Counter[str] = Counter()
    for (channel, status), count in summary.answers.items():
        assert status in (200, 400, 401, 413), (channel, status)
        per_channel[channel] += count
        if status == 400:
            assert count > INPUTS // 20, channel
    assert sum(per_channel.values()) == INPUTS
    assert min(per_channel.values()) > INPUTS // 4
