"""Media bytes as Instagram sees them: a resumable upload's body, and URLs it fetches itself.

Instagram never trusts a file name or a content type: it reads the bytes. The sandbox reads
just enough of them to fail where Instagram would: the first `HEAD_BYTES` tell a JPEG (its
``FF D8 FF`` marker) and an MP4/MOV (an ISO media box, ``ftyp`` first in practice) from
anything else, and the count tells the size. Nothing is kept but that head and the count,
so a 300 MB upload costs the sandbox no memory.

Fetching (`SandboxConfig.fetch_media`) is off by default, so that demos with example.com
URLs keep working; with it on, the create call GETs ``image_url``, ``video_url`` and
``cover_url`` as Instagram does, and fails as Instagram does: 9004/2207052 when the URL
cannot be fetched (unreachable, a 4xx or 5xx answer), 36001/2207005 for an image that is not
a JPEG, 36000/2207004 for one larger than 8 MiB; a ``video_url`` that is not a video makes a
container that ends in ERROR (2207026), as an upload of one does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import urllib3

from igautopost.sandbox.errors import GraphErrorAnswer

HEAD_BYTES = 64
FETCH_CHUNK = 256 * 1024
IMAGE_LIMIT = 8 * 1024 * 1024  # graph-api.md, "Media rules": images up to 8 MiB
VIDEO_FORMAT_SUBCODE = 2207026  # "video format not supported" (container ERROR)
# ISO base media boxes a video file starts with (MP4 puts ftyp first; old MOVs may not).
_VIDEO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"})
_FETCHED = ("image_url", "video_url", "cover_url")


@dataclass(frozen=True)
class MediaBytes:
    """What was read of a body: how many bytes, their first `HEAD_BYTES`, and whether the
    body ended as announced (False: the client went away mid-body)."""

    size: int
    head: bytes
    complete: bool = True


class BodyReader:
    """Counts a body's bytes as they arrive and keeps its head: feed it chunks."""

    def __init__(self) -> None:
        self.size = 0
        self._head = bytearray()

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self.size += len(chunk)

    def result(self, *, complete: bool = True) -> MediaBytes:
        return MediaBytes(self.size, bytes(self._head), complete)


def read_all(chunks: Iterable[bytes]) -> tuple[MediaBytes, BaseException | None]:
    """A body read to its end, or up to the exception that cut it (returned, not raised: the
    bytes that did arrive count, as they would on a server)."""
    reader = BodyReader()
    try:
        for chunk in chunks:
            reader.feed(chunk)
    except Exception as exc:
        return reader.result(complete=False), exc
    return reader.result(), None


def looks_like_jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def looks_like_video(head: bytes) -> bool:
    """An MP4 or MOV: an ISO media box (4 bytes of size, then its type) at the start."""
    return len(head) >= 8 and head[4:8] in _VIDEO_BOXES


def fetch_container_media(params: dict[str, str], timeout: float) -> int | None:
    """GET each media URL of a create call as Instagram does; raise the create call's error
    for one it refuses, and return the subcode processing will fail with (a ``video_url``
    that is not a video), else None."""
    failure = None
    for name in _FETCHED:
        url = params.get(name)
        if url is None:
            continue
        fetched = fetch(url, timeout)
        if name in ("image_url", "cover_url"):
            if not looks_like_jpeg(fetched.head):
                raise GraphErrorAnswer(36001, 2207005)
            if fetched.size > IMAGE_LIMIT:
                raise GraphErrorAnswer(36000, 2207004, "The image is larger than 8 MiB")
        elif not looks_like_video(fetched.head):
            failure = VIDEO_FORMAT_SUBCODE
    return failure


def fetch(url: str, timeout: float) -> MediaBytes:
    """The URL's body, counted (up to three redirects followed); 9004/2207052 when it cannot
    be had: no answer, or a 4xx/5xx one."""
    retries = urllib3.Retry(total=None, connect=0, read=0, redirect=3, status=0, other=0)
    manager = urllib3.PoolManager(num_pools=1)
    try:
        response = manager.request(
            "GET",
            url,
            headers={"Connection": "close"},  # one fetch per URL: nothing to keep alive
            timeout=timeout,
            retries=retries,
            preload_content=False,
        )
        try:
            if response.status >= 400:
                response.drain_conn()
                raise GraphErrorAnswer(
                    9004,
                    2207052,
                    user_msg=f"The media URL answered HTTP {response.status}.",
                )
            reader = BodyReader()
            for chunk in response.stream(FETCH_CHUNK):
                reader.feed(chunk)
            return reader.result()
        finally:
            response.release_conn()
    except GraphErrorAnswer:
        raise
    except (urllib3.exceptions.HTTPError, OSError, ValueError):
        pass
    finally:
        manager.clear()
    raise GraphErrorAnswer(9004, 2207052)  # outside the except: no chained URL or address
