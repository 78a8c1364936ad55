"""The upkeep thread the account and media keepers share: a pass at once, a failing pass
logged and followed by the next, and a stop that ends the thread."""

from __future__ import annotations

import logging
import threading

import pytest

from igautopost.periodic import Periodic


def test_a_failing_pass_is_logged_and_the_next_runs(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []
    third = threading.Event()

    def task() -> None:
        passes.append(len(passes))
        if len(passes) == 3:
            third.set()
        if len(passes) == 1:
            raise RuntimeError("the store is away")

    periodic = Periodic(
        task, every=lambda: 0.0, name="t", failure="pass failed", log=logging.getLogger("t")
    )
    with caplog.at_level(logging.ERROR, logger="t"):
        periodic.start()
        assert third.wait(10)
        periodic.stop(timeout=10)

    assert passes[:3] == [0, 1, 2]
    assert [r.getMessage() for r in caplog.records] == ["pass failed"]


def test_stop_ends_a_thread_that_waits_for_its_next_pass() -> None:
    ran = threading.Event()
    periodic = Periodic(
        ran.set, every=lambda: 3600.0, name="t", failure="x", log=logging.getLogger("t")
    )
    periodic.start()
    assert ran.wait(10)  # the first pass runs at once
    periodic.stop(timeout=10)
    assert not any(t.name == "t" for t in threading.enumerate())
