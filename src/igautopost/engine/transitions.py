"""The steps of the publishing state machine, one method per status (see publisher.py).

`Steps` sees the publisher through `StepContext`: the few things a step needs (the client,
the store, the policy, and the publisher's ways to end a step), not the publisher itself.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from ..clock import Clock
from ..errors import LocalMediaUnavailable
from ..graph.client import GraphClient, Prepared
from ..graph.errors import GraphError
from ..graph.params import (
    UPLOAD,
    carousel_child_params,
    carousel_parent_params,
    container_params,
)
from ..graph.responses import ContainerStatus
from ..models import MediaType, Post, Status
from ..storage.protocols import Store
from .launcher import GRACE, Launcher
from .media import LocalMedia, item_uploads, uploads
from .mediamatch import Match, find_media, searchable
from .outcomes import InFlight, Outcome, Result, Step, then
from .policy import EnginePolicy
from .quota import QUOTA_SLOT, QuotaTracker

CONTAINER_LIFE = timedelta(hours=24)
FOLLOW_UP_TRIES = 5  # reads of the permalink after transient errors
EXPIRY_MARGIN = timedelta(minutes=10)  # do not publish a container this close to expiring
# A post as a step goes on without its publish attempt mark (neither stored nor the claim's).
_UNATTEMPTED: dict[str, Any] = {"publish_attempted_at": None, "publish_marked": False}


class StepContext(Protocol):
    """What a step needs of the publisher that runs it."""

    client: GraphClient
    store: Store
    clock: Clock
    policy: EnginePolicy
    quota: QuotaTracker
    launcher: Launcher
    owner: str
    rng: random.Random
    media: LocalMedia

    def later(self, post: Post, at: datetime, detail: str = "", **changes: Any) -> Outcome: ...

    def fail(self, post: Post, message: str, exc: GraphError | None = None) -> Outcome: ...

    def on_error(self, post: Post, exc: GraphError, token: str, *, host: str | None) -> Outcome: ...

    def new_container(self, post: Post, detail: str) -> Outcome: ...

    def next_occurrence(self, post: Post) -> tuple[datetime, datetime] | None: ...

    def hold_lease(self, post: Post, mark: datetime) -> bool: ...


def is_video_post(post: Post) -> bool:
    """Whether the post's media needs video processing time (polled less often). A
    carousel's parent container, made once its items are finished, needs none."""
    if post.media_type is MediaType.CAROUSEL:
        if post.container_id is not None:
            return False
        return any(child.item_kind == "video" for child in post.spec.children)
    return post.spec.is_video


class Steps:
    def __init__(self, publisher: StepContext) -> None:
        self.p = publisher

    def run(self, post: Post, token: str, now: datetime, *, host: str | None) -> Step:
        """One step of the post; `InFlight` when it is a publish call to be sent on its
        mark (the rest of the step runs once the call has left)."""
        if post.status is Status.PUBLISHED:
            return self.follow_up(post, token, now, host=host)
        if post.status is Status.SCHEDULED:
            return self.prepare(post, token, now, host=host)
        if post.status is Status.PROCESSING:
            return self.poll(post, token, now, host=host)
        return self.publish(post, token, now, host=host)

    # -- scheduled: create the container(s) ahead of publish_at --------------------------------

    def prepare(self, post: Post, token: str, now: datetime, *, host: str | None) -> Outcome | None:
        if post.publish_attempted_at is not None and post.container_id is not None:
            return self._replace_attempted(post, token, now, host=host)
        try:
            return self._prepare(post, token, now, host=host)
        except LocalMediaUnavailable as exc:  # no store, no host, a pruned copy: say so
            return self.p.fail(post, str(exc))

    def _prepare(
        self, post: Post, token: str, now: datetime, *, host: str | None
    ) -> Outcome | None:
        if post.container_id is not None and uploads(post.spec):
            # Still scheduled, so the step that made this container did not see its upload
            # through (the worker died, or the upload failed): its bytes may never come, and
            # polling it would wait until it expires. A new one is made and uploaded to.
            return self._create(post, token, now, host=host, replacing=post.container_id)
        child_ids = post.child_container_ids
        if child_ids and not post.container_id and _last_item_uploads(post):
            # The same for the last carousel item made (earlier ones were uploaded before
            # the next was made): it is made and uploaded again.
            shorter = post.model_copy(update={"child_container_ids": child_ids[:-1]})
            return self._create_children(shorter, token, now, host=host)
        # A carousel whose item containers are not all created (a crash between two) resumes
        # creating them below; a parent made of the first items only would be rejected.
        items_done = len(post.child_container_ids) >= len(post.spec.children)
        if post.container_id or (post.child_container_ids and items_done):
            return Outcome(Status.PROCESSING, {"next_attempt_at": now, "attempts": 0})
        prepare_at = self.p.policy.leads.prepare_at(post.spec)
        if now < prepare_at:
            return self.p.later(post, prepare_at)
        if post.media_type is MediaType.CAROUSEL:
            return self._create_children(post, token, now, host=host)
        return self._create(post, token, now, host=host)

    def _create(
        self,
        post: Post,
        token: str,
        now: datetime,
        *,
        host: str | None,
        replacing: str | None = None,
    ) -> Outcome | None:
        """Make the post's one container (and upload its video, from a local copy)."""
        source = self.p.media.post_source(post.spec)
        params = container_params(post.spec, source)
        detail = "created" if replacing is None else f"created (replacing {replacing})"
        if source is UPLOAD:
            assert post.spec.media_file is not None
            made = self.p.client.create_upload_container(
                post.account, params, token=token, host=host
            )
            container_id = made.id
            # Stored before the upload: a crash during it leaves an id we know of, which
            # the next attempt replaces (see `_prepare`) rather than polls.
            if not self._remember(
                post,
                container_id=container_id,
                container_created_at=now,
                containers_created=post.containers_created + 1,
            ):
                return None
            self.p.media.upload(self.p.client, made, post.spec.media_file, token=token)
            detail += " and its video uploaded"
        else:
            container_id = self.p.client.create_container(
                post.account, params, token=token, host=host
            )
        # Stored by this step's own write, which follows at once: nothing runs in between.
        outcome = self._polling(post, now, f"container {container_id} {detail}", attempts=0)
        return replace(
            outcome,
            changes={
                **outcome.changes,
                "container_id": container_id,
                "container_created_at": now,
                "containers_created": post.containers_created + 1,
            },
        )

    def _replace_attempted(
        self, post: Post, token: str, now: datetime, *, host: str | None
    ) -> Outcome:
        """The post's content was edited after a publish call that may have gone through
        (see `edits.edit`): the old container is replaced only once Instagram says that it
        is not published."""
        assert post.container_id is not None
        status = self.p.client.container_status(post.container_id, token=token, host=host)
        if status.is_published:
            return self.published(
                post, None, now, "published before the last edit: the edit came too late"
            )
        unattempted = post.model_copy(update=_UNATTEMPTED)
        return self.p.new_container(
            unattempted,
            f"container {post.container_id} is {status.status_code}, not published: "
            "preparing one for the edited post",
        )

    def _create_children(
        self, post: Post, token: str, now: datetime, *, host: str | None
    ) -> Outcome | None:
        child_ids = list(post.child_container_ids)
        for number, item in enumerate(post.spec.children[len(child_ids) :], len(child_ids) + 1):
            source = self.p.media.item_source(item, number)
            params = carousel_child_params(item, source)
            upload_key = item.media_file if source is UPLOAD else None
            if upload_key is not None:
                made = self.p.client.create_upload_container(
                    post.account, params, token=token, host=host
                )
                child_ids.append(made.id)
            else:
                child_ids.append(
                    self.p.client.create_container(post.account, params, token=token, host=host)
                )
            # Stored one by one: a crash must not leave an id that we forgot we created.
            if not self._remember(post, child_container_ids=child_ids, container_created_at=now):
                return None
            if upload_key is not None:  # the next item is made once this one's bytes are in
                self.p.media.upload(self.p.client, made, upload_key, token=token)
        if not self._remember(post, containers_created=post.containers_created + 1):
            return None
        return self._polling(
            post, now, f"{len(child_ids)} carousel item containers created", attempts=0
        )

    # -- processing: poll until FINISHED, as separate steps --------------------------------------

    def poll(self, post: Post, token: str, now: datetime, *, host: str | None) -> Step:
        if post.container_id is None:  # a carousel whose items are still processing
            return self._poll_children(post, token, now, host=host)
        status = self.p.client.container_status(post.container_id, token=token, host=host)
        if status.is_finished:
            # FINISHED, not PUBLISHED: an earlier publish call for it did not go through, so
            # its attempt mark goes (the post may be changed again until it is published).
            unmarked = {"attempts": 0, "publish_attempted_at": None}
            ready = Outcome(
                Status.READY,
                {"next_attempt_at": post.publish_at, **unmarked},
                f"container {post.container_id} finished",
            )
            if now < post.publish_at:
                self.p.quota.read_ahead(post.account, token, now, host=host)  # not at publish_at
                return ready
            # Due already: publish in this step; the READY write is skipped, not lost.
            ready_now = post.model_copy(update={"status": Status.READY, **unmarked})
            return self.publish(ready_now, token, now, host=host)
        return self._unfinished(post, status, now)

    def _poll_children(self, post: Post, token: str, now: datetime, *, host: str | None) -> Step:
        statuses = [
            self.p.client.container_status(cid, token=token, host=host)
            for cid in post.child_container_ids
        ]
        for status in statuses:
            if not status.is_finished:
                return self._unfinished(post, status, now)
        parent = self.p.client.create_container(
            post.account,
            carousel_parent_params(post.spec, post.child_container_ids),
            token=token,
            host=host,
        )
        if not self._remember(post, container_id=parent):
            return None
        # Its items are finished: the parent is usually ready at once, so it is polled now
        # (a late carousel publishes in this step) rather than at the next interval.
        with_parent = post.model_copy(update={"container_id": parent, "attempts": 0})
        note = f"carousel container {parent} created"
        return then(lambda: self.poll(with_parent, token, now, host=host), partial(_noted, note))

    def _unfinished(self, post: Post, status: ContainerStatus, now: datetime) -> Outcome:
        if status.is_in_progress:
            return self._polling(post, now, "", attempts=post.attempts + 1)
        if status.is_published:
            return self.published(post, None, now, "container already published")
        if status.is_expired:
            # A published container reads PUBLISHED, never EXPIRED: any publish attempt on this
            # one did not go through, so a new container cannot publish the post twice.
            unattempted = post.model_copy(update=_UNATTEMPTED)
            outcome = self.p.new_container(unattempted, f"container {status.id} expired")
            return replace(outcome, changes={**outcome.changes, "publish_attempted_at": None})
        if post.publish_attempted_at is not None:
            return self.p.fail(
                post,
                f"container {status.id} is {status.status_code} after a "
                "publish attempt that may have gone through: check the account",
            )
        error = status.error() or GraphError(status.status or f"container {status.status_code}")
        if (
            error.is_transient
            and post.containers_created < self.p.policy.retries.new_container_attempts
        ):
            # The container is dead whatever the cause (often the media host): retrying means
            # a new container, after a backoff that gives the host time to recover.
            delay = self.p.policy.retries.container_delay(post.containers_created)
            if now + delay <= self.p.policy.retries.deadline(post.publish_at):
                outcome = self.p.new_container(
                    post, f"container {status.id}: {error.message}: preparing a new container"
                )
                return replace(outcome, changes={**outcome.changes, "next_attempt_at": now + delay})
        outcome = self.p.on_error(post, error, "", host=None)
        if outcome.to is not Status.FAILED and error.is_transient:
            outcome = self.p.fail(post, error.message, error)
        if outcome.to is Status.FAILED:
            # A container in ERROR never recovers: forget it, so that a retry of the post
            # (once the media is fixed) prepares a new one instead of polling the dead one.
            dead: dict[str, Any] = {
                "container_id": None,
                "child_container_ids": [],
                "container_created_at": None,
            }
            outcome = replace(
                outcome,
                changes={**outcome.changes, **dead},
                detail=f"{outcome.detail} (container {status.id})",
            )
        return outcome

    # -- ready: wait for publish_at and quota, then publish once --------------------------------

    def publish(self, post: Post, token: str, now: datetime, *, host: str | None) -> Step:
        # A claim that marked the publish took the post within its window, which may be
        # longer than `publish_ahead` before a burst (`EnginePolicy.claim_ahead`).
        if post.publish_at - now > self.p.policy.publish_ahead and not post.publish_marked:
            if _expiring(post, post.publish_at) and post.publish_attempted_at is None:
                # Rescheduled beyond the container's life: prepare a fresh one ahead of time.
                return self.p.new_container(post, "container would expire before the publish time")
            return self.p.later(post, post.publish_at)
        assert post.container_id is not None
        # The claim of a due ready post stored its publish attempt already (one write for the
        # whole batch); an attempt stored before this claim may have reached Instagram.
        marked = post.publish_marked
        unmarked = post.model_copy(update=_UNATTEMPTED) if marked else post
        if unmarked.publish_attempted_at is not None:
            status = self.p.client.container_status(post.container_id, token=token, host=host)
            if not status.is_finished:
                return self._unfinished(post, status, now)
        elif _expiring(post, now):
            return self.p.new_container(unmarked, "container too close to its 24 h expiry")
        mark = max(post.publish_at, post.next_attempt_at or post.publish_at, now)
        wait = self.p.quota.reserve(
            post.id,
            post.account,
            token,
            now,
            owner=self.p.owner,
            until=mark + self.p.policy.step_limit,
            host=host,
        )
        if wait is not None:
            # Only this claim's own mark is taken back: an earlier claim's attempt may have
            # reached Instagram, and its mark keeps the container from being replaced.
            undo = {"publish_attempted_at": None} if marked else {}
            return self.p.later(
                post,
                wait,
                f"publishing quota used up: waiting until {wait:%Y-%m-%d %H:%M} UTC",
                **undo,
            )
        return then(
            lambda: self._call_publish(post, token, now, marked=marked, host=host),
            partial(self._slot_back, post),
        )

    def _slot_back(self, post: Post, result: Result) -> Outcome | None:
        """The publish step's outcome, the quota slot it held given back with it."""
        outcome = None
        try:
            outcome = result()
        finally:
            if outcome is None:  # nothing will be saved: give the slot back on its own
                self.p.quota.settle(post.id)
        if outcome is not None:  # the slot goes back in the step's own write
            outcome.changes[QUOTA_SLOT] = None
        return outcome

    def _call_publish(
        self, post: Post, token: str, now: datetime, *, host: str | None, marked: bool
    ) -> Step:
        assert post.container_id is not None
        if not marked and not self._remember(post, publish_attempted_at=now):
            return None
        mark = max(post.publish_at, post.next_attempt_at or post.publish_at)
        if not self.p.hold_lease(post, mark):  # taken over, or past the step's deadline
            return None
        if now >= mark and not self.p.launcher.hands_off:
            # Simulated time, due already: sent at once, as nothing can be in flight.
            try:
                media_id = self.p.client.publish(
                    post.account, post.container_id, token=token, host=host
                )
            except GraphError as exc:
                return self._failed_publish(post, exc, now, token, host=host)
            return self.published(post, media_id, now, "", token=token)
        # The call is built and its connection opened now; it leaves on the mark (a post
        # claimed ahead of its time, see `publish_ahead`) or at once (a post due already),
        # sent by the `Launcher`, and the rest of the step runs once it has left: the
        # publisher decides which thread waits for it (see `Publisher.step_ahead`).
        call = self.p.client.prepare_publish(
            post.account, post.container_id, token=token, host=host
        )
        return InFlight(call, mark, partial(self._publish_answer, post, call, mark, token, host))

    def _publish_answer(
        self,
        post: Post,
        call: Prepared,
        mark: datetime,
        token: str,
        host: str | None,
        left_at: datetime | None,
    ) -> Outcome | None:
        """The rest of a publish step once its call has left on `mark` at `left_at`; with
        no `left_at`, the call is sent now, if the lease still covers a call leaving now."""
        now = left_at or self.p.clock.now()
        late = left_at is None and now > mark + timedelta(seconds=GRACE)
        if late and not self.p.hold_lease(post, now):  # taken over meanwhile: never send it
            call.abandon()
            return None
        try:
            media_id = self.p.client.send_publish(call)
        except GraphError as exc:
            return self._failed_publish(post, exc, now, token, host=host)
        return self.published(post, media_id, now, "", token=token)

    def _failed_publish(
        self, post: Post, exc: GraphError, now: datetime, token: str, *, host: str | None
    ) -> Outcome:
        # the mark now stands for a call that left, whichever step stored it
        attempted = post.model_copy(update={"publish_attempted_at": now, "publish_marked": False})
        return self._after_failed_publish(attempted, exc, token, host=host)

    def _after_failed_publish(
        self, post: Post, exc: GraphError, token: str, *, host: str | None
    ) -> Outcome:
        """A publish call that failed may still have gone through: ask before deciding."""
        if exc.is_transient:
            return self.p.on_error(post, exc, token, host=host)
        try:
            status = self.p.client.container_status(post.container_id or "", token=token, host=host)
        except GraphError:
            return self.p.on_error(post, exc, token, host=host)
        if status.is_published:
            return self.published(post, None, self.p.clock.now(), "published despite an error")
        if status.is_expired:  # e.g. -2/2207020 "media expired": the post is not live
            return self._unfinished(post, status, self.p.clock.now())
        outcome = self.p.on_error(post, exc, token, host=host)
        if outcome.to is Status.FAILED:  # Instagram answered: this container is not published
            outcome = replace(outcome, changes={**outcome.changes, "publish_attempted_at": None})
        return outcome

    def published(
        self, post: Post, media_id: str | None, now: datetime, note: str, token: str | None = None
    ) -> Outcome:
        lateness = (now - post.publish_at).total_seconds()
        detail = "; ".join(
            filter(
                None,
                [
                    f"published as media {media_id}"
                    if media_id
                    else "published (media id unknown)",
                    f"{lateness:+.3f} s from the publish time",
                    note,
                ],
            )
        )
        # The permalink and first comment are a follow-up step, so that this one ends at
        # once and frees its thread for the next post due in the same second.
        # Without its media id (the answer was lost), the follow-up looks for it first.
        known = media_id or searchable(post) is None
        follow_up = now + self.p.policy.follow_up_delay if known else None
        changes = {
            "media_id": media_id,
            "published_at": now,
            "next_attempt_at": follow_up,
            "attempts": 0,
        }
        return Outcome(Status.PUBLISHED, changes, detail, self.p.next_occurrence(post))

    # -- published: permalink and first comment ------------------------------------------------

    def follow_up(
        self, post: Post, token: str, now: datetime, *, host: str | None
    ) -> Outcome | None:
        """Read the permalink and post the first comment. The post is live whatever happens
        here; a comment is never sent twice (no retry once a call may have reached Meta)."""
        if post.media_id is None:
            return self._recover_media(post, token, now, host=host)
        notes: list[str] = []
        changes: dict[str, object] = {"next_attempt_at": None, "attempts": 0}
        if post.permalink is None:
            try:
                changes["permalink"] = self.p.client.media(
                    post.media_id, token=token, host=host
                ).permalink
            except GraphError as exc:
                if exc.is_transient and post.attempts < FOLLOW_UP_TRIES:
                    return self._follow_up_later(post, now, f"permalink not read: {exc.message}")
                notes.append(f"permalink not read: {exc.message}")
        if post.spec.first_comment and post.comment_attempted_at is None:
            if not self._remember(post, comment_attempted_at=now):
                return None
            try:
                changes["comment_id"] = self.p.client.comment(
                    post.media_id, post.spec.first_comment, token=token, host=host
                )
                notes.append("first comment posted")
            except GraphError as exc:
                notes.append(
                    f"first comment not posted: {exc.message}"
                    + (f" (code {exc.code})" if exc.code is not None else "")
                )
        return Outcome(Status.PUBLISHED, changes, "; ".join(notes))

    def _recover_media(
        self, post: Post, token: str, now: datetime, *, host: str | None
    ) -> Outcome | None:
        """Published while its answer was lost: the media id and permalink, from the
        account's recent media when exactly one can be this post's (see mediamatch.py)."""
        try:
            match = find_media(self.p.client, self.p.store, post, token, host=host)
        except GraphError as exc:
            match = Match(None, f"recent media not read: {exc.message}", exc.is_transient)
        if match.media is None:
            if match.retry and post.attempts < FOLLOW_UP_TRIES:
                return self._follow_up_later(post, now, f"media id not found yet: {match.reason}")
            changes = {"next_attempt_at": None, "attempts": 0}
            return Outcome(Status.PUBLISHED, changes, f"media id not recovered: {match.reason}")
        found = {"media_id": match.media.id, "permalink": match.media.permalink}
        outcome = self.follow_up(post.model_copy(update=found), token, now, host=host)
        if outcome is None:
            return None
        note = f"media {match.media.id} found among the account's recent media"
        return replace(
            outcome,
            changes={**found, **outcome.changes},
            detail="; ".join(filter(None, [note, outcome.detail])),
        )

    def _follow_up_later(self, post: Post, now: datetime, detail: str) -> Outcome:
        delay = self.p.policy.retries.delay_for(post.attempts + 1, self.p.rng)
        return Outcome(
            Status.PUBLISHED,
            {"next_attempt_at": now + delay, "attempts": post.attempts + 1},
            detail,
        )

    # -- helpers -------------------------------------------------------------------------------

    def _polling(self, post: Post, now: datetime, detail: str, *, attempts: int) -> Outcome:
        at = self.p.policy.polls.next_poll(
            attempts, video=is_video_post(post), now=now, publish_at=post.publish_at
        )
        return Outcome(Status.PROCESSING, {"next_attempt_at": at, "attempts": attempts}, detail)

    def _remember(self, post: Post, **ids: object) -> bool:
        return self.p.store.save_progress(post, owner=self.p.owner, changes=ids)


def _noted(note: str, result: Result) -> Outcome | None:
    """The step's outcome with `note` before its detail."""
    outcome = result()
    if outcome is None:
        return None
    return replace(outcome, detail="; ".join(filter(None, [note, outcome.detail])))


def _last_item_uploads(post: Post) -> bool:
    """Whether the last carousel item container made so far had its video uploaded."""
    made = len(post.child_container_ids)
    return 0 < made <= len(post.spec.children) and item_uploads(post.spec.children[made - 1])


def _expiring(post: Post, now: datetime) -> bool:
    created = post.container_created_at
    return created is not None and now > created + CONTAINER_LIFE - EXPIRY_MARGIN
