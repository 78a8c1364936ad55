"""Container processing: slow video, ERROR, needs-a-new-container errors, expiry."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from enginetest import WorldFactory, sandbox_time

from igautopost.engine.policy import EnginePolicy, PollPolicy, RetryPolicy
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule

REEL = {"media_type": "reel", "media_url": "https://cdn.example.com/v/clip.mp4"}
POLLS = PollPolicy(video_first=timedelta(seconds=10), growth=2.0, longest=timedelta(seconds=80))


def test_video_slower_than_its_lead_is_polled_with_growing_intervals(
    make_world: WorldFactory,
) -> None:
    world = make_world(policy=EnginePolicy(polls=POLLS), video_processing_seconds=600)
    post = world.schedule(**REEL, caption="slow reel", prepare_ahead=120)

    steps = world.run_for(hours=2)

    stored = world.assert_published_once(post)
    created = world.state.containers[stored.container_id or ""].created_at
    assert created == post.publish_at - timedelta(seconds=120)
    finished = created + timedelta(seconds=600)
    # Late, because processing took longer than the lead; once late, polled often, so that
    # it publishes within `late_longest` of being ready.
    assert finished <= stored.published_at <= finished + POLLS.late_longest
    [publish] = world.calls("publish")
    assert sandbox_time(publish.sandbox_time) == stored.published_at
    # Every poll was its own step: growing intervals before the publish time, one poll at
    # the publish time itself, then short ones.
    poll_times = [
        sandbox_time(c.sandbox_time)
        for c in world.calls_for("get_object", stored.container_id or "")
    ]
    early = [t for t in poll_times if t <= post.publish_at]
    late = [t for t in poll_times if t >= post.publish_at]
    assert (poll_times[0] - created).total_seconds() == 10.0
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(early)] == [20.0, 40.0, 50.0]
    assert early[-1] == post.publish_at
    late_gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(late)]
    assert late_gaps and all(g <= POLLS.late_longest.total_seconds() for g in late_gaps)
    assert steps >= len(poll_times) + 1  # one create step, then one step per poll
    assert world.transitions(stored)[-1] == (Status.PROCESSING, Status.PUBLISHED)


def test_container_error_fails_the_post_with_the_graph_subcode(make_world: WorldFactory) -> None:
    world = make_world(failing_url_patterns=("broken",), image_processing_seconds=5)
    post = world.schedule(media_url="https://cdn.example.com/broken.jpg", caption="bad")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.FAILED
    assert stored.error is not None
    assert stored.error.subcode == 2207026
    assert "2207026" in stored.error.message
    assert world.transitions(post)[-1] == (Status.PROCESSING, Status.FAILED)
    assert world.publishes() == [] and len(world.calls("publish")) == 0
    assert len(world.calls("create_container")) == 1, "a rejected media is not retried"
    assert stored.error.message in world.details(post)


@pytest.mark.parametrize("subcode", [2207053, 2207020])
def test_needs_new_container_status_prepares_a_new_one_a_bounded_number_of_times(
    make_world: WorldFactory, subcode: int
) -> None:
    retries = RetryPolicy(new_container_attempts=3)
    world = make_world(
        policy=EnginePolicy(retries=retries),
        failing_url_patterns=("flaky",),
        failure_subcode=subcode,
    )
    post = world.schedule(media_url="https://cdn.example.com/flaky.jpg", caption="flaky")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.FAILED
    assert stored.error is not None and stored.error.subcode == subcode
    assert len(world.calls("create_container")) == retries.new_container_attempts
    assert stored.containers_created == retries.new_container_attempts
    assert world.details(post).count("preparing a new container") == 2
    assert world.publishes() == []


def test_needs_new_container_then_success_publishes_once(make_world: WorldFactory) -> None:
    world = make_world(
        failing_url_patterns=("flaky",), failure_subcode=2207053, image_processing_seconds=30
    )
    post = world.schedule(media_url="https://cdn.example.com/flaky.jpg", caption="second try")
    world.run_until(post.publish_at - timedelta(seconds=100))  # created at -120 s, ERROR at -90 s
    assert world.get(post).containers_created == 1
    world.update_sandbox(failing_url_patterns=())  # the media host recovered

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.containers_created == 2
    assert len(world.calls("create_container")) == 2
    assert stored.published_at == post.publish_at


def test_publish_answering_expired_for_a_finished_container_is_not_retried_blindly(
    make_world: WorldFactory,
) -> None:
    """-2/2207020 from the publish call while the container reads FINISHED: the answers
    disagree, so after this publish attempt no second container is made; the post fails."""
    world = make_world(
        faults=(
            FaultRule(
                kind="error",
                endpoints=("publish",),
                on_calls=(1,),
                errors=(ErrorSpec(code=-2, subcode=2207020),),
            ),
        )
    )
    post = world.schedule(caption="expired at publish")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.FAILED
    assert stored.error is not None
    assert (stored.error.code, stored.error.subcode) == (-2, 2207020)
    assert len(world.calls("create_container")) == 1
    assert world.publishes() == []


def test_container_expired_while_ready_is_replaced_before_publishing(
    make_world: WorldFactory,
) -> None:
    """The sandbox's containers live 1 h; the post prepared 2 h ahead finds it EXPIRED."""
    world = make_world(container_ttl_seconds=3600)
    post = world.schedule(
        caption="prepared too early",
        prepare_ahead=2 * 3600,
        publish_at=world.clock.now() + timedelta(hours=3),
    )

    world.run_for(hours=4)

    stored = world.assert_published_once(post)
    assert stored.containers_created == 2
    assert len(world.calls("create_container")) == 2
    first, second = world.containers_of("prepared too early")
    assert first.published_media_id is None
    assert second.id == stored.container_id
    assert "expired" in world.details(post)
    assert stored.published_at is not None
    assert stored.published_at - post.publish_at < timedelta(minutes=2)


def test_ready_post_rescheduled_past_the_container_life_gets_a_new_container(
    make_world: WorldFactory,
) -> None:
    from igautopost.posts import reschedule

    world = make_world()
    post = world.schedule(caption="moved a day and a half")
    world.run_until(post.publish_at - timedelta(seconds=30))
    assert world.get(post).status is Status.READY
    later = post.publish_at + timedelta(hours=36)
    reschedule(world.store, post.id, later, now=world.clock.now())

    world.run_for(days=2)

    stored = world.assert_published_once(post)
    # Rescheduling moves the next step to the new prepare time: a fresh container is ready
    # before the publish time, which is met exactly.
    assert stored.published_at == later
    assert stored.containers_created == 2
    first, second = world.containers_of("moved a day and a half")
    assert first.published_media_id is None and second.id == stored.container_id


def test_container_error_with_a_retryable_cause_gets_a_new_container_after_a_backoff(
    make_world: WorldFactory,
) -> None:
    """2207052 (media could not be fetched) is the media host's fault more often than not:
    the dead container is replaced, not polled again, and the post publishes once."""
    world = make_world(failing_url_patterns=("shaky",), failure_subcode=2207052)
    post = world.schedule(media_url="https://cdn.example.com/shaky.jpg", caption="shaky host")
    world.run_until(post.publish_at - timedelta(seconds=110))
    assert world.get(post).containers_created == 1
    world.update_sandbox(failing_url_patterns=())  # the host answers again

    world.run_for(hours=1)

    stored = world.assert_published_once(post)
    assert stored.containers_created == 2
    assert "preparing a new container" in world.details(post)
    status_calls = world.calls_for("get_object", stored.container_id or "")
    assert status_calls, "the new container was polled"


def test_a_late_carousel_is_published_in_the_step_that_makes_its_parent(
    make_world: WorldFactory,
) -> None:
    """The video item took longer than the lead: the parent container, made once the items
    are finished, is polled at once (not at the next interval) and published then."""
    world = make_world(video_processing_seconds=40)
    post = world.schedule(
        media_type="carousel",
        media_url=None,
        children=[
            {"media_url": "https://cdn.example.com/c/1.jpg"},
            {"media_url": "https://cdn.example.com/c/2.mp4"},
        ],
        caption="late carousel",
        prepare_ahead=10,
    )

    world.run_for(hours=2)

    stored = world.assert_published_once(post)
    parent = world.state.containers[stored.container_id or ""]
    assert parent.created_at > post.publish_at, "late: the items finished after the time"
    assert stored.published_at == parent.created_at
    assert f"carousel container {parent.id} created" in world.details(post)
