"""What a step gives: its `Outcome`, or, `InFlight`, a step that has prepared its publish
call, and the rest of it, run once the call has left (see launcher.py: a step hands such a
call to the launcher and gives its thread back, so a burst larger than the thread pool
still leaves on its second)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeAlias

from ..graph.client import Prepared
from ..models import Status


@dataclass(frozen=True)
class Outcome:
    """What a step decided: the next status, columns to write, and the event's detail."""

    to: Status
    changes: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    next_occurrence: tuple[datetime, datetime] | None = None


# Gives the step's outcome, or raises what the step raised (the rest of a step, deferred).
Result: TypeAlias = Callable[[], Outcome | None]


@dataclass(frozen=True)
class InFlight:
    """A step up to its publish call: `call` leaves on `mark`, then `finish(left_at)` reads
    its answer and returns the step's outcome. `left_at` is when the call left; None when
    nobody sent it yet (`finish` sends it, once its lease still covers the call)."""

    call: Prepared
    mark: datetime
    finish: Callable[[datetime | None], Outcome | None]

    def then(self, after: Callable[[Result], Outcome | None]) -> InFlight:
        """The same call, its outcome passed through `after`, which gets a function that
        returns the outcome or raises the step's exception (so it can catch, as a caller
        of a step that ran at once would)."""
        finish = self.finish
        return replace(self, finish=lambda left_at: after(lambda: finish(left_at)))


Step: TypeAlias = "Outcome | InFlight | None"


def then(start: Callable[[], Step], after: Callable[[Result], Outcome | None]) -> Step:
    """`after` applied to the outcome of the step `start` runs: at once, or, when the step
    is in flight, once its call has left. `after` gets a function that returns the outcome
    or raises what the step raised."""
    try:
        step = start()
    except Exception as exc:
        error = exc

        def failed() -> Outcome | None:
            raise error

        return after(failed)
    if isinstance(step, InFlight):
        return step.then(after)
    outcome: Outcome | None = step
    return after(lambda: outcome)
