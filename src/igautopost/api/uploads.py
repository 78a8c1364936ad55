"""A post's media uploaded with it: ``multipart/form-data`` whose ``media_url`` part is a file.

The iOS app's form (and ``igautopost schedule --server``) may send the file itself in the
field that otherwise holds its URL (``media_url``, or the old name ``url``)::

    curl -F media_url=@sunrise.jpg -F user_id=1784... -F content_type=Photo ...

The body is read as it arrives, never whole into memory: Starlette's multipart parser
spools a file part to disk past 1 MB, and the parser here stops reading once the file is
larger than Instagram takes for the post's media type (300 MB for a reel; 8 MB for an image
as soon as the form has said it is one), answering 413 with the field named. Text fields
keep Starlette's limits (1 MB each, 1,000 of them); a file in another field is ignored.

What the file is, whether it meets Instagram's rules and whether an image has a host is
judged by the library, as for a local file of the CLI's (`post_media.PostMedia`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from ..media.rules import RULES, Target, format_bytes
from ..media.store import CONTENT_TYPES, media_suffix
from ..models import MEDIA_TYPE_NAMES, MediaType
from ..models.posts import ItemKind, guess_kind
from ..validation import text_problems
from .context import read_data
from .errors import ApiError, field_errors
from .post_media import Upload

UPLOAD_FIELDS = ("media_url", "url")  # the field that takes a file, by either of its names
MEDIA_TYPE_FIELDS = ("media_type", "content_type")
FIELDS_BYTES_MAX = 1024 * 1024  # the text fields of a form with a file, all together
FILE_BYTES_MAX = max(rules.max_bytes for rules in RULES.values())  # a reel: 300 MB
BODY_BYTES_MAX = FILE_BYTES_MAX + FIELDS_BYTES_MAX
NAME_CHARS_MAX = 100
FILES_MAX = 10  # file parts of a form: one is used, the others ignored (and counted)
POSTS_PATHS = ("/api/v1/posts/", "/api/v1/posts")
# A name's extension from its part's Content-Type, when the name has none known.
SUFFIX_OF_TYPE = {kind: suffix for suffix, kind in reversed(CONTENT_TYPES.items())}


async def read_post_body(request: Request) -> tuple[dict[str, Any], Upload | None]:
    """The request's fields (as `read_data` reads them) and its uploaded file, if any. Close
    the upload's file when done (`Upload.file.close`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        return await read_data(request), None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_BYTES_MAX:
        raise too_large("media_url", FILE_BYTES_MAX, "reels")
    parser = _BoundedParser(request)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError.detail(400, f"Multipart form parse error - {exc}") from None
    data: dict[str, Any] = {}
    upload: Upload | None = None
    for key, value in form.multi_items():
        if isinstance(value, str):
            data[key] = value
        elif key not in UPLOAD_FIELDS:  # ignored, as DRF ignores fields a post has not
            value.file.close()
        elif upload is not None:
            value.file.close()
            upload.file.file.close()
            raise ApiError(400, {key: ["Send one file per post."]})
        else:
            upload = _upload_of(key, value)
    problems = text_problems(data)
    if problems:
        if upload is not None:
            await upload.file.close()
        raise ApiError(400, field_errors(problems, data))
    return data, upload


def _upload_of(field: str, file: UploadFile) -> Upload:
    size = file.size or 0
    if size == 0:
        file.file.close()
        raise ApiError(400, {field: ["The submitted file is empty."]})
    name = safe_name(file.filename or "", file.content_type or "")
    if name is None:
        file.file.close()
        raise ApiError(
            400,
            {
                field: [
                    "Name the file with its type's extension (.jpg, .mp4, .mov...), or send "
                    "its Content-Type (image/jpeg, video/mp4...)."
                ]
            },
        )
    return Upload(field, name, file, size)


def safe_name(filename: str, content_type: str) -> str | None:
    """The client's file name as kept for display: its last path segment, in safe
    characters, with a media extension (from `content_type` when the name has none)."""
    base = re.split(r"[\\/]", filename)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    suffix = media_suffix(base)
    if suffix not in CONTENT_TYPES:
        suffix = SUFFIX_OF_TYPE.get(content_type.split(";")[0].strip().lower(), "")
        if not suffix:
            return None
        base = f"{base}{suffix}"
    stem = base[: -len(suffix)][: NAME_CHARS_MAX - len(suffix)]
    return f"{stem or 'upload'}{suffix}"


def upload_target(data: dict[str, Any], is_video: bool) -> Target | None:
    """The rules the file is judged by, from the form's media type; None when it names
    none known (the post is refused for that anyway)."""
    raw = next((data[name] for name in MEDIA_TYPE_FIELDS if name in data), None)
    kind = MEDIA_TYPE_NAMES.get(raw.strip().lower()) if isinstance(raw, str) else None
    if kind is MediaType.IMAGE:
        return Target.FEED_IMAGE
    if kind is MediaType.REEL:
        return Target.REEL
    if kind is MediaType.STORY:
        return Target.STORY_VIDEO if is_video else Target.STORY_IMAGE
    return None


def refuse_oversize(data: dict[str, Any], upload: Upload) -> None:
    """413 naming the field when the file is larger than Instagram takes for the post."""
    target = upload_target(data, upload.is_video)
    if target is not None and upload.size > RULES[target].max_bytes:
        raise too_large(upload.field, RULES[target].max_bytes, RULES[target].plural, upload.size)


def too_large(field: str, limit: int, what: str, size: int | None = None) -> ApiError:
    given = f"The file is {format_bytes(size)}: " if size is not None else "The file is larger: "
    return ApiError(
        413, {field: [f"{given}Instagram takes {what} of at most {format_bytes(limit)}."]}
    )


class _BoundedParser(MultiPartParser):
    """Starlette's multipart parser, stopping once the file outgrows what the form's
    fields so far allow (the media type may come before or after the file part)."""

    def __init__(self, request: Request) -> None:
        stream = _bounded(request.stream())
        super().__init__(request.headers, stream, max_files=FILES_MAX, max_fields=1000)
        self.file_bytes = 0
        self.text_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current_part
        if part.file is None:
            self.text_bytes += end - start
            if self.text_bytes > FIELDS_BYTES_MAX:
                raise MultiPartException("the text fields exceed 1 MB together")
        else:
            self.file_bytes += end - start
            self._refuse_past_limit(part.field_name)
        super().on_part_data(data, start, end)

    def _refuse_past_limit(self, field: str) -> None:
        if self.file_bytes <= FILE_BYTES_MAX:
            fields = {key: value for key, value in self.items if isinstance(value, str)}
            filename = self._current_part.file.filename if self._current_part.file else ""
            target = upload_target(fields, guess_kind(filename or "") is ItemKind.VIDEO)
            if target is None or self.file_bytes <= RULES[target].max_bytes:
                return
            raise too_large(field, RULES[target].max_bytes, RULES[target].plural)
        raise too_large(field, FILE_BYTES_MAX, "reels")


async def _bounded(stream: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """The body, stopped past `BODY_BYTES_MAX` whatever it holds (parts' headers, a
    preamble): the parts' own counts do not see every byte."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > BODY_BYTES_MAX + FIELDS_BYTES_MAX:
            raise too_large("media_url", FILE_BYTES_MAX, "reels")
        yield chunk


def is_upload(method: str, path: str, content_type: bytes) -> bool:
    """Whether a request may carry a post's file: its body is bounded here, with the field
    named, rather than by the app's 1 MB limit for other bodies (api/middleware.py)."""
    return (
        method == "POST"
        and path in POSTS_PATHS
        and content_type.split(b";")[0].strip().lower() == b"multipart/form-data"
    )


def upload_body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """The form schema of POST with its media as a file: `url` (or `media_url`) binary."""
    form = copy.deepcopy(schema)
    binary = {"type": "string", "format": "binary"}
    properties = form.setdefault("properties", {})
    url = properties.get("url", {"type": "string"})
    properties["url"] = {
        "anyOf": [{k: v for k, v in url.items() if k != "description"}, binary],
        "description": "Public media URL, or the file itself (multipart/form-data); "
        "media_url is the same field under its new name",
    }
    properties["media_url"] = {
        "anyOf": [{"type": "string", "maxLength": 4000}, binary],
        "description": "The media file (multipart/form-data), or its public URL: JPEG "
        "images up to 8 MB, MP4/MOV videos up to 300 MB (a reel), checked against "
        "Instagram's rules when the post is scheduled",
    }
    return form


__all__ = [
    "BODY_BYTES_MAX",
    "UPLOAD_FIELDS",
    "Upload",
    "is_upload",
    "read_post_body",
    "refuse_oversize",
    "safe_name",
    "upload_body_doc",
    "upload_target",
]
