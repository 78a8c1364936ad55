"""The launcher: publish calls leave on their mark, never before, all of a mark from one
thread, and each step thread goes on only once every call of its mark has left."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from igautopost.clock import FakeClock, SystemClock
from igautopost.engine.launcher import Launcher
from igautopost.graph.prepared import Prepared
from igautopost.graph.transport import Request, Response


class Recorded:
    """A pending call that records when, and from which thread, it was launched."""

    def __init__(self, log: list[tuple[str, datetime, str]], name: str, ready: bool = True):
        self.log = log
        self.name = name
        self.ready = ready

    def launch(self) -> bool:
        if not self.ready:
            return False
        self.log.append((self.name, datetime.now(UTC), threading.current_thread().name))
        return True

    def answer(self) -> Response:
        return Response(200, {}, b'{"id": "1"}')


class Exploding(Recorded):
    def launch(self) -> bool:
        raise OSError("the socket broke")


def call(pending: Any) -> Prepared:
    request = Request("POST", "/v25.0/1/media_publish", "http://x", {}, b"", 1.0)
    return Prepared(request, "token", pending)


def launch_together(launcher: Launcher, calls: list[Prepared], mark: datetime) -> list[int]:
    """Each call from a thread of its own; how many calls had left when each thread went on."""
    launched: list[int] = []
    log_of = calls[0].pending.log  # type: ignore[attr-defined]

    def step(prepared: Prepared) -> None:
        launcher.launch_at(prepared, mark)
        assert datetime.now(UTC) >= mark
        launched.append(len(log_of))

    threads = [threading.Thread(target=step, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return launched


def test_calls_of_one_mark_leave_on_it_from_one_thread_and_steps_go_on_after_all() -> None:
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    mark = datetime.now(UTC) + timedelta(milliseconds=300)
    calls = [call(Recorded(log, f"call-{i}")) for i in range(50)]
    launched = launch_together(launcher, calls, mark)
    assert sorted(name for name, _, _ in log) == sorted(f"call-{i}" for i in range(50))
    assert all(at >= mark for _, at, _ in log), "a call left before its mark"
    assert max(at for _, at, _ in log) - mark < timedelta(seconds=1)  # tens of ms when idle
    assert {thread for _, _, thread in log} == {"igautopost-launcher"}
    assert launched == [50] * 50  # no step read its answer while calls of its mark waited


def test_an_earlier_mark_registered_later_leaves_first() -> None:
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    now = datetime.now(UTC)
    late, early = now + timedelta(milliseconds=400), now + timedelta(milliseconds=150)
    first = threading.Thread(target=launcher.launch_at, args=(call(Recorded(log, "late")), late))
    first.start()
    time.sleep(0.05)
    launcher.launch_at(call(Recorded(log, "early")), early)
    first.join(5)
    assert [name for name, _, _ in log] == ["early", "late"]
    assert log[0][1] >= early and log[1][1] >= late


def test_a_call_that_cannot_leave_without_blocking_is_left_to_its_caller() -> None:
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    mark = datetime.now(UTC) + timedelta(milliseconds=100)
    prepared = call(Recorded(log, "unconnected", ready=False))
    launcher.launch_at(prepared, mark)
    assert datetime.now(UTC) >= mark  # the caller sends it itself, on the mark
    assert log == []


def test_a_launch_that_raises_releases_its_step_and_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    mark = datetime.now(UTC) + timedelta(milliseconds=150)
    calls = [call(Exploding(log, "broken"))] + [call(Recorded(log, f"ok-{i}")) for i in range(3)]
    launched = launch_together(launcher, calls, mark)
    assert len(launched) == 4  # every step went on
    assert sorted(name for name, _, _ in log) == ["ok-0", "ok-1", "ok-2"]
    assert "launching a publish call failed" in caplog.text


def test_a_past_mark_or_a_fake_clock_returns_at_once_leaving_the_send_to_the_caller() -> None:
    log: list[tuple[str, datetime, str]] = []
    Launcher(SystemClock()).launch_at(
        call(Recorded(log, "late")), datetime.now(UTC) - timedelta(seconds=1)
    )
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    mark = datetime(2030, 1, 1, 0, 5, tzinfo=UTC)
    Launcher(clock).launch_at(call(Recorded(log, "simulated")), mark)
    assert clock.now() == mark  # simulated time moves to the mark
    assert log == []


def test_an_idle_launcher_ends_its_thread_and_starts_another_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("igautopost.engine.launcher.IDLE", 0.05)
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    for name in ("first", "second"):
        mark = datetime.now(UTC) + timedelta(milliseconds=50)
        launcher.launch_at(call(Recorded(log, name)), mark)
        deadline = time.monotonic() + 2
        while launcher._thread is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert launcher._thread is None  # ended once idle
    assert [name for name, _, _ in log] == ["first", "second"]


class Stuck(Recorded):
    """A launch that hangs (a write that blocks, say) and holds up the launcher."""

    def launch(self) -> bool:
        time.sleep(3.0)
        return super().launch()


def test_a_step_stops_waiting_for_a_launcher_that_fell_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("igautopost.engine.launcher.GRACE", 0.1)
    log: list[tuple[str, datetime, str]] = []
    launcher = Launcher(SystemClock())
    mark = datetime.now(UTC) + timedelta(milliseconds=100)
    stuck = threading.Thread(target=launcher.launch_at, args=(call(Stuck(log, "stuck")), mark))
    stuck.start()
    time.sleep(0.02)  # the stuck call is first in the launcher's queue
    launcher.launch_at(call(Recorded(log, "waiting")), mark)
    returned = datetime.now(UTC)
    assert mark <= returned < mark + timedelta(seconds=2)  # not after the stuck one (3 s)
    stuck.join(5)
