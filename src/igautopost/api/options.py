"""``OPTIONS`` on the posts URLs: the endpoint described as Django REST Framework's
`SimpleMetadata` describes it (name, description, renders, parses, and the fields a write
takes), for the old service's clients that read it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ..errors import PostNotFound
from .auth import UserId
from .context import ApiContext, both_slashes, context
from .errors import ApiError
from .legacy import URL_MAX_CHARS
from .posts import post_id_of, visible

Ctx = Annotated[ApiContext, Depends(context)]
RENDERS = ["application/json"]
PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
CONTENT_TYPES = ("Photo", "Video", "Reel", "Story", "Carousel")


def _field(kind: str, label: str, *, required: bool = False, **extra: Any) -> dict[str, Any]:
    read_only = kind == "read_only"
    return {
        "type": "integer" if read_only else kind,
        "required": required,
        "read_only": read_only,
        "label": label,
        **extra,
    }


# The old serializer's fields, in its order, with the types it declared.
POST_FIELDS: dict[str, dict[str, Any]] = {
    "id": _field("read_only", "ID"),
    "user_id": _field("integer", "User id", required=True),
    "caption": _field("string", "Caption"),
    "url": _field("string", "Url", required=True, max_length=URL_MAX_CHARS),
    "location_id": _field("string", "Location id"),
    "user_tags": _field("string", "User tags"),
    "thump_offset": _field("string", "Thump offset"),
    "token": _field("string", "Token", required=True),
    "date_pub": _field("integer", "Date pub", required=True),
    "content_type": _field(
        "choice",
        "Content type",
        required=True,
        choices=[{"value": name, "display_name": name} for name in CONTENT_TYPES],
    ),
    "schedule_id": _field("read_only", "Schedule id"),
}


def describe(name: str, description: str, actions: dict[str, Any], allow: str) -> JSONResponse:
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "renders": RENDERS,
        "parses": PARSES,
    }
    if actions:
        body["actions"] = actions
    return JSONResponse(body, headers={"Allow": allow})


async def options_list(_owner: UserId) -> JSONResponse:
    """Describe the posts list: what a POST takes."""
    return describe(
        "Post List",
        "Your scheduled posts; POST schedules one.",
        {"POST": POST_FIELDS},
        "GET, POST, HEAD, OPTIONS",
    )


async def options_detail(post_id: str, owner: UserId, ctx: Ctx) -> JSONResponse:
    """Describe one post: what a PUT takes (left out when the post is not the caller's)."""
    try:
        await ctx.read(visible, ctx.store, post_id_of(post_id), owner)
        actions = {"PUT": POST_FIELDS}
    except (PostNotFound, ApiError):  # DRF leaves the actions out for an object it cannot get
        actions = {}
    return describe(
        "Post Instance",
        "One scheduled post: PUT or PATCH edits it, DELETE unschedules it.",
        actions,
        "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
    )


def register(routes: APIRouter) -> None:
    both_slashes(
        routes,
        "/api/v1/posts/",
        options_list,
        tags=["posts"],
        methods=["OPTIONS"],
        summary="Describe the posts list",
    )
    both_slashes(
        routes,
        "/api/v1/posts/{post_id}/",
        options_detail,
        tags=["posts"],
        methods=["OPTIONS"],
        summary="Describe a post",
    )
