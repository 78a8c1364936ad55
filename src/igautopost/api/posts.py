"""``/api/v1/posts/``: the old service's CRUD, through the same library calls as the CLI.

Create schedules (`igautopost.schedule`), PUT/PATCH edit (`igautopost.edit`: a new publish
time reschedules, new content re-prepares), DELETE cancels (`igautopost.cancel`). A user sees
only their own posts; a cancelled post is gone, as a deleted row was in the old service.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

import igautopost

from ..errors import InvalidPost, PostNotFound, Problem
from ..media_intake import local_items
from ..models import Post, PostSpec, Status
from ..posts import SchedulePlan, plan_schedule
from ..storage.protocols import Store
from ..zones import default_zone
from .auth import UserId
from .context import ApiContext, both_slashes, context
from .direct import DirectRoute
from .errors import ApiError, field_errors, field_root
from .fields import TOKEN_NAMES, aliases, known_fields
from .legacy import TOKEN_PLACEHOLDER, old_rules
from .listing import list_posts
from .post_media import PostMedia, Upload
from .serialize import PostIn, PostOut, post_body
from .uploads import read_post_body, refuse_oversize, upload_body_doc

Ctx = Annotated[ApiContext, Depends(context)]
ACCOUNT_FIELDS = ("account", "user_id", "ig_user_id")
CLIENT_PATH = (
    "A server never reads a file a client names: upload the file itself as "
    "multipart/form-data in media_url (curl -F media_url=@sunrise.jpg ...)."
)
CLIENT_FILE = (
    "Is set by the server from a file uploaded in media_url in the same request; "
    "upload the file as multipart/form-data in media_url."
)
UPLOAD_ON_EDIT = (
    "A file is uploaded when a post is scheduled (POST); to change an uploaded post's "
    "media, delete the post and schedule it again with the new file, or send a URL."
)
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


@dataclass(frozen=True)
class Prepared:
    """A post checked but not stored: its fields as sent (for naming fields in errors),
    its spec, and its media items that could not be checked."""

    data: dict[str, Any]
    spec: PostSpec
    unchecked: list[Problem]


class NotCached(Exception):
    """The post's media must be fetched to be checked: not on the writer thread."""

    def __init__(self, data: dict[str, Any], spec: PostSpec) -> None:
        super().__init__("media not in the checker's cache")
        self.data, self.spec = data, spec


def checked_spec(
    store: Store,
    raw: dict[str, Any],
    now: datetime,
    owner: int,
    zone: tzinfo,
    upload: Upload | None = None,
) -> tuple[dict[str, Any], PostSpec]:
    """The old service's rules (required fields, nulls, limits) checked with the library's,
    and all reported; a post without `timezone` takes `zone`, its times without an offset
    read in it."""
    stored = not _token_sent(raw) and _account_stored(store, raw, owner)  # no lookup otherwise
    data, problems = old_rules(raw, required=True, stored_token=stored)
    try:
        if problems:
            raise InvalidPost(merged(problems, _problems_of(data, now, zone)))
        return data, igautopost.parse_posts([data], now=now, zone=zone)[0]
    except InvalidPost as exc:
        raise _refused(exc.problems, data, upload) from None


def prepared_upload(
    store: Store,
    raw: dict[str, Any],
    now: datetime,
    owner: int,
    zone: tzinfo,
    media: PostMedia,
    upload: Upload,
) -> Prepared:
    """A post whose file was uploaded: checked and copied into the media store (on a pool
    thread: that reads the whole file), its problems named by the upload's field."""
    data, spec = checked_spec(store, raw, now, owner, zone, upload)
    try:
        spec, unchecked = media.take_upload(spec, upload)
    except InvalidPost as exc:
        raise _refused(exc.problems, data, upload) from None
    return Prepared(data, spec, unchecked)


def _refused(problems: list[Problem], data: dict[str, Any], upload: Upload | None) -> ApiError:
    """A 400; an upload's problems (on ``media_path``, which the server set) under the
    field the client sent the file in."""
    if upload is None:
        return invalid(problems, data)
    named = {"media_path": upload.field, "media_file": upload.field}
    renamed = [Problem(named.get(p.field, p.field), p.message, p.index) for p in problems]
    return invalid(renamed, {**data, upload.field: upload.name})


def prepared_post(
    store: Store,
    raw: dict[str, Any],
    now: datetime,
    owner: int,
    zone: tzinfo,
    media: PostMedia,
) -> Prepared:
    """A post checked and ready to store: its fields, and its media judged from the
    checker's cache, a lookup. Media the cache does not know raises `NotCached`, to be
    checked on a pool thread (`fetched_check`); nothing here waits for the network."""
    data, spec = checked_spec(store, raw, now, owner, zone)
    try:
        refuse_item_paths(spec)
        unchecked = media.check_cached(spec)
    except InvalidPost as exc:
        raise invalid(exc.problems, data) from None
    if unchecked is None:
        raise NotCached(data, spec)
    return Prepared(data, spec, unchecked)


def needs_store(raw: dict[str, Any]) -> bool:
    """Whether checking `raw` reads the store: a post without a token may name an account
    stored for its owner. The old app always sends one."""
    return not _token_sent(raw)


@dataclass(frozen=True)
class PostPlan:
    """A checked post and what storing it will do (`igautopost.posts.plan_schedule`)."""

    prepared: Prepared
    schedule: SchedulePlan
    now: datetime
    owner: int


def planned_post(store: Store, prepared: Prepared, now: datetime, owner: int) -> PostPlan:
    """The reads of storing one checked post for `owner` (its account, client key, near
    duplicates): run before the write gate is taken (`api.writer`)."""
    try:
        plan = plan_schedule(store, [prepared.spec], now=now, owner_id=owner)
    except InvalidPost as exc:
        raise invalid(exc.problems, prepared.data) from None
    return PostPlan(prepared, plan, now, owner)


def store_planned(plan: PostPlan) -> tuple[Post, bool, list[Problem]]:
    """Store a planned post: (the post, whether it is new, its media items that could not
    be checked). A post with the same client key stored since the plan (by a POST batched
    before it, or by another process) is that post, as it would have been a moment later."""
    try:
        result = plan.schedule.store_posts()
    except InvalidPost as exc:
        if not all(problem.field == "client_key" for problem in exc.problems):
            raise invalid(exc.problems, plan.prepared.data) from None
        again = planned_post(plan.schedule.store, plan.prepared, plan.now, plan.owner)
        result = again.schedule.store_posts()
    unchecked = plan.prepared.unchecked
    if result.created:
        return result.created[0], True, unchecked
    return result.existing[0], False, unchecked  # the same client_key: idempotent


def fetched_check(data: dict[str, Any], spec: PostSpec, media: PostMedia) -> Prepared:
    """The media check that may fetch (a pool thread), for `schedule_one` to store after."""
    try:
        return Prepared(data, spec, media.check(spec))
    except InvalidPost as exc:
        raise invalid(exc.problems, data) from None


def refuse_client_files(data: dict[str, Any], stored: PostSpec | None = None) -> None:
    """A server never reads a path a client names, nor takes a copy's key from it: 400 for
    `media_path` or `media_file` in a body, unless it repeats `stored`'s (a fetched post
    sent back; then it is dropped, and the stored copy kept)."""
    table = aliases()
    errors: dict[str, list[str]] = {}
    for key in list(data):
        field = table.get(key)
        if field not in ("media_path", "media_file"):
            continue
        if stored is not None and data[key] == getattr(stored, field):
            del data[key]
            continue
        errors[key] = [CLIENT_PATH if field == "media_path" else CLIENT_FILE]
    if errors:
        raise ApiError(400, errors)


def refuse_item_paths(spec: PostSpec) -> None:
    """A carousel item's ``media_path`` (inside `children`) is a path a client names too."""
    problems = [Problem(item.field, CLIENT_PATH) for item in local_items(spec)]
    if problems:
        raise InvalidPost(problems)


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
    refuse_client_files(raw, post.spec)
    raw = _keeping_upload(raw, post.spec, replace)
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


def _keeping_upload(raw: dict[str, Any], stored: PostSpec, replace: bool) -> dict[str, Any]:
    """A post made from an upload keeps its copy unless a URL is sent instead (its answers
    show ``url`` empty: sent back by a PUT, that is no URL); a URL replaces the copy."""
    if stored.media_file is None:
        return raw
    table = aliases()
    url = next((v for k, v in raw.items() if table.get(k) == "media_url"), None)
    if isinstance(url, str) and url.strip():
        return {**raw, "media_path": None, "media_file": None}
    if not replace:
        return raw
    kept = {k: v for k, v in raw.items() if table.get(k) != "media_url"}
    return {**kept, "media_path": stored.media_path, "media_file": stored.media_file}


def cancel_one(store: Store, post_id: int, now: datetime, owner: int) -> None:
    visible(store, post_id, owner)
    igautopost.cancel(store, post_id, now=now, owner_id=owner)


async def create_post(request: Request, owner: UserId, ctx: Ctx) -> Any:
    """Schedule a post (JSON or form body; a form may carry the media file in media_url)."""
    raw, upload = await read_post_body(request)
    zone = default_zone(ctx.settings.timezone)
    now = ctx.clock.now()
    prepared: Prepared | None = None
    try:
        data = known_fields(raw)
        refuse_client_files(data)
        if upload is not None:
            data = _with_upload(data, upload)
            prepared = await ctx.run(
                prepared_upload, ctx.store, data, now, owner, zone, ctx.media, upload
            )
    finally:
        if upload is not None:
            upload.file.file.close()
    if prepared is None:
        prepared = await _checked(ctx, data, now, owner, zone)
    post, created, unchecked = await ctx.write_planned(
        functools.partial(planned_post, ctx.store, prepared, now, owner), store_planned
    )
    ctx.wake(post)
    headers = {"Warning": _warning(unchecked, data)} if unchecked else None
    return JSONResponse(post_body(post), status_code=201 if created else 200, headers=headers)


async def _checked(
    ctx: ApiContext, data: dict[str, Any], now: datetime, owner: int, zone: tzinfo
) -> Prepared:
    """`prepared_post`, on the event loop when it reads nothing (about 200 us of CPU: a hop
    to a thread costs more), else as a point read; media not in the cache is fetched on
    the pool."""
    args = (ctx.store, data, now, owner, zone, ctx.media)
    try:
        if needs_store(data):
            return await ctx.read(prepared_post, *args)
        return prepared_post(*args)
    except NotCached as missed:  # the URL's first time here (or a while ago): fetch it
        return await ctx.run(fetched_check, missed.data, missed.spec, ctx.media)


def _with_upload(data: dict[str, Any], upload: Upload) -> dict[str, Any]:
    """The fields with the uploaded file as the post's ``media_path`` (its safe name, shown
    in answers): the library takes it in as a local file (`PostMedia.take_upload`)."""
    refuse_oversize(data, upload)
    table = aliases()
    url_sent = [k for k, v in data.items() if table.get(k) == "media_url" and v not in ("", None)]
    if url_sent:
        raise ApiError(400, {url_sent[0]: ["Send the media as a file or as a URL, not both."]})
    kept = {k: v for k, v in data.items() if table.get(k) != "media_url"}
    return {**kept, "media_path": upload.name}


def _warning(unchecked: list[Problem], data: dict[str, Any]) -> str:
    """An RFC 9111 ``Warning`` header (code 199, "miscellaneous"): the post is scheduled,
    but some of its media could not be checked now (a network failure)."""
    named = field_errors(unchecked, data)
    text = "; ".join(f"{field}: could not check: {' '.join(m)}" for field, m in named.items())
    text = text.encode("ascii", "replace").decode("ascii").replace("\\", "/").replace('"', "'")
    return f'199 igautopost "{text}"'


async def get_post(post_id: str, owner: UserId, ctx: Ctx) -> Any:
    """One of the caller's posts."""
    post = await ctx.read(visible, ctx.store, post_id_of(post_id), owner)
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
    raw, upload = await read_post_body(request)
    if upload is not None:
        upload.file.file.close()
        raise ApiError(400, {upload.field: [UPLOAD_ON_EDIT]})
    data = known_fields(raw)
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


def _body_doc(*, upload: bool) -> dict[str, Any]:
    schema = PostIn.model_json_schema()
    form = upload_body_doc(schema) if upload else schema
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": form},
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
        route_class_override=DirectRoute,
        methods=["POST"],
        status_code=201,
        response_model=PostOut,
        summary="Schedule a post",
        openapi_extra=_body_doc(upload=True),
    )
    both_slashes(
        routes,
        one,
        get_post,
        tags=["posts"],
        route_class_override=DirectRoute,
        methods=["GET"],
        response_model=PostOut,
        summary="Get a post",
    )
    both_slashes(
        routes,
        one,
        put_post,
        tags=["posts"],
        route_class_override=DirectRoute,
        methods=["PUT"],
        response_model=PostOut,
        summary="Replace a post",
        openapi_extra=_body_doc(upload=False),
    )
    both_slashes(
        routes,
        one,
        patch_post,
        tags=["posts"],
        route_class_override=DirectRoute,
        methods=["PATCH"],
        response_model=PostOut,
        summary="Change a post",
        openapi_extra=_body_doc(upload=False),
    )
    both_slashes(
        routes,
        one,
        delete_post,
        tags=["posts"],
        route_class_override=DirectRoute,
        methods=["DELETE"],
        status_code=204,
        summary="Unschedule a post",
        response_class=Response,
    )
