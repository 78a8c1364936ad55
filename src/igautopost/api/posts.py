"""``/api/v1/posts/``: the old service's CRUD, through the same library calls as the CLI.

Create schedules (`igautopost.schedule`), PUT/PATCH edit (`igautopost.edit`: a new publish
time reschedules, new content re-prepares), DELETE cancels (`igautopost.cancel`). A user sees
only their own posts; a cancelled post is gone, as a deleted row was in the old service.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

import igautopost

from ..errors import InvalidPost, PostNotFound, Problem
from ..models import Post, Status
from ..storage.protocols import Store
from ..zones import default_zone
from .auth import UserId
from .context import ApiContext, both_slashes, context, read_data
from .errors import ApiError, field_errors, field_root
from .fields import TOKEN_NAMES, aliases, known_fields
from .legacy import TOKEN_PLACEHOLDER, old_rules
from .listing import list_posts
from .serialize import PostIn, PostOut, post_body

Ctx = Annotated[ApiContext, Depends(context)]
ACCOUNT_FIELDS = ("account", "user_id", "ig_user_id")
MAX_ID_DIGITS = 18  # larger ids cannot exist; refuse them before they overflow a column


def post_id_of(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise ApiError.not_found()
    return int(raw)


def visible(store: Store, post_id: int, owner: int) -> Post:
    """The caller's post; a cancelled post counts as deleted."""
    post = store.get(post_id, owner_id=owner)
    if post.status is Status.CANCELLED:
        raise PostNotFound(post_id)
    return post


def invalid(problems: list[Problem], data: dict[str, Any]) -> ApiError:
    return ApiError(400, field_errors(problems, data))


def schedule_one(
    store: Store, raw: dict[str, Any], now: datetime, owner: int, zone: tzinfo
) -> tuple[Post, bool]:
    """Store one post for `owner`; (the post, whether it is new). The old service's rules
    (required fields, nulls, limits) are checked with the library's, and all reported. A
    post without `timezone` takes `zone`, its times without an offset read in it."""
    stored = not _token_sent(raw) and _account_stored(store, raw, owner)  # no lookup otherwise
    data, problems = old_rules(raw, required=True, stored_token=stored)
    if problems:
        raise invalid(merged(problems, _problems_of(data, now, zone)), data)
    try:
        result = igautopost.schedule(store, [data], now=now, owner_id=owner, zone=zone)
    except InvalidPost as exc:
        raise invalid(exc.problems, data) from None
    if result.created:
        return result.created[0], True
    return result.existing[0], False  # the same client_key again: idempotent


def _problems_of(data: dict[str, Any], now: datetime, zone: tzinfo) -> list[Problem]:
    try:
        igautopost.parse_posts([data], now=now, zone=zone)
    except InvalidPost as exc:
        return exc.problems
    return []


def merged(first: list[Problem], more: list[Problem]) -> list[Problem]:
    """`first`, then those of `more` about other fields: a field the old rules refused is
    reported once, in the old service's words."""
    table = aliases()
    reported = {table.get(problem.field, problem.field) for problem in first}
    return first + [p for p in more if table.get(field_root(p.field)[0]) not in reported]


def _token_sent(data: dict[str, Any]) -> bool:
    return any(data.get(name) not in (None, TOKEN_PLACEHOLDER) for name in TOKEN_NAMES)


def _account_stored(store: Store, data: dict[str, Any], owner: int) -> bool:
    """A post may name a stored account of the caller's instead of carrying a token."""
    account = next((data[k] for k in ACCOUNT_FIELDS if data.get(k) is not None), None)
    return account is not None and store.accounts.find(owner, str(account)) is not None


def update_one(
    store: Store,
    post_id: int,
    raw: dict[str, Any],
    now: datetime,
    owner: int,
    replace: bool,
    zone: tzinfo,
) -> Post:
    """A PATCH keeps the post's `timezone` (its naive times are read in it); a PUT without
    one takes `zone`, as a new post does."""
    post = visible(store, post_id, owner)
    stored = post.has_token or _account_stored(store, raw, owner)
    data, problems = old_rules(raw, required=replace, stored_token=stored)
    if problems and replace:  # a PUT names every field: report the library's problems too
        problems = merged(problems, _problems_of(data, now, zone))
    if problems:
        raise invalid(problems, data)
    try:
        return igautopost.edit(
            store, post_id, data, now=now, owner_id=owner, replace=replace, zone=zone
        )
    except InvalidPost as exc:
        raise invalid(exc.problems, data) from None


def cancel_one(store: Store, post_id: int, now: datetime, owner: int) -> None:
    visible(store, post_id, owner)
    igautopost.cancel(store, post_id, now=now, owner_id=owner)


async def create_post(request: Request, owner: UserId, ctx: Ctx) -> Any:
    """Schedule a post (JSON or form body)."""
    data = known_fields(await read_data(request))
    zone = default_zone(ctx.settings.timezone)
    post, created = await ctx.write(schedule_one, ctx.store, data, ctx.clock.now(), owner, zone)
    ctx.wake(post)
    return JSONResponse(post_body(post), status_code=201 if created else 200)


async def get_post(post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """One of the caller's posts."""
    post = await ctx.run(visible, ctx.store, post_id_of(post_id), owner)
    return JSONResponse(post_body(post))


async def put_post(request: Request, post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """Replace a post's fields (every required field needed; the stored token is kept if none
    is sent). 409 if the post is being published or is published."""
    return await _update(request, post_id, owner, ctx, replace=True)


async def patch_post(request: Request, post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """Change some fields: a new date_pub reschedules, new content re-prepares. 409 if the
    post is being published or is published."""
    return await _update(request, post_id, owner, ctx, replace=False)


async def _update(
    request: Request, raw_id: str, owner: int, ctx: ApiContext, *, replace: bool
) -> Any:
    post_id = post_id_of(raw_id)
    data = known_fields(await read_data(request))
    zone = default_zone(ctx.settings.timezone)
    post = await ctx.write(
        update_one, ctx.store, post_id, data, ctx.clock.now(), owner, replace, zone
    )
    ctx.wake(post)
    return JSONResponse(post_body(post))


async def delete_post(post_id: str, owner: UserId, ctx: Ctx) -> Response:
    """Unschedule a post; it is gone afterwards (404). 409 if it is published."""
    await ctx.write(cancel_one, ctx.store, post_id_of(post_id), ctx.clock.now(), owner)
    return Response(status_code=204)


def _body_doc() -> dict[str, Any]:
    schema = PostIn.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": schema},
            },
        }
    }


def register(routes: APIRouter) -> None:
    """Add these endpoints to the app's router (flat, so 405 answers can list methods)."""
    one = "/api/v1/posts/{post_id}/"
    both_slashes(
        routes,
        "/api/v1/posts/",
        list_posts,
        tags=["posts"],
        methods=["GET"],
        response_model=list[PostOut],
        summary="List your posts",
    )
    both_slashes(
        routes,
        "/api/v1/posts/",
        create_post,
        tags=["posts"],
        methods=["POST"],
        status_code=201,
        response_model=PostOut,
        summary="Schedule a post",
        openapi_extra=_body_doc(),
    )
    both_slashes(
        routes,
        one,
        get_post,
        tags=["posts"],
        methods=["GET"],
        response_model=PostOut,
        summary="Get a post",
    )
    both_slashes(
        routes,
        one,
        put_post,
        tags=["posts"],
        methods=["PUT"],
        response_model=PostOut,
        summary="Replace a post",
        openapi_extra=_body_doc(),
    )
    both_slashes(
        routes,
        one,
        patch_post,
        tags=["posts"],
        methods=["PATCH"],
        response_model=PostOut,
        summary="Change a post",
        openapi_extra=_body_doc(),
    )
    both_slashes(
        routes,
        one,
        delete_post,
        tags=["posts"],
        methods=["DELETE"],
        status_code=204,
        summary="Unschedule a post",
        response_class=Response,
    )
