"""`python -m tests.faults --events 10000 --kills 20`: the crash fault runs at a size too large
for the test suite, on the webhook channel and on Telegram with each `after_crash`; prints
the table."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.faults.crash import RUNS, Plan, Tally, run


async def main(plan: Plan, runs: list[str]) -> None:
    print(Tally.HEADER, flush=True)
    for channel, after_crash in RUNS:
        if f"{channel}:{after_crash}" not in runs:
            continue
        with tempfile.TemporaryDirectory(prefix="frontdesk-faults-") as folder:
            tally = await run(Path(folder), plan, channel, after_crash)
        print(tally.row(), flush=True)


if __name__ == "__main__":
    every = [f"{channel}:{after_crash}" for channel, after_crash in RUNS]
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="customer messages per run")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--run", action="append", choices=every, help="only this run (repeatable); default: all"
    )
    args = parser.parse_args()
    asyncio.run(main(Plan(events=args.events, kills=args.kills, seed=args.seed), args.run or every))
