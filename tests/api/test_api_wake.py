"""Which scheduler hears about a new post: an in-process one only for posts due before its
next poll; a Celery waker (`serve --no-worker` with a broker) with the post's id and time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apitest import NOW


class LocalLike:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1

    def start(self) -> None: ...
    def stop(self, timeout: float | None = None) -> None: ...
    def running_steps(self) -> int:
        return 0


class CeleryLike(LocalLike):
    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[int, datetime]] = []

    def wake_post(self, post_id: int, due_at: datetime) -> None:
        self.posts.append((post_id, due_at))


def test_a_local_scheduler_is_woken_only_for_posts_due_soon(make_api: Any) -> None:
    scheduler = LocalLike()
    api = make_api(scheduler=scheduler)
    headers = api.login()
    api.create(headers, date_pub=int((NOW + timedelta(days=2)).timestamp()))
    assert scheduler.wakes == 0
    api.create(headers, date_pub=int((NOW + timedelta(seconds=1)).timestamp()), prepare_ahead=0)
    assert scheduler.wakes == 1


def test_a_celery_waker_gets_every_new_post_with_its_due_time(make_api: Any) -> None:
    waker = CeleryLike()
    api = make_api(scheduler=waker)
    headers = api.login()
    created = api.create(headers, date_pub=int((NOW + timedelta(seconds=1)).timestamp()))
    assert [post_id for post_id, _ in waker.posts] == [created["id"]]
    assert waker.wakes == 0
