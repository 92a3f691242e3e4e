"""`frontdesk serve --event-loop`: uvloop when it is there and asked for (or left to auto)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from core.event_loop import loop_factory


def test_asyncio_is_asyncios_own_loop() -> None:
    assert loop_factory("asyncio") is None


def test_auto_and_uvloop_take_uvloop_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop", reason="frontdesk[speed] is not installed")
    for choice in ("auto", "uvloop"):
        factory = loop_factory(choice)
        assert factory is not None
        with asyncio.Runner(loop_factory=factory) as runner:
            assert isinstance(runner.get_loop(), uvloop.Loop)


def test_without_uvloop_auto_falls_back_and_uvloop_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an import finds when it is missing

    assert loop_factory("auto") is None
    with pytest.raises(ImportError):
        loop_factory("uvloop")
