"""Which event loop `frontdesk serve` runs on: uvloop when it is installed (`pip install
'frontdesk[speed]'`), else asyncio's own. Nothing in frontdesk needs uvloop; it only makes
the loop's own work (sockets, callbacks, timers) cheaper.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Literal

EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
CHOICES: tuple[EventLoopChoice, ...] = ("auto", "asyncio", "uvloop")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: EventLoopChoice) -> LoopFactory | None:
    """The factory for `asyncio.Runner`, None for asyncio's default loop. "auto" takes uvloop
    when it can be imported; "uvloop" fails with ImportError when it cannot."""
    if choice == "asyncio":
        return None
    try:
        # Imported by name: uvloop is optional, and core must not require it.
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory
