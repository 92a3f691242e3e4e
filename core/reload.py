"""Reloading the config on SIGHUP, without a restart.

The new files are validated first: a file with a problem is logged (file:line: field, as
`frontdesk validate` says it) and the running config is kept whole. Otherwise workflows,
schedules, settings, secrets, retention, agents and teams take effect; new conversations
start on the new workflow versions while runs under way finish on theirs. Sections that the
running server, store or channels were built from need a restart: a change to them is logged
and not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from core import logs
from core.config import Config
from core.errors import ConfigError, StoreUnavailable

if TYPE_CHECKING:
    from core.app import Frontdesk

log = logging.getLogger("frontdesk.reload")

NEEDS_RESTART = ("server", "store", "channels", "api", "outbox", "desk")


async def reload(frontdesk: Frontdesk, load: Callable[[], Config]) -> bool:
    """Apply the config `load` reads; False (and the running config kept) when it cannot."""
    running = frontdesk.config
    try:
        new = load()
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("reload refused, keeping the running config: %s", problem)
        return False
    except OSError as exc:
        log.error("reload refused, keeping the running config: %s", exc)
        return False
    logs.hide(new.hidden_values())  # before anything of it can reach a log line
    kept = {}
    for section in NEEDS_RESTART:
        if getattr(new, section) != getattr(running, section):
            log.warning("reload: %s changed, which needs a restart; not applied", section)
            kept[section] = getattr(running, section)
    try:
        await frontdesk.runtime.reload(new)
        await frontdesk.store.sync_directory(new.agents, new.teams)
    except (StoreUnavailable, ValueError) as exc:
        log.error("reload failed, keeping the running config: %s", exc)
        return False
    frontdesk.config = replace(new, **kept)
    for agent in await frontdesk.store.list_agents():
        frontdesk.runtime.agent_status_changed(agent)  # an agent added online takes the queue
    log.info(
        "config reloaded from %s: workflows=%s",
        new.source,
        ",".join(w.name for w in new.workflows) or "-",
    )
    return True
