"""Run a server under watch: its longest garbage-collector pause goes to a file.

    python -m tests.bench.gcwatch OUT frontdesk serve --config frontdesk.yaml
    python -m tests.bench.gcwatch OUT tests.bench.aiogram_bot PORT API_URL

The pause is measured with `gc.callbacks` (start to stop of each collection) inside the
server's own process, so nothing in the product knows about benchmarks. Each pause of a
millisecond or more is appended to the file as "<unix time> <milliseconds>", so that the
bench can take the longest within its own window (start-up's collections are not load).
"""

from __future__ import annotations

import gc
import runpy
import sys
import time
from pathlib import Path
from typing import Any


def watch(out: Path) -> None:
    started = 0.0
    log = out.open("a", buffering=1)

    def callback(phase: str, _: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        pause = (time.perf_counter() - started) * 1000
        if pause >= 1.0:
            log.write(f"{time.time():.3f} {pause:.1f}\n")

    gc.callbacks.append(callback)


def main() -> None:
    out, target, *rest = sys.argv[1:]
    watch(Path(out))
    if target == "frontdesk":
        from core.cli import main as frontdesk

        sys.argv = ["frontdesk", *rest]
        frontdesk()
    else:
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
