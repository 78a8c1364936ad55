"""Races, deterministically: a user's edit, PATCH of the publish time, reschedule, cancel or
retry lands in the middle of each Graph call of a post's steps (the step holds its lease, its
request is on its way), on simulated time. Whatever the user is answered, the post is
published at most once, never lost, and the answer is kept: a cancel that succeeded means
nothing is live, an edit that succeeded is what is live, a new time that was accepted is
when it goes live. A change is refused (409) only while the post is being published or
once it is published (docs/engine.md).

The second half replays the issue's double publish: a publish whose answer was lost, a
status that cannot be read for over an hour, then the user's edit, reschedule or retry.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from reliabilitytest import (
    Interceptor,
    MakeWorld,
    SimWorld,
    lifecycle_problems,
    problems_of_published_post,
)

import igautopost
from igautopost.errors import InvalidTransition
from igautopost.graph.transport import Request, Transport
from igautopost.models import Post, Status
from igautopost.sandbox import ErrorSpec, FaultRule

EDITED = "edited while in flight"
LATER = timedelta(hours=1)
Action = Callable[[SimWorld, Post], Post]


def edit_caption(world: SimWorld, post: Post) -> Post:
    return igautopost.edit(world.store, post.id, {"caption": EDITED}, now=world.clock.now())


def patch_date_pub(world: SimWorld, post: Post) -> Post:  # how the old app reschedules
    when = int((post.publish_at + LATER).timestamp())
    return igautopost.edit(world.store, post.id, {"date_pub": when}, now=world.clock.now())


def reschedule(world: SimWorld, post: Post) -> Post:
    return igautopost.reschedule(
        world.store, post.id, post.publish_at + LATER, now=world.clock.now()
    )


def cancel(world: SimWorld, post: Post) -> Post:
    return igautopost.cancel(world.store, post.id, now=world.clock.now())


def retry(world: SimWorld, post: Post) -> Post:
    return igautopost.retry(world.store, post.id, now=world.clock.now())


ACTIONS: dict[str, Action] = {
    "edit-caption": edit_caption,
    "patch-date-pub": patch_date_pub,
    "reschedule": reschedule,
    "cancel": cancel,
    "retry": retry,
}
# Calls made before the post is being published (the quota is read ahead, once FINISHED),
# and calls of the publish step or after it.
BEFORE = ("create", "status", "limit")
DURING = ("publish", "media", "comment")


@dataclass
class Fired:
    """One action fired at the first call of one kind; what the user was answered."""

    at_call: str
    action: Action
    world: SimWorld | None = None
    post: Post | None = None
    accepted: bool | None = None
    refusal: str = ""
    unexpected: list[BaseException] = field(default_factory=list)

    def __call__(self, kind: str, request: Request) -> None:
        if kind != self.at_call or self.accepted is not None or self.world is None:
            return
        assert self.post is not None
        try:
            self.action(self.world, self.post)
            self.accepted = True
        except InvalidTransition as refused:
            self.accepted, self.refusal = False, str(refused)
        except BaseException as exc:  # a 500 at the API: kept for the test to report
            self.accepted = False
            self.unexpected.append(exc)


def fire(
    make_world: MakeWorld, call: str, action: Action, **config: Any
) -> tuple[SimWorld, Post, Fired]:
    fired = Fired(call, action)

    def wrap(transport: Transport) -> Transport:
        return Interceptor(transport, fired)

    world = make_world(wrap=wrap, **config)
    post = world.schedule(caption=f"race {call} {action.__name__}")
    fired.world, fired.post = world, post
    world.run_for(hours=4)
    return world, post, fired


def answer_kept(world: SimWorld, post: Post, fired: Fired) -> list[str]:
    """What the user was told that Instagram contradicts."""
    stored = world.store.get(post.id)
    shown = world.media_captioned(post.spec.caption) + world.media_captioned(EDITED)
    problems = problems_of_published_post(world, stored, stored.spec.caption)
    if len(shown) > 1:
        problems.append(f"live {len(shown)} times")
    if stored.status not in (Status.PUBLISHED, Status.CANCELLED):
        problems.append(f"lost: {stored.status} ({stored.error})")
    if not fired.accepted:
        return problems
    name = fired.action.__name__
    if name == "cancel" and shown:
        problems.append("cancelled, yet live")
    if name == "edit_caption" and shown and shown[0].caption != EDITED:
        problems.append("the edit was accepted, the old caption went live")
    if (
        name in ("patch_date_pub", "reschedule")
        and shown
        and shown[0].published_at < post.publish_at + LATER
    ):
        problems.append("the new time was accepted, the post went live at the old one")
    return problems


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("call", BEFORE + DURING)
def test_a_change_during_a_graph_call_is_kept_or_refused_and_never_publishes_twice(
    make_world: MakeWorld, call: str, action: str
) -> None:
    world, post, fired = fire(make_world, call, ACTIONS[action])

    assert fired.unexpected == []
    assert fired.accepted is not None, f"no {call} call was made"
    assert answer_kept(world, post, fired) == []
    stored = world.store.get(post.id)
    assert lifecycle_problems(stored, world.store.events(post.id)) == []
    assert world.lease_of(stored)[0] is None
    # Only a failed post can be retried; a change is refused only while the post is being
    # published or once it is.
    refusable = action == "retry" or call in DURING
    assert fired.accepted is not refusable, fired.refusal


# -- the double publish: failed after a lost answer, then changed ----------------

UNREADABLE = FaultRule(
    kind="error", endpoints=("get_object",), rate=1.0, errors=(ErrorSpec(code=2),)
)


def lose_the_publish_answer_then_the_status(world: SimWorld, post: Post) -> None:
    """The publish call goes through but its answer is lost, and the container's status
    cannot be read for two hours: past the engine's deadline for retries."""
    world.sim.run_until(post.publish_at - timedelta(seconds=1))
    lost = FaultRule(kind="after_success_drop", endpoints=("publish",), on_calls=(1,))
    world.sandbox.state.update_config({"faults": (lost, UNREADABLE)})
    world.run_for(hours=2)
    world.sandbox.state.update_config({"faults": ()})


@pytest.mark.parametrize("action", ["patch-date-pub", "reschedule", "retry", "edit-caption"])
def test_a_post_whose_publish_answer_was_lost_is_never_published_twice(
    make_world: MakeWorld, action: str
) -> None:
    world = make_world()
    post = world.schedule(caption=f"lost answer then {action}")
    lose_the_publish_answer_then_the_status(world, post)
    assert len(world.media_captioned(post.spec.caption)) == 1, "the first call went through"

    with suppress(InvalidTransition):  # refused while the question is open: fine too
        ACTIONS[action](world, world.store.get(post.id))
    world.run_for(hours=4)

    stored = world.store.get(post.id)
    assert len(world.media_captioned(post.spec.caption) + world.media_captioned(EDITED)) == 1
    assert stored.status is Status.PUBLISHED, (
        stored.error,
        [e.detail for e in world.store.events(post.id)],
    )
    assert problems_of_published_post(world, stored, post.spec.caption) == []
    assert lifecycle_problems(stored, world.store.events(post.id)) == []
