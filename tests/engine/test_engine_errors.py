"""Graph errors: transient ones are retried with a persisted backoff, permanent ones fail."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from enginetest import TOKEN, WorldFactory, sandbox_time

from igautopost.engine.policy import EnginePolicy, RetryPolicy
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule

ENDPOINTS = ("create_container", "get_object", "publish")
TRANSIENT: dict[str, dict[str, Any]] = {
    "code-2": {"kind": "error", "errors": (ErrorSpec(code=2),)},
    "code-1": {"kind": "error", "errors": (ErrorSpec(code=1),)},
    "rate-limit-4": {"kind": "error", "errors": (ErrorSpec(code=4),)},
    "server-error": {"kind": "server_error"},
    "drop": {"kind": "drop"},
}


@pytest.mark.parametrize("fault", list(TRANSIENT))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_transient_errors_are_retried_and_the_post_published_once(
    make_world: WorldFactory, endpoint: str, fault: str
) -> None:
    rule = FaultRule(endpoints=(endpoint,), on_calls=(1, 2), **TRANSIENT[fault])
    world = make_world(faults=(rule,))
    post = world.schedule(caption=f"{fault} on {endpoint}")

    world.run_for(hours=2)

    stored = world.assert_published_once(post)
    assert stored.published_at is not None
    assert stored.published_at - post.publish_at < timedelta(seconds=30)
    failed = [c for c in world.calls(endpoint) if c.fault]
    assert len(failed) == 2
    details = world.details(post)
    assert "retry 1 at" in details and "retry 2 at" in details
    assert stored.error is None


def test_retries_back_off_exponentially_and_are_persisted(make_world: WorldFactory) -> None:
    retries = RetryPolicy(base=timedelta(seconds=10), jitter=0.2)
    rule = FaultRule(kind="error", endpoints=("create_container",), on_calls=(1, 2, 3))
    world = make_world(policy=EnginePolicy(retries=retries), faults=(rule,))
    post = world.schedule(caption="backoff")
    prepare_at = world.policy.leads.prepare_at(post.spec)

    world.run_until(prepare_at)

    waiting = world.get(post)
    assert waiting.status is Status.SCHEDULED
    assert waiting.attempts == 1
    assert waiting.next_attempt_at is not None
    assert timedelta(seconds=8) <= waiting.next_attempt_at - prepare_at <= timedelta(seconds=12)
    assert f"retry 1 at {waiting.next_attempt_at:%H:%M:%S}" in world.details(post)

    world.run_for(hours=1)

    world.assert_published_once(post)
    times = [sandbox_time(c.sandbox_time) for c in world.calls("create_container")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    for attempt, gap in enumerate(gaps, start=1):
        nominal = 10 * 2 ** (attempt - 1)
        assert nominal * 0.8 - 1 <= gap <= nominal * 1.2 + 1, (attempt, gaps)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_errors_beyond_the_maximum_lateness_fail_the_post_as_missed(
    make_world: WorldFactory, endpoint: str
) -> None:
    retries = RetryPolicy(max_lateness=timedelta(minutes=20))
    rule = FaultRule(
        kind="error",
        endpoints=(endpoint,),
        rate=1.0,
        errors=(ErrorSpec(code=2, message="Service temporarily unavailable"),),
    )
    world = make_world(policy=EnginePolicy(retries=retries), faults=(rule,))
    post = world.schedule(caption="never gets through")

    world.run_for(hours=3)

    stored = world.get(post)
    assert stored.status is Status.FAILED
    assert stored.error is not None
    assert stored.error.message.startswith("missed")
    assert "Service temporarily unavailable" in stored.error.message
    assert stored.error.code == 2
    assert world.publishes() == []
    tries = world.calls(endpoint)
    assert 3 <= len(tries) <= 20, "a bounded number of retries, no retry storm"
    deadline = post.publish_at + retries.max_lateness
    assert all(sandbox_time(c.sandbox_time) <= deadline for c in tries)
    assert world.transitions(post)[-1][1] is Status.FAILED


PERMANENT: dict[str, ErrorSpec] = {
    "permission-10": ErrorSpec(
        code=10, message="(#10) Application does not have permission for this action"
    ),
    "invalid-parameter-100": ErrorSpec(code=100, message="Invalid parameter: caption"),
    "aspect-ratio-36003": ErrorSpec(
        code=36003, subcode=2207009, message="The aspect ratio is not supported."
    ),
}


@pytest.mark.parametrize("error", list(PERMANENT))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_permanent_errors_fail_at_once_with_the_graph_code_and_message(
    make_world: WorldFactory, endpoint: str, error: str
) -> None:
    spec = PERMANENT[error]
    rule = FaultRule(kind="error", endpoints=(endpoint,), on_calls=(1,), errors=(spec,))
    world = make_world(faults=(rule,))
    post = world.schedule(caption=f"{error} on {endpoint}")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.FAILED, world.details(post)
    assert stored.error is not None
    assert (stored.error.code, stored.error.subcode) == (spec.code, spec.subcode)
    assert spec.message in stored.error.message
    assert f"Graph error {spec.code}" in stored.error.message
    assert len(world.calls(endpoint)) == 1, "no retry after a permanent error"
    assert world.publishes() == []
    assert stored.next_attempt_at is None
    assert world.events(post)[-1].detail == f"failed: {stored.error.message}"


def test_a_revoked_token_makes_the_post_wait_without_retrying(make_world: WorldFactory) -> None:
    # Token errors pause the account's posts until a new token is stored (tests/accounts).
    world = make_world(tokens={TOKEN: "17841400000000001"})
    post = world.schedule(caption="token revoked")
    world.state.revoke_token(TOKEN, "expired")

    world.run_for(hours=2)

    stored = world.get(post)
    assert stored.status is Status.SCHEDULED
    assert stored.error is not None and stored.error.code == 190
    assert "account 17841400000000001 needs reconnecting" in stored.error.message
    assert "igautopost" not in stored.error.message  # the API shows it: no CLI command
    assert len(world.calls()) == 1
    assert world.publishes() == []
