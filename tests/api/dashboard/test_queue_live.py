"""``/queue/events``: the queue's server-sent events deliver status changes as they happen."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.api.dashboard.live import LIVE_LIMIT, LiveTiming
from igautopost.models import Status

SOON = LiveTiming(interval=0.01, lifetime=0.05)  # a few ticks, then the stream ends
LINK = "https://www.instagram.com/p/Cxyz789/"


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
