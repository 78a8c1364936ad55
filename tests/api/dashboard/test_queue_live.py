"""``/queue/events``: the queue's server-sent events deliver status changes as they happen."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.api.dashboard.live import LIVE_LIMIT, LiveTiming, Watch
from igautopost.api.dashboard.queue import QueueFilters
from igautopost.models import Post, Status

SOON = LiveTiming(interval=0.01, lifetime=0.05)  # a few ticks, then the stream ends
LINK = "https://www.instagram.com/p/Cxyz789/"
FOLLOW_UP = timedelta(seconds=5)  # EnginePolicy.follow_up_delay


def _events(api: Api, url: str, **headers: str) -> list[dict[str, Any]]:
    api.client.app.state.dashboard_live = SOON  # type: ignore[attr-defined]
    answer = api.client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    found = []
    for block in answer.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "post":
            found.append({**json.loads(lines["data"]), "event_id": lines["id"]})
    return found


def _events_url(api: Api, query: str = "") -> str:
    page = api.client.get(f"/queue{query}", headers=HTML).text
    found = re.search(r'data-events="([^"]+)"', page)
    assert found
    return found.group(1).replace("&amp;", "&")


def _published_without_permalink(api: Api, post_id: int, at: Any) -> None:
    """As the engine's publish step leaves a post: live, its permalink read 5 s later."""
    changes = {"media_id": "1789", "published_at": at, "next_attempt_at": at + FOLLOW_UP}
    api.store.transition(post_id, Status.PUBLISHED, now=at, changes=changes)


def _permalink_read(api: Api, post_id: int, at: Any) -> None:
    """As the engine's follow-up step leaves it: the permalink, and no step to come."""
    changes = {"permalink": LINK, "next_attempt_at": None}
    api.store.transition(post_id, Status.PUBLISHED, now=at, changes=changes)


def _publish(api: Api, post_id: int, at: Any) -> None:
    api.store.transition(
        post_id,
        Status.PUBLISHED,
        now=at,
        changes={"permalink": LINK, "media_id": "1789", "published_at": at},
    )


def test_a_post_published_after_the_page_was_read_arrives_with_its_permalink(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api))
    url = _events_url(api)
    _publish(api, post["id"], NOW + timedelta(seconds=5))
    events = _events(api, url)
    assert [e["event_id"] for e in events] == [(NOW + timedelta(seconds=5)).isoformat()]
    change = events[0]
    assert (change["id"], change["status"]) == (post["id"], "published")
    assert change["html"].startswith(f'<tr id="post-{post["id"]}" data-status="published"')
    assert f'<a class="permalink" href="{LINK}"' in change["html"]


def test_nothing_changed_sends_no_post_events(api: Api) -> None:
    log_in(api)
    api.create(api_key_of(api))
    assert _events(api, _events_url(api)) == []


def test_another_users_changes_never_reach_the_stream(api: Api) -> None:
    log_in(api, "bob")
    theirs = api.create(api_key_of(api, "bob"))
    api.client.cookies.clear()
    log_in(api, "alice")
    url = _events_url(api)
    _publish(api, theirs["id"], NOW + timedelta(seconds=5))
    assert _events(api, url) == []


def test_a_reconnecting_browser_gets_only_what_it_has_not_seen(api: Api) -> None:
    log_in(api)
    headers = api_key_of(api)
    first, second = api.create(headers), api.create(headers, caption="second")
    url = _events_url(api)
    _publish(api, first["id"], NOW + timedelta(seconds=5))
    seen = _events(api, url)
    assert [e["status"] for e in seen] == ["published"]
    api.store.transition(
        second["id"], Status.FAILED, now=NOW + timedelta(seconds=9), changes={"error_message": "x"}
    )
    again = _events(api, url, **{"Last-Event-ID": seen[-1]["event_id"]})
    assert [(e["status"], e["html"].split(" data-")[0]) for e in again] == [
        ("failed", f'<tr id="post-{second["id"]}"')
    ]


def test_the_stream_watches_whatever_status_the_page_filters_on(api: Api) -> None:
    """A page of scheduled posts still hears that one of them was published."""
    log_in(api)
    post = api.create(api_key_of(api))
    url = _events_url(api, "?status=scheduled")
    _publish(api, post["id"], NOW + timedelta(seconds=5))
    assert [e["status"] for e in _events(api, url)] == ["published"]


def test_the_stream_needs_a_session(api: Api) -> None:
    answer = api.client.get("/queue/events", headers={"accept": "text/event-stream"})
    assert answer.status_code == 401


def test_a_post_made_elsewhere_after_the_page_was_read_arrives_to_be_inserted(api: Api) -> None:
    log_in(api)
    headers = api_key_of(api)
    url = _events_url(api)
    api.clock.advance(timedelta(seconds=3))  # type: ignore[attr-defined]
    made = api.create(headers, caption="made in another tab")
    events = _events(api, url)
    assert [(e["id"], e["status"]) for e in events] == [(made["id"], "scheduled")]
    assert "made in another tab" in events[0]["html"]


def test_naming_another_users_post_in_watch_tells_nothing(api: Api) -> None:
    log_in(api, "bob")
    theirs = api.create(api_key_of(api, "bob"))
    api.client.cookies.clear()
    log_in(api, "alice")
    url = _events_url(api) + f",{theirs['id']}"  # watch= is last: a forged id added to it
    assert url.split("watch=")[1].endswith(str(theirs["id"]))
    _publish(api, theirs["id"], NOW + timedelta(seconds=5))
    assert _events(api, url) == []


def test_a_new_post_due_soon_is_seen_however_many_were_published_before_it(api: Api) -> None:
    """The tick reads the active posts nearest to now, not the first of its window: a day
    of published posts before it does not push a post due soon out of view."""
    log_in(api)
    headers = api_key_of(api)
    earlier = [api.create(headers, caption=f"earlier {n}") for n in range(LIVE_LIMIT + 5)]
    for post in earlier:
        _publish(api, post["id"], NOW)
    api.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    log_in(api, create=False)
    url = _events_url(api)
    api.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    soon = int(api.clock.now().timestamp()) + 600
    due = api.create(headers, caption="due soon", date_pub=soon)
    assert [(e["id"], e["status"]) for e in _events(api, url)] == [(due["id"], "scheduled")]


def test_a_published_post_is_watched_until_its_permalink_arrives(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream's ticks: the post turns published, later gets its permalink; both are
    sent. Until the follow-up is due a tick is its one query; after it, nothing is read."""
    log_in(api)
    post = api.create(api_key_of(api))
    owner_id = api.store.get(post["id"]).owner_id
    assert owner_id is not None
    watch = Watch(owner_id, QueueFilters(None, None, None, None, {}), NOW, {post["id"]: None})
    reads = _count_reads(api, monkeypatch)

    def tick(seconds: int) -> list[Post]:
        return watch.step(api.store, NOW + timedelta(seconds=seconds), ZoneInfo("UTC"))

    assert tick(1) == []
    _published_without_permalink(api, post["id"], NOW + timedelta(seconds=2))
    first = tick(3)
    assert [(p.status, p.permalink) for p in first] == [(Status.PUBLISHED, None)]
    reads.clear()
    assert tick(5) == []  # the follow-up is due at 7 s: not read before
    assert reads == ["list"]
    assert tick(7) == []  # due, not taken yet (the engine is a little late): read again
    assert reads == ["list", "list", "get"]
    _permalink_read(api, post["id"], NOW + timedelta(seconds=8))
    second = tick(9)
    assert [(p.status, p.permalink) for p in second] == [(Status.PUBLISHED, LINK)]
    reads.clear()
    assert tick(11) == [] and tick(60) == []  # no step left: no longer read
    assert reads == ["list", "list"]


def test_a_follow_up_retried_later_is_sent_and_still_watched(api: Api) -> None:
    """The permalink could not be read (a transient error): the engine moves the next
    attempt on; that change is sent, and the post is read again when that time comes."""
    log_in(api)
    post = api.create(api_key_of(api))
    owner_id = api.store.get(post["id"]).owner_id
    assert owner_id is not None
    watch = Watch(owner_id, QueueFilters(None, None, None, None, {}), NOW, {post["id"]: None})
    zone = ZoneInfo("UTC")
    _published_without_permalink(api, post["id"], NOW + timedelta(seconds=1))
    assert len(watch.step(api.store, NOW + timedelta(seconds=2), zone)) == 1
    later = NOW + timedelta(seconds=40)
    api.store.transition(
        post["id"],
        Status.PUBLISHED,
        now=NOW + timedelta(seconds=6),
        changes={"next_attempt_at": later, "attempts": 1},
    )
    moved = watch.step(api.store, NOW + timedelta(seconds=7), zone)
    assert [p.next_attempt_at for p in moved] == [later]
    _permalink_read(api, post["id"], later)
    assert watch.step(api.store, later - timedelta(seconds=1), zone) == []  # not due yet
    arrived = watch.step(api.store, later + timedelta(seconds=1), zone)
    assert [p.permalink for p in arrived] == [LINK]


def test_a_page_read_while_the_permalink_is_read_gets_it(api: Api) -> None:
    """The page shows a post published a moment ago, without its permalink yet: the page's
    stream watches it, and sends the permalink once read."""
    log_in(api)
    post = api.create(api_key_of(api))
    _published_without_permalink(api, post["id"], NOW)
    url = _events_url(api)
    assert url.split("watch=")[1] == str(post["id"])
    _permalink_read(api, post["id"], NOW + FOLLOW_UP)
    events = _events(api, url)
    assert [e["id"] for e in events] == [post["id"]]
    assert f'<a class="permalink" href="{LINK}"' in events[0]["html"]


def _count_reads(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The store's reads from now on, by name, in order."""
    reads: list[str] = []
    for name in ("list", "get"):
        method = getattr(api.store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            reads.append(_name)
            return _method(*args, **kw)

        monkeypatch.setattr(api.store, name, counted)
    return reads
