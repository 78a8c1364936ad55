"""``/queue``: the operator's posts by publish time, with status, next attempt and last error.

``GET /queue?account=IG_USER_ID&status=STATUS&from=YYYY-MM-DD`` lists the operator's posts
(never another user's) by publish time from the start of day ``from`` in the viewer's zone
(default: the day of 24 hours ago, so that what was just published stays in view; an empty
``from=`` lists from the first post), at most `PAGE_SIZE`. Each row is
``tr#post-{id}[data-status]`` with the badge ``.status.status-{status}``, the next attempt
time, the last error in plain words (Instagram's code and what to do, `plain_errors`) and,
once published, ``a.permalink``. The table (``table#queue[data-events]``) is kept current
by ``static/queue.js`` from ``GET /queue/events`` (`live`), without reloading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...models import Account, Post, Status
from ...storage.protocols import PostQuery
from .plain_errors import plain_error
from .rendering import context_of, render, viewer_zone
from .session import SignedIn

PAGE_SIZE = 200
RECENT = timedelta(hours=24)  # the default start: what was published lately stays in view
STATUS_NAMES = tuple(s.value for s in Status)


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, checked; `problems` (field -> message) name the field and rule."""

    account: str | None
    status: Status | None
    start: date | None  # None: from the first post
    problems: dict[str, str]

    def query(self, owner_id: int, zone: tzinfo) -> PostQuery:
        """The posts the page lists: the operator's own, narrowed by the filters."""
        since = None if self.start is None else datetime.combine(self.start, time(0), zone)
        return PostQuery(
            owner_id=owner_id,
            account=self.account,
            statuses=frozenset({self.status}) if self.status else None,
            publish_from=since,
            limit=PAGE_SIZE,
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters: the live stream lists what the page lists."""
        found = {"account": self.account or "", "status": self.status.value if self.status else ""}
        found = {name: value for name, value in found.items() if value}
        return {**found, "from": self.start.isoformat() if self.start else ""}


def filters_of(request: Request, now: datetime) -> QueueFilters:
    """The filters of ``?account=&status=&from=``; a bad value is reported and ignored."""
    given = request.query_params
    problems: dict[str, str] = {}
    status: Status | None = None
    raw_status = given.get("status", "").strip().lower()
    if raw_status in STATUS_NAMES:
        status = Status(raw_status)
    elif raw_status:
        problems["status"] = f"status: must be one of {', '.join(STATUS_NAMES)}"
    recent = (now - RECENT).astimezone(viewer_zone(request)).date()
    raw_start = given.get("from")
    start: date | None = recent if raw_start is None else None
    if raw_start:
        try:
            start = date.fromisoformat(raw_start.strip())
        except ValueError:
            problems["from"] = "from: must be a date such as 2031-01-05"
            start = recent
    return QueueFilters(given.get("account", "").strip() or None, status, start, problems)


async def queue_page(request: Request, operator: SignedIn) -> HTMLResponse:
    ctx = context_of(request)
    now = ctx.clock.now()
    filters = filters_of(request, now)
    query = filters.query(operator.user_id, viewer_zone(request))
    posts: list[Post] = await ctx.run(ctx.store.list, query)
    accounts: list[Account] = await ctx.run(ctx.store.accounts.list_accounts, operator.user_id)
    values = {
        "posts": posts,
        "accounts": accounts,
        "filters": filters,
        "statuses": STATUS_NAMES,
        "events_url": events_url(filters, now, posts),
        "full": len(posts) >= PAGE_SIZE,
        "plain_error": plain_error,
    }
    return render(request, "queue.html", values, status=400 if filters.problems else 200)


def events_url(filters: QueueFilters, now: datetime, posts: list[Post]) -> str:
    """The page's live stream (`live`): its filters, when it was read, and the posts it
    shows that are still on their way to Instagram."""
    watch = ",".join(str(post.id) for post in posts if post.status.is_active)
    params = {**filters.params(), "since": now.isoformat(), "watch": watch}
    return "/queue/events?" + urlencode(params, safe=",")


def register(routes: APIRouter) -> None:
    routes.add_api_route("/queue", queue_page, methods=["GET"], include_in_schema=False)
