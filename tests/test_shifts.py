"""Shift routing by schedule, end to end with an injected clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.config import load_config
from core.errors import ConfigError
from tests.support.harness import running, write_config
from tests.support.receiver import Receiver

SHIFTS = """
name: shifts
trigger: conversation_opened
steps:
  - {id: hello, type: send_message, text: "Welcome!"}
  - id: by_shift
    type: branch
    branches:
      - conditions: [{field: schedule.morning, op: equals, value: open}]
        steps: [{id: to_morning, type: assign, team: morning}]
      - conditions: [{field: schedule.afternoon, op: equals, value: open}]
        steps: [{id: to_afternoon, type: assign, team: afternoon}]
      - conditions: [{field: schedule.night, op: equals, value: open}]
        steps: [{id: to_night, type: assign, team: night}]
    else:
      - {id: away, type: send_message, text: "We're closed for the weekend."}
      - {id: to_next, type: assign, team: morning, only_online: false}
  - {id: told, type: send_message, text: "{{ agent.name }} ({{ conversation.team }})"}
"""

DIRECTORY = """
agents:
  mo: {name: Mo, status: online}
  af: {name: Af, status: online}
  ni: {name: Ni, status: online}
teams:
  morning: {agents: [mo]}
  afternoon: {agents: [af]}
  night: {agents: [ni]}
"""

SCHEDULES = """
schedules:
  morning:
    timezone: Europe/Madrid
    hours: {mon: ["06:00-14:00"], tue: ["06:00-14:00"], wed: ["06:00-14:00"],
            thu: ["06:00-14:00"], fri: ["06:00-14:00"]}
  afternoon:
    timezone: Europe/Madrid
    hours: {mon: ["14:00-22:00"], tue: ["14:00-22:00"], wed: ["14:00-22:00"],
            thu: ["14:00-22:00"], fri: ["14:00-22:00"]}
  night:
    timezone: Europe/Madrid
    hours: {mon: ["22:00-06:00"], tue: ["22:00-06:00"], wed: ["22:00-06:00"],
            thu: ["22:00-06:00"], fri: ["22:00-24:00"], sun: ["22:00-06:00"]}
"""

MADRID = ZoneInfo("Europe/Madrid")


async def replies_at(
    tmp_path: Path, receiver: Receiver, when: str, contact: str, count: int
) -> list[str]:
    """What a contact writing at `when` (Madrid time) is told."""
    config = write_config(tmp_path, receiver.url, {"shifts": SHIFTS}, DIRECTORY, SCHEDULES)
    start = datetime.fromisoformat(when).replace(tzinfo=MADRID)
    async with running(config, start=start) as fd:
        await fd.say(contact, "hi")
        return await receiver.wait_for_texts(contact, count)


async def test_monday_afternoon_goes_to_the_afternoon_team(
    tmp_path: Path, receiver: Receiver
) -> None:
    replies = await replies_at(tmp_path, receiver, "2026-11-23 16:30", "a", 2)
    assert replies == ["Welcome!", "Af (afternoon)"]


async def test_nights_cross_midnight(tmp_path: Path, receiver: Receiver) -> None:
    replies = await replies_at(tmp_path, receiver, "2026-11-24 03:00", "n", 2)
    assert replies == ["Welcome!", "Ni (night)"]


async def test_saturday_gets_the_away_message_and_the_morning_team(
    tmp_path: Path, receiver: Receiver
) -> None:
    replies = await replies_at(tmp_path, receiver, "2026-11-28 11:00", "s", 3)
    assert replies == [
        "Welcome!",
        "We're closed for the weekend.",
        "Mo (morning)",
    ]


def test_an_unknown_schedule_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/cb", {"shifts": SHIFTS}, DIRECTORY)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    messages = [str(p) for p in caught.value.problems]
    assert any(
        "steps[1].branches[0].conditions[0].field: no schedule 'morning'" in m for m in messages
    ), messages
