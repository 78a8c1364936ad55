"""A post waiting to retry shows its last error and when it tries again; the error goes
once a step goes on without one (issue 15, item 1: `list --json` and the API showed
"error": null while `show` had the reason)."""

from __future__ import annotations

from datetime import timedelta

from enginetest import WorldFactory

from igautopost.engine.policy import EnginePolicy, RetryPolicy
from igautopost.models import Status
from igautopost.sandbox import ErrorSpec, FaultRule


def test_a_waiting_post_carries_its_last_error_and_its_retry_time(
    make_world: WorldFactory,
) -> None:
    retries = RetryPolicy(base=timedelta(seconds=10), jitter=0.0)
    rule = FaultRule(
        kind="error", endpoints=("create_container",), on_calls=(1,), errors=(ErrorSpec(code=2),)
    )
    world = make_world(policy=EnginePolicy(retries=retries), faults=(rule,))
    post = world.schedule(caption="waits")
    world.run_until(world.policy.leads.prepare_at(post.spec))

    waiting = world.get(post)
    assert waiting.status is Status.SCHEDULED and waiting.next_attempt_at is not None
    assert waiting.error is not None and waiting.error.code == 2
    summary = waiting.error_summary()
    assert summary is not None
    assert summary["retry_at"] == waiting.next_attempt_at.isoformat()
    assert "retry 1" not in summary["message"], "the reason, not the plan"

    world.run_for(hours=1)
    done = world.get(post)
    assert done.status is Status.PUBLISHED and done.error is None
    assert done.error_summary() is None
