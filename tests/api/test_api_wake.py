"""The API tells its scheduler about every post it writes, with the post's due time; the
scheduler decides whether that is soon enough to act on (tests/scheduler/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apitest import NOW

from igautopost.scheduler import SchedulerHealth


class Recorder:
    """A `Scheduler` that records what it is told."""

    def __init__(self) -> None:
        self.posts: list[tuple[int | None, datetime | None]] = []

    def wake(self, post_id: int | None = None, due_at: datetime | None = None) -> None:
        self.posts.append((post_id, due_at))

    def start(self) -> None: ...
    def stop(self, timeout: float | None = None) -> None: ...
    def running_steps(self) -> int:
        return 0

    def is_alive(self) -> bool:
        return True

    def health(self) -> SchedulerHealth | None:
        return None


def test_the_scheduler_hears_of_every_new_post_with_its_due_time(make_api: Any) -> None:
    scheduler = Recorder()
    api = make_api(scheduler=scheduler)
    headers = api.login()
    later = api.create(headers, date_pub=int((NOW + timedelta(days=2)).timestamp()))
    soon = api.create(
        headers, date_pub=int((NOW + timedelta(seconds=1)).timestamp()), prepare_ahead=0
    )
    assert [post_id for post_id, _ in scheduler.posts] == [later["id"], soon["id"]]
    due = [due_at for _, due_at in scheduler.posts]
    assert due[0] is not None and due[0] > NOW + timedelta(days=1)
    assert due[1] == NOW + timedelta(seconds=1)
