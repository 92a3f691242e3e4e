"""Each bot's send window, shared by every replica (`core.shared_pacing.SendWindows`).

A bot has `per_bot_per_second` slots. A slot holds one call: from its start (then `holder` is
the call's token and `free_at` the end of its lease) until a window after its end (`holder`
NULL, `free_at` = end + 1 s). A call may go when a slot is free, its chat's interval has
passed since the chat's last call, and the bot is not paused; it then takes the slot in the
same statement. The bot's row in `send_bots` is locked first, so that reservations of one
bot see each other in turn; those of different bots do not wait for each other.

A reservation is one call of `reserve_send` (one round trip); the function does what
`core.pacing.SendLimiter.start` does in memory, with the caller's clock as `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.pacing import SendLimits
from storage.postgres.reads import Reader
from storage.postgres.rows import aware

SEND_WINDOWS = (
    "CREATE TABLE IF NOT EXISTS send_bots (bot TEXT PRIMARY KEY, paused_until TIMESTAMPTZ)",
    """
    CREATE TABLE IF NOT EXISTS send_slots (
        bot TEXT NOT NULL,
        slot INTEGER NOT NULL,
        free_at TIMESTAMPTZ NOT NULL,
        holder TEXT,
        PRIMARY KEY (bot, slot)
    )
    """,
    # A chat's last call, kept until its interval has passed (`forget_at`).
    """
    CREATE TABLE IF NOT EXISTS send_chats (
        bot TEXT NOT NULL,
        chat TEXT NOT NULL,
        last_at TIMESTAMPTZ NOT NULL,
        forget_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (bot, chat)
    )
    """,
    "CREATE INDEX IF NOT EXISTS send_chats_to_forget ON send_chats (bot, forget_at)",
    # A slot in flight counts as free a window from now at the soonest (its end is not known
    # yet), as in SendLimiter; one whose lease has run out (its replica died) is free.
    """
    CREATE OR REPLACE FUNCTION reserve_send(
        p_bot TEXT, p_chat TEXT, p_now TIMESTAMPTZ, p_per_second INTEGER,
        p_interval INTERVAL, p_holder TEXT, p_lease INTERVAL
    ) RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
    DECLARE
        v_window CONSTANT INTERVAL := INTERVAL '1 second';
        v_wait INTERVAL := INTERVAL '0';
        v_paused TIMESTAMPTZ;
        v_last TIMESTAMPTZ;
        v_slot INTEGER;
        v_free TIMESTAMPTZ;
    BEGIN
        INSERT INTO send_bots (bot) VALUES (p_bot) ON CONFLICT (bot) DO NOTHING;
        SELECT paused_until INTO v_paused FROM send_bots WHERE bot = p_bot FOR UPDATE;
        IF v_paused > p_now THEN
            v_wait := v_paused - p_now;
        END IF;
        IF p_chat IS NOT NULL AND p_interval > INTERVAL '0' THEN
            DELETE FROM send_chats WHERE bot = p_bot AND forget_at <= p_now;
            SELECT last_at INTO v_last FROM send_chats WHERE bot = p_bot AND chat = p_chat;
            IF v_last IS NOT NULL THEN
                v_wait := greatest(v_wait, v_last + p_interval - p_now);
            END IF;
        END IF;
        SELECT n, CASE WHEN s.holder IS NOT NULL AND s.free_at > p_now THEN p_now + v_window
                       ELSE s.free_at END AS free
            INTO v_slot, v_free
            FROM generate_series(0, p_per_second - 1) AS n
            LEFT JOIN send_slots AS s ON s.bot = p_bot AND s.slot = n
            ORDER BY free NULLS FIRST, n LIMIT 1;
        IF v_free > p_now THEN
            v_wait := greatest(v_wait, v_free - p_now);
        END IF;
        IF v_wait > INTERVAL '0' THEN
            RETURN extract(epoch FROM v_wait)::DOUBLE PRECISION;
        END IF;
        INSERT INTO send_slots (bot, slot, free_at, holder)
            VALUES (p_bot, v_slot,
                    CASE WHEN p_holder IS NULL THEN p_now + v_window ELSE p_now + p_lease END,
                    p_holder)
            ON CONFLICT (bot, slot)
            DO UPDATE SET free_at = excluded.free_at, holder = excluded.holder;
        IF p_chat IS NOT NULL AND p_interval > INTERVAL '0' THEN
            INSERT INTO send_chats (bot, chat, last_at, forget_at)
                VALUES (p_bot, p_chat, p_now, p_now + p_interval)
                ON CONFLICT (bot, chat)
                DO UPDATE SET last_at = excluded.last_at, forget_at = excluded.forget_at;
        END IF;
        RETURN 0;
    END $$
    """,
)

RESERVE = "SELECT reserve_send($1, $2, $3, $4, $5, $6, $7)"

# A chat's interval runs from the end of its call, unless a later call has started since.
RELEASE = """
    WITH slot AS (
        UPDATE send_slots SET free_at = $3::timestamptz + INTERVAL '1 second', holder = NULL
        WHERE bot = $1 AND holder = $5
    )
    INSERT INTO send_chats (bot, chat, last_at, forget_at)
    SELECT $1, $2::text, $3::timestamptz, $3::timestamptz + $4::interval
    WHERE $2::text IS NOT NULL AND $4::interval > INTERVAL '0'
    ON CONFLICT (bot, chat) DO UPDATE SET
        last_at = greatest(send_chats.last_at, excluded.last_at),
        forget_at = greatest(send_chats.forget_at, excluded.forget_at)
"""

PAUSE = """
    INSERT INTO send_bots (bot, paused_until) VALUES ($1, $2)
    ON CONFLICT (bot) DO UPDATE SET
        paused_until = greatest(send_bots.paused_until, excluded.paused_until)
"""


async def reserve(
    db: Reader,
    bot: str,
    chat: str | None,
    limits: SendLimits,
    now: datetime,
    holder: str | None,
    lease: timedelta,
) -> float:
    wait: float = await db.fetchval(
        RESERVE,
        bot,
        chat,
        aware(now),
        limits.per_bot_per_second,
        timedelta(seconds=limits.per_chat_interval_seconds),
        holder,
        lease,
    )
    return max(0.0, wait)


async def release(
    db: Reader, bot: str, chat: str | None, limits: SendLimits, now: datetime, holder: str
) -> None:
    interval = timedelta(seconds=limits.per_chat_interval_seconds)
    await db.execute(RELEASE, bot, chat, aware(now), interval, holder)


async def pause(db: Reader, bot: str, until: datetime) -> None:
    await db.execute(PAUSE, bot, aware(until))
