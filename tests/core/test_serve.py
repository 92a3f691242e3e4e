"""`frontdesk serve` as an operator runs it: a real process on 127.0.0.1, its exit status,
stderr and log, /healthz and /readyz, and its signals."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import aiohttp

from tests.support.harness import API_TOKEN, event, post_event, write_config
from tests.support.process import (
    free_port,
    listen_on,
    run_frontdesk,
    serving,
    until_healthy,
)
from tests.support.receiver import Receiver
from tests.support.waiting import until

WELCOME = "Hi{% if contact.name %} {{ contact.name }}{% endif %}! Welcome to Example Co."
THANKS = "Thanks! {{ agent.name }} from {{ conversation.team | capitalize }} will help you"


async def run_serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run `frontdesk serve ...` to its end (at most 10 s): exit status, stderr, seconds."""
    began = time.monotonic()
    status, _, err = await run_frontdesk("serve", *args, env=env, limit=10)
    return status, err, time.monotonic() - began


async def status_of(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with session.get(url) as response:
        return response.status, await response.json()


async def test_a_busy_port_is_one_line_and_a_failure_exit(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        listen_on(config, port)
        code, err, seconds = await run_serve("--config", str(config))

    assert code == 1
    assert seconds < 5
    assert err.strip() == f"frontdesk: cannot listen on 127.0.0.1:{port}: address already in use"
    assert not (tmp_path / "frontdesk.db").exists()  # nothing started before the bind


async def test_a_busy_metrics_port_is_one_line_and_a_failure_exit(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    listen_on(config, free_port())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config.write_text(config.read_text() + f"metrics: {{port: {port}}}\n")
        code, err, seconds = await run_serve("--config", str(config))

    assert code == 1
    assert seconds < 5
    assert err.strip().splitlines()[-1] == (
        f"frontdesk: cannot listen on 127.0.0.1:{port} (metrics): address already in use"
    )
    assert "Traceback" not in err
    assert "frontdesk started" not in err


async def test_a_store_that_cannot_be_opened_is_one_line_and_a_failure_exit(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    (tmp_path / "not-a-folder").write_text("a file where the database's folder should be")
    config.write_text(
        config.read_text().replace("path: frontdesk.db", "path: not-a-folder/frontdesk.db")
    )
    listen_on(config, free_port())

    code, err, seconds = await run_serve("--config", str(config))

    assert code == 1
    assert seconds < 5
    assert "frontdesk: cannot open the store: cannot open SQLite database" in err
    assert "not-a-folder/frontdesk.db" in err
    assert "Traceback" not in err
    assert "frontdesk started" not in err


async def test_flags_win_over_the_environment_which_wins_over_the_file(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    in_file, in_env, in_flag = free_port(), free_port(), free_port()
    listen_on(config, in_file)
    env = {"FRONTDESK_PORT": str(in_env), "FRONTDESK_HOST": "127.0.0.1"}

    async with serving(config, env=env):
        await until_healthy(http, f"http://127.0.0.1:{in_env}")
    async with serving(config, env=env, serve_options=["--port", str(in_flag)]):
        await until_healthy(http, f"http://127.0.0.1:{in_flag}")
        # ...and nothing listens where the file or the environment said.
        for port in (in_file, in_env):
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_a_bad_port_in_the_environment_is_named(
    tmp_path: Path, receiver: Receiver, route_by_team: str
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})

    code, err, _ = await run_serve("--config", str(config), env={"FRONTDESK_PORT": "http"})

    assert code == 1
    assert err.startswith("FRONTDESK_PORT: server.port: 'http': ")


async def test_readiness_fails_with_its_reason_when_the_database_file_goes(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    log = tmp_path / "frontdesk.log"
    async with serving(config, log):
        await until_healthy(http, url)
        assert await status_of(http, f"{url}/readyz") == (200, {"status": "ready"})

        # Moved away (as a careless clean-up or a restore over it would): the process would
        # go on writing to a file nobody opens again.
        (tmp_path / "frontdesk.db").rename(tmp_path / "moved.db")
        status, body = await status_of(http, f"{url}/readyz")
        assert status == 503
        assert body["status"] == "not ready"
        assert (
            body["reason"] == f"store: the database file {tmp_path}/frontdesk.db has been removed"
        )
        assert (await status_of(http, f"{url}/healthz"))[0] == 200

        # Put back: ready again.
        (tmp_path / "moved.db").rename(tmp_path / "frontdesk.db")
        assert await status_of(http, f"{url}/readyz") == (200, {"status": "ready"})
    assert "not ready: store: the database file" in log.read_text()


async def test_sigterm_drains_and_exits_cleanly(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    config.write_text(
        config.read_text().replace(
            "server: {host: 127.0.0.1, port: 0}",
            "server: {host: 127.0.0.1, port: 0, shutdown_grace_seconds: 3}",
        )
    )
    url = listen_on(config, free_port())
    log = tmp_path / "frontdesk.log"
    async with serving(config, log) as process:
        await until_healthy(http, url)
        assert (await post_event(http, url, event("c-1", "Hello")))[0] == 200
        await receiver.wait_for_texts("c-1", 2)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    text = log.read_text()
    assert "stopping (grace 3 s)" in text
    assert "Traceback" not in text


async def test_sighup_reloads_workflows_and_runs_under_way_keep_theirs(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    workflow = tmp_path / "workflows" / "route-by-team.yaml"
    log = tmp_path / "frontdesk.log"
    async with serving(config, log) as process:
        await until_healthy(http, url)
        # c-1 is asked the question on the old version...
        assert (await post_event(http, url, event("c-1", "Hello", name="Ana")))[0] == 200
        assert (await receiver.wait_for_texts("c-1", 2))[0] == "Hi Ana! Welcome to Example Co."

        # ...the file changes, and so does a section that needs a restart.
        workflow.write_text(
            route_by_team.replace(
                WELCOME, "Hello again{% if contact.name %}, {{ contact.name }}{% endif %}."
            ).replace(THANKS, "Good news: {{ agent.name }} will help you")
        )
        config.write_text(
            config.read_text()
            .replace("max_attempts: 5", "max_attempts: 6")
            .replace(
                "  dave: {name: Dave, status: away}",
                "  dave: {name: Dave, status: away}\n  erin: {name: Erin, status: online}",
            )
        )
        process.send_signal(signal.SIGHUP)
        await until(lambda: "config reloaded" in log.read_text())

        # The directory follows the file...
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with http.get(f"{url}/api/agents", headers=headers) as response:
            assert "erin" in [agent["id"] for agent in await response.json()]
        # ...and a new conversation starts on the new workflow version...
        assert (await post_event(http, url, event("c-2", "Hi", name="Bo")))[0] == 200
        assert (await receiver.wait_for_texts("c-2", 2))[0] == "Hello again, Bo."
        # ...and c-1 finishes on the one it started with.
        assert (await post_event(http, url, event("c-1", "support")))[0] == 200
        texts = await receiver.wait_for_texts("c-1", 3)
        assert texts[2] == "Thanks! Carol from Support will help you shortly."
        assert (await post_event(http, url, event("c-2", "sales")))[0] == 200
        assert (await receiver.wait_for_texts("c-2", 3))[
            2
        ] == "Good news: Alice will help you shortly."
    text = log.read_text()
    assert "reload: outbox changed, which needs a restart; not applied" in text
    assert "Traceback" not in text


async def test_sighup_with_a_broken_workflow_keeps_the_running_one(
    tmp_path: Path, receiver: Receiver, route_by_team: str, http: aiohttp.ClientSession
) -> None:
    config = write_config(tmp_path, receiver.url, {"route-by-team": route_by_team})
    url = listen_on(config, free_port())
    workflow = tmp_path / "workflows" / "route-by-team.yaml"
    log = tmp_path / "frontdesk.log"
    async with serving(config, log) as process:
        await until_healthy(http, url)
        workflow.write_text(route_by_team.replace("type: ask_question", "type: ask_questions"))
        process.send_signal(signal.SIGHUP)
        await until(lambda: "reload refused" in log.read_text())

        assert process.returncode is None
        assert (await post_event(http, url, event("c-1", "Hello", name="Ana")))[0] == 200
        assert (await receiver.wait_for_texts("c-1", 2))[0] == "Hi Ana! Welcome to Example Co."
        assert (await status_of(http, f"{url}/readyz"))[0] == 200
    line = next(line for line in log.read_text().splitlines() if "reload refused" in line)
    assert f"keeping the running config: {workflow}:12: steps[1].type: unknown type" in line
