"""The week view's hour slots: each post in the hour of its local time, at most three a slot
then "+K more", the hours a change of clocks skips or repeats, and a drop on a slot done as
calendar.js does it (the slot's hour, the card's minutes, the slot's offset)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from apitest import Api
from dashboardtest import HTML
from test_calendar import days_of, page, post_ids, signed_in, stored

ZONE = "Europe/Berlin"


def slots_of(cell: str) -> dict[int, str]:
    """A day cell's hour slots' markup by hour."""
    found = {}
    for slot in cell.split('<li class="cal-slot')[1:]:
        hour = re.search(r'data-hour="(\d+)"', slot)
        assert hour
        found[int(hour.group(1))] = slot
    return found


def test_each_day_has_24_hour_slots_and_a_post_is_in_the_hour_of_its_local_time(
    api: Api,
) -> None:
    alice = signed_in(api)
    morning = stored(api, alice, datetime(2030, 1, 9, 8, 15, tzinfo=UTC))  # 13:45 in India
    late = stored(api, alice, datetime(2030, 1, 9, 18, 40, tzinfo=UTC))  # 00:10 the next day

    days = days_of(page(api, "view=week&date=2030-01-09&tz=Asia/Kolkata"))

    for cell in days.values():
        assert list(slots_of(cell)) == list(range(24))
    wednesday, thursday = slots_of(days["2030-01-09"]), slots_of(days["2030-01-10"])
    assert [hour for hour, slot in wednesday.items() if post_ids(slot)] == [13]
    assert post_ids(wednesday[13]) == [morning.id]
    assert post_ids(thursday[0]) == [late.id]
    assert 'data-slot="2030-01-09T13:00"' in wednesday[13]
    assert 'data-offset="+05:30"' in wednesday[13]
    assert 'data-start="2030-01-09T07:30:00Z"' in wednesday[13]  # 13:00 in India
    assert "cal-slot-empty" in wednesday[12] and "cal-slot-empty" not in wednesday[13]


def test_past_three_posts_an_hour_shows_plus_more_linking_to_the_queue_of_that_day(
    api: Api,
) -> None:
    alice = signed_in(api)
    posts = [
        stored(api, alice, datetime(2030, 1, 9, 14, minute, tzinfo=UTC)) for minute in range(5)
    ]

    day = slots_of(days_of(page(api, "view=week&date=2030-01-09&tz=UTC"))["2030-01-09"])

    assert post_ids(day[14]) == [p.id for p in posts[:3]]
    more = re.search(r'<a class="cal-more" href="([^"]+)"[^>]*>([^<]+)</a>', day[14])
    assert more and more.group(2) == "+2 more"
    assert more.group(1) == "/queue?from=2030-01-09&amp;until=2030-01-09&amp;tz=UTC"
    assert "cal-more" not in day[13]


def test_the_hour_clocks_skip_takes_no_post_and_the_hour_they_repeat_holds_both(
    api: Api,
) -> None:
    alice = signed_in(api)
    # Berlin: 02:00-03:00 does not exist on 2030-03-31 and happens twice on 2030-10-27
    spring_three = stored(api, alice, datetime(2030, 3, 31, 1, 5, tzinfo=UTC))  # 03:05 +02
    first_half_past_two = stored(api, alice, datetime(2030, 10, 27, 0, 30, tzinfo=UTC))  # +02
    second_half_past_two = stored(api, alice, datetime(2030, 10, 27, 1, 30, tzinfo=UTC))  # +01
    three = stored(api, alice, datetime(2030, 10, 27, 2, 0, tzinfo=UTC))  # 03:00 +01

    spring = slots_of(days_of(page(api, f"view=week&date=2030-03-31&tz={ZONE}"))["2030-03-31"])
    autumn = slots_of(days_of(page(api, f"view=week&date=2030-10-27&tz={ZONE}"))["2030-10-27"])

    assert 'data-skipped="true"' in spring[2] and post_ids(spring[2]) == []
    assert "skipped: clocks went forward" in spring[2]
    assert post_ids(spring[3]) == [spring_three.id]
    assert all("data-skipped" not in spring[hour] for hour in spring if hour != 2)
    assert post_ids(autumn[2]) == [first_half_past_two.id, second_half_past_two.id]
    assert 'data-repeated="true"' in autumn[2] and "twice: clocks went back" in autumn[2]
    assert 'data-offset="+02:00"' in autumn[2]  # a drop there takes the first 02:xx
    assert post_ids(autumn[3]) == [three.id] and 'data-offset="+01:00"' in autumn[3]


def drop_on_slot(api: Api, html: str, post_id: int, slot: str) -> tuple[int, dict[str, str]]:
    """calendar.js's request for dropping card `post_id` on the slot ``data-slot=slot``:
    that day and hour, the card's minutes and seconds, the slot's offset."""
    card = re.search(rf'<a class="cal-post"[^>]*data-post-id="{post_id}"[^>]*>', html)
    target = re.search(rf'data-slot="{slot}"[^>]*data-offset="([^"]+)"', html)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert card and target and token
    local_time = re.search(r'data-local-time="([0-9:]+)"', card.group(0))
    assert local_time
    publish_at = slot[:13] + local_time.group(1)[2:] + target.group(1)
    answer = api.client.post(
        f"/posts/{post_id}/reschedule",
        data={"publish_at": publish_at, "csrf_token": token.group(1)},
        headers={"accept": "application/json", "x-csrf-token": token.group(1)},
    )
    return answer.status_code, answer.json()


def test_a_card_dropped_on_an_hour_moves_to_that_day_and_hour_keeping_its_minutes(
    api: Api,
) -> None:
    alice = signed_in(api)
    post = stored(api, alice, datetime(2030, 3, 28, 7, 15, tzinfo=UTC))  # 08:15 in Berlin (+01)
    html = page(api, f"view=week&date=2030-03-28&tz={ZONE}")

    status, body = drop_on_slot(api, html, post.id, "2030-03-31T14:00")  # summer time (+02)

    assert status == 200, body
    assert body["publish_at"] == "2030-03-31T12:15:00Z"  # 14:15 in Berlin
    after = slots_of(days_of(page(api, f"view=week&date=2030-03-31&tz={ZONE}"))["2030-03-31"])
    assert post_ids(after[14]) == [post.id]
    assert 'data-local-time="14:15"' in after[14]


def test_a_card_dropped_on_the_hour_that_happens_twice_takes_the_first(api: Api) -> None:
    alice = signed_in(api)
    post = stored(api, alice, datetime(2030, 10, 26, 6, 45, tzinfo=UTC))  # 08:45 (+02)
    html = page(api, f"view=week&date=2030-10-26&tz={ZONE}")

    status, body = drop_on_slot(api, html, post.id, "2030-10-27T02:00")

    assert status == 200, body
    assert body["publish_at"] == "2030-10-27T00:45:00Z"  # 02:45 +02:00, the first 02:45


def test_the_week_days_are_headed_with_short_names_and_their_full_names_for_readers(
    api: Api,
) -> None:
    signed_in(api)
    html = page(api, "view=week&date=2030-01-09&tz=UTC")

    wednesday = days_of(html)["2030-01-09"]
    assert '<span aria-hidden="true">Wed 9 Jan</span>' in wednesday
    assert '<span class="visually-hidden">Wednesday 9 January</span>' in wednesday
    assert "Wednesday 9 January</span>" not in wednesday.replace(
        '<span class="visually-hidden">Wednesday 9 January</span>', ""
    )
    assert 'class="cal-weekdays"' not in html  # the days head their own columns


def test_the_month_view_has_no_hour_slots(api: Api) -> None:
    alice = signed_in(api)
    stored(api, alice, datetime(2030, 1, 9, 8, 15, tzinfo=UTC))
    html = api.client.get("/calendar?view=month&date=2030-01-09&tz=UTC", headers=HTML).text
    assert "cal-slot" not in html and "data-slot" not in html
