"""``/posts/new`` (create a post) and ``/posts/{id}`` (a post, its history and actions).

``GET /posts/new`` is the form (``form#post-form``; fields named as in `post_form.FIELDS`,
each ``<label for>``-ed, its errors in ``#{field}-error`` tied by ``aria-describedby``;
live counters ``#caption-chars``, ``#caption-hashtags``, ``#caption-mentions`` from
``static/post_form.js``). ``POST /posts/new`` checks it with the library, as
``igautopost schedule`` does (the same messages), checks its media as the API does, and
stores it with `igautopost.schedule`; then 303 to ``/posts/{id}`` saying so. A refused post
re-renders the form (400) with every message next to its field and stores nothing; the
access token is never written back into the form.

``GET /posts/{id}``: the operator's post (another user's, or none: 404) with its fields,
last error in plain words (``#post-error``), history (``table#history``) and the action
forms (`post_actions_page`); its status badge is ``#post-status``, a refused action's reason
``#action-error``, and the reschedule form's field ``#publish_at`` (its error
``#publish_at-error``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import igautopost

from ...errors import InvalidPost, PostNotFound, Problem
from ...models import Account, Event, Post, PostSpec, Status
from ...posts import EDITABLE
from ...storage.protocols import Store
from .flash import set_flash
from .plain_errors import plain_error
from .post_form import FIELDS, form_errors, merged, post_data
from .rendering import context_of, local_text, render, viewer_zone
from .session import CheckedForm, SignedIn

MEDIA_TYPES = (
    ("image", "Image"),
    ("reel", "Reel (video)"),
    ("story", "Story"),
    ("carousel", "Carousel (2 to 10 items)"),
)
MAX_ID_DIGITS = 18
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows


def post_id_of(raw: str) -> int | None:
    """The post id in a URL, or None for anything that cannot be one (a 404)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS:
        return int(raw)
    return None


def not_found(request: Request) -> HTMLResponse:
    values = {"title": "Not found", "message": "There is no such post of yours."}
    return render(request, "error.html", values, status=404)


def local_input(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime(LOCAL_INPUT)


# -- the new-post form ----------------------------------------------------------------------


async def new_post_form(request: Request, operator: SignedIn) -> HTMLResponse:
    return await _form_page(request, operator.user_id, {}, {}, status=200)


async def _form_page(
    request: Request,
    owner_id: int,
    fields: Mapping[str, str],
    errors: dict[str, list[str]],
    *,
    status: int,
) -> HTMLResponse:
    ctx = context_of(request)
    accounts: list[Account] = await ctx.run(ctx.store.accounts.list_accounts, owner_id)
    shown = {name: fields.get(name, "") for name in FIELDS if name != "access_token"}
    values = {
        "fields": shown,
        "errors": errors,
        "accounts": accounts,
        "media_types": MEDIA_TYPES,
        "limits": {"chars": 2200, "hashtags": 30, "mentions": 20},
    }
    return render(request, "post_new.html", values, status=status)


async def create_post(request: Request, operator: SignedIn, form: CheckedForm) -> Response:
    ctx = context_of(request)
    zone, now = viewer_zone(request), ctx.clock.now()
    data, problems = post_data(form)
    try:
        spec = _parsed(data, problems, now, zone)
        unchecked = ctx.media.check_cached(spec)
        if unchecked is None:  # the URL's first time here: fetched off the event loop
            unchecked = await ctx.run(ctx.media.check, spec)
        result = await ctx.write(_schedule, ctx.store, spec, now, operator.user_id, zone)
    except InvalidPost as exc:
        errors = form_errors(exc.problems, form)
        return await _form_page(request, operator.user_id, form, errors, status=400)
    post = (result.created or result.existing)[0]
    ctx.wake(post)
    answer = RedirectResponse(f"/posts/{post.id}", status_code=303)
    notes = [f"Post {post.id} scheduled for {local_text(post.publish_at, zone)}."]
    notes += [f"Warning: {w}" for w in result.warnings]
    notes += [f"Could not check {p.field}: {p.message}" for p in unchecked]
    set_flash(request, answer, " ".join(notes))
    return answer


def _parsed(data: dict[str, Any], problems: list[Problem], now: datetime, zone: tzinfo) -> PostSpec:
    """The post checked by the library; every problem (the form's and the library's) at once."""
    try:
        spec = igautopost.parse_posts([data], now=now, zone=zone)[0]
    except InvalidPost as exc:
        raise InvalidPost(merged(problems, exc.problems)) from None
    if problems:
        raise InvalidPost(problems)
    return spec


def _schedule(
    store: Store, spec: PostSpec, now: datetime, owner_id: int, zone: tzinfo
) -> igautopost.ScheduleResult:
    return igautopost.schedule(store, [spec], now=now, owner_id=owner_id, zone=zone)


# -- one post -------------------------------------------------------------------------------


def post_and_history(store: Store, post_id: int, owner_id: int) -> tuple[Post, list[Event]]:
    post = store.get(post_id, owner_id=owner_id)  # PostNotFound for another user's
    return post, store.events(post_id)


async def post_page(request: Request, post_id: str, operator: SignedIn) -> HTMLResponse:
    return await detail_page(request, post_id, operator.user_id)


async def detail_page(
    request: Request,
    raw_id: str,
    owner_id: int,
    *,
    status: int = 200,
    problem: str | None = None,
    field_errors: Mapping[str, str] | None = None,
    publish_at_text: str | None = None,
) -> HTMLResponse:
    """The post page; after a refused action, with its message (`problem`, or next to the
    field in `field_errors`) and the value the operator typed."""
    ctx = context_of(request)
    post_id = post_id_of(raw_id)
    if post_id is None:
        return not_found(request)
    try:
        post, events = await ctx.run(post_and_history, ctx.store, post_id, owner_id)
    except PostNotFound:
        return not_found(request)
    zone = viewer_zone(request)
    values = {
        "post": post,
        "events": events,
        "details": _details(post),
        "problem": plain_error(post),
        "action_error": problem,
        "field_errors": field_errors or {},
        "editable": post.status in EDITABLE,
        "failed": post.status is Status.FAILED,
        "publish_at_value": publish_at_text or local_input(post.publish_at, zone),
    }
    return render(request, "post_detail.html", values, status=status)


def _details(post: Post) -> list[tuple[str, str]]:
    """The post's fields as `igautopost show` lists them; never its token."""
    spec = post.spec.public_dict()
    rows = [(key, value if isinstance(value, str) else _text(value)) for key, value in spec.items()]
    rows = [(key, value) for key, value in rows if key != "publish_at" and value not in ("", "[]")]
    rows.append(("token", "(stored encrypted)" if post.has_token else "(the account's)"))
    for key in ("container_id", "media_id"):
        if getattr(post, key):
            rows.append((key, str(getattr(post, key))))
    return rows


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def register(routes: APIRouter) -> None:
    """Add this page's routes (the actions are `post_actions_page`'s)."""
    routes.add_api_route("/posts/new", new_post_form, methods=["GET"], include_in_schema=False)
    routes.add_api_route("/posts/new", create_post, methods=["POST"], include_in_schema=False)
    routes.add_api_route("/posts/{post_id}", post_page, methods=["GET"], include_in_schema=False)
