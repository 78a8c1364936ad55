"""Which Graph endpoint a method and path name, for both hosts' path shapes.

Facebook Login paths are versioned (`/v25.0/{ig-user-id}/media`); Instagram Login paths may
be unversioned and use `me` (`/me/media`, `/access_token`, `/refresh_access_token`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION_PATTERN = re.compile(r"^v\d+(\.\d+)?$")

CREATE = "create_container"
PUBLISH = "publish"
GET_OBJECT = "get_object"
LIST_MEDIA = "list_media"
MULTI_GET = "multi_get"
LIMIT = "publishing_limit"
COMMENT = "comment"
TOKEN_EXCHANGE = "token_exchange"
TOKEN_REFRESH = "token_refresh"
UPLOAD = "upload"
UNKNOWN = "unknown"

ENDPOINTS = (
    CREATE,
    PUBLISH,
    GET_OBJECT,
    LIST_MEDIA,
    MULTI_GET,
    LIMIT,
    COMMENT,
    TOKEN_EXCHANGE,
    TOKEN_REFRESH,
    UPLOAD,
)

_EDGES = {
    ("POST", "media"): CREATE,
    ("GET", "media"): LIST_MEDIA,
    ("POST", "media_publish"): PUBLISH,
    ("GET", "content_publishing_limit"): LIMIT,
    ("POST", "comments"): COMMENT,
}
_ROOTS = {
    ("access_token",): TOKEN_EXCHANGE,
    ("oauth", "access_token"): TOKEN_EXCHANGE,
    ("refresh_access_token",): TOKEN_REFRESH,
}


@dataclass(frozen=True)
class GraphRoute:
    """A resolved call: the endpoint, the id in the path, and the host style."""

    endpoint: str
    node: str | None = None  # account id ("me" allowed) or object id
    instagram_login: bool = False  # unversioned or /me paths: errors typed IGApiException
    problem: str | None = None  # why the path is not a Graph endpoint we serve


def is_upload_path(path: str) -> bool:
    """Whether the path is a resumable upload's (`/ig-api-upload/{version}/{container-id}`),
    whose body is the video's raw bytes, not parameters."""
    return path.lstrip("/").startswith("ig-api-upload/")


def resolve(method: str, path: str) -> GraphRoute:
    """Map a request line to a `GraphRoute` (endpoint `unknown` with a `problem` if none)."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "ig-api-upload":
        return GraphRoute(UPLOAD, parts[-1]) if len(parts) >= 2 else _unknown(path)
    versioned = bool(parts) and bool(VERSION_PATTERN.match(parts[0]))
    if versioned:
        parts = parts[1:]
    ig_style = not versioned or (bool(parts) and parts[0] == "me")
    root = _ROOTS.get(tuple(parts))
    if root is not None:
        return GraphRoute(root, None, ig_style)  # GET as documented; POST works too
    if not parts:
        return GraphRoute(MULTI_GET, None, ig_style) if method == "GET" else _unknown(path)
    if len(parts) == 1:
        if method == "GET":
            return GraphRoute(GET_OBJECT, parts[0], ig_style)
        return GraphRoute(UNKNOWN, parts[0], ig_style, f"unsupported {method.lower()}")
    if len(parts) == 2:
        endpoint = _EDGES.get((method, parts[1]))
        if endpoint is not None:
            return GraphRoute(endpoint, parts[0], ig_style)
        if any(edge == parts[1] for _m, edge in _EDGES):
            return GraphRoute(UNKNOWN, parts[0], ig_style, f"unsupported {method.lower()}")
    return _unknown(path, ig_style)


def _unknown(path: str, ig_style: bool = False) -> GraphRoute:
    return GraphRoute(UNKNOWN, None, ig_style, f"Unknown path components: {path}")
