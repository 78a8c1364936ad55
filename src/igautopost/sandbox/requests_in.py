"""Reading a Graph request the way Meta does: parameters and the access token.

Parameters come from the query string, a form body or a JSON body (body wins). The token
comes from `Authorization: Bearer|OAuth <token>` or an `access_token` parameter; a token in
the query string is noted, because it ends up in logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from igautopost.sandbox.errors import invalid_parameter
from igautopost.sandbox.media import BodyReader, MediaBytes
from igautopost.sandbox.routing import VERSION_PATTERN as _VERSION
from igautopost.sandbox.routing import is_upload_path


@dataclass
class GraphRequest:
    params: dict[str, str]
    token: str | None
    token_in_url: bool
    redacted_path: str
    base_url: str = ""  # where this sandbox was reached, for resumable upload URIs
    version: str = "v25.0"
    file_url: str | None = None  # resumable upload from a URL (header `file_url`)
    # A resumable upload's headers, as sent (checked by the upload handler), and its body
    auth_scheme: str | None = None  # "bearer" or "oauth" when the token came in a header
    upload_offset: str | None = None
    upload_file_size: str | None = None
    upload: MediaBytes | None = None


async def read_request(request: Request) -> GraphRequest:
    """Parameters, token and a loggable path of one call."""
    query = parse_qsl(request.url.query, keep_blank_values=True)
    params = dict(query)
    upload = None
    if is_upload_path(request.url.path) and request.method == "POST":
        upload = await _upload_body(request)
    else:
        params.update(await _body_params(request))
    token, in_url = _token(request, params, dict(query))
    params.pop("access_token", None)
    first = request.url.path.strip("/").split("/", 1)[0]
    return GraphRequest(
        params,
        token,
        in_url,
        _redacted_path(request.url.path, query),
        base_url=str(request.base_url).rstrip("/"),
        version=first if _VERSION.match(first) else "v25.0",
        file_url=request.headers.get("file_url"),
        auth_scheme=auth_scheme(request.headers.get("authorization", "")),
        upload_offset=request.headers.get("offset"),
        upload_file_size=request.headers.get("file_size"),
        upload=upload,
    )


def auth_scheme(header: str) -> str | None:
    """The Authorization header's scheme, lowercased (None without a token in it)."""
    scheme, _, value = header.partition(" ")
    return scheme.strip().lower() or None if value.strip() else None


async def _upload_body(request: Request) -> MediaBytes:
    """The upload's bytes counted as they arrive (never held whole), up to the client's
    going away mid-body: the bytes that did arrive count, as on Instagram's upload host."""
    reader = BodyReader()
    try:
        async for chunk in request.stream():
            reader.feed(chunk)
    except ClientDisconnect:
        return reader.result(complete=False)
    return reader.result()


async def _body_params(request: Request) -> dict[str, str]:
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return {}
    body = await request.body()
    if not body:
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return _json_params(body)
    if kind in ("", "application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind == "application/octet-stream":
        return {}  # resumable upload bytes
    raise invalid_parameter(f"The sandbox does not read {kind} bodies; send a form or JSON")


def _json_params(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError as error:
        raise invalid_parameter("The request body is not valid JSON") from error
    if not isinstance(data, dict):
        raise invalid_parameter("The JSON body must be an object")
    return {key: _as_text(value) for key, value in data.items()}


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _token(
    request: Request, params: dict[str, str], query: dict[str, str]
) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip(), False
    token = params.get("access_token")
    return token or None, bool(token) and "access_token" in query


def _redacted_path(path: str, query: list[tuple[str, str]]) -> str:
    if not query:
        return path
    shown = [f"{k}={'[REDACTED]' if 'token' in k or 'secret' in k else v}" for k, v in query]
    return f"{path}?{'&'.join(shown)}"
