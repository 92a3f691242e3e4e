"""The Slack SDKs' log lines: quiet below WARNING, and a suggestion cut to its first line, as
the Slack channel's package asks of frontdesk's logging when it is imported."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import adapters.slack  # noqa: F401  (imported as the config's channel would import it)
from core import logs
from tests.support.logs import captured


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    with captured() as stream:
        yield stream


def test_slack_sdk_requests_stay_hidden_even_at_debug(output: io.StringIO) -> None:
    logs.setup("DEBUG", "text", output)

    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request: headers")
    logging.getLogger("frontdesk.engine").debug("frontdesk's own debug shows")

    assert [line.split(": ", 1)[1] for line in output.getvalue().splitlines()] == [
        "frontdesk's own debug shows"
    ]


def test_slack_bolt_suggestions_are_cut_to_one_line(output: io.StringIO) -> None:
    logs.setup("INFO", "text", output)

    logging.getLogger("slack_bolt.AsyncApp").warning(
        "Unhandled request ({'type': 'event_callback'})\n---\n[Suggestion] You can handle..."
    )

    [line] = output.getvalue().splitlines()
    assert line.endswith("slack_bolt.AsyncApp: Unhandled request ({'type': 'event_callback'})")
