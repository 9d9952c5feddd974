"""The console's idle-time full collections: when they run, and Python's own are off meanwhile."""

from __future__ import annotations

import gc

from lconsole.tui import collector as idle
from lconsole.tui.collector import IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _collector() -> tuple[IdleCollector, Clock, list[float]]:
    clock = Clock()
    runs: list[float] = []
    return IdleCollector(clock, lambda: runs.append(clock.now)), clock, runs


def test_collects_once_the_keyboard_is_quiet_and_not_more_often_than_every_few_seconds() -> None:
    c, clock, runs = _collector()
    clock.now += idle.EVERY_S - 0.1
    c.tick()
    assert runs == []  # too soon after the last one
    clock.now += 0.2
    c.pressed()
    c.tick()
    assert runs == []  # a key just now: the user is typing
    clock.now += idle.QUIET_S
    c.tick()
    assert runs == [clock.now] and c.full_collections == 1
    c.tick()
    assert len(runs) == 1


def test_typing_without_pause_still_gets_one_at_most_a_minute_apart() -> None:
    c, clock, runs = _collector()
    while clock.now < 1000.0 + idle.AT_MOST_S - 0.25:
        clock.now += 0.25
        c.pressed()
        c.tick()
    assert runs == []
    clock.now += 0.25
    c.pressed()
    c.tick()
    assert len(runs) == 1


def test_start_turns_off_pythons_full_collections_and_stop_gives_them_back() -> None:
    before = gc.get_threshold()
    c = IdleCollector()
    c.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], idle.NEVER)
    finally:
        c.stop()
    assert gc.get_threshold() == before
