"""``/queue?from=DAY&until=DAY``: one day's posts (the calendar's "+K more" link), and the
next page past `PAGE_SIZE` posts."""

from __future__ import annotations

import re
from datetime import timedelta

from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.api.dashboard import queue


def _listed(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="post-(\d+)"', page)]


def test_until_ends_the_list_with_that_day_in_the_viewers_zone(api: Api) -> None:
    log_in(api)
    headers = api_key_of(api)
    day = NOW + timedelta(days=2)  # 2030-01-03 12:00 UTC
    late = api.create(headers, date_pub=int(day.replace(hour=22, minute=30).timestamp()))
    noon = api.create(headers, date_pub=int(day.timestamp()))
    next_day = api.create(headers, date_pub=int((day + timedelta(days=1)).timestamp()))
    utc = api.client.get("/queue?from=2030-01-03&until=2030-01-03&tz=UTC", headers=HTML)
    assert _listed(utc.text) == [noon["id"], late["id"]]
    # 22:30 UTC is 23:30 in Berlin (same day); in Tokyo it is the next morning
    tokyo = api.client.get("/queue?from=2030-01-03&until=2030-01-03&tz=Asia/Tokyo", headers=HTML)
    assert _listed(tokyo.text) == [noon["id"]]
    assert next_day["id"] not in _listed(utc.text)


def test_a_bad_until_is_named(api: Api) -> None:
    log_in(api)
    answer = api.client.get("/queue?until=soon", headers=HTML)
    assert answer.status_code == 400
    assert "until: must be a date such as 2031-01-05" in answer.text


def test_a_full_page_links_to_the_next_one(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue, "PAGE_SIZE", 3)
    log_in(api)
    headers = api_key_of(api)
    ids = [
        api.create(headers, date_pub=int(NOW.timestamp()) + 3600 * (i + 1))["id"] for i in range(5)
    ]
    first = api.client.get("/queue", headers=HTML).text
    assert _listed(first) == ids[:3]
    link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert link is not None
    second = api.client.get(link.group(1).replace("&amp;", "&"), headers=HTML).text
    assert _listed(second) == ids[3:]
    assert 'rel="next"' not in second
