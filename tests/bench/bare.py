"""The floor: an aiohttp server that answers every POST with 200 and does nothing else.

python -m tests.bench.bare PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response()


def main() -> None:
    app = web.Application()
    app.add_routes([web.post("/{tail:.*}", ok)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
