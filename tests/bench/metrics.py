"""Benchmark: what a `/metrics` scrape costs on a store with a long queue and outbox backlog.

Runs a frontdesk in this process (SQLite file, 127.0.0.1, a manual clock) whose only team
has nobody online, so that every conversation waits in its queue, and whose callback URL
refuses connections, so that every reply waits in the outbox. Then reads the workload (the
one query behind the gauges) and renders the text format, many times each, and prints the
median and the 95th percentile. Bounded in count; loopback only.

    .venv/bin/python -m tests.bench.metrics --contacts 5000 --rounds 200
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from prometheus_client import generate_latest

from tests.support.harness import records_of, running, write_config
from tests.support.process import free_port

QUEUED = """
name: queued
trigger: conversation_opened
steps:
  - {id: give, type: assign, team: sales,
     when_unavailable: [{id: wait, type: send_message, text: "Please wait."}]}
"""
NOBODY = """
agents:
  alice: {status: offline}
teams:
  sales: {agents: [alice]}
"""


def milliseconds(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms, p95 {p95 * 1000:6.2f} ms"


async def main(contacts: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    refused = f"http://127.0.0.1:{free_port()}/callback"  # nothing listens there
    config = write_config(folder, refused, {"queued": QUEUED}, NOBODY)
    try:
        async with running(config) as fd:
            for start in range(0, contacts, 500):
                await fd.burst([f"c{n}" for n in range(start, min(start + 500, contacts))])
            store, metrics = records_of(fd.frontdesk), fd.frontdesk.runtime.reporter.metrics
            reads, renders = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                workload = await store.workload()
                reads.append(time.perf_counter() - started)
                await metrics.workload.refresh(store, fd.clock.now())
                started = time.perf_counter()
                generate_latest(metrics.registry)
                renders.append(time.perf_counter() - started)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    backlog = sum(w.count for w in workload.outbox.values())
    print(f"queued: {workload.queues['sales'].count}, outbox backlog: {backlog}, rounds: {rounds}")
    print(f"workload query : {milliseconds(reads)}")
    print(f"text rendering : {milliseconds(renders)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.rounds))
