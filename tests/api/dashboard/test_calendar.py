"""The calendar page: the operator's posts on the viewer's days, filters, "+K more", pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apitest import PASSWORD, Api
from dashboardtest import HTML, log_in

from igautopost.models import Post, PostSpec, Status

ACCOUNT = "17841400000000001"
OTHER_ACCOUNT = "17841400000000002"


def signed_in(api: Api, name: str = "alice") -> int:
    """Create `name`, log in as them in the browser; their user id."""
    user = api.users.create(name, PASSWORD)
    log_in(api, name, create=False)
    return user.id


def stored(api: Api, owner_id: int, publish_at: datetime, **fields: Any) -> Post:
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "media_type": "image",
        "media_url": "https://example.com/media/coffee.jpg",
        "caption": "Morning coffee",
        "publish_at": publish_at,
    }
    data.update(fields)
    spec = PostSpec.model_validate(data)
    return api.store.add([spec], now=api.clock.now(), owner_id=owner_id)[0]


def page(api: Api, query: str) -> str:
    answer = api.client.get(f"/calendar?{query}", headers=HTML)
    assert answer.status_code == 200, answer.text
    return answer.text


def days_of(html: str) -> dict[str, str]:
    """Each day cell's markup by its data-date."""
    cells = html.split('<li class="cal-day')[1:]
    found = {}
    for cell in cells:
        date = re.search(r'data-date="([0-9-]+)"', cell)
        assert date
        found[date.group(1)] = cell
    return found


def post_ids(cell: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-post-id="(\d+)"', cell)]


def test_a_post_at_2330_utc_is_on_the_next_day_in_berlin(api: Api) -> None:
    alice = signed_in(api)
    late = stored(api, alice, datetime(2030, 1, 15, 23, 30, tzinfo=UTC))

    berlin = days_of(page(api, "view=month&date=2030-01-10&tz=Europe/Berlin"))
    utc = days_of(page(api, "view=month&date=2030-01-10&tz=UTC"))

    assert post_ids(berlin["2030-01-16"]) == [late.id]
    assert post_ids(berlin["2030-01-15"]) == []
    assert post_ids(utc["2030-01-15"]) == [late.id]
    assert (
        '<time class="cal-time" datetime="2030-01-15T23:30:00+00:00">00:30</time>'
        in (berlin["2030-01-16"])
    )


def test_the_month_shows_whole_weeks_from_monday_and_marks_other_months_days(api: Api) -> None:
    signed_in(api)
    days = days_of(page(api, "view=month&date=2030-01-20&tz=UTC"))
    dates = list(days)
    assert dates[0] == "2029-12-31"  # a Monday
    assert dates[-1] == "2030-02-03"  # a Sunday
    assert len(dates) == 35
    assert "cal-outside" in days["2029-12-31"] and "cal-outside" not in days["2030-01-01"]
    assert "cal-today" in days["2030-01-01"]  # the fake clock's day


def test_other_users_posts_never_appear(api: Api) -> None:
    bob = api.users.create("bob", PASSWORD).id
    theirs = stored(api, bob, datetime(2030, 1, 5, 9, tzinfo=UTC), caption="Bob's secret")
    alice = signed_in(api)
    mine = stored(api, alice, datetime(2030, 1, 5, 10, tzinfo=UTC))

    html = page(api, "view=month&date=2030-01-05&tz=UTC")

    assert post_ids(html) == [mine.id]
    assert "Bob" not in html and f"/posts/{theirs.id}" not in html


def test_filters_by_account_and_status(api: Api) -> None:
    alice = signed_in(api)
    when = datetime(2030, 1, 7, 9, tzinfo=UTC)
    first = stored(api, alice, when)
    second = stored(api, alice, when + timedelta(hours=1), account=OTHER_ACCOUNT)
    third = stored(api, alice, when + timedelta(hours=2))
    api.store.transition(third.id, Status.CANCELLED, now=api.clock.now())

    assert post_ids(page(api, f"date=2030-01-07&tz=UTC&account={OTHER_ACCOUNT}")) == [second.id]
    assert post_ids(page(api, "date=2030-01-07&tz=UTC&status=cancelled")) == [third.id]
    assert post_ids(page(api, f"date=2030-01-07&account={ACCOUNT}&status=scheduled")) == [first.id]
    everything = page(api, "date=2030-01-07&tz=UTC&status=")
    assert post_ids(everything) == [first.id, second.id, third.id]
    assert f'<option value="{OTHER_ACCOUNT}">' in everything  # offered in the filter


def test_past_four_posts_a_day_shows_plus_more_linking_to_the_queue_of_that_day(api: Api) -> None:
    alice = signed_in(api)
    start = datetime(2030, 1, 9, 8, tzinfo=UTC)
    posts = [stored(api, alice, start + timedelta(minutes=10 * i)) for i in range(7)]

    cell = days_of(page(api, "view=month&date=2030-01-09&tz=UTC&account=" + ACCOUNT))["2030-01-09"]

    assert post_ids(cell) == [p.id for p in posts[:4]]  # the first four by publish time
    assert 'data-total="7"' in cell
    link = f"/queue?from=2030-01-09&until=2030-01-09&account={ACCOUNT}&tz=UTC"
    assert f'href="{link.replace("&", "&amp;")}"' in cell
    assert "+3 more" in cell
    next_day = stored(api, alice, start + timedelta(days=1))
    queue = api.client.get(link, headers=HTML)
    assert queue.status_code == 200
    assert all(f'id="post-{p.id}"' in queue.text for p in posts)  # the day's posts are there
    assert f'id="post-{next_day.id}"' not in queue.text  # and only they


def test_the_week_view_shows_its_seven_days_and_three_posts_an_hour_then_more(api: Api) -> None:
    alice = signed_in(api)
    start = datetime(2030, 1, 9, 8, tzinfo=UTC)
    posts = [stored(api, alice, start + timedelta(minutes=i)) for i in range(13)]
    later = stored(api, alice, start + timedelta(hours=1))

    days = days_of(page(api, "view=week&date=2030-01-10&tz=UTC"))

    assert list(days) == [f"2030-01-{d:02d}" for d in range(7, 14)]
    assert post_ids(days["2030-01-09"]) == [p.id for p in posts[:3]] + [later.id]
    assert 'data-total="14"' in days["2030-01-09"]
    assert "+10 more" in days["2030-01-09"]


def test_cards_link_to_the_post_and_only_changeable_ones_are_draggable(api: Api) -> None:
    alice = signed_in(api)
    when = datetime(2030, 1, 8, 9, tzinfo=UTC)
    open_one = stored(api, alice, when)
    done = stored(api, alice, when + timedelta(hours=1))
    api.store.transition(done.id, Status.CANCELLED, now=api.clock.now())

    html = page(api, "date=2030-01-08&tz=Asia/Kolkata")

    card = re.search(rf'<a class="cal-post"[^>]*data-post-id="{open_one.id}"[^>]*>', html)
    assert card
    assert f'href="/posts/{open_one.id}"' in card.group(0)
    assert 'draggable="true"' in card.group(0)
    assert 'data-local-time="14:30"' in card.group(0)  # 09:00 UTC in India
    cancelled = re.search(rf'<a class="cal-post"[^>]*data-post-id="{done.id}"[^>]*>', html)
    assert cancelled and 'draggable="false"' in cancelled.group(0)
    assert 'class="status status-cancelled">cancelled<' in html


@pytest.mark.parametrize(
    ("query", "previous", "following"),
    [
        ("view=month&date=2030-12-15", "date=2030-11-01", "date=2031-01-01"),
        ("view=month&date=2030-01-31", "date=2029-12-01", "date=2030-02-01"),
        ("view=week&date=2030-12-30", "date=2030-12-23", "date=2031-01-06"),
        # the week clocks go forward in Berlin (2030-03-31) is a week like another
        ("view=week&date=2030-03-31&tz=Europe/Berlin", "date=2030-03-24", "date=2030-04-07"),
    ],
)
def test_previous_and_next_pages(api: Api, query: str, previous: str, following: str) -> None:
    signed_in(api)
    html = page(api, query)
    before = re.search(r'rel="prev" href="([^"]+)"', html)
    after = re.search(r'rel="next" href="([^"]+)"', html)
    assert before and previous in before.group(1)
    assert after and following in after.group(1)


def test_days_around_a_change_of_clocks_hold_their_own_posts(api: Api) -> None:
    alice = signed_in(api)
    # Berlin goes from +01:00 to +02:00 at 01:00 UTC on 2030-03-31; and back on 2030-10-27.
    first_minute = stored(api, alice, datetime(2030, 3, 30, 23, 0, tzinfo=UTC))  # 00:00 local
    last_minute = stored(api, alice, datetime(2030, 3, 31, 21, 59, tzinfo=UTC))  # 23:59 local
    autumn_late = stored(api, alice, datetime(2030, 10, 27, 22, 59, tzinfo=UTC))  # 23:59 +01

    spring = days_of(page(api, "view=week&date=2030-03-31&tz=Europe/Berlin"))
    autumn = days_of(page(api, "view=week&date=2030-10-27&tz=Europe/Berlin"))

    assert post_ids(spring["2030-03-31"]) == [first_minute.id, last_minute.id]
    assert post_ids(spring["2030-03-30"]) == []
    assert post_ids(autumn["2030-10-27"]) == [autumn_late.id]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("view=year", "view: must be month or week"),
        ("date=2030-13-01", "date: must be a day written YYYY-MM-DD"),
        ("date=0001-01-01", "date: must be between"),
        ("status=lost", "status: must be one of scheduled"),
    ],
)
def test_a_parameter_it_cannot_use_is_named_with_its_rule(api: Api, query: str, named: str) -> None:
    signed_in(api)
    answer = api.client.get(f"/calendar?{query}", headers=HTML)
    assert answer.status_code == 400
    assert named in answer.text


def test_without_a_session_the_calendar_sends_to_the_login_form(api: Api) -> None:
    answer = api.client.get("/calendar?view=week", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=%2Fcalendar")
