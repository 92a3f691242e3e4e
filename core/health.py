"""Health and readiness, for a supervisor or a load balancer.

`/healthz` answers 200 while the process runs (it touches nothing). `/readyz` answers 200 only
when the store can take a write within READY_DEADLINE, the runtime's loops run and every
channel has started and still receives; otherwise 503 with the problems found, so that a load
balancer sends traffic elsewhere and an operator reads why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from aiohttp import web

from core.errors import StoreUnavailable
from core.ports import Channel, Store, Supervised

log = logging.getLogger("frontdesk.health")

READY_DEADLINE = 2.0  # seconds for the store's write check


class Readiness:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        started: Callable[[], set[str]],
        loops: Mapping[str, asyncio.Task[None]],
    ) -> None:
        self._store = store
        self._channels = channels
        self._started = started
        self._loops = loops  # the runtime's, by name: live, so started ones show up
        self._reported: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/readyz", self.ready)]

    async def problems(self) -> list[str]:
        found = [
            f"runtime: the {name} loop has stopped" for name, t in self._loops.items() if t.done()
        ]
        if not self._loops:
            found.append("runtime: not started")
        started = self._started()
        for slug, channel in self._channels.items():
            if slug not in started:
                found.append(f"channel {slug}: not started")
            elif isinstance(channel, Supervised) and (failure := channel.failure()) is not None:
                found.append(f"channel {slug}: {failure}")
        try:
            async with asyncio.timeout(READY_DEADLINE):
                await self._store.check_writable()
        except TimeoutError:
            found.append(f"store: no write possible within {READY_DEADLINE:g} s")
        except StoreUnavailable as exc:
            found.append(f"store: {exc}")
        return found

    async def ready(self, request: web.Request) -> web.Response:
        problems = await self.problems()
        if problems != self._reported:  # logged when it changes, not at every probe
            self._reported = problems
            if problems:
                log.warning("not ready: %s", "; ".join(problems))
            else:
                log.info("ready again")
        if problems:
            return web.json_response(
                {"status": "not ready", "reason": "; ".join(problems), "problems": problems},
                status=503,
            )
        return web.json_response({"status": "ready"})
