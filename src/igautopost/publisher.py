"""The publishing state machine: `Publisher.advance(post_id)` moves a post one step.

    scheduled --(prepare_at)--> processing --(FINISHED)--> ready --(publish_at)--> published
        \\___________________________\\______________________\\________> failed

Each step runs under a claim with a lease, makes at most a few Graph calls, and writes its
outcome (status, ids, the next attempt time, an event) in one leased write. Nothing waits
inside a step: polling a container is a new step at a later `next_attempt_at`.

Exactly once: every Graph id is stored the moment Instagram hands it out; the publish time
is stored *before* the publish call; a post with a publish attempt behind it asks Instagram
about its container before publishing again, and never gets a new container.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from .accounts import TokenGate
from .clock import Clock
from .graph.client import GraphClient, HostToken
from .graph.errors import (
    Action,
    ContainerNotReady,
    GraphError,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
)
from .launcher import Launcher
from .leases import LeaseKeeper, publish_call_time
from .models import Post, Status
from .policy import DEFAULT_POLICY, EnginePolicy
from .quota import QuotaTracker
from .steps import Outcome, Steps, is_video_post
from .storage.sql import SqlStore

log = logging.getLogger("igautopost.publisher")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Publisher:
    """Runs steps for one worker process; safe to call from many threads at once."""

    def __init__(
        self,
        store: SqlStore,
        client: GraphClient,
        clock: Clock,
        *,
        policy: EnginePolicy = DEFAULT_POLICY,
        owner: str | None = None,
        rng: random.Random | None = None,
        instagram_base_url: str | None = None,
    ) -> None:
        self.store = store
        self.client = client
        # Accounts that logged in with Instagram Login are served by their own API host.
        self.instagram_base_url = instagram_base_url
        self.clock = clock
        self.policy = policy
        self.owner = owner or worker_name()
        self.rng = rng or random.Random()
        self.quota = QuotaTracker(
            client, store, cache_for=policy.quota_cache, default_total=policy.quota_default
        )
        self._steps = Steps(self)
        self.launcher = Launcher(clock)
        self.gate = TokenGate(store.accounts, clock)
        self.leases = LeaseKeeper(
            store,
            clock,
            self.owner,
            lease=policy.lease,
            step_limit=policy.step_limit,
            publish_call=publish_call_time(client.timeout),
        )

    def advance(self, post_id: int) -> Post | None:
        """Claim the post if it is due and free, run one step; the post as stored after it."""
        post = self.store.claim(
            post_id, owner=self.owner, now=self.clock.now(), lease=self.policy.lease
        )
        if post is None:
            return None
        return self.step(post)

    def step(self, post: Post, *, reload: bool = True) -> Post | None:
        """Run one step of a post this worker has claimed, and release it; the post as stored
        after the step (None without `reload`, or when the lease was lost). Its lease is
        renewed while the step runs (see leases.py)."""
        with self.leases.running(post):
            return self._step(post, reload=reload)

    def hold_lease(self, post: Post, mark: datetime) -> bool:
        """Right before the publish call: whether this step still holds the post, its lease
        extended until the call, leaving on `mark`, has surely ended."""
        return self.leases.hold(post, mark)

    def _step(self, post: Post, *, reload: bool) -> Post | None:
        now = self.clock.now()
        found = self.gate.credentials(post)  # the account's token; else the post's own
        token = found.token if found is not None else self.store.token_of(post)
        if found is not None and found.account.login == "instagram" and self.instagram_base_url:
            token = HostToken(found.token, self.instagram_base_url)
        outcome: Outcome | None
        if found is not None and found.account.needs_reconnect:
            outcome = self.gate.wait(post, found.account)
        elif token is None and post.status is Status.PUBLISHED:
            outcome = Outcome(Status.PUBLISHED, {"next_attempt_at": None}, "no token: no follow-up")
        elif token is None:
            outcome = self.fail(post, "no access token is stored for this post")
        else:
            try:
                outcome = self._steps.run(post, token, now)
            except GraphError as exc:
                outcome = self.on_error(post, exc, token)
        if outcome is None:  # the lease was lost while the step ran: another worker owns it
            log.warning("post %s: lease lost during the step; its result was not saved", post.id)
            return None
        saved = self.store.save_step(
            post,
            outcome.to,
            owner=self.owner,
            now=self.clock.now(),
            changes=outcome.changes,
            detail=outcome.detail,
            next_occurrence=outcome.next_occurrence,
        )
        if not saved:
            log.warning("post %s: lease lost before saving %s", post.id, outcome.to)
            return None
        if outcome.detail:
            log.info("post %s: %s -> %s: %s", post.id, post.status, outcome.to, outcome.detail)
        return self.store.get(post.id) if reload else None

    # -- outcomes shared by the steps ------------------------------------------------------

    def later(self, post: Post, at: datetime, detail: str = "", **changes: Any) -> Outcome:
        return Outcome(post.status, {"next_attempt_at": at, **changes}, detail)

    def fail(self, post: Post, message: str, exc: GraphError | None = None) -> Outcome:
        changes = {
            "next_attempt_at": None,
            "error_message": message,
            "error_code": exc.code if exc else None,
            "error_subcode": exc.subcode if exc else None,
        }
        return Outcome(Status.FAILED, changes, f"failed: {message}")

    def on_error(self, post: Post, exc: GraphError, token: str) -> Outcome:
        """Decide what a Graph error means for the post: wait, retry, recreate or fail."""
        now = self.clock.now()
        if isinstance(exc, TokenInvalid) and token:
            return self.gate.refused(post, exc, token)  # the post waits for a new token
        if isinstance(exc, ContainerNotReady):
            at = self.policy.polls.next_poll(
                post.attempts, video=is_video_post(post), now=now, publish_at=post.publish_at
            )
            return Outcome(
                Status.PROCESSING,
                {"next_attempt_at": at, "attempts": post.attempts + 1},
                "container not ready yet: polling again",
            )
        if isinstance(exc, PublishingLimitReached):
            self.quota.mark_exhausted(post.account, now)
            free = self.quota.free_at(post.account, now)
            return self.later(
                post, free, f"publishing quota reached: waiting until {free:%H:%M} UTC"
            )
        if exc.is_transient:
            return self._retry(post, exc, now)
        may_recreate = post.containers_created < self.policy.retries.new_container_attempts
        if exc.needs_new_container and post.publish_attempted_at is None and may_recreate:
            return self.new_container(post, f"{_describe(exc)}: preparing a new container")
        return self.fail(post, _describe(exc), exc)

    def new_container(self, post: Post, detail: str) -> Outcome:
        """Forget the current container (never after a publish attempt) and prepare again now."""
        assert post.publish_attempted_at is None, "a second container after a publish attempt"
        changes: dict[str, Any] = {
            "container_id": None,
            "child_container_ids": [],
            "container_created_at": None,
            "publish_attempted_at": None,
            "next_attempt_at": self.clock.now(),
            "attempts": 0,
        }
        return Outcome(Status.SCHEDULED, changes, detail)

    def _retry(self, post: Post, exc: GraphError, now: datetime) -> Outcome:
        attempt = post.attempts + 1
        delay = self.policy.retries.delay_for(attempt, self.rng)
        if isinstance(exc, RateLimited) and exc.retry_after:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        at = now + delay
        deadline = self.policy.retries.deadline(post.publish_at)
        if at > deadline:
            late = self.policy.retries.max_lateness
            return self.fail(
                post, f"missed: still failing {late} after the publish time ({_describe(exc)})", exc
            )
        return self.later(
            post, at, f"{_describe(exc)}: retry {attempt} at {at:%H:%M:%S} UTC", attempts=attempt
        )


def _describe(exc: GraphError) -> str:
    code = f" (Graph error {exc.code}" + (f"/{exc.subcode}" if exc.subcode else "") + ")"
    text = exc.user_message or exc.message
    return f"{text}{code if exc.code is not None else ''}"


__all__ = ["Action", "Outcome", "Publisher", "worker_name"]
