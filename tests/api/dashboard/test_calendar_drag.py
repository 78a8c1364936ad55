"""What calendar.js does when a card is dropped on another day, done as it does it: POST
/posts/{id}/reschedule with the day and the card's local time, in the page's zone, asking
for JSON; the post is then on the new day at the same time of day."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from apitest import Api
from dashboardtest import HTML
from test_calendar import days_of, page, post_ids, signed_in, stored

from igautopost.models import Status

ZONE = "Europe/Berlin"


def drop(api: Api, html: str, post_id: int, day: str) -> tuple[int, dict[str, str]]:
    """calendar.js's request for dropping card `post_id` of `html` on `day`."""
    card = re.search(rf'<a class="cal-post"[^>]*data-post-id="{post_id}"[^>]*>', html)
    assert card
    local_time = re.search(r'data-local-time="([0-9:]+)"', card.group(0))
    zone = re.search(r'id="calendar"[^>]*data-zone="([^"]+)"', html)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert local_time and zone and token
    answer = api.client.post(
        f"/posts/{post_id}/reschedule?tz={zone.group(1)}",
        data={"publish_at": f"{day}T{local_time.group(1)}", "csrf_token": token.group(1)},
        headers={"accept": "application/json", "x-csrf-token": token.group(1)},
    )
    return answer.status_code, answer.json()


def test_a_dropped_card_keeps_its_local_time_across_a_change_of_clocks(api: Api) -> None:
    alice = signed_in(api)
    # 09:15 in Berlin in winter (+01:00); dropped on a summer day it stays 09:15 (+02:00)
    post = stored(api, alice, datetime(2030, 3, 28, 8, 15, tzinfo=UTC))
    html = page(api, f"view=week&date=2030-03-28&tz={ZONE}")

    status, body = drop(api, html, post.id, "2030-04-02")

    assert status == 200, body
    assert body == {"id": post.id, "status": "scheduled", "publish_at": "2030-04-02T07:15:00Z"}
    after = days_of(page(api, f"view=week&date=2030-04-02&tz={ZONE}"))
    assert post_ids(after["2030-04-02"]) == [post.id]
    assert 'data-local-time="09:15"' in after["2030-04-02"]


def test_a_refused_drop_answers_json_with_the_reason_and_changes_nothing(api: Api) -> None:
    alice = signed_in(api)
    post = stored(api, alice, datetime(2030, 1, 20, 10, tzinfo=UTC))
    html = page(api, f"date=2030-01-20&tz={ZONE}")
    api.store.transition(post.id, Status.PUBLISHED, now=api.clock.now())  # meanwhile

    status, body = drop(api, html, post.id, "2030-01-22")

    assert status == 409
    assert "already published" in body["error"]
    assert api.store.get(post.id).publish_at == datetime(2030, 1, 20, 10, tzinfo=UTC)


def test_a_drop_into_the_past_is_refused_with_the_rule(api: Api) -> None:
    alice = signed_in(api)
    post = stored(api, alice, datetime(2030, 1, 3, 10, tzinfo=UTC))  # the fake now: 1 Jan
    html = page(api, f"date=2030-01-03&tz={ZONE}")

    status, body = drop(api, html, post.id, "2029-12-31")

    assert status == 400
    assert body["error"].startswith("publish_at")
    assert api.client.get("/calendar", headers=HTML).status_code == 200
