"""The `Scheduler` protocol: it decides *when* to run `Publisher.advance`, holding no state."""

from __future__ import annotations

from typing import Protocol


class Scheduler(Protocol):
    def start(self) -> None:
        """Begin running due steps in the background."""
        ...

    def wake(self) -> None:
        """A post was added or changed in this process: look at the store again now."""
        ...

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let running steps finish (they save and release their leases)."""
        ...

    def running_steps(self) -> int:
        """Steps in flight right now."""
        ...
