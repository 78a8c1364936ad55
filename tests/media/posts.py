"""Posts for the media tests: `post(media_type, source)` with a URL or a local path."""

from __future__ import annotations

from typing import Any

from igautopost.models.posts import PostSpec


def post(media_type: str = "image", source: str | None = None, **fields: Any) -> PostSpec:
    """A valid post of ``media_type`` whose media is ``source`` (an http URL, else a path)."""
    data: dict[str, Any] = {
        "account": "17841400000000001",
        "media_type": media_type,
        "publish_at": "2035-06-01T09:00:00+00:00",
        **fields,
    }
    if source is not None:
        data["media_url" if source.startswith(("http://", "https://")) else "media_path"] = source
    return PostSpec.model_validate(data)


def carousel(*sources: str, **fields: Any) -> PostSpec:
    key = "media_url" if sources and sources[0].startswith("http") else "media_path"
    return post("carousel", children=[{key: source} for source in sources], **fields)
