"""`igautopost worker`: lease settings that cannot hold a step are refused before it starts
(run as a process of its own: the settings are read from its environment)."""

from __future__ import annotations

import subprocess
from typing import Any


def run_worker(cli: Any, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli.script), "worker", "--exit-when-idle"],
        env=cli.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_with_a_lease_too_short_exits_naming_the_setting_and_the_rule(cli: Any) -> None:
    result = run_worker(cli, IGAUTOPOST_LEASE_SECONDS="2")

    assert result.returncode == 1
    assert "IGAUTOPOST_LEASE_SECONDS=2 is too short" in result.stderr
    assert "renews its leases every third of the lease" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_whose_step_deadline_cannot_hold_its_graph_calls_exits(cli: Any) -> None:
    result = run_worker(cli, IGAUTOPOST_GRAPH_TIMEOUT="45")

    assert result.returncode == 1
    assert "IGAUTOPOST_STEP_SECONDS=300 cannot hold a step" in result.stderr
    assert "IGAUTOPOST_GRAPH_TIMEOUT=45" in result.stderr


def test_a_worker_with_sound_leases_starts_and_exits_when_idle(cli: Any) -> None:
    result = run_worker(cli, IGAUTOPOST_LEASE_SECONDS="5", IGAUTOPOST_STEP_SECONDS="260")

    assert result.returncode == 0, result.stderr
    assert "running with" in result.stderr


def test_a_worker_off_a_terminal_never_counts_the_stored_posts(monkeypatch: Any) -> None:
    """Counting posts by status reads every post: an idle worker on 1,000,000 posts spent 8 %
    of a core on it twice a second, for a status line nobody saw (issue 14)."""
    from types import SimpleNamespace

    from igautopost_cli import worker

    stopping: list[int] = []
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 5:
            stopping.append(1)

    def counted() -> dict[str, int]:
        raise AssertionError("counted the posts with no status line to show")

    store = SimpleNamespace(counts=counted, next_due=lambda now: None)
    state = SimpleNamespace(store=store, now=lambda: None, zone=None)
    demo = SimpleNamespace(check=lambda state: False)
    assert not worker.err.is_terminal  # pytest captures stderr
    monkeypatch.setattr(worker.time, "sleep", nap)

    worker._watch(state, SimpleNamespace(), stopping, False, demo)  # type: ignore[arg-type]

    assert len(naps) == 5
