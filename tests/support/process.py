"""A real `frontdesk serve` process on 127.0.0.1, for crash tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

FRONTDESK = Path(sys.executable).parent / "frontdesk"


async def run_frontdesk(
    *args: str, env: Mapping[str, str] | None = None, limit: float = 60
) -> tuple[int, str, str]:
    """`frontdesk ARGS` run to its end in a child process: exit status, stdout, stderr.
    Bounded: one that has not ended within `limit` seconds is killed and fails the caller."""
    process = await asyncio.create_subprocess_exec(
        str(FRONTDESK),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"frontdesk {' '.join(args)} did not end") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listen_on(config: Path, port: int) -> str:
    """Point a config written by `write_config` at `port`; returns the base URL."""
    config.write_text(config.read_text().replace("port: 0", f"port: {port}"))
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(
    config: Path,
    log: Path | None = None,
    *options: str,
    serve_options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`frontdesk [options] serve --config config [serve_options]` as a child process, with
    `env` added to the environment; stopped on exit if it is still running (SIGTERM, then
    SIGKILL if it has not stopped within ten seconds)."""
    out = log.open("ab") if log is not None else None
    try:
        process = await asyncio.create_subprocess_exec(
            str(FRONTDESK),
            *options,
            "serve",
            "--config",
            str(config),
            *serve_options,
            stdout=out,
            stderr=out,
            env={**os.environ, **(env or {})},
        )
    finally:
        if out is not None:
            out.close()
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def until_healthy(session: aiohttp.ClientSession, url: str, limit: float = 30.0) -> None:
    """Wait for /healthz to answer (bounded: a server that never starts fails the caller).
    The bound is generous: a start imports slack_sdk and the stores' drivers, which takes
    seconds on a busy machine."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError("frontdesk did not come up")
