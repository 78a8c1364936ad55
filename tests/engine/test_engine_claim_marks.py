"""A claim says, as `Post.publish_marked`, whether it stored the publish attempt itself.

The claim of a due ready post stores its publish attempt (one write for a whole batch). The
claimed post carries that as a flag: the engine takes back only this claim's own mark when
no call leaves, never an attempt stored before the claim, which may have reached Instagram.
"""

from __future__ import annotations

from datetime import timedelta

from enginetest import World, WorldFactory

from igautopost.models import Post, Status

LEASE = timedelta(minutes=1)


def _ready(world: World) -> Post:
    post = world.schedule(publish_at=world.clock.now() + timedelta(hours=1))
    world.run_until(post.publish_at - timedelta(seconds=5))
    assert world.get(post).status is Status.READY
    return post


def test_the_claim_of_a_due_ready_post_marks_it(make_world: WorldFactory) -> None:
    world = make_world()
    post = _ready(world)
    world.clock.set(post.publish_at)
    claimed = world.store.claim(post.id, owner="w", now=world.clock.now(), lease=LEASE)
    assert claimed is not None and claimed.publish_marked
    assert claimed.publish_attempted_at == world.clock.now()


def test_every_claim_path_says_so(make_world: WorldFactory) -> None:
    world = make_world()
    publish_at = world.clock.now() + timedelta(hours=1)
    first, second = (world.schedule(publish_at=publish_at) for _ in range(2))
    world.run_until(publish_at - timedelta(seconds=5))
    world.clock.set(publish_at)
    now = world.clock.now()
    many = world.store.claim_many([first.id], owner="w", now=now, lease=LEASE)
    due = world.store.claim_due(owner="w", now=now, lease=LEASE, limit=10)
    assert [p.id for p in many] == [first.id] and [p.id for p in due] == [second.id]
    assert all(p.publish_marked for p in [*many, *due])


def test_an_attempt_stored_before_the_claim_is_not_its_mark(make_world: WorldFactory) -> None:
    world = make_world()
    post = _ready(world)
    world.clock.set(post.publish_at)
    crashed = world.store.claim(post.id, owner="crashed", now=post.publish_at, lease=LEASE)
    assert crashed is not None and crashed.publish_marked
    # ... that worker dies: its publish call may have left. The next claim finds its mark.
    world.clock.set(post.publish_at + LEASE)
    again = world.store.claim(post.id, owner="w", now=world.clock.now(), lease=LEASE)
    assert again is not None and not again.publish_marked
    assert again.publish_attempted_at == post.publish_at


def test_posts_not_about_to_be_published_are_not_marked(make_world: WorldFactory) -> None:
    world = make_world()
    post = world.schedule(publish_at=world.clock.now() + timedelta(hours=1))
    prepare_at = world.get(post).next_attempt_at
    assert prepare_at is not None
    world.clock.set(prepare_at)
    claimed = world.store.claim(post.id, owner="w", now=world.clock.now(), lease=LEASE)
    assert claimed is not None and claimed.status is Status.SCHEDULED
    assert not claimed.publish_marked and claimed.publish_attempted_at is None


def test_the_mark_is_not_part_of_the_stored_or_shown_post(make_world: WorldFactory) -> None:
    world = make_world()
    post = _ready(world)
    world.clock.set(post.publish_at)
    claimed = world.store.claim(post.id, owner="w", now=world.clock.now(), lease=LEASE)
    assert claimed is not None and claimed.publish_marked
    assert not world.get(post).publish_marked, "only a claim's answer carries it"
    assert "publish_marked" not in claimed.model_dump()
