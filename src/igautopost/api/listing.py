"""``GET /api/v1/posts/``: the caller's posts by publish time, with optional filters and pages.

The plain JSON array is the default (the old service's answer). Asking for ``?page=`` or
``?page_size=`` returns DRF's page object instead: ``{"count", "next", "previous", "results"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from ..models import Status
from ..storage.protocols import PostQuery
from .auth import UserId
from .context import ApiContext, context
from .errors import ApiError
from .serialize import post_body

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
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
) -> Any:
    """Your posts by publish time: a JSON array, or a page object when a page is asked for."""
    query = PostQuery(
        statuses=_statuses(status),
        account=user_id,
        owner_id=owner,
        publish_from=_moment(since, "since"),
        publish_until=_moment(until, "until"),
    )
    found = await ctx.run(ctx.store.list, query)
    if page is None and page_size is None:
        return JSONResponse([post_body(p) for p in found])
    return JSONResponse(_page(request, found, page or 1, page_size or DEFAULT_PAGE_SIZE))


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


def _moment(value: str | None, field: str) -> datetime | None:
    """Unix seconds or ISO 8601; a time without an offset is UTC."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise ApiError(400, {field: ["Enter Unix seconds or an ISO 8601 time."]}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
