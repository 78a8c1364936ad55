"""The post actions: ``POST /posts/{id}/reschedule``, ``/retry``, ``/cancel``, ``/publish-now``.

Each is a CSRF-checked form (`CheckedForm`: the ``csrf_token`` field, or the
``X-CSRF-Token`` header a script sends) on the operator's own post, and runs the API's own
call for it: `api.post_actions.retry_one` and `publish_now`, `api.posts.cancel_one`, and
`igautopost.reschedule` on a post `api.posts.visible` finds (a cancelled post is gone, as in
the API). ``reschedule`` takes ``publish_at``: ISO 8601 with an offset, or a
``datetime-local`` value (``2031-01-05T08:00``) read in the viewer's zone.

Answers: with ``Accept: application/json`` (the calendar's drag and drop),
``{"id", "status", "publish_at"}``, or ``{"error": "..."}`` with 400 (bad ``publish_at``),
404 (no such post of the operator's) or 409 (its status forbids it). A form submit is sent
303 to ``next`` (a path of this site) or ``/posts/{id}``, with a message; a refused one
gets the post page again with the reason (next to the field for ``publish_at``) and the
status code above. The page's buttons: "Reschedule", "Retry", "Cancel post",
"Publish now"; the last three ask first (``data-confirm``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

import igautopost

from ...errors import InvalidPost, InvalidTransition, PostNotFound, Problem
from ...models import Post
from ...storage.protocols import Store
from ..post_actions import publish_now, retry_one
from ..posts import cancel_one, visible
from ..serialize import iso
from .flash import set_flash
from .post_pages import detail_page, not_found, post_id_of
from .rendering import context_of, local_text, viewer_zone
from .session import CheckedForm, SignedIn

BAD_TIME = "must be a date and time such as 2031-01-05T08:00 (your zone) or 2031-01-05T08:00+01:00"

Action = Callable[[Store, int, datetime, int], Post]


def publish_time(text: str, zone: tzinfo) -> datetime:
    """``publish_at`` as sent: ISO 8601 with an offset, or a local time in `zone`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        message = "is required" if not text.strip() else BAD_TIME
        raise InvalidPost([Problem("publish_at", message)]) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def reschedule_one(
    store: Store, post_id: int, publish_at: datetime, now: datetime, owner: int
) -> Post:
    visible(store, post_id, owner)
    return igautopost.reschedule(store, post_id, publish_at, now=now, owner_id=owner)


def cancel_and_read(store: Store, post_id: int, now: datetime, owner: int) -> Post:
    cancel_one(store, post_id, now, owner)
    return store.get(post_id, owner_id=owner)


async def reschedule_action(
    request: Request, post_id: str, operator: SignedIn, form: CheckedForm
) -> Response:
    text = form.get("publish_at", "")
    try:
        publish_at = publish_time(text, viewer_zone(request))
    except InvalidPost as exc:
        return await _refused(request, post_id, operator.user_id, exc, text)

    def change(store: Store, number: int, now: datetime, owner: int) -> Post:
        return reschedule_one(store, number, publish_at, now, owner)

    return await _act(request, post_id, operator.user_id, form, change, text)


async def retry_action(
    request: Request, post_id: str, operator: SignedIn, form: CheckedForm
) -> Response:
    return await _act(request, post_id, operator.user_id, form, retry_one)


async def cancel_action(
    request: Request, post_id: str, operator: SignedIn, form: CheckedForm
) -> Response:
    return await _act(request, post_id, operator.user_id, form, cancel_and_read)


async def publish_now_action(
    request: Request, post_id: str, operator: SignedIn, form: CheckedForm
) -> Response:
    return await _act(request, post_id, operator.user_id, form, publish_now)


async def _act(
    request: Request,
    raw_id: str,
    owner: int,
    form: dict[str, str],
    action: Action,
    typed: str | None = None,
) -> Response:
    ctx = context_of(request)
    number = post_id_of(raw_id)
    try:
        if number is None:
            raise PostNotFound(0)
        post = await ctx.write(action, ctx.store, number, ctx.clock.now(), owner)
    except (InvalidPost, InvalidTransition, PostNotFound) as exc:
        return await _refused(request, raw_id, owner, exc, typed)
    ctx.wake(post)
    if wants_json(request):
        return JSONResponse(_body(post))
    answer = RedirectResponse(_next(form.get("next"), post.id), status_code=303)
    set_flash(request, answer, _done(action, post, viewer_zone(request)))
    return answer


async def _refused(
    request: Request, raw_id: str, owner: int, exc: Exception, typed: str | None
) -> Response:
    status, message = _status_of(exc)
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    if status == 404:
        return not_found(request)
    on_field = isinstance(exc, InvalidPost) and all(p.field == "publish_at" for p in exc.problems)
    return await detail_page(
        request,
        raw_id,
        owner,
        status=status,
        problem=None if on_field else message,
        field_errors={"publish_at": message} if on_field else None,
        publish_at_text=typed,
    )


def _status_of(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, PostNotFound):
        return 404, "Not found: there is no such post of yours."
    if isinstance(exc, InvalidPost):
        return 400, "; ".join(str(Problem(p.field, p.message)) for p in exc.problems)
    return 409, str(exc)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _body(post: Post) -> dict[str, object]:
    return {"id": post.id, "status": post.status.value, "publish_at": iso(post.publish_at)}


def _next(target: str | None, post_id: int) -> str:
    """Where a form goes back to: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"/posts/{post_id}"


def _done(action: Action, post: Post, zone: tzinfo) -> str:
    when = local_text(post.publish_at, zone)
    if action is cancel_and_read:
        return f"Post {post.id} cancelled."
    if action is retry_one:
        return f"Post {post.id} will be tried again ({post.status.value}, {when})."
    if action is publish_now:
        return f"Post {post.id} is being published now ({post.status.value})."
    return f"Post {post.id} now publishes at {when}."


def register(routes: APIRouter) -> None:
    """Add the action routes."""
    base = "/posts/{post_id}"
    for path, endpoint in (
        ("reschedule", reschedule_action),
        ("retry", retry_action),
        ("cancel", cancel_action),
        ("publish-now", publish_now_action),
    ):
        routes.add_api_route(f"{base}/{path}", endpoint, methods=["POST"], include_in_schema=False)
