"""Recurring posts, and what users do to posts on their way: cancel, reschedule, retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from enginetest import TOKEN, WorldFactory

from igautopost.errors import InvalidTransition
from igautopost.models import Status
from igautopost.posts import cancel, reschedule, retry
from igautopost.sandbox import ErrorSpec, FaultRule
from igautopost.storage.protocols import PostQuery

PARIS = ZoneInfo("Europe/Paris")


def test_a_daily_post_in_paris_publishes_at_nine_local_across_the_dst_change(
    make_world: WorldFactory,
) -> None:
    # Summer time starts in Paris on Sunday 2030-03-31 (02:00 -> 03:00).
    world = make_world(start=datetime(2030, 3, 28, 12, 0, tzinfo=UTC))
    first = world.schedule(
        caption="bonjour",
        timezone="Europe/Paris",
        recurrence="0 9 * * *",
        publish_at="2030-03-29T09:00:00",
    )

    world.run_until(datetime(2030, 4, 3, 12, 0, tzinfo=UTC))

    published = [p for p in world.store.list(PostQuery()) if p.status is Status.PUBLISHED]
    local = [p.published_at.astimezone(PARIS) for p in published if p.published_at]
    assert [t.strftime("%m-%d %H:%M %Z") for t in local] == [
        "03-29 09:00 CET",
        "03-30 09:00 CET",
        "03-31 09:00 CEST",
        "04-01 09:00 CEST",
        "04-02 09:00 CEST",
        "04-03 09:00 CEST",
    ]
    assert len(world.publishes()) == 6
    assert world.report()["duplicates"] == [] or all(
        d["kind"] == "caption"
        for d in world.report()["duplicates"]  # same caption every day
    )
    assert len({p.container_id for p in world.publishes()}) == 6
    upcoming = [p for p in world.store.list(PostQuery()) if p.status is Status.SCHEDULED]
    assert [p.publish_at.astimezone(PARIS).strftime("%m-%d %H:%M") for p in upcoming] == [
        "04-04 09:00"
    ]
    assert first.id == published[0].id


def test_a_rerun_publish_step_creates_exactly_one_next_occurrence(
    make_world: WorldFactory,
) -> None:
    """Worker A publishes, stalls past its lease; B finds the container PUBLISHED and records
    it with the next occurrence; A's late save is refused, so no second occurrence."""
    world = make_world()
    post = world.schedule(
        caption="daily", recurrence="0 9 * * *", publish_at=world.clock.now() + timedelta(hours=1)
    )
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    stalled = world.store.claim(
        post.id, owner="stalled", now=post.publish_at, lease=world.policy.lease
    )
    assert stalled is not None
    world.store.save_progress(
        stalled, owner="stalled", changes={"publish_attempted_at": post.publish_at}
    )
    media_id = world.client.publish(post.account, stalled.container_id or "", token=TOKEN)

    world.run_for(hours=1)  # B (the simulation's worker) takes over after the lease

    occurrence = (post.publish_at + timedelta(days=1), post.publish_at + timedelta(days=1))
    assert not world.store.save_step(
        stalled,
        Status.PUBLISHED,
        owner="stalled",
        now=world.clock.now(),
        changes={"media_id": media_id},
        detail="late",
        next_occurrence=occurrence,
    )
    world.assert_published_once(post)
    assert len(world.store.list(PostQuery())) == 2, "the post and exactly one next occurrence"
    [following] = [p for p in world.store.list(PostQuery()) if p.id != post.id]
    assert following.status is Status.SCHEDULED
    assert following.publish_at == post.publish_at + timedelta(days=1)


def test_a_post_cancelled_while_ready_is_never_published(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(caption="changed my mind")
    world.run_until(post.publish_at - timedelta(seconds=30))
    assert world.get(post).status is Status.READY

    cancel(world.store, post.id, now=world.clock.now())
    world.run_for(days=1)

    assert world.get(post).status is Status.CANCELLED
    assert world.publishes() == [] and world.calls("publish") == []


def test_a_post_cancelled_while_its_container_is_processing_is_never_published(
    make_world: WorldFactory,
) -> None:
    world = make_world(video_processing_seconds=600)
    post = world.schedule(
        caption="cancel during processing",
        media_type="reel",
        media_url="https://cdn.example.com/v/r.mp4",
    )
    world.run_until(post.publish_at - timedelta(minutes=25))
    assert world.get(post).status is Status.PROCESSING

    cancel(world.store, post.id, now=world.clock.now())
    world.run_for(days=1)

    assert world.get(post).status is Status.CANCELLED
    assert world.publishes() == []


def test_a_post_cancelled_while_a_worker_prepares_it_stays_cancelled(
    make_world: WorldFactory,
) -> None:
    """A worker claimed the post to create its container; the user cancels meanwhile: the
    worker's step cannot save (its lease was taken) and the post is never published."""
    world = make_world()
    post = world.schedule(caption="cancelled under a claim")
    prepare_at = world.policy.leads.prepare_at(post.spec)
    world.clock.set(prepare_at)
    claimed = world.store.claim(
        post.id, owner=world.publisher.owner, now=prepare_at, lease=world.policy.lease
    )
    assert claimed is not None

    cancel(world.store, post.id, now=world.clock.now())
    assert world.publisher.step(claimed) is None
    world.run_for(days=1)

    assert world.get(post).status is Status.CANCELLED
    assert world.publishes() == []
    assert world.leases()[post.id] == (None, None)


def test_cancelling_a_post_being_published_is_refused_and_it_publishes_once(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="too late to cancel")
    world.run_until(post.publish_at - timedelta(seconds=1))
    world.clock.set(post.publish_at)
    claimed = world.store.claim(
        post.id, owner=world.publisher.owner, now=post.publish_at, lease=world.policy.lease
    )
    assert claimed is not None

    with pytest.raises(InvalidTransition, match="being published"):
        cancel(world.store, post.id, now=world.clock.now())
    world.publisher.step(claimed)
    world.run_for(hours=1)

    world.assert_published_once(post)


def test_a_ready_post_rescheduled_keeps_its_container_and_publishes_at_the_new_time(
    make_world: WorldFactory,
) -> None:
    world = make_world()
    post = world.schedule(caption="moved by three hours")
    world.run_until(post.publish_at - timedelta(seconds=30))
    ready = world.get(post)
    assert ready.status is Status.READY
    new_time = post.publish_at + timedelta(hours=3)

    reschedule(world.store, post.id, new_time, now=world.clock.now())
    world.run_for(hours=5)

    stored = world.assert_published_once(post)
    assert stored.published_at == new_time
    assert stored.container_id == ready.container_id
    assert len(world.calls("create_container")) == 1


def test_a_ready_post_moved_earlier_publishes_at_the_new_time(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(
        caption="sooner", prepare_ahead=3600, publish_at=world.clock.now() + timedelta(hours=2)
    )
    world.run_until(post.publish_at - timedelta(minutes=30))
    assert world.get(post).status is Status.READY
    new_time = world.clock.now() + timedelta(minutes=5)

    reschedule(world.store, post.id, new_time, now=world.clock.now())
    world.run_for(hours=3)

    stored = world.assert_published_once(post)
    assert stored.published_at == new_time
    assert len(world.calls("create_container")) == 1


def test_a_failed_post_retried_is_published(make_world: WorldFactory) -> None:
    rule = FaultRule(
        kind="error",
        endpoints=("create_container",),
        on_calls=(1,),
        errors=(ErrorSpec(code=100, message="Invalid parameter"),),
    )
    world = make_world(faults=(rule,))
    post = world.schedule(caption="retry me")
    world.run_for(hours=2)
    assert world.get(post).status is Status.FAILED

    retry(world.store, post.id, now=world.clock.now())
    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.error is None
    # The retry moved the publish time to now: the container is published once it finished.
    assert world.transitions(post)[-3:] == [
        (Status.FAILED, Status.SCHEDULED),
        (Status.SCHEDULED, Status.PROCESSING),
        (Status.PROCESSING, Status.PUBLISHED),
    ]


def test_a_post_whose_container_failed_is_retried_with_a_new_container(
    make_world: WorldFactory,
) -> None:
    """The media host was broken (container ERROR); the user fixes it and retries."""
    world = make_world(failing_url_patterns=("broken",))
    post = world.schedule(caption="host fixed", media_url="https://cdn.example.com/broken.jpg")
    world.run_for(hours=2)
    assert world.get(post).status is Status.FAILED
    world.update_sandbox(failing_url_patterns=())

    retry(world.store, post.id, now=world.clock.now())
    world.run_for(hours=1)

    world.assert_published_once(post)
    assert len(world.calls("create_container")) == 2


def test_a_post_whose_container_cannot_be_read_after_a_publish_attempt_is_never_failed(
    make_world: WorldFactory,
) -> None:
    """Published behind an error, then its container unreadable for hours: the post is not
    failed as missed while it may be live, and is recorded once Instagram answers."""
    rule = FaultRule(
        kind="after_success_error",
        endpoints=("publish",),
        on_calls=(1,),
        errors=(ErrorSpec(code=2),),
    )
    # Container status reads fail from the second one on (the first is the processing poll).
    status_down = FaultRule(kind="error", endpoints=("get_object",), on_calls=tuple(range(2, 99)))
    world = make_world(faults=(rule, status_down))
    post = world.schedule(
        caption="live but unknown",
        prepare_ahead=0,
        publish_at=world.clock.now() + timedelta(minutes=1),
    )
    world.run_for(hours=3)
    waiting = world.get(post)
    assert waiting.status is Status.READY, "past its deadline, but maybe live: not failed"
    assert waiting.next_attempt_at is not None
    assert len(world.publishes()) == 1

    world.update_sandbox(faults=())
    world.run_for(hours=1)

    stored = world.get(post)
    assert stored.status is Status.PUBLISHED
    assert len(world.publishes()) == 1
    assert len(world.calls("publish")) == 1
    assert world.state.inspector.repeat_attempts == {}
    assert len(world.calls("create_container")) == 1


def test_a_post_edited_while_its_container_is_processing_gets_a_new_one_and_publishes_once(
    make_world: WorldFactory,
) -> None:
    """A caption change after the container was made (for the old caption) discards that
    container: the post is prepared again and published once, with the new caption."""
    from igautopost.edits import edit

    world = make_world(video_processing_seconds=300)
    post = world.schedule(
        caption="first caption",
        media_type="reel",
        media_url="https://cdn.example.com/v/e.mp4",
    )
    world.run_until(post.publish_at - timedelta(minutes=25))
    before = world.get(post)
    assert before.status is Status.PROCESSING and before.container_id is not None

    edited = edit(world.store, post.id, {"caption": "second caption"}, now=world.clock.now())
    assert edited.status is Status.SCHEDULED and edited.container_id is None
    world.run_for(days=1)

    stored = world.assert_published_once(post)
    assert stored.spec.caption == "second caption"
    assert stored.container_id != before.container_id
    assert [p.caption for p in world.publishes()] == ["second caption"]
    assert "the prepared container is discarded" in world.details(post)


def test_an_edit_takes_the_post_from_a_worker_mid_step(make_world: WorldFactory) -> None:
    """A worker holding the lease when the user edits cannot save its now-stale result."""
    from igautopost.edits import edit

    world = make_world()
    post = world.schedule(caption="before the edit")
    world.clock.set(post.publish_at - timedelta(minutes=2))
    claimed = world.store.claim(
        post.id, owner=world.publisher.owner, now=world.clock.now(), lease=timedelta(minutes=2)
    )
    assert claimed is not None
    edit(world.store, post.id, {"caption": "after the edit"}, now=world.clock.now())

    assert world.publisher.step(claimed) is None  # its write is refused: the lease is gone
    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.spec.caption == "after the edit"
    assert [p.caption for p in world.publishes()] == ["after the edit"]


def test_a_failed_occurrence_still_creates_the_next_one_and_says_so(
    make_world: WorldFactory,
) -> None:
    refused = FaultRule(
        kind="error",
        endpoints=("create_container",),
        on_calls=(1,),
        errors=(ErrorSpec(code=100, message="Invalid parameter"),),
    )
    world = make_world(faults=(refused,))
    first = world.schedule(
        caption="daily",
        client_key="daily",
        recurrence="0 9 * * *",
        publish_at=world.clock.now() + timedelta(hours=1),
    )

    world.run_until(first.publish_at + timedelta(minutes=5))

    assert world.get(first).status is Status.FAILED
    [following] = [p for p in world.store.list(PostQuery()) if p.id != first.id]
    assert following.status is Status.SCHEDULED
    assert following.publish_at == first.publish_at + timedelta(days=1)
    assert following.spec.recurrence == "0 9 * * *"
    assert f"next occurrence at {following.publish_at.isoformat()}" in world.details(first)

    # retried and published the same day: the series goes on once, not twice
    retry(world.store, first.id, now=world.clock.now())
    world.run_for(hours=1)
    assert world.get(first).status is Status.PUBLISHED
    assert len(world.store.list(PostQuery())) == 2
    world.run_until(following.publish_at + timedelta(minutes=5))
    assert world.get(following).status is Status.PUBLISHED
    assert len(world.store.list(PostQuery())) == 3
