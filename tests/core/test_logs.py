"""The log handler: JSON or text lines with fields, secrets masked, noisy libraries quiet."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from core import logs
from tests.support.logs import captured

SECRET = "xoxb-very-secret-token-value"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What the handler writes, with the logging setup it replaced put back afterwards."""
    with captured() as stream:
        yield stream


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(stream)]


def test_json_is_one_object_per_line_with_the_fields(output: io.StringIO) -> None:
    logs.setup("INFO", "json", output)
    fields = {"conversation_id": "c1", "channel": "webhook", "contact_key": "webhook:ana"}

    logging.getLogger("frontdesk.events").info("step %s ran", "greet", extra=fields)
    logging.getLogger("frontdesk.events").debug("not at INFO")

    [entry] = entries(output)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {
        "level": "INFO",
        "logger": "frontdesk.events",
        "message": "step greet ran",
        **fields,
    }


def test_json_gives_an_exception_as_one_string(output: io.StringIO) -> None:
    logs.setup("INFO", "json", output)
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        logging.getLogger("frontdesk.runtime").exception("it failed", extra={"agent": "alice"})

    [entry] = entries(output)
    assert entry["message"] == "it failed"
    assert entry["agent"] == "alice"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: broken\nacross lines")


def test_text_is_one_line_with_the_fields_as_key_value(output: io.StringIO) -> None:
    logs.setup("INFO", "text", output)

    logging.getLogger("frontdesk.events").info(
        "assigned to alice", extra={"conversation_id": "c1", "team": "sales", "by": "two words"}
    )

    [line] = lines(output)
    assert line.endswith(
        ' INFO frontdesk.events: assigned to alice conversation_id=c1 team=sales by="two words"'
    )


def test_secret_values_are_masked_in_messages_fields_and_tracebacks(
    output: io.StringIO,
) -> None:
    logs.setup("DEBUG", "json", output)
    logs.hide([SECRET])
    library = logging.getLogger("some.library")

    library.debug("headers: %s", {"Authorization": f"Bearer {SECRET}"})
    library.info("token", extra={"token": SECRET})
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        library.exception("request failed")

    assert SECRET not in output.getvalue()
    first, second, third = entries(output)
    assert first["message"] == "headers: {'Authorization': 'Bearer ***'}"
    assert second["token"] == "***"
    assert third["exception"].endswith("RuntimeError: refused ***")


def test_libraries_that_print_parameters_stay_at_warning_even_at_debug(
    output: io.StringIO,
) -> None:
    logs.setup("DEBUG", "text", output)

    logging.getLogger("aiosqlite").debug("executing INSERT with (%r,)", "a parameter")
    logging.getLogger("httpx").debug("HTTP Request: GET https://api.example/bot-token/")
    logging.getLogger("aiosqlite").warning("a warning still shows")
    logging.getLogger("frontdesk.engine").debug("frontdesk's own debug shows")

    assert [line.split(": ", 1)[1] for line in lines(output)] == [
        "a warning still shows",
        "frontdesk's own debug shows",
    ]


def test_a_library_quieted_after_setup_is_quiet_at_once_and_cut_to_one_line(
    output: io.StringIO,
) -> None:
    logs.setup("DEBUG", "text", output)
    logs.quiet("a_chatty_sdk", first_line=True)  # as a channel's package does when imported

    logging.getLogger("a_chatty_sdk.client").debug("Sending a request: headers")
    logging.getLogger("a_chatty_sdk.app").warning("Unhandled request\n---\n[Suggestion] code")

    [line] = lines(output)
    assert line.endswith("a_chatty_sdk.app: Unhandled request")


def test_an_unknown_level_is_refused(output: io.StringIO) -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        logs.setup("LOUD", "text", output)
