"""Graph request parameters for a `PostSpec`, per media type, as graph-api.md's table says.

Pure functions: a spec in, a ``dict[str, str]`` out, ready to send as a form body to
``POST /{ig-user-id}/media``. Lists travel as JSON text (``user_tags``, ``collaborators``),
carousel children as comma-separated ids, booleans as ``"true"``/``"false"``. Parameters the
table marks as not allowed (or unlisted, ⚠) for a media type are left out, whatever the spec
holds; `igautopost.validation` tells users about them before anything is stored.

>>> from igautopost.models import PostSpec
>>> spec = PostSpec.model_validate({"account": "1", "media_type": "image",
...     "media_url": "https://example.com/a.jpg", "caption": "Hi", "publish_at": 0})
>>> container_params(spec)
{'image_url': 'https://example.com/a.jpg', 'caption': 'Hi'}

A post whose media is a local copy (``media_file``) is published from a `MediaSource` the
engine resolves (engine/media.py): a URL given for the copy (an image, through the media
host), or a video uploaded (``upload_type=resumable`` and no ``video_url``; `GraphClient`
adds the ``upload_type``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from igautopost.models import CarouselItem, ItemKind, MediaType, PostSpec, UserTag, guess_kind

Params = dict[str, str]


@dataclass(frozen=True)
class MediaSource:
    """Where one container's media comes from, when not the spec's own ``media_url``.

    ``url``: the address Instagram fetches (a media host's URL for a local copy);
    ``upload``: a video sent through the resumable upload, so no URL at all."""

    url: str | None = None
    upload: bool = False

    def __post_init__(self) -> None:
        if (self.url is None) == (not self.upload):
            raise ValueError("a MediaSource is a URL or an upload, not both and not neither")


UPLOAD = MediaSource(upload=True)


def container_params(spec: PostSpec, source: MediaSource | None = None) -> Params:
    """Parameters of the one container an image, reel or story needs; its media from
    ``source`` when given, else from ``spec.media_url``.

    A carousel needs its children first: use `carousel_child_params` for each item, then
    `carousel_parent_params` with the children's container ids.
    """
    if spec.media_type is MediaType.IMAGE:
        return image_params(spec, source)
    if spec.media_type is MediaType.REEL:
        return reel_params(spec, source)
    if spec.media_type is MediaType.STORY:
        return story_params(spec, source)
    raise ValueError("a carousel has one container per item plus a parent; see carousel_*_params")


def image_params(spec: PostSpec, source: MediaSource | None = None) -> Params:
    """A feed image: image_url, caption, alt_text, location_id, user_tags, collaborators."""
    if source is not None and source.upload:
        raise ValueError("an image is fetched by Instagram from a URL; it cannot be uploaded")
    return _compact(
        image_url=_url(spec.media_url, source),
        caption=spec.caption or None,
        alt_text=spec.alt_text,
        location_id=spec.location_id,
        user_tags=_user_tags(spec.user_tags),
        collaborators=_collaborators(spec.collaborators),
    )


def reel_params(spec: PostSpec, source: MediaSource | None = None) -> Params:
    """A reel (every single video is one): media_type=REELS, video_url (none when uploaded)
    and the video options."""
    return _compact(
        media_type="REELS",
        video_url=None if source is not None and source.upload else _url(spec.media_url, source),
        caption=spec.caption or None,
        location_id=spec.location_id,
        user_tags=_user_tags(spec.user_tags),
        collaborators=_collaborators(spec.collaborators),
        thumb_offset=_number(spec.thumb_offset),
        cover_url=spec.cover_url,
        share_to_feed=_boolean(spec.share_to_feed),
    )


def story_params(spec: PostSpec, source: MediaSource | None = None) -> Params:
    """A story: media_type=STORIES with image_url or video_url (none when uploaded), and
    user_tags."""
    if source is not None and source.upload:
        return _compact(media_type="STORIES", user_tags=_user_tags(spec.user_tags))
    url = _url(spec.media_url, source)
    kind = spec.media_kind or guess_kind(spec.media_source or url)
    return _compact(
        media_type="STORIES",
        **{_url_param(kind): url},
        user_tags=_user_tags(spec.user_tags),
    )


def carousel_child_params(item: CarouselItem, source: MediaSource | None = None) -> Params:
    """One carousel item: is_carousel_item=true, image_url, or media_type=VIDEO and video_url
    (none when uploaded); the media from ``source`` when given."""
    uploaded = source is not None and source.upload
    url = None if uploaded else source.url if source is not None else item.media_url
    if item.item_kind is ItemKind.VIDEO:
        return _compact(
            is_carousel_item="true",
            media_type="VIDEO",
            video_url=url,
            user_tags=_user_tags(item.user_tags),
            thumb_offset=_number(item.thumb_offset),
        )
    return _compact(
        is_carousel_item="true",
        image_url=url,
        alt_text=item.alt_text,
        user_tags=_user_tags(item.user_tags),
    )


def carousel_parent_params(spec: PostSpec, child_ids: Sequence[str]) -> Params:
    """The carousel itself: media_type=CAROUSEL and its children's container ids, in order."""
    if not child_ids:
        raise ValueError("a carousel parent needs its children's container ids")
    return _compact(
        media_type="CAROUSEL",
        children=",".join(child_ids),
        caption=spec.caption or None,
        location_id=spec.location_id,
        collaborators=_collaborators(spec.collaborators),
    )


def _compact(**params: str | None) -> Params:
    return {name: value for name, value in params.items() if value is not None}


def _required(value: str | None, field: str) -> str:
    if not value:
        raise ValueError(f"{field} is required for this media type")
    return value


def _url(own: str | None, source: MediaSource | None) -> str:
    """The media URL to send: the source's (a local copy's host URL), else the spec's own."""
    if source is not None and source.url is not None:
        return source.url
    return _required(own, "media_url")


def _url_param(kind: ItemKind) -> str:
    return "video_url" if kind is ItemKind.VIDEO else "image_url"


def _user_tags(tags: Iterable[UserTag]) -> str | None:
    entries = [_tag(tag) for tag in tags]
    return _json(entries) if entries else None


def _tag(tag: UserTag) -> dict[str, object]:
    entry: dict[str, object] = {"username": tag.username.strip().removeprefix("@")}
    if tag.x is not None:
        entry["x"] = tag.x
    if tag.y is not None:
        entry["y"] = tag.y
    return entry


def _collaborators(names: Iterable[str]) -> str | None:
    cleaned = [name.strip().removeprefix("@") for name in names]
    return _json(cleaned) if cleaned else None


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(value: int | None) -> str | None:
    return None if value is None else str(value)


def _boolean(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")
