"""``/calendar``: the operator's posts on a month or a week, in the viewer's zone.

``GET /calendar?view=month|week&date=YYYY-MM-DD&account=...&status=...`` shows the days of
the month (or the week) holding ``date`` (default: today in the viewer's zone), each with its
first few posts as cards (thumbnail, local time, account, status) and "+K more", a link to
the queue from that day on. However many posts a day holds, one store read
(`PostStore.spans`) counts them all and builds the shown ones only: the month view of 10,000
posts stays well under 300 ms (benchmarks/dashboard_month.py).

The week view lays each day out in 24 hour slots of the viewer's zone (at most `PER_SLOT`
cards each, then "+K more"), still one read: 168 spans instead of 7. Around a change of
clocks a slot may be empty of time (the hour was skipped: nothing can be dropped there) or
hold two hours (the hour happened twice: a drop takes the first).

Each card links to the post's page (its reschedule form, for the keyboard); calendar.js lets
a mouse drag it to another day, keeping its time of day, or in the week view to an hour slot,
keeping its minutes (08:15 dropped on 14:00 is 14:15), through ``POST
/posts/{id}/reschedule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from ...models import Post, Status
from ...posts import EDITABLE
from ...storage.protocols import PostQuery, PostsInSpan, Store
from . import thumbnails
from .calendar_dates import (
    View,
    day_bounds,
    days_shown,
    local_day,
    neighbour,
    slot_bounds,
    title_of,
)
from .rendering import context_of, render, viewer_zone
from .session import SignedIn
from .thumbnails import PLACEHOLDER_SVG, Thumbnail, thumbnail_of

PER_DAY = 4  # cards shown in a month view's day; the rest is "+K more"
PER_SLOT = 3  # cards shown in a week view's hour slot
HOURS = 24
CAPTION_CHARS = 60
FIRST_YEAR, LAST_YEAR = 1971, 9998  # a page and its neighbours stay within datetime's range


class InvalidChoice(ValueError):
    """A query parameter the calendar cannot use: the message names it and the rule."""


@dataclass(frozen=True)
class Choice:
    """What the viewer asked to see."""

    view: View
    anchor: date
    account: str | None
    status: Status | None
    tz: str | None = None  # kept in links when the page was asked for in a given zone

    @classmethod
    def from_params(cls, params: QueryParams, today: date) -> Choice:
        view_name = params.get("view") or View.MONTH.value
        if view_name not in {v.value for v in View}:
            raise InvalidChoice("view: must be month or week")
        anchor = today
        if params.get("date"):
            try:
                anchor = date.fromisoformat(params["date"])
            except ValueError:
                raise InvalidChoice("date: must be a day written YYYY-MM-DD") from None
            if not FIRST_YEAR <= anchor.year <= LAST_YEAR:
                raise InvalidChoice(f"date: must be between {FIRST_YEAR} and {LAST_YEAR}")
        status_name = params.get("status") or None
        if status_name is not None and status_name not in {s.value for s in Status}:
            raise InvalidChoice("status: must be one of " + ", ".join(s.value for s in Status))
        account = params.get("account") or None
        status = Status(status_name) if status_name else None
        return cls(View(view_name), anchor, account, status, params.get("tz") or None)

    def link(self, **changes: Any) -> str:
        """This page's URL with `changes` (None drops a parameter)."""
        values: dict[str, Any] = {
            "view": self.view.value,
            "date": self.anchor.isoformat(),
            "account": self.account,
            "status": self.status.value if self.status else None,
            "tz": self.tz,
        }
        values.update(changes)
        return "/calendar?" + urlencode({k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True)
class Card:
    """One post as the calendar shows it."""

    id: int
    publish_at: str  # ISO 8601, UTC
    local_time: str  # the time of day in the viewer's zone: what a drag keeps
    status: str
    account_id: str
    account: str  # as the operator knows it: @username when the account is stored
    caption: str
    thumbnail: Thumbnail
    movable: bool


@dataclass(frozen=True)
class Slot:
    """One hour of a day in the week view: the posts whose local time is in that hour."""

    hour: int
    label: str  # "14:00"
    start: str  # ISO 8601, UTC: the slot's first instant
    offset: str  # "+01:00": the zone's offset then; a drop sends the local time with it
    length: timedelta  # an hour; none or two on a change of clocks
    total: int
    cards: list[Card]
    more_link: str | None

    @property
    def skipped(self) -> bool:
        return not self.length

    @property
    def repeated(self) -> bool:
        return self.length > timedelta(hours=1)


@dataclass(frozen=True)
class Day:
    date: date
    in_period: bool  # a month view's leading and trailing days of other months are not
    is_today: bool
    total: int
    cards: list[Card]  # in the week view, all of its slots' cards
    more_link: str | None  # the queue from this day on, when some are not shown
    slots: list[Slot] | None = None  # the week view's hours


async def calendar_page(request: Request, operator: SignedIn) -> HTMLResponse:
    ctx = context_of(request)
    zone = viewer_zone(request)
    today = local_day(ctx.clock.now(), zone)
    try:
        choice = Choice.from_params(request.query_params, today)
    except InvalidChoice as exc:
        values = {"title": "Calendar", "message": str(exc)}
        return render(request, "error.html", values, status=400)
    dates = days_shown(choice.view, choice.anchor)
    query = PostQuery(owner_id=operator.user_id, account=choice.account, statuses=_only(choice))
    if choice.view is View.WEEK:
        spans, labels = await ctx.run(_read, ctx.store, query, slot_bounds(dates, zone), PER_SLOT)
        days = [
            _week_day(choice, when, spans[i * HOURS : (i + 1) * HOURS], today, zone, labels)
            for i, when in enumerate(dates)
        ]
    else:
        spans, labels = await ctx.run(_read, ctx.store, query, day_bounds(dates, zone), PER_DAY)
        days = [
            _day(choice, when, span, today, zone, labels)
            for when, span in zip(dates, spans, strict=True)
        ]
    return render(request, "calendar.html", _page(choice, days, labels))


def _read(
    store: Store, query: PostQuery, bounds: list[Any], per_day: int
) -> tuple[list[PostsInSpan], dict[str, str]]:
    """The days' posts and the owner's accounts (their names for the cards and the filter):
    two reads, on one worker thread."""
    spans = store.spans(query, bounds, first=per_day)
    accounts = store.accounts.list_accounts(query.owner_id)
    return spans, {a.ig_user_id: f"@{a.username}" if a.username else a.ig_user_id for a in accounts}


def _only(choice: Choice) -> frozenset[Status] | None:
    return frozenset({choice.status}) if choice.status else None


def _day(
    choice: Choice, when: date, span: PostsInSpan, today: date, zone: tzinfo, labels: dict[str, str]
) -> Day:
    more = None
    if span.total > len(span.first):
        more = _queue_link(choice, when)
    in_period = choice.view is View.WEEK or (when.year, when.month) == (
        choice.anchor.year,
        choice.anchor.month,
    )
    cards = [_card(post, zone, labels) for post in span.first]
    return Day(when, in_period, when == today, span.total, cards, more)


def _week_day(
    choice: Choice,
    when: date,
    spans: list[PostsInSpan],
    today: date,
    zone: tzinfo,
    labels: dict[str, str],
) -> Day:
    queue = _queue_link(choice, when)  # built once: every slot's "+K more" is the day's queue
    slots = [_slot(hour, span, queue, zone, labels) for hour, span in enumerate(spans)]
    total = sum(slot.total for slot in slots)
    cards = [card for slot in slots for card in slot.cards]
    more = queue if total > len(cards) else None
    return Day(when, True, when == today, total, cards, more, slots)


def _slot(hour: int, span: PostsInSpan, queue: str, zone: tzinfo, labels: dict[str, str]) -> Slot:
    more = queue if span.total > len(span.first) else None
    return Slot(
        hour=hour,
        label=f"{hour:02d}:00",
        start=iso_utc(span.start),
        offset=_offset_text(span.start.astimezone(zone)),
        length=span.end - span.start,
        total=span.total,
        cards=[_card(post, zone, labels) for post in span.first],
        more_link=more,
    )


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _offset_text(local: datetime) -> str:
    """``+05:30``: the offset a local time is sent with (minutes only: tzdata's offsets since
    1970 are whole minutes)."""
    offset = local.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _card(post: Post, zone: tzinfo, labels: dict[str, str]) -> Card:
    local = post.publish_at.astimezone(zone)
    caption = post.spec.caption
    return Card(
        id=post.id,
        publish_at=post.publish_at.isoformat(),
        local_time=local.strftime("%H:%M" if local.second == 0 else "%H:%M:%S"),
        status=post.status.value,
        account_id=post.account,
        account=labels.get(post.account, post.account),
        caption=caption if len(caption) <= CAPTION_CHARS else caption[: CAPTION_CHARS - 1] + "…",
        thumbnail=thumbnail_of(post),
        movable=post.status in EDITABLE,
    )


def _queue_link(choice: Choice, when: date) -> str:
    """The queue of that day, with the same filters (``/queue?from=DAY&until=DAY``)."""
    day = when.isoformat()
    values = {"from": day, "until": day, "account": choice.account, "tz": choice.tz}
    values["status"] = choice.status.value if choice.status else None
    return "/queue?" + urlencode({k: v for k, v in values.items() if v is not None})


def _page(choice: Choice, days: list[Day], labels: dict[str, str]) -> dict[str, Any]:
    accounts = dict(labels)
    for day in days:  # a post may name an account that is not stored (its token given)
        for card in day.cards:
            accounts.setdefault(card.account_id, card.account)
    if choice.account:
        accounts.setdefault(choice.account, labels.get(choice.account, choice.account))
    view = choice.view
    return {
        "choice": choice,
        "title": title_of(view, choice.anchor),
        "days": days,
        "weeks": [days[start : start + 7] for start in range(0, len(days), 7)],
        "previous": choice.link(date=neighbour(view, choice.anchor, -1).isoformat()),
        "next": choice.link(date=neighbour(view, choice.anchor, 1).isoformat()),
        "today": choice.link(date=None),
        "other_view": choice.link(view=View.WEEK if view is View.MONTH else View.MONTH),
        "accounts": sorted(accounts.items(), key=lambda item: item[1].lower()),
        "statuses": [s.value for s in Status],
        "placeholder": PLACEHOLDER_SVG,
    }


def register(routes: APIRouter) -> None:
    routes.add_api_route("/calendar", calendar_page, methods=["GET"], include_in_schema=False)
    thumbnails.register(routes)


__all__ = ["Card", "Choice", "Day", "Slot", "register"]
