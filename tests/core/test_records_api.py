"""The read side of the REST API over a real SQLite store: filters, pages, refusals, queues
and agents' loads, as HTTP answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from core.clock import ManualClock
from core.listing import MAX_LIMIT
from core.records_api import RecordsApi
from storage.sqlite import SqliteSettings, SqliteStore
from tests.storage.builders import T0, agent, conversation, seconds, seed
from tests.support.serve import serving_app

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Served:
    url: str
    store: SqliteStore
    clock: ManualClock
    http: aiohttp.ClientSession

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path, params=params, headers=AUTH) as response:
            return response.status, await response.json()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    store = SqliteStore(SqliteSettings(), tmp_path)
    await store.open()
    clock = ManualClock(seconds(3600))
    app = web.Application()
    app.add_routes(RecordsApi(store, SecretStr(TOKEN), clock).routes())
    try:
        async with serving_app(app) as url, aiohttp.ClientSession() as http:
            yield Served(url, store, clock, http)
    finally:
        await store.close()


async def test_filters_combine_and_list_newest_first(served: Served) -> None:
    sales = [conversation(f"s{n}", f"cs{n}", opened_at=seconds(n)) for n in range(3)]
    for v in sales:
        v.team = "sales"
    sales[1].assignee = "ann"
    await seed(served.store, *sales, conversation("x", "cx", opened_at=seconds(10)))

    status, everything = await served.get("/api/conversations")
    assert status == 200
    assert [c["id"] for c in everything["conversations"]] == ["x", "s2", "s1", "s0"]
    _, by_team = await served.get("/api/conversations", team="sales", since=seconds(1).isoformat())
    assert [c["id"] for c in by_team["conversations"]] == ["s2", "s1"]
    _, by_agent = await served.get("/api/conversations", assignee="ann", status="open")
    assert [c["id"] for c in by_agent["conversations"]] == ["s1"]
    # The contact's own id (builders' contacts have their id as it); Z and naive are UTC.
    _, by_contact = await served.get("/api/conversations", contact="cs0", channel="webhook")
    assert [c["id"] for c in by_contact["conversations"]] == ["s0"]
    _, until = await served.get("/api/conversations", until="2024-05-06T09:00:02Z")
    assert [c["id"] for c in until["conversations"]] == ["s1", "s0"]
    _, naive = await served.get("/api/conversations", until="2024-05-06T09:00:02")
    assert naive == until


async def test_pages_follow_the_cursor_without_gaps_or_repeats(served: Served) -> None:
    # Seven share one time, so only the id tells them apart.
    made = [conversation(f"v{n:02}", f"c{n:02}", opened_at=seconds(n // 7)) for n in range(20)]
    await seed(served.store, *made)
    seen: list[str] = []
    params = {"limit": "3"}
    for _ in range(10):
        status, page = await served.get("/api/conversations", **params)
        assert status == 200
        assert len(page["conversations"]) <= 3
        seen += [c["id"] for c in page["conversations"]]
        if page["next"] is None:
            break
        params = {"limit": "3", "cursor": page["next"]}

    assert seen == sorted((v.id for v in made), key=lambda i: (int(i[1:]) // 7, i), reverse=True)
    assert len(seen) == len(set(seen)) == 20


async def test_the_last_full_page_has_no_next(served: Served) -> None:
    await seed(served.store, *(conversation(f"v{n}", f"c{n}") for n in range(4)))

    _, page = await served.get("/api/conversations", limit="4")

    assert len(page["conversations"]) == 4
    assert page["next"] is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "pending"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "2024-05-06T10:00Z", "until": "2024-05-06T09:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),  # base64 of "[]"
        ({"team": ""}, "team"),
        ({"tema": "sales"}, "tema"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it(
    served: Served, params: dict[str, str], named: str
) -> None:
    await seed(served.store, conversation("v1"))

    status, body = await served.get("/api/conversations", **params)

    assert status == 400
    assert body["error"].startswith(f"{named}: ")


async def test_a_parameter_given_twice_is_a_400(served: Served) -> None:
    async with served.http.get(
        f"{served.url}/api/conversations?team=a&team=b", headers=AUTH
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"].startswith("team: ")


PATHS = ["/api/conversations", "/api/conversations/v1", "/api/teams/sales/queue", "/api/agents"]


@pytest.mark.parametrize("path", PATHS)
async def test_every_route_needs_the_token(served: Served, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        async with served.http.get(served.url + path, headers=headers) as response:
            assert response.status == 401
            assert "error" in await response.json()


@pytest.mark.parametrize("path", PATHS)
async def test_without_a_configured_token_the_routes_are_closed(tmp_path: Path, path: str) -> None:
    store = SqliteStore(SqliteSettings(), tmp_path)
    app = web.Application()
    app.add_routes(RecordsApi(store, None, ManualClock(T0)).routes())
    async with (
        serving_app(app) as url,
        aiohttp.ClientSession() as http,
        http.get(url + path, headers=AUTH) as response,
    ):
        assert response.status == 403


async def test_show_answers_404_for_an_unknown_or_ambiguous_id(served: Served) -> None:
    await seed(served.store, conversation("abcdef01", "c1"), conversation("abcdef02", "c2"))

    assert (await served.get("/api/conversations/nope"))[0] == 404
    assert (await served.get("/api/conversations/abcdef"))[0] == 404  # two start with it
    status, shown = await served.get("/api/conversations/abcdef0")
    assert status == 404
    status, shown = await served.get("/api/conversations/abcdef02")
    assert (status, shown["id"]) == (200, "abcdef02")
    assert shown["history"] == []
    assert shown["position"] is None


async def test_a_queue_is_in_arrival_order_with_waiting_times(served: Served) -> None:
    await served.store.sync_directory([agent("ann")], {"sales": ["ann"]})
    queued = []
    for n, minutes in enumerate((5, 50, 20)):
        v = conversation(f"v{n}", f"c{n}", opened_at=T0)
        v.team, v.queued_at = "sales", served.clock.now() - timedelta(minutes=minutes)
        queued.append(v)
    await seed(served.store, *queued, conversation("free", "c9"))

    status, queue = await served.get("/api/teams/sales/queue")

    assert status == 200
    assert queue["team"] == "sales"
    assert [(c["id"], c["waiting_seconds"]) for c in queue["conversations"]] == [
        ("v1", 3000),
        ("v2", 1200),
        ("v0", 300),
    ]
    assert (await served.get("/api/teams/nobody/queue"))[0] == 404


async def test_agents_are_listed_with_teams_and_open_counts(served: Served) -> None:
    await served.store.sync_directory(
        [agent("ann", capacity=3), agent("bob")], {"sales": ["ann", "bob"], "vip": ["ann"]}
    )
    await seed(
        served.store,
        conversation("v1", "c1", assignee="ann"),
        conversation("v2", "c2", assignee="ann"),
    )

    status, agents = await served.get("/api/agents")

    assert status == 200
    assert agents == [
        {
            "id": "ann",
            "name": "Ann",
            "status": "online",
            "capacity": 3,
            "desk": {},
            "teams": ["sales", "vip"],
            "open_conversations": 2,
        },
        {
            "id": "bob",
            "name": "Bob",
            "status": "online",
            "capacity": None,
            "desk": {},
            "teams": ["sales"],
            "open_conversations": 0,
        },
    ]
