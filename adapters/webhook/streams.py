"""Reading HTTP bodies without trusting their senders about size."""

from __future__ import annotations

from aiohttp import StreamReader


async def read_at_most(stream: StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of `stream`, fewer only at its end.

    `StreamReader.read(n)` may return less than n before the end (one chunk at a time), so it
    is looped; unlike `read()` it never buffers more than asked, whatever the sender claims.
    """
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
