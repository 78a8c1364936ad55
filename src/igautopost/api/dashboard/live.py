"""``GET /queue/events``: the queue's live updates, as server-sent events.

``static/queue.js`` opens an ``EventSource`` on the URL the queue page gives it
(``table#queue[data-events]``: the page's filters, ``since``, the time the page was read,
and ``watch``, the ids of the posts it shows that the engine has a step for). Every
`LiveTiming.interval` seconds the stream runs one query on the (owner, publish time) index:
the operator's scheduled, processing and ready posts due from `BEHIND` ago to `AHEAD` from
now, the nearest `LIVE_LIMIT` (the ones the scheduler is acting on). A post it watched that
is no longer among them (published, failed, cancelled, moved) is read once by id, which
only a change causes. A published post with a step still to come (`next_attempt_at` set:
the engine reads its permalink and posts its first comment 5 seconds after publishing) is
kept, and read by id again once that time has come, each tick until the engine has taken
the step: between steps a tick is the one query, and at most `FOLLOW_UP_READS` such reads
are made in one, of at most `PAGE_SIZE` posts kept. Each post changed since the page was
read is sent once per change (any change: status, error, next attempt, permalink)::

    id: <its updated_at, ISO 8601: the browser sends the last one back on reconnecting>
    event: post
    data: {"id": 7, "status": "published", "publish_at": "...", "html": "<tr id=\"post-7\" ...>"}

``html`` is the queue's row for the post (``_queue_row.html``): the script replaces
``tr#post-7`` with it, or inserts it in publish-time order when the page did not list it and
it matches the page's status filter. A comment line every tick keeps proxies from closing
the connection; the stream stops when the browser has gone, and after
`LiveTiming.lifetime` seconds, when the browser reconnects by itself sending the last event
id (``Last-Event-ID``), from which the next stream goes on (and the session is checked
again). Each process of ``igautopost serve`` reads the same store, so it does not matter
which one a browser's stream reaches. Posts due further ahead than `AHEAD` change in the
page on reloading (containers are prepared 2 to 30 minutes ahead unless a post says more).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ...errors import PostNotFound
from ...models import Post, Status
from ...storage.protocols import PostQuery, Store
from .plain_errors import plain_error
from .post_pages import MAX_ID_DIGITS
from .queue import PAGE_SIZE, QueueFilters, filters_of
from .rendering import context_of, local_text, templates, viewer_zone
from .session import SignedIn

BEHIND = timedelta(hours=24)  # late posts and retried ones (a retry moves them to now)
AHEAD = timedelta(hours=6)  # containers are prepared ahead (2-30 minutes by default)
LIVE_LIMIT = 100  # the nearest active posts a tick reads
FOLLOW_UP_READS = 25  # published posts whose follow-up is due, read by id in one tick
ACTIVE = frozenset(s for s in Status if s.is_active)
Mark = tuple[str, datetime]  # (status, updated_at): what a row shows has changed when it has


@dataclass(frozen=True)
class LiveTiming:
    """How often a stream looks, and how long it lives before the browser reconnects."""

    interval: float = 2.0
    lifetime: float = 300.0


def timing_of(request: Request) -> LiveTiming:
    """The app's `LiveTiming` (``app.state.dashboard_live``, which tests shorten)."""
    found = getattr(request.app.state, "dashboard_live", None)
    return found if isinstance(found, LiveTiming) else LiveTiming()


@dataclass
class Watch:
    """One stream's state: the active posts it watches, each with the `Mark` last seen
    (None: as the page showed it), the published posts whose follow-up step is still to
    come (`following`: their `Mark` and when the engine takes the step), and since when
    changes are news."""

    owner_id: int
    filters: QueueFilters
    since: datetime
    watched: dict[int, Mark | None]
    following: dict[int, tuple[Mark, datetime]] = field(default_factory=dict)

    def query(self, now: datetime, zone: tzinfo) -> PostQuery:
        """The posts the scheduler may be changing now, of the page's account (whatever the
        page's status filter: a scheduled post that turns published must still be seen)."""
        listed = self.filters.query(self.owner_id, zone)
        start = now - BEHIND
        if listed.publish_from is not None and listed.publish_from > start:
            start = listed.publish_from
        return PostQuery(
            owner_id=self.owner_id,
            account=listed.account,
            statuses=ACTIVE,
            publish_from=start,
            publish_until=min(now + AHEAD, listed.publish_until or now + AHEAD),
            limit=LIVE_LIMIT,
        )

    def step(self, store: Store, now: datetime, zone: tzinfo) -> list[Post]:
        """One tick (on a pool thread): the posts changed since the page was read that this
        stream has not sent as they are now, by when they changed."""
        active = {post.id: post for post in store.list(self.query(now, zone))}
        seen: dict[int, Mark | None] = {}
        for post_id in [i for i in self.watched if i not in active]:
            seen[post_id] = self.watched.pop(post_id)  # left the active posts: a change did
        due = [i for i, (_, at) in self.following.items() if at <= now and i not in active]
        for post_id in due[:FOLLOW_UP_READS]:  # the engine takes their next step by now
            seen[post_id] = self.following.pop(post_id)[0]
        found = dict(active)
        for post_id in seen:
            try:
                found[post_id] = store.get(post_id, owner_id=self.owner_id)
            except PostNotFound:  # another user's id in ``watch``: nothing to say
                continue
        changed = []
        for post in found.values():
            mark = (post.status.value, post.updated_at)
            last = seen[post.id] if post.id in seen else self.watched.get(post.id)
            if post.updated_at > self.since and last != mark:
                changed.append(post)
            self._keep(post, mark, active)
        return sorted(changed, key=lambda post: post.updated_at)

    def _keep(self, post: Post, mark: Mark, active: dict[int, Post]) -> None:
        """Watch `post` as it is now while the engine has a step to take for it."""
        self.following.pop(post.id, None)
        if post.id in active:
            self.watched[post.id] = mark
        elif (
            post.status is Status.PUBLISHED
            and post.next_attempt_at is not None
            and len(self.following) < PAGE_SIZE
        ):  # its permalink and first comment are still to come: last in line for reads
            self.following[post.id] = (mark, post.next_attempt_at)


def watched_ids(text: str) -> dict[int, Mark | None]:
    """``watch=7,8,9``: the posts the page shows that the engine has a step for (at most a
    page of them)."""
    ids = [word for word in text.split(",")[:PAGE_SIZE] if word.isascii() and word.isdigit()]
    return dict.fromkeys((int(word) for word in ids if len(word) <= MAX_ID_DIGITS), None)


def row_html(post: Post, zone: tzinfo) -> str:
    """The queue's row for `post`, as the page renders it."""
    row = templates.get_template("_queue_row.html")
    html = row.render(post=post, zone=zone, local_text=local_text, plain_error=plain_error)
    return html.strip()


def event_text(post: Post, zone: tzinfo) -> str:
    body = {
        "id": post.id,
        "status": post.status.value,
        "publish_at": post.publish_at.isoformat(),
        "html": row_html(post, zone),
    }
    return f"id: {post.updated_at.isoformat()}\nevent: post\ndata: {json.dumps(body)}\n\n"


def since_of(request: Request, fallback: datetime) -> datetime:
    """Where the stream starts: the last event id the browser saw, else the page's ``since``."""
    for text in (request.headers.get("last-event-id"), request.query_params.get("since")):
        if not text:
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return moment
    return fallback


async def queue_events(request: Request, operator: SignedIn) -> StreamingResponse:
    ctx = context_of(request)
    now = ctx.clock.now()
    watch = Watch(
        operator.user_id,
        filters_of(request, now),
        since_of(request, now),
        watched_ids(request.query_params.get("watch", "")),
    )
    stream = _events(request, watch, viewer_zone(request), timing_of(request))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _events(
    request: Request, watch: Watch, zone: tzinfo, timing: LiveTiming
) -> AsyncIterator[str]:
    ctx = context_of(request)
    yield f"retry: {int(timing.interval * 1000)}\n\n"
    loop = asyncio.get_running_loop()
    ends = loop.time() + timing.lifetime
    while True:
        changed = await ctx.run(watch.step, ctx.store, ctx.clock.now(), zone)
        for post in changed:
            yield event_text(post, zone)
        yield ": tick\n\n"
        if loop.time() >= ends or await request.is_disconnected():
            return
        await asyncio.sleep(timing.interval)


def register(routes: APIRouter) -> None:
    routes.add_api_route(
        "/queue/events", queue_events, methods=["GET"], include_in_schema=False, name="queue_events"
    )
