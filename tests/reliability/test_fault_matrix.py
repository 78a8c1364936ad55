"""The fault matrix: every Graph error class, every container outcome, and a lost request or
a lost answer at each call of the publishing flow, on simulated time.

Each case faults one call of one image post (due in an hour, with a first comment) and runs
three simulated hours. The post must end in the state docs/engine.md gives, after exactly the
Graph calls that document implies, and Instagram (the sandbox) must show it at most once.

The calls of a post that goes through: create the container, read its status once (images
are FINISHED at once), read the publishing quota, publish; then, with the media id known, read
the permalink and post the first comment (`FOLLOW_UP`). A post seen published only through its
container's status (its publish answer was lost) looks for its media among the account's
recent media instead, which gives the permalink too, then posts its comment (`RECOVERY`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from reliabilitytest import (
    MakeWorld,
    SimWorld,
    lifecycle_problems,
    problems_of_published_post,
    wait_until,
)

from igautopost.models import Post, Status
from igautopost.sandbox import ErrorSpec, FaultRule

CREATE, STATUS, LIMIT, PUBLISH, MEDIA, COMMENT = (
    "create",
    "status",
    "limit",
    "publish",
    "media",
    "comment",
)
# The sandbox endpoint of each call, and which of that endpoint's calls it is.
WHERE = {
    CREATE: ("create_container", 1),
    STATUS: ("get_object", 1),
    LIMIT: ("publishing_limit", 1),
    PUBLISH: ("publish", 1),
    MEDIA: ("get_object", 2),  # after the one status read of an image container
    COMMENT: ("comment", 1),
}
THROUGH = Counter(create_container=1, get_object=1, publishing_limit=1, publish=1)
FOLLOW_UP = Counter(get_object=1, comment=1)
RECOVERY = Counter(list_media=1, comment=1)
FAILED_AT = {
    CREATE: Counter(create_container=1),
    STATUS: Counter(create_container=1, get_object=1),
    # a failed publish call is followed by a status read: the post may be live anyway
    PUBLISH: THROUGH + Counter(get_object=1),
}
TIMEOUT = 0.3  # the client's; "slow" faults answer after SLOW seconds
SLOW = 1.0


@dataclass(frozen=True)
class Case:
    """One fault and what docs/engine.md says becomes of the post."""

    call: str
    fault: dict[str, Any]
    ends: Status = Status.PUBLISHED
    calls: Counter[str] = field(default_factory=Counter)  # with FOLLOW_UP when media id known
    error: tuple[int | None, int | None] | int | None = None  # (code, subcode), or the code
    comments: int | None = None  # comments Instagram shows (default: 1 once published)
    config: dict[str, Any] = field(default_factory=dict)
    either: frozenset[str] = frozenset()  # endpoints whose count may be one more (see below)
    media_id_lost: bool = False  # the publish answer is lost: the media id is looked for
    permalink: bool = True  # a published post ends with its permalink stored

    def rule(self) -> FaultRule:
        endpoint, number = WHERE[self.call]
        return FaultRule(endpoints=(endpoint,), on_calls=(number,), **self.fault)


def error(code: int, subcode: int | None = None, http_status: int = 400) -> dict[str, Any]:
    return {
        "kind": "error",
        "errors": (ErrorSpec(code=code, subcode=subcode, http_status=http_status),),
    }


# -- transient: the call did nothing; it is made again (a publish after a status read) ------

TRANSIENT = {  # one per transient row of igautopost.graph.error_table, and the network
    "unknown-1": error(1),
    "service-2": error(2),
    "rate-limit-4": error(4),
    "app-limit-341": error(341),
    "not-found-yet-100-33": error(100, 33),
    "server-2207001": error(-1, 2207001, 500),
    "unavailable-24-2207008": error(24, 2207008),
    "download-timeout-2207003": error(-2, 2207003),
    "fetch-failed-9004-2207052": error(9004, 2207052),
    "html-outage-503": {"kind": "server_error", "http_statuses": (503,), "html_ratio": 1.0},
    "request-lost": {"kind": "drop"},
}
AGAIN = {
    CREATE: Counter(create_container=1),
    STATUS: Counter(get_object=1),
    LIMIT: Counter(),
    PUBLISH: Counter(publish=1, get_object=1),
    MEDIA: Counter(get_object=1),
    COMMENT: Counter(),  # a first comment is never sent twice
}
# The quota read is not documented beyond "checks the quota": read again or not, the post
# must publish on time (the "an unknown quota is not a used-up quota").
EITHER = {LIMIT: frozenset({"publishing_limit"})}


def transient_cases() -> dict[str, Case]:
    cases = {}
    for name, fault in TRANSIENT.items():
        wide = name in ("service-2", "server-2207001", "request-lost")
        for call in AGAIN if wide else (CREATE, PUBLISH):
            cases[f"{call}-{name}"] = Case(
                call,
                fault,
                calls=THROUGH + AGAIN[call],
                comments=0 if call == COMMENT else None,
                either=EITHER.get(call, frozenset()),
            )
    return cases


# -- a lost answer: the call did its work, the answer never came -------------------------

LOST = {
    "answer-error": {"kind": "after_success_error", "errors": (ErrorSpec(code=2),)},
    "answer-dropped": {"kind": "after_success_drop"},
    "answer-late": {"kind": "after_success_slow", "delay_seconds": SLOW},
}
AFTER_LOST = {
    CREATE: Counter(create_container=1),  # the first container is never heard of again
    STATUS: Counter(get_object=1),
    LIMIT: Counter(),
    # the status read says PUBLISHED: recorded, no second publish call
    PUBLISH: Counter(get_object=1),
    MEDIA: Counter(get_object=1),
    COMMENT: Counter(),  # posted, not repeated
}


def lost_answer_cases() -> dict[str, Case]:
    return {
        f"{call}-{name}": Case(
            call,
            fault,
            calls=THROUGH + more,
            either=EITHER.get(call, frozenset()),
            media_id_lost=call == PUBLISH,
        )
        for name, fault in LOST.items()
        for call, more in AFTER_LOST.items()
    }


def late_work_cases() -> dict[str, Case]:
    """The client gives up (a timeout); the sandbox answers later. Reads only: the sandbox
    reads a POST's body after its `slow` delay, so a POST whose client left is never
    handled (a lost request, covered above); a late answer to a POST is "answer-late"."""
    slow = {"kind": "slow", "delay_seconds": SLOW}
    return {
        f"{call}-timeout": Case(
            call, slow, calls=THROUGH + AGAIN[call], either=EITHER.get(call, frozenset())
        )
        for call in (STATUS, LIMIT, MEDIA)
    }


# -- permanent errors: the post fails at once, with Instagram's code --------------------

PERMANENT = {  # one per FAIL row of the error table
    "invalid-100": (100, None),
    "thumb-offset-1-2207057": (1, 2207057),
    "permission-10": (10, None),
    "permission-200": (200, None),
    "media-not-found-24-2207006": (24, 2207006),
    "policy-block-368": (368, None),
    "checkpoint-25-2207050": (25, 2207050),
    "spam-4-2207051": (4, 2207051),
    "video-format-352-2207026": (352, 2207026),
    "too-large-36000-2207004": (36000, 2207004),
    "format-36001-2207005": (36001, 2207005),
    "aspect-36003-2207009": (36003, 2207009),
    "caption-36004-2207010": (36004, 2207010),
    "media-type-100-2207023": (100, 2207023),
    "carousel-count-100-2207028": (100, 2207028),
    "product-tag-100-2207035": (100, 2207035),
}


def permanent_cases() -> dict[str, Case]:
    cases = {}
    for name, (code, subcode) in PERMANENT.items():
        calls = (CREATE, PUBLISH, STATUS) if name == "invalid-100" else (CREATE, PUBLISH)
        for call in calls:
            cases[f"{call}-{name}"] = Case(
                call,
                error(code, subcode),
                ends=Status.FAILED,
                calls=FAILED_AT[call],
                error=(code, subcode),
                comments=0,
            )
    for call in (LIMIT, MEDIA, COMMENT):  # the post is live or goes live whatever these say
        cases[f"{call}-invalid-100"] = Case(
            call,
            error(100),
            calls=THROUGH,
            comments=0 if call == COMMENT else None,
            either=EITHER.get(call, frozenset()),
            permalink=call != MEDIA,
        )
    # Instagram refused with "activity restricted" although the post went live: the status
    # read before deciding says PUBLISHED.
    cases["publish-spam-4-2207051-but-live"] = Case(
        PUBLISH,
        {"kind": "after_success_error", "errors": (ErrorSpec(code=4, subcode=2207051),)},
        calls=THROUGH + Counter(get_object=1),
        media_id_lost=True,
    )
    return cases


def new_container_cases() -> dict[str, Case]:
    """The NEW_CONTAINER rows: a new container at once, but never after a publish attempt."""
    cases = {}
    for name, (code, subcode) in {
        "create-failed-2207032": (-1, 2207032),
        "video-upload-2207053": (-1, 2207053),
        "media-expired-2207020": (-2, 2207020),
    }.items():
        cases[f"create-{name}"] = Case(
            CREATE, error(code, subcode), calls=THROUGH + Counter(create_container=1)
        )
        cases[f"status-{name}"] = Case(
            STATUS, error(code, subcode), calls=THROUGH + Counter(create_container=1, get_object=1)
        )
        cases[f"publish-{name}"] = Case(
            PUBLISH,
            error(code, subcode),
            ends=Status.FAILED,
            calls=FAILED_AT[PUBLISH],
            error=(code, subcode),
            comments=0,
        )
    return cases


def waiting_cases() -> dict[str, Case]:
    """Token refused: the account needs reconnecting and its posts wait (docs/security.md)."""
    cases = {}
    for name, (code, subcode) in {"token-190-463": (190, 463), "token-102": (102, None)}.items():
        for call, status in ((CREATE, Status.SCHEDULED), (STATUS, Status.PROCESSING)):
            cases[f"{call}-{name}"] = Case(
                call,
                error(code, subcode),
                ends=status,
                calls=FAILED_AT[call],
                error=190,
                comments=0,
            )
        cases[f"publish-{name}"] = Case(
            PUBLISH,
            error(code, subcode),
            ends=Status.READY,
            calls=FAILED_AT[PUBLISH],
            error=190,
            comments=0,
        )
    # Not ready: back to polling; the poll that reads FINISHED (and due) answers the question
    # of the refused attempt and publishes in the same step.
    cases["publish-not-ready-9007-2207027"] = Case(
        PUBLISH, error(9007, 2207027), calls=THROUGH + Counter(publish=1, get_object=1)
    )
    # Quota reached: wait for the window (15 minutes when no publish of ours ages out), read
    # the quota again, read the status (a publish attempt is behind it), publish.
    cases["publish-quota-9-2207042"] = Case(
        PUBLISH,
        error(9, 2207042),
        calls=THROUGH + Counter(publish=1, get_object=1, publishing_limit=1),
    )
    return cases


CASES = {
    **transient_cases(),
    **lost_answer_cases(),
    **late_work_cases(),
    **permanent_cases(),
    **new_container_cases(),
    **waiting_cases(),
}


def expected_calls(case: Case, stored: Post) -> Counter[str]:
    """The case's calls, and the follow-up's of a published post."""
    calls = Counter(case.calls)
    if stored.status is Status.PUBLISHED:
        calls += RECOVERY if case.media_id_lost else FOLLOW_UP
    return calls


def calls_match(world: SimWorld, expected: Counter[str], either: frozenset[str]) -> bool:
    seen = world.calls()
    return all(
        seen[name] == expected[name] or (name in either and seen[name] == expected[name] + 1)
        for name in set(seen) | set(expected)
    )


def assert_ends_as_documented(world: SimWorld, case: Case, post: Post) -> Post:
    stored = world.store.get(post.id)
    assert stored.status is case.ends, (
        stored.error,
        [e.detail for e in world.store.events(post.id)],
    )
    if case.error is not None:
        assert stored.error is not None
        code = (stored.error.code, stored.error.subcode)
        assert (code[0] if isinstance(case.error, int) else code) == case.error
    assert problems_of_published_post(world, stored, post.spec.caption) == []
    assert lifecycle_problems(stored, world.store.events(post.id)) == []
    assert world.lease_of(stored)[0] is None, "the lease was released"
    return stored


@pytest.mark.parametrize("name", list(CASES))
def test_each_fault_ends_as_documented_with_the_documented_calls(
    make_world: MakeWorld, name: str
) -> None:
    case = CASES[name]
    world = make_world(timeout=TIMEOUT, faults=(case.rule(),), **case.config)
    post = world.schedule(caption=f"matrix {name}")

    world.run_for(hours=3)

    stored = assert_ends_as_documented(world, case, post)
    expected = expected_calls(case, stored)
    # a late ("slow") call is logged by the sandbox once it answers
    logged = wait_until(lambda: world.faults_fired() == 1, timeout=5)
    assert logged, "the fault was injected once"
    assert wait_until(lambda: calls_match(world, expected, case.either), timeout=5), (
        world.calls(),
        expected,
    )
    if stored.status is Status.PUBLISHED:
        assert stored.media_id is not None, "the media id is known, or recovered"
        assert (stored.permalink is not None) is case.permalink
        shown = world.media_captioned(post.spec.caption)[0]
        wanted = 1 if case.comments is None else case.comments
        assert wait_until(lambda: world.comments_on(shown.id) == wanted, timeout=5)
        assert shown.published_at - post.publish_at < timedelta(minutes=20)


# -- container outcomes: what the status read says decides ------------------------------

BROKEN_MEDIA = {"failing_url_patterns": ("coffee",)}
CONTAINER_ERRORS = {  # subcode -> containers made before the post fails (docs/engine.md)
    2207026: 1,  # video format: the media must change
    2207077: 1,
    2207082: 1,
    2207085: 1,
    2207018: 1,
    2207081: 1,
    2207003: 3,  # the media host did not answer: a new container, at most 3 per post
    2207052: 3,
    2207008: 3,
    2207053: 3,
    2207020: 3,
}


@pytest.mark.parametrize("subcode", list(CONTAINER_ERRORS))
def test_a_container_in_error_fails_the_post_after_the_documented_containers(
    make_world: MakeWorld, subcode: int
) -> None:
    world = make_world(**BROKEN_MEDIA, failure_subcode=subcode)
    post = world.schedule(caption=f"container error {subcode}")

    world.run_for(hours=3)

    made = CONTAINER_ERRORS[subcode]
    stored = assert_ends_as_documented(
        world,
        Case(STATUS, {}, ends=Status.FAILED, error=(None, subcode)),
        post,
    )
    assert world.calls() == Counter(create_container=made, get_object=made)
    assert stored.container_id is None, "a dead container is forgotten"


def test_an_expired_container_is_replaced_and_the_post_published_once(
    make_world: MakeWorld,
) -> None:
    # The image container is made 2 minutes ahead; the sandbox expires it after one.
    world = make_world(container_ttl_seconds=60)
    post = world.schedule(caption="expired before its time")

    world.run_for(hours=3)

    stored = assert_ends_as_documented(world, Case(PUBLISH, {}), post)
    # publish refused (-2/2207020), the status read says EXPIRED, a new container, its
    # status read, its publish: no publish attempt went through, so a new one is safe
    expected = THROUGH + Counter(create_container=1, get_object=2, publish=1) + FOLLOW_UP
    assert world.calls() == expected
    assert stored.containers_created == 2


def test_a_video_is_polled_at_the_documented_intervals_and_published_on_time(
    make_world: MakeWorld,
) -> None:
    processing = 100.0
    world = make_world(video_processing_seconds=processing)
    post = world.schedule(
        caption="reel in progress", media_type="reel", media_url="https://cdn.example.com/v.mp4"
    )

    world.run_for(hours=3)

    assert_ends_as_documented(world, Case(PUBLISH, {}), post)
    polls, waited = 0, 0.0
    while waited < processing:  # poll n comes interval(n-1) after poll n-1 (PollPolicy)
        waited += world.policy.polls.interval(polls, video=True).total_seconds()
        polls += 1
    status_reads = world.calls()["get_object"] - FOLLOW_UP["get_object"]
    assert status_reads == polls
    shown = world.media_captioned("reel in progress")[0]
    assert shown.published_at == post.publish_at


def test_a_video_slower_than_its_lead_is_published_as_soon_as_it_is_finished(
    make_world: MakeWorld,
) -> None:
    world = make_world(video_processing_seconds=100)
    post = world.schedule(
        caption="reel late",
        media_type="reel",
        media_url="https://cdn.example.com/late.mp4",
        prepare_ahead=60,
    )

    world.run_for(hours=3)

    assert_ends_as_documented(world, Case(PUBLISH, {}), post)
    shown = world.media_captioned("reel late")[0]
    finished = post.publish_at + timedelta(seconds=40)  # created 60 s ahead, 100 s to process
    assert finished <= shown.published_at <= finished + world.policy.polls.late_longest
    assert world.calls()["publish"] == 1


def test_an_unreadable_quota_is_not_a_used_up_quota(make_world: MakeWorld) -> None:
    # Every read of the publishing limit fails. The account may publish 100 a day; the
    # engine's default (50) must not hold its 60 posts back: Instagram says 9/2207042 when
    # the limit is really reached.
    unreadable = FaultRule(kind="error", endpoints=("publishing_limit",), rate=1.0)
    world = make_world(faults=(unreadable,), publishing_quota=100)
    first = world.clock.now() + timedelta(hours=1)
    posts = [
        world.schedule(caption=f"quota {i}", publish_at=first + timedelta(minutes=2 * i))
        for i in range(60)
    ]

    world.run_for(hours=4)

    late = []
    for post in posts:
        assert problems_of_published_post(world, post, post.spec.caption) == []
        shown = world.media_captioned(post.spec.caption)
        late += [(m.published_at - post.publish_at).total_seconds() for m in shown]
    assert len(late) == len(posts), world.store.counts()
    assert max(late) < 60
