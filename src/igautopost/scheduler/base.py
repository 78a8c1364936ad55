"""The `Scheduler` protocol: it decides *when* to run `Publisher.advance`, holding no state.

Everything a caller needs is here, so that the HTTP app and the CLI call any scheduler the
same way: `LocalScheduler` (steps in this process) and `CeleryWaker` (the API side of the
Celery workers) implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

FAILING_AFTER = 3  # consecutive failures before a scheduler reports itself failing


@dataclass(frozen=True)
class SchedulerHealth:
    """How a scheduler's loop has fared: what `/api/v1/health` reports. The error is named by
    its type only (health answers anyone); the log has the details."""

    failed_cycles: int = 0  # consecutive claim cycles that raised
    failed_steps: int = 0  # consecutive steps that crashed
    last_error: str | None = None  # e.g. "claim: OperationalError"
    last_error_at: datetime | None = None

    @property
    def failing(self) -> bool:
        return max(self.failed_cycles, self.failed_steps) >= FAILING_AFTER


class Scheduler(Protocol):
    def start(self) -> None:
        """Begin running due steps in the background."""
        ...

    def wake(self, post_id: int | None = None, due_at: datetime | None = None) -> None:
        """Post `post_id` was added or changed and is due at `due_at`; with neither, something
        changed (an account was reconnected): look at the store again. A scheduler acts at once
        only on what its own polling would find too late."""
        ...

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let running steps finish (they save and release their leases)."""
        ...

    def running_steps(self) -> int:
        """Steps in flight in this process right now."""
        ...

    def is_alive(self) -> bool:
        """Whether it works: a `LocalScheduler`'s loop runs (started and not stopped)."""
        ...

    def health(self) -> SchedulerHealth | None:
        """Its failures in a row, when it runs steps in this process; None otherwise."""
        ...
