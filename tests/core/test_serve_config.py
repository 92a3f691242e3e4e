"""The config's `server` and `retention` sections, and where `serve` listens: the flags over
FRONTDESK_HOST/FRONTDESK_PORT over the file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError


def write(folder: Path, text: str) -> Path:
    path = folder / "frontdesk.yaml"
    path.write_text(text)
    return path


def problems(path: Path, **overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **overrides)  # type: ignore[arg-type]
    return [str(p) for p in caught.value.problems]


def test_retention_reads_durations_and_off(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "retention:\n  transcripts: 30d\n  inbox_dedupe: 12h\n  delivered_outbox: off\n"
        "  sweep_every: 30m\n",
    )
    retention = load_config(path).retention
    assert retention.transcripts == timedelta(days=30)
    assert retention.inbox_dedupe == timedelta(hours=12)
    assert retention.delivered_outbox is None
    assert retention.closed_conversations == timedelta(days=365)  # the default
    assert retention.sweep_every == timedelta(minutes=30)


def test_a_bad_duration_names_its_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, "server: {port: 8080}\nretention:\n  transcripts: 90 days\n  inbox_dedupe: 0h\n"
    )
    assert problems(path) == [
        f"{path}:3: retention.transcripts: '90 days' is not a duration: write "
        "e.g. 90d, 12h, 30m, 45s or off",
        f"{path}:4: retention.inbox_dedupe: a duration must be more than zero "
        "(write off to keep forever)",
    ]


def test_listening_comes_from_flags_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "server: {host: 127.0.0.1, port: 8080, shutdown_grace_seconds: 3}\n")
    assert (load_config(path).server.host, load_config(path).server.port) == ("127.0.0.1", 8080)

    monkeypatch.setenv("FRONTDESK_HOST", "0.0.0.0")
    monkeypatch.setenv("FRONTDESK_PORT", "9090")
    server = load_config(path).server
    assert (server.host, server.port, server.shutdown_grace_seconds) == ("0.0.0.0", 9090, 3)

    server = load_config(path, host="::1", port=7070).server
    assert (server.host, server.port) == ("::1", 7070)


def test_a_bad_port_names_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "server: {port: 8080}\n")
    monkeypatch.setenv("FRONTDESK_PORT", "70000")
    assert problems(path) == [
        "FRONTDESK_PORT: server.port: '70000': Input should be less than or equal to 65535"
    ]
    assert problems(path, port=-1) == [
        "--port: server.port: -1: Input should be greater than or equal to 0"
    ]


def test_connection_limits_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  max_connections: 0\n  header_timeout_seconds: 0\n")
    assert problems(path) == [
        f"{path}:3: server.header_timeout_seconds: Input should be greater than 0",
        f"{path}:2: server.max_connections: Input should be greater than or equal to 1",
    ]
