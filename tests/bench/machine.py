"""Calibration: what this machine charges for work that comes in spurts.

The same pure-Python work (encoding and decoding JSON, filling a dict: no I/O, no threads, no
allocation that grows) is timed on the server's core twice: back to back, as under
saturation, and with a pause between units, as in an open loop at a fixed rate. On a
virtual machine the second often costs much more CPU per unit (caches and predictors gone
cold, the core clocked down while idle), whatever the program: the comparison's "CPU at
half of peak against CPU at saturation" carries this factor before any of frontdesk's own.

    .venv/bin/python -m tests.bench.machine --pause-ms 3
"""

from __future__ import annotations

import argparse
import json
import os
import time

from tests.bench.servers import SERVER_CORE, pinned

UNITS = 400
DATA = [{"id": i, "text": f"hello {i}", "items": list(range(20))} for i in range(40)]


def unit() -> None:
    for _ in range(3):
        json.loads(json.dumps(DATA))
        table = {}
        for i in range(300):
            table[str(i)] = i * 2


def cpu_ms_per_unit(pause: float) -> float:
    started = time.thread_time()
    for _ in range(UNITS):
        unit()
        if pause:
            time.sleep(pause)
    return (time.thread_time() - started) / UNITS * 1000


def spurts_cost(pause_ms: float) -> tuple[float, float]:
    """CPU ms per unit back to back, and with `pause_ms` between units (median of 3 each,
    interleaved)."""
    if pinned():
        os.sched_setaffinity(0, {int(SERVER_CORE)})
    unit()
    steady, paced = [], []
    for _ in range(3):
        steady.append(cpu_ms_per_unit(0))
        paced.append(cpu_ms_per_unit(pause_ms / 1000))
    return sorted(steady)[1], sorted(paced)[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pause-ms", type=float, default=3.0)
    args = parser.parse_args()
    steady, paced = spurts_cost(args.pause_ms)
    print(
        f"the same Python work: {steady:.3f} CPU ms a unit back to back, {paced:.3f} with"
        f" {args.pause_ms:g} ms between units ({paced / steady:.2f}x)"
    )
