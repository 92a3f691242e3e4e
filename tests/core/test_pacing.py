"""`SendLimiter`: how long a message must wait, on a manual clock."""

from __future__ import annotations

from core.clock import ManualClock
from core.pacing import SendLimiter
from tests.adapters.telegram.fakes import NOW


def limiter(per_chat: float = 1.0, per_bot: int = 30) -> tuple[SendLimiter, ManualClock]:
    clock = ManualClock(NOW)
    return SendLimiter(clock, per_chat, per_bot), clock


def test_one_chat_gets_one_message_per_interval() -> None:
    limits, clock = limiter(per_chat=1.0)

    assert limits.acquire("a") == 0.0
    clock.advance(0.4)
    assert limits.acquire("a") == 0.6
    assert limits.acquire("b") == 0.0  # another chat is not held back
    clock.advance(0.6)
    assert limits.acquire("a") == 0.0
    assert limits.acquire("a") == 1.0


def test_being_told_to_wait_uses_no_slot() -> None:
    limits, clock = limiter(per_chat=1.0)
    limits.acquire("a")
    clock.advance(0.5)
    assert limits.acquire("a") == 0.5

    clock.advance(0.5)
    assert limits.acquire("a") == 0.0


def test_the_bot_sends_at_most_per_second_in_any_one_second_window() -> None:
    limits, clock = limiter(per_chat=0, per_bot=3)
    assert [limits.acquire(chat) for chat in "abc"] == [0.0, 0.0, 0.0]
    clock.advance(0.3)
    assert limits.acquire("d") == 0.7

    clock.advance(0.7)  # the first three leave the window together
    assert [limits.acquire(chat) for chat in "def"] == [0.0, 0.0, 0.0]
    assert limits.acquire("g") == 1.0


def test_the_window_slides() -> None:
    limits, clock = limiter(per_chat=0, per_bot=2)
    limits.acquire("a")
    clock.advance(0.5)
    limits.acquire("b")
    clock.advance(0.5)

    assert limits.acquire("c") == 0.0  # "a" has left the window
    assert limits.acquire("d") == 0.5  # "b" leaves it in half a second


def test_zero_interval_disables_the_chat_spacing() -> None:
    limits, _ = limiter(per_chat=0)

    assert [limits.acquire("a") for _ in range(5)] == [0.0] * 5
    assert limits.chats == 0


def test_a_429_pauses_every_chat() -> None:
    limits, clock = limiter(per_chat=1.0)
    assert limits.acquire("a") == 0.0

    limits.pause(5)
    clock.advance(2)
    assert limits.acquire("a") == 3.0
    assert limits.acquire("never-sent-to") == 3.0
    limits.pause(1)  # a shorter pause does not shorten the one under way
    assert limits.acquire("b") == 3.0

    clock.advance(3)
    assert limits.acquire("b") == 0.0


def test_chats_whose_interval_has_passed_are_forgotten() -> None:
    limits, clock = limiter(per_chat=1.0, per_bot=1000)
    for n in range(100):
        limits.acquire(f"chat-{n}")
    assert limits.chats == 100

    clock.advance(0.5)
    limits.acquire("a")
    clock.advance(0.5)  # the first hundred are a second old, "a" half a second
    limits.acquire("b")

    assert limits.chats == 2
    clock.advance(1)
    limits.acquire("c")
    assert limits.chats == 1


def test_a_call_in_flight_holds_its_place_until_a_second_after_it_ends() -> None:
    limits, clock = limiter(per_chat=0, per_bot=2)
    assert limits.start("a") == 0.0
    assert limits.start("b") == 0.0
    assert limits.start("c") == 1.0  # both still in flight: at least a second away

    clock.advance(0.5)  # they reach the platform late, and end
    limits.finish("a")
    limits.finish("b")
    clock.advance(0.9)
    assert limits.start("c") == 0.1  # a second from when they ended, not from the start

    clock.advance(0.1)
    assert limits.start("c") == 0.0


def test_a_call_to_no_chat_counts_for_the_bot_only() -> None:
    limits, _ = limiter(per_chat=1.0, per_bot=2)
    assert limits.acquire(None) == 0.0
    assert limits.chats == 0
    assert limits.acquire("a") == 0.0
    assert limits.acquire(None) == 1.0  # the bot's two calls this second are made
