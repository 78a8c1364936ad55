"""``GET /media/{token}/{key}``: the copies of local files, served to Instagram.

With a folder media store and ``IGAUTOPOST_PUBLIC_URL``, an image post published from a
local file gives Instagram ``{public_url}/media/{token}/{key}`` (`ServedMediaHost`).
Instagram sends no credentials, so the route asks for none; instead it serves a copy only
when the token is the HMAC of its key (compared in constant time) and a scheduled,
processing or ready post uses it: a published or cancelled post's copy stops being served
at once, whatever the pruner has not deleted yet. Every refusal is the same bare 404, which
tells a guesser nothing. The access log shows the token's first characters only
(`logged_path`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from ..errors import ConfigurationError
from ..media.hosting import ROUTE, ServedMediaHost, media_host_from, media_store_from
from ..media.protocols import MediaMissing
from ..media.store import FolderMediaStore
from .context import ApiContext

log = logging.getLogger("igautopost.api")
TOKEN_SHOWN = 6  # characters of a token the access log keeps


@dataclass(frozen=True)
class ServedMedia:
    """The app's folder of copies and its host; None when this app serves no media (no
    ``public_url``, or a bucket, whose copies Instagram fetches from the bucket)."""

    store: FolderMediaStore | None
    host: ServedMediaHost | None


def register(routes: APIRouter) -> None:
    for method in ("GET", "HEAD"):
        routes.add_api_route(
            f"{ROUTE}/{{token}}/{{key}}",
            media_file,
            methods=[method],
            include_in_schema=False,  # for Instagram, not for API clients
        )


async def media_file(request: Request, token: str, key: str) -> Response:
    ctx: ApiContext = request.app.state.igautopost
    served = _served(request)
    if served.store is None or served.host is None or not served.host.is_valid(token, key):
        return not_found()
    if not await ctx.run(_in_use, ctx, key):
        return not_found()
    try:
        media = await ctx.run(served.store.info, key)
    except MediaMissing:
        return not_found()
    # Range, HEAD and Content-Length come with FileResponse. Instagram fetches a copy once;
    # no cache may keep it after its post is published.
    return FileResponse(
        served.store.path / media.key,
        media_type=media.content_type,
        headers={"Cache-Control": "no-store"},
    )


def not_found() -> Response:
    return JSONResponse({"detail": "Not found."}, status_code=404)


def logged_path(path: str) -> str:
    """`path` as the access log writes it: a media URL's token cut to its first characters."""
    prefix = ROUTE + "/"
    if not path.startswith(prefix):
        return path
    token, _, rest = path[len(prefix) :].partition("/")
    return f"{prefix}{token[:TOKEN_SHOWN]}.../{rest}"


def _in_use(ctx: ApiContext, key: str) -> bool:
    uses = ctx.store.media_uses([key]).get(key, [])
    return any(use.status.is_active for use in uses)


def _served(request: Request) -> ServedMedia:
    """Built on the first request and kept on the app: the secret is read once."""
    served: ServedMedia | None = getattr(request.app.state, "served_media", None)
    if served is None:
        served = _build(request.app.state.igautopost)
        request.app.state.served_media = served
    return served


def _build(ctx: ApiContext) -> ServedMedia:
    try:
        store = media_store_from(ctx.settings, clock=ctx.clock)
        host = media_host_from(ctx.settings, store=store)
    except ConfigurationError as exc:  # e.g. no secret to sign with: serve nothing, say why
        log.warning("media copies are not served: %s", exc)
        return ServedMedia(None, None)
    if isinstance(store, FolderMediaStore) and isinstance(host, ServedMediaHost):
        return ServedMedia(store, host)
    return ServedMedia(None, None)


__all__ = ["logged_path", "register"]
