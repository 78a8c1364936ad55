"""What a media file holds, read from its first bytes: format, dimensions and, for a video,
container, codecs, duration and whether its index (the moov atom) comes first.

A URL is judged from its first 64 KB (`probe_bytes`), so its header must say it all: Pillow
reads an image's format and size from the header alone, and pymediainfo reads a "faststart"
MP4's duration, codecs and size from its moov atom at the start. A file whose moov atom comes
after the media data cannot be read from its start, which is exactly what Instagram refuses.
A local file is read whole (`probe_file`).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from pymediainfo import MediaInfo

HEAD_BYTES = 64 * 1024  # what is fetched of a URL, and read first of a file

# ISO base media brands that hold pictures, not videos (HEIC from phones, AVIF).
_IMAGE_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF"}
_IMAGE_BRANDS |= {b"avif": "AVIF", b"avis": "AVIF"}
_EXIF_ORIENTATION = 0x0112
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF: shown turned by a quarter, width and height swap


@dataclass(frozen=True)
class MediaFacts:
    """What was learnt about one file; ``None`` where it could not be read."""

    is_video: bool | None = None
    format: str | None = None  # "JPEG", "PNG", "WEBP", "GIF", "MPEG-4" (MP4, MOV), "WebM", ...
    width: int | None = None  # as shown: an EXIF or track rotation is applied
    height: int | None = None
    duration: float | None = None  # seconds
    video_codec: str | None = None  # "AVC", "HEVC", "VP9", ...
    audio_codec: str | None = None  # "AAC", "MPEG Audio", ...; None without an audio track
    moov_first: bool | None = None  # an MP4/MOV's index precedes its media data
    size: int | None = None  # bytes, the whole file
    unread: str | None = None  # why some facts are missing, when that matters

    @property
    def recognised(self) -> bool:
        """Whether the first bytes are an image or a video format known here (JPEG, PNG,
        WebP, GIF, HEIF, AVIF, MP4/MOV, WebM, AVI): magic bytes, so a file that is none
        of them (an HTML page, a text) is certainly not media Instagram takes."""
        return self.is_video is not None


def sniff(head: bytes) -> tuple[str | None, bool | None]:
    """(format, is_video) from a file's magic bytes, without a decoder."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG", False
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP", False
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", False
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI", True
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "WebM", True
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return _IMAGE_BRANDS[brand], False
        return "MPEG-4", True
    return None, None


def moov_first(read_at: Callable[[int, int], bytes], size: int | None) -> bool | None:
    """Whether the top-level ``moov`` box comes before ``mdat``; ``None`` if neither is
    reached. ``read_at(offset, count)`` returns the bytes there (fewer at the end)."""
    offset = 0
    for _ in range(64):  # a handful of top-level boxes in practice
        header = read_at(offset, 16)
        if len(header) < 8:
            return None
        box_size, kind = struct.unpack(">I4s", header[:8])
        if kind == b"moov":
            return True
        if kind == b"mdat":
            return False
        if box_size == 1 and len(header) >= 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
        if box_size < 8:
            return None  # to the end of the file, or damaged
        offset += box_size
        if size is not None and offset >= size:
            return None
    return None


def probe_bytes(head: bytes, *, size: int | None) -> MediaFacts:
    """What the first bytes of a file of ``size`` bytes (``None``: unknown) show."""
    complete = size is not None and len(head) >= size
    fmt, is_video = sniff(head)
    facts = MediaFacts(is_video=is_video, format=fmt, size=size)
    if is_video is False:
        return _image_facts(io.BytesIO(head), facts, complete=complete)
    if is_video:
        facts = replace(facts, moov_first=moov_first(lambda at, n: head[at : at + n], size))
        if facts.moov_first is False and not complete:
            return facts  # its header is at the end, out of reach: that is the problem
        return _video_facts(io.BytesIO(head), facts)
    return facts  # no format known: `MediaFacts.recognised` is False


def probe_file(path: Path) -> MediaFacts:
    """What a local file holds, read whole where needed."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        fmt, is_video = sniff(head)
        facts = MediaFacts(is_video=is_video, format=fmt, size=size)
        if is_video is False:
            return _image_facts(handle, facts, complete=True)

        def read_at(offset: int, count: int) -> bytes:
            handle.seek(offset)
            return handle.read(count)

        if is_video:
            facts = replace(facts, moov_first=moov_first(read_at, size))
            return _video_facts(path, facts)
    return facts


def _image_facts(source: Any, facts: MediaFacts, *, complete: bool) -> MediaFacts:
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        with Image.open(source) as image:
            width, height = image.size
            turned = image.getexif().get(_EXIF_ORIENTATION) in _ROTATED_ORIENTATIONS
            if turned and image.format in ("JPEG", "MPO"):
                width, height = height, width
            return replace(facts, format=image.format or facts.format, width=width, height=height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        where = "its file" if complete else "its first bytes"
        return replace(facts, unread=f"{where} do not show the picture's size")


def _video_facts(source: Path | io.BytesIO, facts: MediaFacts) -> MediaFacts:
    try:
        info = MediaInfo.parse(source)
    except (OSError, RuntimeError, ValueError) as exc:
        return replace(facts, unread=f"its video header could not be read ({exc})")
    general = info.general_tracks[0] if info.general_tracks else None
    videos, audios = info.video_tracks, info.audio_tracks
    if general is None or not videos:
        return replace(facts, unread="its header names no video track")
    video = videos[0]
    width, height = _int(video.width), _int(video.height)
    if _int(_number(video.rotation)) in (90, 270):
        width, height = height, width
    duration_ms = _number(general.duration) or _number(video.duration)
    return replace(
        facts,
        format=str(general.format) if general.format else facts.format,
        width=width,
        height=height,
        duration=duration_ms / 1000 if duration_ms is not None else None,
        video_codec=str(video.format) if video.format else None,
        audio_codec=str(audios[0].format) if audios and audios[0].format else None,
    )


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None
