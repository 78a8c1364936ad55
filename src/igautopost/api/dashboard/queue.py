"""``/queue``: the operator's posts by publish time, with status and last error."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...models import Post
from ...storage.protocols import PostQuery
from .rendering import context_of, render
from .session import SignedIn

PAGE_SIZE = 200


async def queue_page(request: Request, operator: SignedIn) -> HTMLResponse:
    ctx = context_of(request)
    query = PostQuery(owner_id=operator.user_id, limit=PAGE_SIZE)
    posts: list[Post] = await ctx.run(ctx.store.list, query)
    return render(request, "queue.html", {"posts": posts})


def register(routes: APIRouter) -> None:
    routes.add_api_route("/queue", queue_page, methods=["GET"], include_in_schema=False)
