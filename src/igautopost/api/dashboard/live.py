"""``GET /queue/events``: the queue's live updates, as server-sent events.

``static/queue.js`` opens an ``EventSource`` on the URL the queue page gives it
(``table#queue[data-events]``: the page's filters and ``since``, the time the page was
read). Every `LiveTiming.interval` seconds the stream runs one query, the operator's posts
due from `BEHIND` ago to `AHEAD` from now (the ones the scheduler is acting on: preparing,
publishing, retrying) on the (owner, publish time) index, and sends each post that changed
since the page was read, once per change, as::

    id: <the latest updated_at sent, ISO 8601>
    event: post
    data: {"id": 7, "status": "published", "publish_at": "...", "html": "<tr id=\\"post-7\\" ...>"}

``html`` is the queue's row for the post (``_queue_row.html``): the script replaces
``tr#post-7`` with it, or inserts it in publish-time order when the page did not list it and
it matches the page's status filter. A comment line every tick keeps proxies from closing
the connection and tells the server when the browser has gone: then the stream stops. It
also stops after `LiveTiming.lifetime` seconds; the browser reconnects by itself, sending
the last event id (``Last-Event-ID``), from which the next stream goes on, and its session
is checked again then. Each process of ``igautopost serve`` reads the same store, so it
does not matter which one a browser's stream reaches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ...models import Post
from ...storage.protocols import PostQuery
from .plain_errors import plain_error
from .queue import PAGE_SIZE, QueueFilters, filters_of
from .rendering import context_of, local_text, templates, viewer_zone
from .session import SignedIn

BEHIND = timedelta(hours=24)  # a failed post retried, a late publish: due lately
AHEAD = timedelta(hours=24)  # containers are prepared up to 20 h ahead (validation.py)


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
    """What one stream has sent: each post's last (status, updated_at), and since when."""

    owner_id: int
    filters: QueueFilters
    since: datetime
    sent: dict[int, tuple[str, datetime]]

    def query(self, now: datetime, zone: tzinfo) -> PostQuery:
        """The posts the scheduler may be changing now, of those the page lists (whatever
        their status: a scheduled post that turns published must still be seen)."""
        listed = self.filters.query(self.owner_id, zone)
        start = now - BEHIND
        if listed.publish_from is not None and listed.publish_from > start:
            start = listed.publish_from
        return PostQuery(
            owner_id=self.owner_id,
            account=listed.account,
            publish_from=start,
            publish_until=now + AHEAD,
            limit=PAGE_SIZE,
        )

    def changed(self, posts: list[Post]) -> list[Post]:
        """The posts changed since the page was read that this stream has not sent as they
        are now; they are marked as sent."""
        fresh = []
        for post in posts:
            mark = (post.status.value, post.updated_at)
            if post.updated_at > self.since and self.sent.get(post.id) != mark:
                self.sent[post.id] = mark
                fresh.append(post)
        return fresh


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
    watch = Watch(operator.user_id, filters_of(request, now), since_of(request, now), {})
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
        now = ctx.clock.now()
        posts: list[Post] = await ctx.run(ctx.store.list, watch.query(now, zone))
        for post in sorted(watch.changed(posts), key=lambda p: p.updated_at):
            yield event_text(post, zone)
        yield ": tick\n\n"
        if loop.time() >= ends or await request.is_disconnected():
            return
        await asyncio.sleep(timing.interval)


def register(routes: APIRouter) -> None:
    routes.add_api_route(
        "/queue/events", queue_events, methods=["GET"], include_in_schema=False, name="queue_events"
    )
