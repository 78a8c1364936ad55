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
    end: date | None  # the last day listed (inclusive); None: no end
    problems: dict[str, str]
    after: tuple[datetime, int] | None = None  # the next page: posts after this one

    def query(self, owner_id: int, zone: tzinfo) -> PostQuery:
        """The posts the page lists: the operator's own, narrowed by the filters."""
        since = None if self.start is None else datetime.combine(self.start, time(0), zone)
        until = None
        if self.end is not None:  # up to the end of that day, before the next one's midnight
            until = datetime.combine(self.end + timedelta(days=1), time(0), zone)
            until -= timedelta(microseconds=1)
        return PostQuery(
            owner_id=owner_id,
            account=self.account,
            statuses=frozenset({self.status}) if self.status else None,
            publish_from=since,
            publish_until=until,
            limit=PAGE_SIZE,
            after=self.after,
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters: the live stream lists what the page lists."""
        found = {"account": self.account or "", "status": self.status.value if self.status else ""}
        found = {name: value for name, value in found.items() if value}
        if self.end is not None:
            found["until"] = self.end.isoformat()
        return {**found, "from": self.start.isoformat() if self.start else ""}

    def next_page(self, posts: list[Post]) -> str | None:
        """The link to the posts after a full page's last one, with the same filters."""
        if len(posts) < PAGE_SIZE:
            return None
        last = posts[-1]
        after = f"{last.publish_at.isoformat()}~{last.id}"
        return "/queue?" + urlencode({**self.params(), "after": after})


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
    end = _day(given.get("until"), "until", problems)
    after = _position(given.get("after"), problems)
    account = given.get("account", "").strip() or None
    return QueueFilters(account, status, start, end, problems, after)


def _day(text: str | None, field: str, problems: dict[str, str]) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems[field] = f"{field}: must be a date such as 2031-01-05"
        return None


def _position(text: str | None, problems: dict[str, str]) -> tuple[datetime, int] | None:
    """``after=PUBLISH_AT~ID`` (from `QueueFilters.next_page`): where the next page starts."""
    if not text:
        return None
    moment, _, post_id = text.partition("~")
    try:
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None or not post_id.isdigit():
            raise ValueError
    except ValueError:
        problems["after"] = "after: must be a position such as 2031-01-05T08:00:00+00:00~42"
        return None
    return when, int(post_id)


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
        "next_page": filters.next_page(posts),
        "plain_error": plain_error,
    }
    return render(request, "queue.html", values, status=400 if filters.problems else 200)


def events_url(filters: QueueFilters, now: datetime, posts: list[Post]) -> str:
    """The page's live stream (`live`): its filters, when it was read, and the posts it
    shows that the engine still has a step for (on their way to Instagram, or published
    with the permalink still to read)."""
    watch = ",".join(str(post.id) for post in posts if _steps_ahead(post))
    params = {**filters.params(), "since": now.isoformat(), "watch": watch}
    return "/queue/events?" + urlencode(params, safe=",")


def _steps_ahead(post: Post) -> bool:
    follow_up = post.status is Status.PUBLISHED and post.next_attempt_at is not None
    return post.status.is_active or follow_up


def register(routes: APIRouter) -> None:
    routes.add_api_route("/queue", queue_page, methods=["GET"], include_in_schema=False)
