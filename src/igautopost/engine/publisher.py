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
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..accounts.service import describe_token_error
from ..clock import Clock
from ..graph.client import GraphClient
from ..graph.errors import (
    Action,
    ContainerNotReady,
    GraphError,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
)
from ..media.protocols import MediaHost, MediaStore
from ..models import Post, Status
from ..recurrence import next_occurrence
from ..storage.protocols import Store
from .launcher import Launcher
from .leases import LeaseKeeper, RunningStep, publish_call_time
from .media import LocalMedia
from .outcomes import InFlight, Outcome, Result, Step, then
from .policy import DEFAULT_POLICY, EnginePolicy
from .quota import QuotaTracker
from .tokens import TokenGate
from .transitions import Steps, is_video_post

log = logging.getLogger("igautopost.engine.publisher")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Publisher:
    """Runs steps for one worker process; safe to call from many threads at once."""

    def __init__(
        self,
        store: Store,
        client: GraphClient,
        clock: Clock,
        *,
        policy: EnginePolicy = DEFAULT_POLICY,
        owner: str | None = None,
        rng: random.Random | None = None,
        instagram_base_url: str | None = None,
        media_store: MediaStore | None = None,
        media_host: MediaHost | None = None,
    ) -> None:
        self.store = store
        self.client = client
        # Where posts scheduled from local files are published from (engine/media.py):
        # without them, such a post fails with an error that names the setting to add.
        self.media_store = media_store
        self.media_host = media_host
        self.media = LocalMedia(media_store, media_host, policy.media_url_life)
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
        renewed while the step runs (see leases.py). A publish call prepared ahead of its
        mark is sent on it (`Launcher.launch_at`) while this thread waits."""
        with self.leases.running(post):
            saved = self._save(post, self._now_or_on_mark(self._outcome(post, self.clock.now())))
        return self.store.get(post.id) if reload and saved else None

    def step_ahead(self, post: Post, ended: Callable[[Exception | None], None]) -> None:
        """`step` without waiting for a publish call: one prepared ahead of its mark is handed
        to the launcher with the rest of the step (reading the answer, saving the outcome),
        and this returns at once, giving the thread back for other posts' steps (issue 14).
        `ended` is called once the step has ended, from this thread or a launcher's, with
        what it raised (never raised here). Its lease is renewed until then."""
        running = self.leases.start(post)
        try:
            step = self._outcome(post, self.clock.now())
            if isinstance(step, InFlight) and self.launcher.hands_off:
                finish = step.finish
                self.launcher.hand_off(
                    step.call,
                    step.mark,
                    lambda left_at: self._end(post, running, lambda: finish(left_at), ended),
                )
                return
        except Exception as exc:
            self.leases.end(post, running)
            ended(exc)
            return
        self._end(post, running, partial(self._now_or_on_mark, step), ended)

    def _now_or_on_mark(self, step: Step) -> Outcome | None:
        """The step's outcome; a publish call in flight is sent on its mark while this
        thread waits, and its answer read."""
        if isinstance(step, InFlight):
            self.launcher.launch_at(step.call, step.mark)
            return step.finish(self.clock.now())
        return step

    def _end(
        self,
        post: Post,
        running: RunningStep,
        result: Result,
        ended: Callable[[Exception | None], None],
    ) -> None:
        """Save the step's outcome, stop renewing its lease, and say it `ended`."""
        try:
            self._save(post, result())
        except Exception as exc:
            error: Exception | None = exc
        else:
            error = None
        finally:
            self.leases.end(post, running)
        ended(error)

    def hold_lease(self, post: Post, mark: datetime) -> bool:
        """Right before the publish call: whether this step still holds the post, its lease
        extended until the call, leaving on `mark`, has surely ended."""
        return self.leases.hold(post, mark)

    def _save(self, post: Post, outcome: Outcome | None) -> bool:
        """Save the step's outcome, conditional on the lease; whether it was saved."""
        if outcome is None:  # the lease was lost while the step ran: another worker owns it
            log.warning("post %s: lease lost during the step; its result was not saved", post.id)
            return False
        changes = outcome.changes
        if (
            post.error is not None
            and outcome.to is not Status.FAILED
            and ERROR_COLUMNS[0] not in changes
        ):
            # a step that went on without an error: the last one is over
            changes = {**changes, **dict.fromkeys(ERROR_COLUMNS)}
        saved = self.store.save_step(
            post,
            outcome.to,
            owner=self.owner,
            now=self.clock.now(),
            changes=changes,
            detail=outcome.detail,
            next_occurrence=outcome.next_occurrence,
        )
        if not saved:
            log.warning("post %s: lease lost before saving %s", post.id, outcome.to)
            return False
        if outcome.detail:
            log.info("post %s: %s -> %s: %s", post.id, post.status, outcome.to, outcome.detail)
        return True

    def _outcome(self, post: Post, now: datetime) -> Step:
        # A post sent with its own token is published with it, whatever becomes of its
        # account's, until Instagram refuses it (`_own_token_refused`); a post without one
        # uses the account's (see docs/security.md, "Which token a post uses").
        own = self.store.token_of(post) if post.has_token else None
        found = self.gate.credentials(post)
        if own is None and found is not None and found.account.needs_reconnect:
            return self.gate.wait(post, found.account)
        token = own if own is not None else found.token if found is not None else None
        if token is None and post.status is Status.PUBLISHED:
            return Outcome(Status.PUBLISHED, {"next_attempt_at": None}, "no token: no follow-up")
        if token is None:
            return self.fail(post, "no access token is stored for this post")
        host = self.gate.host_for(token, found, self.instagram_base_url)
        return then(
            lambda: self._steps.run(post, token, now, host=host),
            partial(self._graph_error, post, token, host),
        )

    def _graph_error(
        self, post: Post, token: str, host: str | None, result: Result
    ) -> Outcome | None:
        """The step's outcome; a Graph error it raised, decided on (`on_error`)."""
        try:
            return result()
        except GraphError as exc:
            return self.on_error(post, exc, token, host=host)

    # -- outcomes shared by the steps ------------------------------------------------------

    def later(self, post: Post, at: datetime, detail: str = "", **changes: Any) -> Outcome:
        return Outcome(post.status, {"next_attempt_at": at, **changes}, detail)

    def fail(self, post: Post, message: str, exc: GraphError | None = None) -> Outcome:
        """The post fails; a recurring post's series goes on with its next occurrence."""
        changes = {
            "next_attempt_at": None,
            "error_message": message,
            "error_code": exc.code if exc else None,
            "error_subcode": exc.subcode if exc else None,
        }
        following = self.next_occurrence(post)
        detail = f"failed: {message}"
        if following is not None:
            detail += f"; the series goes on: next occurrence at {following[0].isoformat()}"
        return Outcome(Status.FAILED, changes, detail, following)

    def next_occurrence(self, post: Post) -> tuple[datetime, datetime] | None:
        """(publish time, prepare time) of a recurring post's next occurrence: the first
        after its own publish time, and after now (a late post does not start a backlog)."""
        if post.spec.recurrence is None:
            return None
        after = max(post.publish_at, self.clock.now())
        at = next_occurrence(post.spec.recurrence, post.spec.timezone, after)
        spec = post.spec.model_copy(update={"publish_at": at})
        return at, self.policy.leads.prepare_at(spec)

    def on_error(self, post: Post, exc: GraphError, token: str, *, host: str | None) -> Outcome:
        """Decide what a Graph error means for the post: wait, retry, recreate or fail.
        `host` is the API host `token`'s calls go to (None: the client's default)."""
        now = self.clock.now()
        if isinstance(exc, TokenInvalid) and post.has_token:
            return self._own_token_refused(post, exc, token)
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
                post,
                free,
                f"publishing quota reached: waiting until {free:%H:%M} UTC",
                **_error_columns(exc),
            )
        if exc.is_transient:
            return self._retry(post, exc, now, token, host=host)
        may_recreate = post.containers_created < self.policy.retries.new_container_attempts
        if exc.needs_new_container and post.publish_attempted_at is None and may_recreate:
            return self.new_container(post, f"{_describe(exc)}: preparing a new container")
        return self.fail(post, _describe(exc), exc)

    def _own_token_refused(self, post: Post, exc: GraphError, token: str) -> Outcome:
        """The token sent with the post was refused: from now on the post uses its account's
        stored token, which its owner keeps current; the account is marked as needing a
        reconnection only when that is the same token."""
        found = self.gate.credentials(post, fresh=True)
        reason = describe_token_error(exc)
        if found is None:
            return self.fail(
                post, f"the token sent with this post was refused ({reason}): send a new one", exc
            )
        if found.token == token:
            outcome = self.gate.refused(post, exc, token)
        else:
            detail = f"the token sent with this post was refused ({reason}): using its account's"
            outcome = Outcome(post.status, self.gate.unmarked(post, self.clock.now()), detail)
        return replace(outcome, changes={**outcome.changes, "token_ciphertext": None})

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

    def _retry(
        self, post: Post, exc: GraphError, now: datetime, token: str, *, host: str | None
    ) -> Outcome:
        attempt = post.attempts + 1
        delay = self.policy.retries.delay_for(attempt, self.rng)
        if isinstance(exc, RateLimited) and exc.retry_after:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        at = now + delay
        if at > self.policy.retries.deadline(post.publish_at):
            if post.publish_attempted_at is not None and post.container_id is not None:
                return self._answer_before_failing(post, exc, token, at, host=host)
            late = self.policy.retries.max_lateness
            return self.fail(
                post, f"missed: still failing {late} after the publish time ({_describe(exc)})", exc
            )
        return self.later(
            post,
            at,
            f"{_describe(exc)}: retry {attempt} at {at:%H:%M:%S} UTC",
            attempts=attempt,
            **_error_columns(exc),  # shown by list and the API while the post waits
        )

    def _answer_before_failing(
        self, post: Post, exc: GraphError, token: str, at: datetime, *, host: str | None
    ) -> Outcome:
        """Past the deadline, but a publish call for the post may have gone through: the post
        is failed only once Instagram says its container is not published."""
        assert post.container_id is not None
        try:
            status = self.client.container_status(post.container_id, token=token, host=host)
        except GraphError as unread:
            return self.later(
                post,
                at,
                f"{_describe(exc)}; past the deadline, but a publish call may have gone "
                f"through and the container cannot be read ({_describe(unread)}): "
                f"asking again at {at:%H:%M:%S} UTC",
                attempts=post.attempts + 1,
            )
        if status.is_published:
            return self._steps.published(post, None, self.clock.now(), "published despite errors")
        late = self.policy.retries.max_lateness
        missed = self.fail(
            post,
            f"missed: still failing {late} after the publish time ({_describe(exc)}); "
            f"container {post.container_id} is {status.status_code}, not published",
            exc,
        )
        return replace(missed, changes={**missed.changes, "publish_attempted_at": None})


ERROR_COLUMNS = ("error_message", "error_code", "error_subcode")


def _error_columns(exc: GraphError) -> dict[str, Any]:
    return dict(zip(ERROR_COLUMNS, (_describe(exc), exc.code, exc.subcode), strict=True))


def _describe(exc: GraphError) -> str:
    code = f" (Graph error {exc.code}" + (f"/{exc.subcode}" if exc.subcode else "") + ")"
    text = exc.user_message or exc.message
    return f"{text}{code if exc.code is not None else ''}"


__all__ = ["Action", "Outcome", "Publisher", "worker_name"]
