"""The sandbox's memory and rules: containers, media, quotas, tokens, under one lock.

Every public method takes the lock, so the event loop (serving HTTP) and a test thread (
inspecting through `SandboxServer.state`) can share one `SandboxState`. Each method is a
sub-millisecond in-memory step, which is why handlers call it directly from `async def`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from igautopost.clock import Clock, SystemClock
from igautopost.sandbox.config import SandboxConfig
from igautopost.sandbox.errors import GraphErrorAnswer, invalid_parameter, object_not_found
from igautopost.sandbox.faults import Fault, FaultPlanner
from igautopost.sandbox.fields import FieldList, select
from igautopost.sandbox.inspect import CallRecord, Inspector
from igautopost.sandbox.media import (
    HEAD_BYTES,
    VIDEO_FORMAT_SUBCODE,
    MediaBytes,
    fetch,
    fetch_container_media,
    looks_like_video,
)
from igautopost.sandbox.objects import Comment, Container, Media, graph_timestamp, shortcode_for
from igautopost.sandbox.rules import ContainerSpec, check_container_params
from igautopost.sandbox.tokens import RevokeReason, TokenRegistry

T = TypeVar("T")
_ID_BASES = {
    "container": 17890000000000000,
    "media": 17920000000000000,
    "comment": 17850000000000000,
}


class SandboxState:
    """All sandbox data. `now()` is sandbox time: the clock plus any `advance()`."""

    def __init__(self, config: SandboxConfig | None = None, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self._clock = clock or SystemClock()
        self._offset = timedelta()
        self.config = config or SandboxConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every object, call and token change; keep the config and the clock."""
        with self._lock:
            self.tokens = TokenRegistry(self.config.tokens)
            self.containers: dict[str, Container] = {}
            self.media: dict[str, Media] = {}
            self.comments: dict[str, Comment] = {}
            self.inspector = Inspector(self.config.max_logged_calls)
            self.faults = FaultPlanner()
            self._publish_times: dict[str, deque[datetime]] = {}
            self._create_times: dict[str, deque[datetime]] = {}
            self._next_id = dict(_ID_BASES)

    # -- time and configuration ------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock.now() + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move sandbox time forward (works with any clock, also the system clock)."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return self.now()

    def update_config(self, changes: dict[str, Any]) -> SandboxConfig:
        """Apply config changes at run time; newly listed tokens become known."""
        with self._lock:
            new = self.config.updated(changes)
            for token, account in new.tokens.items():
                if self.config.tokens.get(token) != account:
                    self.tokens.add(token, account)
            self.config = new
            self.inspector.max_calls = new.max_logged_calls
            return new

    # -- tokens ------------------------------------------------------------------------------

    def authorize(self, token: str | None, account: str | None) -> str | None:
        """The account id a call acts for (`me` resolved), or the real API's token error."""
        with self._lock:
            info = self.tokens.check(token, self.now())
            if account is None:
                return info.account_id
            if account == "me":
                return info.account_id or self.config.default_account_id
            if info.account_id is not None and info.account_id != account:
                raise object_not_found(account, "post")
            return account

    def revoke_token(self, token: str, reason: RevokeReason = "expired") -> None:
        with self._lock:
            self.tokens.revoke(token, reason)

    def revoke_account(self, account_id: str, reason: RevokeReason = "expired") -> int:
        with self._lock:
            return self.tokens.revoke_account(account_id, reason)

    def add_token(self, token: str, account_id: str | None) -> None:
        with self._lock:
            self.tokens.add(token, account_id)

    def exchange_token(self, token: str | None, *, refresh: bool) -> dict[str, Any]:
        """A long-lived token for a valid one; refresh needs a token at least 24 h old."""
        with self._lock:
            now = self.now()
            info = self.tokens.check(token, now)
            if refresh and info.issued_at and now - info.issued_at < timedelta(hours=24):
                raise invalid_parameter("The access token must be at least 24 hours old")
            lifetime = timedelta(seconds=self.config.token_lifetime_seconds)
            new = self.tokens.issue(info.account_id, now, lifetime)
            return {
                "access_token": new,
                "token_type": "bearer",
                "expires_in": int(lifetime.total_seconds()),
            }

    # -- containers --------------------------------------------------------------------------

    def create_container(self, account: str, params: dict[str, str]) -> Container:
        cfg = self.config
        spec = check_container_params(params, cfg.failing_url_patterns, cfg.failure_subcode)
        if cfg.fetch_media:  # over the network: outside the lock
            failure = fetch_container_media(params, cfg.fetch_timeout_seconds)
            if failure is not None and spec.failure_subcode is None:
                spec = replace(spec, failure_subcode=failure)
        with self._lock:
            now = self.now()
            self._check_create_cap(account, now)
            if spec.kind == "CAROUSEL":
                self._check_children(account, spec.children, now)
            container = self._new_container(account, spec, params, now)
            self.containers[container.id] = container
            self._create_times.setdefault(account, deque()).append(now)
            return container

    def _new_container(
        self, account: str, spec: ContainerSpec, params: dict[str, str], now: datetime
    ) -> Container:
        cfg = self.config
        delay = (
            cfg.video_processing_seconds if spec.kind == "VIDEO" else cfg.image_processing_seconds
        )
        waits = spec.resumable and spec.kind == "VIDEO"  # for its bytes (an upload)
        ready = None if waits else now + timedelta(seconds=delay)
        return Container(
            id=self._new_id("container"),
            account_id=account,
            kind=spec.kind,
            product_type=spec.product_type,
            created_at=now,
            ready_at=ready,
            media_url=spec.media_url,
            caption=spec.caption,
            is_carousel_item=spec.is_carousel_item,
            children=spec.children,
            failure_subcode=spec.failure_subcode,
            params={k: v for k, v in params.items() if k != "access_token"},
            resumable=spec.resumable and spec.kind == "VIDEO",
        )

    def _check_create_cap(self, account: str, now: datetime) -> None:
        used = _in_window(self._create_times.get(account), now, self.config.quota_window_seconds)
        if used >= self.config.container_cap:
            raise GraphErrorAnswer(
                4,
                None,
                "(#4) Application request limit reached: at most "
                f"{self.config.container_cap} containers per 24 hours",
            )

    def _check_children(self, account: str, children: tuple[str, ...], now: datetime) -> None:
        if not 2 <= len(children) <= 10:
            raise GraphErrorAnswer(100, 2207028)
        for child_id in children:
            child = self.containers.get(child_id)
            if child is None or child.account_id != account:
                raise GraphErrorAnswer(24, 2207006, f"The media with id {child_id} cannot be found")
            if not child.is_carousel_item:
                raise invalid_parameter(f"Container {child_id} is not a carousel item")
            status = child.status_code(now, self._ttl())
            if status != "FINISHED":
                raise _not_publishable(status, child_id)

    def upload(
        self,
        container_id: str,
        token: str | None,
        *,
        offset: int,
        file_size: int,
        received: MediaBytes | None,
    ) -> dict[str, Any]:
        """Bytes of a resumable container's video arrived, from `offset` (headers checked
        for presence and form by the caller). Strict, as Instagram's upload host:

        - the token must be valid and belong to the container's account;
        - `file_size` must not change between the requests of one upload;
        - `offset` may not leave a gap (at most the bytes received so far; an earlier one
          sends those bytes again), and no byte may go past `file_size`;
        - a body that stops short (a partial upload, a client gone mid-body) counts as far
          as it went: the container keeps waiting, the answer says where to resume;
        - once `file_size` bytes are in, processing starts; a file that is not an MP4 or
          MOV ends in ERROR with 2207026 ("video format not supported").
        """
        body = received or MediaBytes(0, b"")
        with self._lock:
            container = self._waiting_container(container_id, token)
            if container.upload_size is not None and container.upload_size != file_size:
                raise invalid_parameter(
                    f"The header file_size ({file_size}) differs from the size this upload "
                    f"started with ({container.upload_size})"
                )
            if offset > container.upload_received:
                raise invalid_parameter(
                    f"The header offset ({offset}) is beyond the {container.upload_received} "
                    f"bytes received: resume at offset {container.upload_received}"
                )
            if offset + body.size > file_size:
                raise invalid_parameter(
                    f"The upload sends {offset + body.size} bytes, more than its file_size "
                    f"({file_size})"
                )
            container.upload_size = file_size
            container.upload_received = offset + body.size
            if offset < HEAD_BYTES:  # the file's first bytes: what it is
                head = container.upload_head[:offset] + body.head
                container.upload_head = head[:HEAD_BYTES]
            if container.upload_received < file_size:
                return {
                    "success": True,
                    "message": (
                        f"Received {container.upload_received} of {file_size} bytes: "
                        f"send the rest from offset {container.upload_received}."
                    ),
                    "offset": container.upload_received,
                }
            self._start_processing(container, container.upload_head)
            return {"success": True, "message": "Upload successful."}

    def upload_from_url(self, container_id: str, token: str | None, file_url: str) -> str:
        """A resumable upload sent as a `file_url` header instead of bytes: fetched when
        `fetch_media` is on (its failures as a create call's), else taken as a video."""
        with self._lock:
            self._waiting_container(container_id, token)
        head = b"\0\0\0\0ftyp"
        if self.config.fetch_media:
            head = fetch(file_url, self.config.fetch_timeout_seconds).head
        with self._lock:
            container = self._waiting_container(container_id, token)
            container.media_url = file_url
            self._start_processing(container, head)
            return container.account_id

    def owner_of(self, container_id: str) -> str | None:
        with self._lock:
            container = self.containers.get(container_id)
            return container.account_id if container is not None else None

    def _waiting_container(self, container_id: str, token: str | None) -> Container:
        """The resumable container `token` may upload to, still waiting for its bytes."""
        container = self.containers.get(container_id)
        info = self.tokens.check(token, self.now())
        if container is None or info.account_id not in (None, container.account_id):
            raise object_not_found(container_id, "post")
        if not container.resumable:
            raise invalid_parameter(
                f"Container {container_id} was not created with upload_type=resumable"
            )
        status = container.status_code(self.now(), self._ttl())
        if status == "EXPIRED":
            raise GraphErrorAnswer(-2, 2207020)
        if container.ready_at is not None:
            raise invalid_parameter(
                f"The video of container {container_id} was uploaded already ({status})"
            )
        return container

    def _start_processing(self, container: Container, head: bytes) -> None:
        if not looks_like_video(head) and container.failure_subcode is None:
            container.failure_subcode = VIDEO_FORMAT_SUBCODE
        delay = timedelta(seconds=self.config.video_processing_seconds)
        container.ready_at = self.now() + delay

    def with_lock(self, read: Callable[[], T]) -> T:
        """Run `read` under the state's lock (for consistent inspection)."""
        with self._lock:
            return read()

    def ttl(self) -> timedelta:
        return self._ttl()

    def _ttl(self) -> timedelta:
        return timedelta(seconds=self.config.container_ttl_seconds)

    def _new_id(self, kind: str) -> str:
        self._next_id[kind] += 1
        return str(self._next_id[kind])

    def get_object(self, account: str | None, object_id: str, wanted: FieldList) -> dict[str, Any]:
        """`GET /{id}?fields=...` for a container, a media object or a comment."""
        with self._lock:
            found = self._find(object_id)
            if found is None or (account is not None and found[0] != account):
                raise object_not_found(object_id)
            obj = found[1]
            if isinstance(obj, Container):
                return select(obj.fields(self.now(), self._ttl()), wanted, "ShadowIGMediaBuilder")
            if isinstance(obj, Comment):
                return select(obj.fields(), wanted, "IGComment")
            return select(obj.fields(), wanted, "IGMedia", self._children_of(obj))

    def recent_media(self, account: str, wanted: FieldList, limit: int) -> list[dict[str, Any]]:
        """The account's published posts, newest first, as `GET /{ig-user-id}/media` lists
        them: carousel items and stories are left out."""
        with self._lock:
            listed = [
                m
                for m in self.media.values()
                if m.account_id == account
                and m.product_type != "STORY"
                and not self.containers[m.container_id].is_carousel_item
            ]
            listed.sort(key=lambda m: (m.published_at, int(m.id)), reverse=True)
            return [
                select(m.fields(), wanted, "IGMedia", self._children_of(m)) for m in listed[:limit]
            ]

    def _find(self, object_id: str) -> tuple[str, Container | Media | Comment] | None:
        for table in (self.containers, self.media):
            obj = table.get(object_id)
            if obj is not None:
                return obj.account_id, obj
        comment = self.comments.get(object_id)
        if comment is not None:
            return self.media[comment.media_id].account_id, comment
        return None

    def _children_of(self, media: Media) -> Callable[[str, FieldList], Any]:
        def expand(_name: str, sub: FieldList) -> dict[str, Any]:
            rows = [select(self.media[c].fields(), sub, "IGMedia") for c in media.children]
            return {"data": rows}

        return expand

    # -- publishing --------------------------------------------------------------------------

    def publish(self, account: str, creation_id: str | None) -> Media:
        """Publish a FINISHED container once, within the rolling publishing quota."""
        if not creation_id:
            raise GraphErrorAnswer(100, None, "The parameter creation_id is required")
        with self._lock:
            now = self.now()
            container = self.containers.get(creation_id)
            if container is None or container.account_id != account:
                raise GraphErrorAnswer(
                    24, 2207006, f"The media with id {creation_id} cannot be found"
                )
            if container.is_carousel_item:
                raise invalid_parameter("A carousel item cannot be published on its own")
            status = container.status_code(now, self._ttl())
            if status == "PUBLISHED":
                self.inspector.record_repeat_attempt(container.id)
            if status != "FINISHED":
                raise _not_publishable(status, container.id)
            if self._quota_usage(account, now) >= self.config.publishing_quota:
                raise GraphErrorAnswer(9, 2207042)
            return self._publish(container, now)

    def _publish(self, container: Container, now: datetime) -> Media:
        media = self._new_media(container, now)
        media.children = tuple(
            self._new_media(self.containers[c], now).id for c in container.children
        )
        if media.children:  # an album shows its first item
            media.media_url = self.media[media.children[0]].media_url
        container.published_media_id = media.id
        self._publish_times.setdefault(container.account_id, deque()).append(now)
        self.inspector.record_publish(media, container, graph_timestamp(now))
        return media

    def _new_media(self, container: Container, now: datetime) -> Media:
        media_id = self._new_id("media")
        kind = {"CAROUSEL": "CAROUSEL_ALBUM"}.get(container.kind, container.kind)
        media = Media(
            id=media_id,
            account_id=container.account_id,
            container_id=container.id,
            media_type=kind,
            product_type=container.product_type,
            published_at=now,
            shortcode=shortcode_for(media_id, self.config.seed),
            username=self.config.username,
            caption=container.caption,
            media_url=container.media_url,
        )
        self.media[media_id] = media
        container.published_media_id = media_id
        return media

    def _quota_usage(self, account: str, now: datetime) -> int:
        return _in_window(self._publish_times.get(account), now, self.config.quota_window_seconds)

    def publishing_limit(self, account: str, fields: list[str]) -> dict[str, Any]:
        """The `content_publishing_limit` answer, shaped like Meta's."""
        with self._lock:
            entry: dict[str, Any] = {}
            if "quota_usage" in fields or not fields:
                entry["quota_usage"] = self._quota_usage(account, self.now())
            if "config" in fields:
                entry["config"] = {
                    "quota_total": self.config.publishing_quota,
                    "quota_duration": self.config.quota_window_seconds,
                }
            return {"data": [entry]}

    def comment(self, account: str | None, media_id: str, message: str | None) -> Comment:
        if not message:
            raise GraphErrorAnswer(100, None, "The parameter message is required")
        with self._lock:
            media = self.media.get(media_id)
            if media is None or account not in (None, media.account_id):
                raise object_not_found(media_id, "post")
            comment = Comment(
                self._new_id("comment"), media_id, message, self.now(), self.config.username
            )
            self.comments[comment.id] = comment
            media.comments.append(comment.id)
            return comment

    # -- inspection and faults -----------------------------------------------------------------

    def decide_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            if not self.config.faults:
                return None
            return self.faults.decide(self.config, endpoint)

    def record_call(self, record: CallRecord) -> None:
        with self._lock:
            self.inspector.record_call(record)

    def next_seq(self) -> int:
        with self._lock:
            return self.inspector.next_seq()


def _in_window(times: deque[datetime] | None, now: datetime, window_seconds: int) -> int:
    """How many of `times` (in order) fall in the rolling window ending at `now`.

    Drops the older ones, so the cost stays proportional to the window's traffic.
    """
    if not times:
        return 0
    start = now - timedelta(seconds=window_seconds)
    while times and times[0] <= start:
        times.popleft()
    return len(times)


def _not_publishable(status: str, container_id: str) -> GraphErrorAnswer:
    if status == "EXPIRED":
        return GraphErrorAnswer(-2, 2207020)
    return GraphErrorAnswer(9007, 2207027)
