"""The collector's settings for a long-running server.

What start-up loads (the libraries, the workflows, the config) lives as long as the
process, yet every full collection walks it again: with aiogram, pydantic and aiohttp
loaded that is hundreds of thousands of objects and pauses of a few hundred milliseconds,
during which no update is acknowledged. Freezing them after start-up leaves a full
collection only the objects made since, and a larger first generation makes the young
collections rarer (per message, a handful of short-lived objects survive).
https://docs.python.org/3/library/gc.html#gc.freeze
"""

from __future__ import annotations

import gc

# Allocations less deallocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Call once, when start-up is done: collect what start-up left behind, then move what
    survives out of the collector's sight."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
