"""Which parameters a container may have, checked like the real API (graph-api.md table).

`check_container_params` turns the parameters of `POST /{ig-user-id}/media` into a
`ContainerSpec` or raises the `GraphErrorAnswer` Meta would answer. Checks that need other
containers (carousel children) live in the state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from igautopost.sandbox.errors import GraphErrorAnswer, invalid_parameter, missing_parameter

_VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv")
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w])@[\w.]+")

# Parameters the table marks "-" (not allowed) per container shape.
_FORBIDDEN: dict[str, frozenset[str]] = {
    "image": frozenset(
        {"video_url", "children", "thumb_offset", "cover_url", "share_to_feed", "audio_name"}
    ),
    "reel": frozenset({"image_url", "children", "alt_text", "product_tags"}),
    "story": frozenset(
        {
            "children",
            "alt_text",
            "location_id",
            "collaborators",
            "thumb_offset",
            "cover_url",
            "share_to_feed",
            "audio_name",
            "product_tags",
        }
    ),
    "carousel": frozenset(
        {
            "image_url",
            "video_url",
            "alt_text",
            "thumb_offset",
            "cover_url",
            "share_to_feed",
            "audio_name",
        }
    ),
    "child_image": frozenset(
        {
            "video_url",
            "children",
            "caption",
            "location_id",
            "collaborators",
            "thumb_offset",
            "cover_url",
            "share_to_feed",
            "audio_name",
        }
    ),
    "child_video": frozenset(
        {
            "image_url",
            "children",
            "caption",
            "location_id",
            "collaborators",
            "alt_text",
            "cover_url",
            "share_to_feed",
            "audio_name",
        }
    ),
}


@dataclass(frozen=True)
class ContainerSpec:
    """What a valid create call asks for."""

    kind: str  # IMAGE, VIDEO or CAROUSEL
    product_type: str  # FEED, REELS or STORY
    media_url: str | None
    caption: str | None
    is_carousel_item: bool
    children: tuple[str, ...]
    resumable: bool
    failure_subcode: int | None  # processing will end in ERROR with this subcode


def check_container_params(
    params: dict[str, str], failing_patterns: tuple[str, ...], failure_subcode: int
) -> ContainerSpec:
    """Validate one create call; raise the real API's error for the first problem."""
    shape = _shape(params)
    forbidden = sorted(_FORBIDDEN[shape] & params.keys())
    if forbidden:
        raise invalid_parameter(
            f"The parameter {forbidden[0]} is not supported for this media type"
        )
    resumable = params.get("upload_type") == "resumable"
    media_url = _media_url(shape, params, resumable)
    caption = params.get("caption")
    if caption is not None:
        check_caption(caption)
    _check_extras(params, shape)
    failure = _processing_failure(params, media_url, failing_patterns, failure_subcode)
    children = tuple(c.strip() for c in params.get("children", "").split(",") if c.strip())
    return ContainerSpec(
        kind=_kind(shape, params),
        product_type={"reel": "REELS", "story": "STORY"}.get(shape, "FEED"),
        media_url=media_url,
        caption=caption,
        is_carousel_item=shape.startswith("child"),
        children=children,
        resumable=resumable,
        failure_subcode=failure,
    )


def check_caption(caption: str) -> None:
    """36004/2207010 when the caption breaks Instagram's length, hashtag or mention limits."""
    if len(caption) > 2200:
        raise GraphErrorAnswer(36004, 2207010, user_msg="The caption exceeds 2,200 characters.")
    if len(_HASHTAG.findall(caption)) > 30:
        raise GraphErrorAnswer(36004, 2207010, user_msg="The caption has more than 30 hashtags.")
    if len(_MENTION.findall(caption)) > 20:
        raise GraphErrorAnswer(36004, 2207010, user_msg="The caption has more than 20 @mentions.")


def _shape(params: dict[str, str]) -> str:
    media_type = params.get("media_type", "").upper() or None
    if params.get("is_carousel_item", "").lower() == "true":
        if media_type in (None, "IMAGE"):
            return "child_image"
        if media_type == "VIDEO":
            return "child_video"
        raise invalid_parameter(f"{media_type} media cannot be a carousel item")
    shapes = {None: "image", "REELS": "reel", "STORIES": "story", "CAROUSEL": "carousel"}
    if media_type in shapes:
        return shapes[media_type]
    if media_type == "VIDEO":
        raise GraphErrorAnswer(
            100, 2207023, "The VIDEO media type is only for carousel items; use REELS"
        )
    raise GraphErrorAnswer(100, 2207023)


def _kind(shape: str, params: dict[str, str]) -> str:
    if shape == "carousel":
        return "CAROUSEL"
    if shape in ("reel", "child_video"):
        return "VIDEO"
    if shape == "story" and "image_url" not in params:
        return "VIDEO"
    return "IMAGE"


def _media_url(shape: str, params: dict[str, str], resumable: bool) -> str | None:
    if shape == "carousel":
        if not params.get("children"):
            raise missing_parameter("children")
        return None
    if shape == "story":
        if ("image_url" in params) == ("video_url" in params) and not resumable:
            raise invalid_parameter("A story needs exactly one of image_url or video_url")
        name = "image_url" if "image_url" in params else "video_url"
    else:
        name = "image_url" if shape in ("image", "child_image") else "video_url"
    url = params.get(name)
    if url is None:
        if resumable and name == "video_url":
            return None
        raise missing_parameter(name)
    _check_url(url, is_image=name == "image_url")
    return url


def _check_url(url: str, *, is_image: bool) -> None:
    if not url.isascii() or not url.lower().startswith(("http://", "https://")):
        raise GraphErrorAnswer(9004, 2207052)
    path = url.split("?", 1)[0].lower()
    if is_image and path.endswith(_VIDEO_SUFFIXES):
        raise GraphErrorAnswer(36001, 2207005)


def _check_extras(params: dict[str, str], shape: str) -> None:
    if len(params.get("alt_text", "")) > 1000:
        raise invalid_parameter("alt_text must be at most 1000 characters")
    if "collaborators" in params and len(_json_list(params, "collaborators")) > 3:
        raise invalid_parameter("At most 3 collaborators can be invited")
    if "user_tags" in params:
        _check_user_tags(_json_list(params, "user_tags"), xy_required=shape != "story")
    if params.get("share_to_feed", "true").lower() not in ("true", "false"):
        raise invalid_parameter("share_to_feed must be true or false")
    if not params.get("thumb_offset", "0").isdigit():
        raise invalid_parameter("thumb_offset must be a whole number of milliseconds")


def _json_list(params: dict[str, str], name: str) -> list[object]:
    raw = params[name]
    try:
        value = json.loads(raw)
    except ValueError:
        value = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(value, list):
        raise invalid_parameter(f"{name} must be a JSON array")
    return value


def _check_user_tags(tags: list[object], *, xy_required: bool) -> None:
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("username"), str):
            raise invalid_parameter("Each user tag needs a username")
        for axis in ("x", "y"):
            value = tag.get(axis)
            if value is None and not xy_required:
                continue
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise invalid_parameter(f"User tag {axis} must be a number between 0 and 1")


def _processing_failure(
    params: dict[str, str], url: str | None, patterns: tuple[str, ...], subcode: int
) -> int | None:
    if url is not None and any(re.search(p, url) for p in patterns):
        return subcode
    if "collaborators" in params:
        names = _json_list(params, "collaborators")
        if any(isinstance(n, str) and n.startswith("@") for n in names):
            return 2207018
    return None
