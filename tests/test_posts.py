"""schedule / cancel / reschedule: all or nothing, idempotent client keys, duplicate warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from igautopost.errors import InvalidPost, InvalidTransition, PostNotFound
from igautopost.models import Status
from igautopost.posts import cancel, reschedule, schedule
from igautopost.storage import PostQuery

NOW = datetime(2030, 1, 1, tzinfo=UTC)
AT = datetime(2035, 6, 1, 9, tzinfo=UTC)


def count(store) -> int:
    return len(store.list(PostQuery()))


def bulk(make_post, n: int, **overrides) -> list[dict]:
    return [
        make_post(caption=f"post {i}", publish_at=(AT + timedelta(days=i)).isoformat(), **overrides)
        for i in range(n)
    ]


# -- schedule ----------------------------------------------------------------------------------


def test_schedule_stores_every_valid_post(store, make_post):
    result = schedule(store, bulk(make_post, 50), now=NOW)
    assert len(result.created) == 50
    assert (result.existing, result.warnings) == ([], [])
    stored = store.list(PostQuery())
    assert [p.id for p in stored] == [p.id for p in result.created]
    assert {p.status for p in stored} == {Status.SCHEDULED}


@pytest.mark.parametrize("bad_at", [0, 36, 49])
def test_one_bad_post_in_50_stores_nothing(store, make_post, bad_at):
    items = bulk(make_post, 50)
    items[bad_at]["caption"] = "#tag " * 31
    with pytest.raises(InvalidPost) as info:
        schedule(store, items, now=NOW)
    assert [(p.index, p.field) for p in info.value.problems] == [(bad_at, "caption")]
    assert count(store) == 0


def test_schedule_reports_problems_of_several_posts(store, make_post):
    items = bulk(make_post, 5)
    items[1]["media_type"] = "hologram"
    items[3]["publish_at"] = (NOW - timedelta(days=1)).isoformat()
    with pytest.raises(InvalidPost) as info:
        schedule(store, items, now=NOW)
    assert [(p.index, p.field) for p in info.value.problems] == [
        (1, "media_type"),
        (3, "publish_at"),
    ]
    assert count(store) == 0


def test_schedule_keeps_the_owner(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW, owner_id=7).created
    assert store.get(post.id, owner_id=7).owner_id == 7


# -- client keys -------------------------------------------------------------------------------


def test_same_client_key_twice_is_stored_once(store, make_post):
    first = schedule(store, [make_post(client_key="launch-1")], now=NOW)
    again = schedule(store, [make_post(client_key="launch-1", caption="edited")], now=NOW)
    assert again.created == []
    assert [p.id for p in again.existing] == [first.created[0].id]
    assert again.existing[0].spec.caption == first.created[0].spec.caption
    assert count(store) == 1


def test_known_key_alongside_new_posts(store, make_post):
    schedule(store, [make_post(client_key="a")], now=NOW)
    result = schedule(
        store, [make_post(client_key="a"), make_post(client_key="b", caption="new")], now=NOW
    )
    assert [p.spec.client_key for p in result.created] == ["b"]
    assert [p.spec.client_key for p in result.existing] == ["a"]
    assert count(store) == 2


def test_client_keys_are_per_account(store, make_post):
    schedule(store, [make_post(client_key="k")], now=NOW)
    other = schedule(store, [make_post(client_key="k", account="17841400000000002")], now=NOW)
    assert len(other.created) == 1
    assert count(store) == 2


def test_same_client_key_twice_in_one_input_is_a_problem(store, make_post):
    items = [make_post(client_key="dup", caption="one"), make_post(client_key="dup", caption="two")]
    with pytest.raises(InvalidPost) as info:
        schedule(store, items, now=NOW)
    assert [p.field for p in info.value.problems] == ["client_key"]
    assert "dup" in info.value.problems[0].message
    assert count(store) == 0


# -- near duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "warned"),
    [(-61, False), (-60, True), (-1, True), (0, True), (30, True), (60, True), (61, False)],
)
def test_near_duplicate_within_an_hour_is_stored_with_a_warning(store, make_post, minutes, warned):
    [first] = schedule(store, [make_post()], now=NOW).created
    twin = make_post(publish_at=(first.publish_at + timedelta(minutes=minutes)).isoformat())
    result = schedule(store, [twin], now=NOW)
    assert len(result.created) == 1
    assert count(store) == 2
    assert len(result.warnings) == int(warned)
    if warned:
        assert f"post {first.id}" in result.warnings[0]
        assert first.account in result.warnings[0]


@pytest.mark.parametrize(
    "difference",
    [
        {"caption": "another caption"},
        {"media_url": "https://example.com/media/other.jpg"},
        {"account": "17841400000000002"},
    ],
)
def test_not_a_duplicate_when_account_media_or_caption_differ(store, make_post, difference):
    schedule(store, [make_post()], now=NOW)
    assert schedule(store, [make_post(**difference)], now=NOW).warnings == []


def test_a_cancelled_post_is_not_a_duplicate(store, make_post):
    [first] = schedule(store, [make_post()], now=NOW).created
    cancel(store, first.id, now=NOW)
    assert schedule(store, [make_post()], now=NOW).warnings == []


# -- cancel ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [Status.SCHEDULED, Status.PROCESSING, Status.READY, Status.FAILED]
)
def test_cancel_a_post_not_yet_published(store, make_post, status):
    [post] = schedule(store, [make_post()], now=NOW).created
    if status is not Status.SCHEDULED:
        store.transition(post.id, status, now=NOW)
    later = NOW + timedelta(hours=1)
    cancelled = cancel(store, post.id, now=later)
    assert cancelled.status is Status.CANCELLED
    assert store.get(post.id).status is Status.CANCELLED
    last = store.events(post.id)[-1]
    assert (last.from_status, last.to_status, last.at) == (status, Status.CANCELLED, later)


def test_cancel_twice_changes_nothing(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW).created
    cancel(store, post.id, now=NOW)
    events = store.events(post.id)
    assert cancel(store, post.id, now=NOW).status is Status.CANCELLED
    assert store.events(post.id) == events


def test_a_published_post_cannot_be_cancelled(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW).created
    store.transition(post.id, Status.PUBLISHED, now=NOW)
    with pytest.raises(InvalidTransition, match="published"):
        cancel(store, post.id, now=NOW)
    assert store.get(post.id).status is Status.PUBLISHED


def test_cancel_someone_elses_post(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW, owner_id=1).created
    with pytest.raises(PostNotFound):
        cancel(store, post.id, now=NOW, owner_id=2)
    assert store.get(post.id).status is Status.SCHEDULED


# -- reschedule --------------------------------------------------------------------------------


def test_reschedule_moves_the_publish_time(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW).created
    new_time = post.publish_at + timedelta(days=3, hours=2)
    moved = reschedule(store, post.id, new_time, now=NOW)
    fetched = store.get(post.id)
    assert moved.publish_at == fetched.publish_at == new_time
    assert fetched.status is Status.SCHEDULED
    assert post.next_attempt_at < fetched.next_attempt_at <= new_time
    assert fetched.spec.model_copy(update={"publish_at": post.publish_at}) == post.spec.model_copy(
        update={"access_token": None}
    )
    assert store.access_token(post.id) == make_post()["access_token"]
    last = store.events(post.id)[-1]
    assert new_time.isoformat() in last.detail and post.publish_at.isoformat() in last.detail


def test_reschedule_a_failed_post_schedules_it_again(store, make_post):
    [post] = schedule(store, [make_post()], now=NOW).created
    store.transition(
        post.id, Status.FAILED, now=NOW, changes={"error_message": "boom", "error_code": 9004}
    )
    moved = reschedule(store, post.id, AT + timedelta(days=1), now=NOW)
    assert moved.status is Status.SCHEDULED
    assert moved.error is None
    assert store.events(post.id)[-1].from_status is Status.FAILED


@pytest.mark.parametrize("status", [Status.PUBLISHED, Status.CANCELLED])
def test_reschedule_refused_once_published_or_cancelled(store, make_post, status):
    [post] = schedule(store, [make_post()], now=NOW).created
    store.transition(post.id, status, now=NOW)
    with pytest.raises(InvalidTransition):
        reschedule(store, post.id, AT + timedelta(days=1), now=NOW)
    assert store.get(post.id).publish_at == post.publish_at


@pytest.mark.parametrize(
    ("when", "ok"),
    [
        (NOW - timedelta(minutes=5), False),
        (NOW - timedelta(seconds=30), True),  # within the clock-skew grace
        (NOW + timedelta(minutes=5), True),
        (datetime(2035, 1, 1), False),  # naive
    ],
)
def test_reschedule_time_must_be_aware_and_in_the_future(store, make_post, when, ok):
    [post] = schedule(store, [make_post()], now=NOW).created
    if ok:
        assert reschedule(store, post.id, when, now=NOW).publish_at == when
        return
    with pytest.raises(InvalidPost) as info:
        reschedule(store, post.id, when, now=NOW)
    assert [p.field for p in info.value.problems] == ["publish_at"]
    assert store.get(post.id).publish_at == post.publish_at
    assert len(store.events(post.id)) == 1


def test_reschedule_missing_post(store):
    with pytest.raises(PostNotFound):
        reschedule(store, 99, AT, now=NOW)


def test_client_keys_are_per_owner_so_nobody_can_probe_or_block_anothers(store, make_post):
    [theirs] = schedule(
        store, [make_post(client_key="k", caption="private")], now=NOW, owner_id=1
    ).created

    mine = schedule(store, [make_post(client_key="k", caption="mine")], now=NOW, owner_id=2)
    local = schedule(store, [make_post(client_key="k", caption="local")], now=NOW)

    # neither an error (which would tell that the key is in use) nor the other's post
    assert [p.spec.caption for p in mine.created] == ["mine"] and mine.existing == []
    assert [p.spec.caption for p in local.created] == ["local"] and local.existing == []
    assert len(store.list(PostQuery())) == 3
    # each owner still gets its own post back for its key
    again = schedule(store, [make_post(client_key="k")], now=NOW, owner_id=1)
    assert [p.id for p in again.existing] == [theirs.id] and again.created == []
    again = schedule(store, [make_post(client_key="k")], now=NOW, owner_id=2)
    assert [p.id for p in again.existing] == [mine.created[0].id]
    again = schedule(store, [make_post(client_key="k")], now=NOW)
    assert [p.id for p in again.existing] == [local.created[0].id]


# -- times without an offset, and posts without an account (issue 15) ------------------------


def test_a_naive_time_is_read_in_the_zone_given_and_the_zone_is_stored(store, make_post):
    from zoneinfo import ZoneInfo

    item = make_post(publish_at="2031-01-05 08:00")
    [post] = schedule(store, [item], now=NOW, zone=ZoneInfo("Europe/Paris")).created
    assert post.publish_at == datetime(2031, 1, 5, 7, tzinfo=UTC)
    assert post.spec.timezone == "Europe/Paris"


def test_without_a_zone_the_environments_is_used(store, make_post, monkeypatch):
    from igautopost.posts import parse_posts

    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Asia/Kolkata")
    [spec] = parse_posts([make_post(publish_at="2031-01-05 08:00")], now=NOW)
    assert spec.publish_at == datetime(2031, 1, 5, 2, 30, tzinfo=UTC)


def test_a_post_with_no_token_and_no_stored_account_is_refused(store, make_post):
    orphan = make_post(account="17841400000000077")
    del orphan["access_token"]
    with pytest.raises(InvalidPost) as info:
        schedule(store, [make_post(), orphan], now=NOW)
    [problem] = info.value.problems
    assert (problem.index, problem.field) == (1, "access_token")
    assert "17841400000000077 is not stored" in problem.message
    assert "igautopost" not in problem.message, "the library names no CLI command"
    assert count(store) == 0
    created = schedule(store, [orphan], now=NOW, allow_missing_account=True).created
    assert [p.has_token for p in created] == [False]


def test_a_token_in_the_batch_or_the_store_is_enough(store, make_post):
    tokenless = make_post(caption="no token of its own")
    del tokenless["access_token"]
    assert len(schedule(store, [make_post(), tokenless], now=NOW).created) == 2
    later = make_post(caption="the account is stored now", publish_at=AT.replace(hour=12))
    del later["access_token"]
    assert len(schedule(store, [later], now=NOW).created) == 1
