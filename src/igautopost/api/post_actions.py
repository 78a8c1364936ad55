"""Extensions beside the old endpoints: a post's history, retry, publish now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

import igautopost

from ..models import Event, Post, Status
from ..storage.protocols import Store
from .auth import UserId
from .context import ApiContext, both_slashes, context
from .posts import post_id_of, visible
from .serialize import EventOut, PostOut, event_body, post_body

Ctx = Annotated[ApiContext, Depends(context)]


def history(store: Store, post_id: int, owner: int) -> list[Event]:
    store.get(post_id, owner_id=owner)  # the caller's post, cancelled ones included
    return store.events(post_id)


def retry_one(store: Store, post_id: int, now: datetime, owner: int) -> Post:
    visible(store, post_id, owner)
    return igautopost.retry(store, post_id, now=now, owner_id=owner)


def publish_now(store: Store, post_id: int, now: datetime, owner: int) -> Post:
    """A failed post is retried; any other editable post is moved to now."""
    post = visible(store, post_id, owner)
    if post.status is Status.FAILED:
        return igautopost.retry(store, post_id, now=now, owner_id=owner)
    return igautopost.reschedule(store, post_id, now, now=now, owner_id=owner)


async def get_events(post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """The post's history, oldest first: every status change and notable step."""
    events = await ctx.run(history, ctx.store, post_id_of(post_id), owner)
    return JSONResponse([event_body(e) for e in events])


async def post_retry(post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """Schedule a failed post again (a past publish time becomes now). 409 unless failed."""
    post = await ctx.run(retry_one, ctx.store, post_id_of(post_id), ctx.clock.now(), owner)
    ctx.wake(post)
    return JSONResponse(post_body(post))


async def post_publish_now(post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """Publish as soon as possible: reschedule to now, or retry a failed post. 409 if the
    post is published or being published."""
    post = await ctx.run(publish_now, ctx.store, post_id_of(post_id), ctx.clock.now(), owner)
    ctx.wake(post)
    return JSONResponse(post_body(post))


def register(routes: APIRouter) -> None:
    """Add these endpoints to the app's router (flat, so 405 answers can list methods)."""
    base = "/api/v1/posts/{post_id}"
    both_slashes(
        routes,
        f"{base}/events/",
        get_events,
        tags=["extensions"],
        methods=["GET"],
        response_model=list[EventOut],
        summary="A post's history",
    )
    both_slashes(
        routes,
        f"{base}/retry/",
        post_retry,
        tags=["extensions"],
        methods=["POST"],
        response_model=PostOut,
        summary="Retry a failed post",
    )
    both_slashes(
        routes,
        f"{base}/publish-now/",
        post_publish_now,
        tags=["extensions"],
        methods=["POST"],
        response_model=PostOut,
        summary="Publish a post now",
    )
