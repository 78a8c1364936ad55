"""`Clock.sleep_until`: the system clock waits; a FakeClock moves there at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from igautopost.clock import Clock, FakeClock, SystemClock
from igautopost.engine.launcher import Launcher

START = datetime(2030, 1, 1, tzinfo=UTC)


def test_the_system_clock_sleeps_until_the_moment_and_never_returns_early() -> None:
    clock = SystemClock()
    moment = clock.now() + timedelta(milliseconds=50)
    clock.sleep_until(moment)
    assert clock.now() >= moment
    assert clock.moves_by_itself


def test_a_fake_clock_moves_to_the_moment_and_never_back() -> None:
    clock = FakeClock(START)
    started = time.monotonic()
    clock.sleep_until(START + timedelta(hours=2))
    assert clock.now() == START + timedelta(hours=2)
    assert time.monotonic() - started < 0.1
    clock.sleep_until(START)
    assert clock.now() == START + timedelta(hours=2)
    assert not clock.moves_by_itself
    with pytest.raises(ValueError):
        clock.sleep_until(datetime(2030, 1, 2))


class StoppedClock:
    """A clock of the caller's own that moves only when told, like a FakeClock."""

    moves_by_itself = False

    def __init__(self) -> None:
        self.moments: list[datetime] = []

    def now(self) -> datetime:
        return START

    def sleep_until(self, moment: datetime) -> None:
        self.moments.append(moment)


def test_the_launcher_leaves_the_call_to_the_step_on_any_clock_that_does_not_move() -> None:
    clock = StoppedClock()
    checked: Clock = clock
    mark = START + timedelta(minutes=5)
    Launcher(checked).launch_at(None, mark)  # type: ignore[arg-type]  # never sent here
    assert clock.moments == [mark]
