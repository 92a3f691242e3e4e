"""Profile: where `frontdesk serve` (Telegram channel) spends its time in the open loop at a
fixed rate, sampled with py-spy (`pip install py-spy`) from outside the process. Prints the
functions most often on the CPU (own time) and the ones most often on the stack (total).

    .venv/bin/python -m tests.bench.ack_profile --rate 260 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.bench import half_peak, load
from tests.bench.servers import pinned, serve
from tests.bench.sink import Sink
from tests.support.serve import serving_app


async def main(rate: float, seconds: float, top: int) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if pinned():
        os.sched_setaffinity(0, {1})
    out = Path(tempfile.mkdtemp(prefix="frontdesk-profile-")) / "stacks.txt"
    sink = Sink()
    async with serving_app(sink.app()) as api, serve("frontdesk-telegram", api) as server:
        await half_peak.run(server, sink, load.telegram_body, 1, rate, 2)  # warm up
        record = await asyncio.create_subprocess_exec(
            spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "500",
            "--duration", str(int(seconds)), "--output", str(out), "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        figures = await half_peak.run(server, sink, load.telegram_body, 10**6, rate, seconds)
        await record.wait()
    print(
        f"open {rate:.0f}/s: ack p50 {figures.ack_p50_ms:.1f} ms, p99 {figures.ack_p99_ms:.1f} ms"
    )
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_short(f) for f in stack.split(";")]
        n = int(count)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples; own time:")
    for frame, n in own.most_common(top):
        print(f"  {100 * n / samples:5.1f}%  {frame}")
    print("on the stack (frontdesk's own code):")
    ours = [(f, n) for f, n in total.most_common() if f.split(" ")[-1].startswith(_OURS)]
    for frame, n in ours[:top]:
        print(f"  {100 * n / samples:5.1f}%  {frame}")


_OURS = ("(core/", "(adapters/", "(storage/")


def _short(frame: str) -> str:
    """`function (path:line)` with the path from the package or project root."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=260)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.top))
