"""A post's thumbnail on the calendar, and ``GET /posts/{id}/thumbnail``.

What a card shows: an image post's image (a carousel's first item), a video's cover
(`PostSpec.cover_url`) or else a placeholder. A public URL is shown from where it is (the
user's own host, as Instagram will fetch it); a local copy (`PostSpec.media_file`, in the
media store) is served to its owner, logged in, by the route here. A video's frame would need
a decoder this package does not ship, so a video without a cover gets the placeholder; so
does any image the browser cannot load (calendar.js swaps it in).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from ...errors import MediaMissing, PostNotFound
from ...media.hosting import media_store_from
from ...media.protocols import MediaStore
from ...media.store import FolderMediaStore, content_type_of, is_media_key
from ...models import CarouselItem, ItemKind, MediaType, Post, PostSpec, guess_kind
from .rendering import context_of
from .session import SignedIn

CACHE_SECONDS = 24 * 3600  # the URL names the copy's content hash: it never changes
PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" '
    'aria-hidden="true" focusable="false"><rect width="40" height="40" rx="6" fill="#e3e4ea"/>'
    '<path d="M11 27l6-8 5 6 3-4 5 6z" fill="#8a8f9c"/><circle cx="26" cy="14" r="3" '
    'fill="#8a8f9c"/></svg>'
)


@dataclass(frozen=True)
class Thumbnail:
    """Where a card's picture comes from: `src`, or None for the placeholder; `kind` is
    what the post's first media is ("image" or "video"), for the placeholder's label."""

    src: str | None
    kind: str


def thumbnail_of(post: Post) -> Thumbnail:
    """The picture a card shows for `post` (see the module's docstring)."""
    spec = post.spec
    item = spec.children[0] if spec.media_type is MediaType.CAROUSEL and spec.children else spec
    if _is_video(item):
        cover = spec.cover_url if item is spec else None
        return Thumbnail(cover if _is_public(cover) else None, ItemKind.VIDEO.value)
    key = local_image(post)
    if key is not None:
        return Thumbnail(f"/posts/{post.id}/thumbnail?v={key[:16]}", ItemKind.IMAGE.value)
    url = item.media_url
    return Thumbnail(url if _is_public(url) else None, ItemKind.IMAGE.value)


def local_image(post: Post) -> str | None:
    """The media store key of the image a card shows, when it is a local copy."""
    spec = post.spec
    item = spec.children[0] if spec.media_type is MediaType.CAROUSEL and spec.children else spec
    key = item.media_file
    if _is_video(item) or not key or not is_media_key(key):
        return None
    return key if content_type_of(key).startswith("image/") else None


async def thumbnail(request: Request, post_id: int, operator: SignedIn) -> Response:
    """The post's local image copy for its owner; the placeholder when it has none (or the
    copy is gone); 404 for a post that is not the operator's."""
    ctx = context_of(request)
    try:
        post = await ctx.run(ctx.store.get, post_id, owner_id=operator.user_id)
    except PostNotFound:
        return Response("Not found.", status_code=404, media_type="text/plain")
    key = local_image(post)
    if key is None:
        return placeholder()
    store = _media_store(request)
    try:
        media = await ctx.run(store.info, key)
        if isinstance(store, FolderMediaStore):
            return FileResponse(
                store.path / media.key, media_type=media.content_type, headers=_CACHED
            )
        body = await ctx.run(_read_all, store, key)
    except MediaMissing:  # pruned after its post was published: nothing left to show
        return placeholder()
    return Response(body, media_type=media.content_type, headers=_CACHED)


def placeholder() -> Response:
    return Response(PLACEHOLDER_SVG, media_type="image/svg+xml", headers=_CACHED)


def register(routes: APIRouter) -> None:
    routes.add_api_route(
        "/posts/{post_id}/thumbnail", thumbnail, methods=["GET"], include_in_schema=False
    )


_CACHED = {"Cache-Control": f"private, max-age={CACHE_SECONDS}"}


def _is_video(item: PostSpec | CarouselItem) -> bool:
    if isinstance(item, PostSpec):
        return item.is_video
    return (item.kind or guess_kind(item.media_source)) is ItemKind.VIDEO


def _is_public(url: str | None) -> bool:
    return url is not None and url.startswith(("https://", "http://"))


def _media_store(request: Request) -> MediaStore:
    """Built on the first request and kept on the app."""
    store: MediaStore | None = getattr(request.app.state, "dashboard_media_store", None)
    if store is None:
        ctx = context_of(request)
        store = media_store_from(ctx.settings, clock=ctx.clock)
        request.app.state.dashboard_media_store = store
    return store


def _read_all(store: MediaStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()
