"""``GET /api/v1/posts/``: the caller's posts by publish time, with optional filters and pages.

The plain JSON array is the default (the old service's answer). It is streamed, read from the
store a page at a time, so that a long list costs the server one page of memory. Two
extensions page it without a count: ``?limit=N`` returns at most N posts and, when there may
be more, a ``Link: <...>; rel="next"`` header whose URL continues after the last one
(``after_id``); each page is one indexed range, however deep. Asking for ``?page=`` or
``?page_size=`` returns DRF's page object instead: ``{"count", "next", "previous", "results"}``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..errors import PostNotFound
from ..models import Post, Status
from ..storage.protocols import PostQuery
from ..zones import default_zone
from .auth import UserId
from .context import ApiContext, context
from .errors import ApiError
from .legacy import BIGINT_MAX
from .serialize import post_body

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
STREAM_PAGE = 500  # posts read from the store at a time while streaming the whole list
VISIBLE = frozenset(s for s in Status if s is not Status.CANCELLED)


async def list_posts(
    request: Request,
    owner: UserId,
    ctx: Annotated[ApiContext, Depends(context)],
    status: Annotated[
        list[str] | None,
        Query(
            description="Only these statuses (repeat, or comma-separate); cancelled posts only "
            "appear when asked for"
        ),
    ] = None,
    user_id: Annotated[str | None, Query(description="Only this IG user id")] = None,
    since: Annotated[
        str | None, Query(description="Publish time from: Unix seconds or ISO 8601")
    ] = None,
    until: Annotated[
        str | None, Query(description="Publish time until: Unix seconds or ISO 8601")
    ] = None,
    page: Annotated[
        int | None, Query(ge=1, description="Page number: returns a page object")
    ] = None,
    page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description="At most this many posts; a Link header names the next page (extension)",
        ),
    ] = None,
    after_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=BIGINT_MAX,  # a larger id cannot exist, and would overflow the column
            description="Only posts after this one in the list's order (extension)",
        ),
    ] = None,
) -> Any:
    """Your posts by publish time: a JSON array, or a page object when a page is asked for."""
    query = PostQuery(
        statuses=_statuses(status),
        account=user_id,
        owner_id=owner,
        publish_from=_moment(since, "since"),
        publish_until=_moment(until, "until"),
    )
    if after_id is not None:
        query = replace(query, after=await _position(ctx, after_id, owner))
    if page is not None or page_size is not None:
        found = await ctx.run(ctx.store.list, query)
        return JSONResponse(_page(request, found, page or 1, page_size or DEFAULT_PAGE_SIZE))
    if limit is not None:
        return await _limited(request, ctx, replace(query, limit=limit))
    # The first page is read before anything is sent: a store that fails answers a 500, and a
    # list that fits in one page goes out as one body.
    query = replace(query, limit=STREAM_PAGE)
    first = await ctx.run(ctx.store.list, query)
    if len(first) < STREAM_PAGE:
        return JSONResponse([post_body(p) for p in first])
    return StreamingResponse(_streamed(ctx, query, first), media_type="application/json")


async def _position(ctx: ApiContext, after_id: int, owner: int) -> tuple[datetime, int]:
    try:
        post = await ctx.run(ctx.store.get, after_id, owner_id=owner)
    except PostNotFound:
        raise ApiError(400, {"after_id": ["No post of yours has this id."]}) from None
    return post.publish_at, post.id


async def _limited(request: Request, ctx: ApiContext, query: PostQuery) -> Response:
    found = await ctx.run(ctx.store.list, query)
    response = JSONResponse([post_body(p) for p in found])
    if query.limit is not None and len(found) == query.limit:
        url = request.url.remove_query_params("after_id").include_query_params(
            after_id=found[-1].id
        )
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response


async def _streamed(ctx: ApiContext, query: PostQuery, found: list[Post]) -> AsyncIterator[bytes]:
    """The whole list as one JSON array, sent a page at a time (`found` is the first)."""
    yield b"[" + b",".join(_json(post_body(p)) for p in found)
    while len(found) == STREAM_PAGE:
        query = replace(query, after=(found[-1].publish_at, found[-1].id))
        found = await ctx.run(ctx.store.list, query)
        if found:
            yield b"," + b",".join(_json(post_body(p)) for p in found)
    yield b"]"


def _json(body: dict[str, Any]) -> bytes:
    """As JSONResponse writes it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _page(request: Request, found: list[Any], page: int, size: int) -> dict[str, Any]:
    start = (page - 1) * size
    if start and start >= len(found):
        raise ApiError.detail(404, "Invalid page.")
    url = request.url

    def link(number: int) -> str:
        return str(url.include_query_params(page=number, page_size=size))

    return {
        "count": len(found),
        "next": link(page + 1) if start + size < len(found) else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": [post_body(p) for p in found[start : start + size]],
    }


def _statuses(values: list[str] | None) -> frozenset[Status]:
    if not values:
        return VISIBLE
    names = [name.strip().lower() for value in values for name in value.split(",") if name.strip()]
    try:
        return frozenset(Status(name) for name in names)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise ApiError(400, {"status": [f"Select valid statuses: {known}."]}) from None


def _moment(value: str | None, field: str, zone: tzinfo | None = None) -> datetime | None:
    """Unix seconds or ISO 8601; a time without an offset is read in `zone` (default:
    `default_zone()`, IGAUTOPOST_TIMEZONE else the server's zone), as a post's are."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise ApiError(400, {field: ["Enter Unix seconds or an ISO 8601 time."]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone if zone is not None else default_zone())
    return moment
