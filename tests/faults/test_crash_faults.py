"""Crash faults at the test suite's size: a real frontdesk killed with SIGKILL under load
(`python -m tests.faults` runs the large size). Each test prints its table row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.crash import Plan, Tally, run

pytestmark = pytest.mark.faults

# Small, so that the suite stays fast: each kill costs a process start (a second or more on a
# busy machine).
PLAN = Plan(events=200, kills=2)
TELEGRAM_PLAN = Plan(events=150, kills=1)


def show(capsys: pytest.CaptureFixture[str], tally: Tally) -> None:
    with capsys.disabled():
        print(f"\n{Tally.HEADER}\n{tally.row()}")


async def test_the_webhook_channel_loses_and_duplicates_nothing_across_kills(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = await run(tmp_path, PLAN, "webhook")

    show(capsys, tally)
    # A message sent again carries its id, and the receiver drops it: `repeated` may be
    # above zero, but no customer sees a text twice.
    assert (tally.lost, tally.duplicated, tally.out_of_order, tally.stuck) == (0, 0, 0, 0)
    assert tally.uncertain == 0
    assert "Traceback" not in (tmp_path / "frontdesk.log").read_text()


async def test_telegram_resends_what_was_in_flight_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = await run(tmp_path, TELEGRAM_PLAN, "telegram", "resend")

    show(capsys, tally)
    # Telegram has no idempotency key: a message in flight at a kill may be shown twice.
    assert (tally.lost, tally.out_of_order, tally.stuck, tally.uncertain) == (0, 0, 0, 0)
    assert "Traceback" not in (tmp_path / "frontdesk.log").read_text()


async def test_telegram_with_after_crash_skip_never_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = await run(tmp_path, TELEGRAM_PLAN, "telegram", "skip")

    show(capsys, tally)
    assert tally.duplicated == 0
    # What was in flight at a kill is set aside, at most one message per kill and chat; a
    # set-aside message may be missing, nothing else is.
    assert tally.lost <= tally.uncertain
    assert (tally.out_of_order, tally.stuck) == (0, 0)
    assert "Traceback" not in (tmp_path / "frontdesk.log").read_text()
