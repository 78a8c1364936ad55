"""Instagram's publishing rules, checked before anything is stored.

`parse_post` turns raw data (a dict from JSON, a form, the old service's field names) into a
`PostSpec` and checks every rule, raising `InvalidPost` with *all* problems, each with its
field path. The numbers come from ../shared/graph-api.md; Instagram has the last word, so a
post that passes here can still be refused, and that refusal is reported with its Graph code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from .errors import InvalidPost, Problem
from .models import CarouselItem, ItemKind, MediaType, PostSpec, UserTag, guess_kind

CAPTION_MAX_CHARS = 2200
HASHTAGS_MAX = 30
MENTIONS_MAX = 20
USER_TAGS_MAX = 20
COLLABORATORS_MAX = 3
ALT_TEXT_MAX_CHARS = 1000
CAROUSEL_MIN_ITEMS = 2
CAROUSEL_MAX_ITEMS = 10
PREPARE_AHEAD_MAX = 20 * 3600
PAST_GRACE = timedelta(seconds=60)  # clock skew between the caller and us
AHEAD_MAX_YEARS = 100  # further ahead is a typo, and would overflow date arithmetic

HASHTAG = re.compile(r"(?<![\w&])#\w+", re.UNICODE)
MENTION = re.compile(r"(?<![\w.])@[A-Za-z0-9._]+")
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
LOCATION_ID = re.compile(r"^\d{1,30}$")

# Which optional fields each media type takes (graph-api.md, "Parameters per media type").
ALLOWED: dict[str, frozenset[MediaType]] = {
    "caption": frozenset({MediaType.IMAGE, MediaType.REEL, MediaType.CAROUSEL}),
    "location_id": frozenset({MediaType.IMAGE, MediaType.REEL, MediaType.CAROUSEL}),
    "user_tags": frozenset({MediaType.IMAGE, MediaType.REEL, MediaType.STORY}),
    "collaborators": frozenset({MediaType.IMAGE, MediaType.REEL, MediaType.CAROUSEL}),
    "alt_text": frozenset({MediaType.IMAGE}),
    "thumb_offset": frozenset({MediaType.REEL}),
    "cover_url": frozenset({MediaType.REEL}),
    "share_to_feed": frozenset({MediaType.REEL}),
    "first_comment": frozenset({MediaType.IMAGE, MediaType.REEL, MediaType.CAROUSEL}),
    "media_kind": frozenset({MediaType.STORY}),
}

Check = Callable[[PostSpec], Iterable[Problem]]


def parse_post(
    data: Any, *, now: datetime, index: int | None = None, zone: tzinfo | None = None
) -> PostSpec:
    """Parse and check one post; raise `InvalidPost` listing every problem. A post without
    `timezone` takes `zone` (see igautopost.zones): its times without an offset are read in
    it; without `zone`, in UTC."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InvalidPost([Problem("(post)", f"must be a JSON object, got {kind}", index)])
    unreadable = text_problems(data)  # before anything echoes such text in a message
    if unreadable:
        raise InvalidPost([Problem(p.field, p.message, index) for p in unreadable])
    try:
        spec = _spec_of(data, zone)
    except ValidationError as exc:
        raise InvalidPost(_all_problems(data, exc, now=now, zone=zone, index=index)) from None
    problems = _rules_broken(spec, now=now)  # its text was checked above, as data
    if problems:
        raise InvalidPost([Problem(p.field, p.message, index) for p in problems])
    return spec


def _spec_of(data: dict[str, Any], zone: tzinfo | None) -> PostSpec:
    return PostSpec.model_validate(data, context={"zone": zone} if zone else None)


def _all_problems(
    data: dict[str, Any],
    error: ValidationError,
    *,
    now: datetime,
    zone: tzinfo | None,
    index: int | None,
) -> list[Problem]:
    """The problems of a post that did not parse. An unknown field or a bad `timezone` does
    not hide the post's other problems: they are reported, and the post is checked again
    without them (its naive times then read in `zone`), so that every problem shows at once."""
    aside = {
        str(err["loc"][0])
        for err in error.errors()
        if len(err["loc"]) == 1
        and (err["type"] == "extra_forbidden" or err["loc"][0] == "timezone")
    }
    if not aside:
        return [_problem(err, index) for err in error.errors()]
    found = [_problem(err, index) for err in error.errors() if str(err["loc"][0]) in aside]
    try:
        spec = _spec_of({k: v for k, v in data.items() if k not in aside}, zone)
    except ValidationError as again:
        return found + [_problem(err, index) for err in again.errors()]
    return found + [Problem(p.field, p.message, index) for p in _rules_broken(spec, now=now)]


def check_post(spec: PostSpec, *, now: datetime) -> list[Problem]:
    """Every rule `spec` breaks; an empty list means it may be stored."""
    return [*_check_unicode(spec), *_rules_broken(spec, now=now)]


def _rules_broken(spec: PostSpec, *, now: datetime) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_check_media, _check_fields, _check_text, _check_tags, _check_extras):
        problems.extend(check(spec))
    problems.extend(check_publish_at(spec.publish_at, now=now))
    problems.extend(check_recurrence(spec.recurrence))
    return problems


def check_publish_at(
    publish_at: datetime, *, now: datetime, field: str = "publish_at"
) -> list[Problem]:
    if publish_at.tzinfo is None:
        return [Problem(field, "must include a UTC offset or a timezone")]
    if publish_at < now - PAST_GRACE:
        ago = _human(now - publish_at)
        return [Problem(field, f"must be in the future (it is {ago} ago)")]
    if publish_at.year > now.year + AHEAD_MAX_YEARS:
        return [Problem(field, f"must be within {AHEAD_MAX_YEARS} years from now")]
    return []


def check_recurrence(rule: str | None) -> list[Problem]:
    if rule is None:
        return []
    from .recurrence import is_valid_rule

    if not is_valid_rule(rule):
        return [Problem("recurrence", f"{rule!r} is not a valid cron rule (e.g. '0 9 * * MON')")]
    return []


NOT_UNICODE = "is not valid Unicode text: it holds a lone surrogate ({code}) at character {at}"


def text_problems(value: Any, path: str = "") -> list[Problem]:
    """Every string in `value` (nested dicts and lists too) that is not valid Unicode text.

    JSON may escape half of a surrogate pair (``"a\\ud800b"``); Python reads it, but such a
    string cannot be encoded, stored or sent, so it is refused where it comes in. Iterative:
    JSON nested as deep as the parser allows must not exhaust the stack here. Asked twice of
    every POST: an ASCII string (`str.isascii` reads a flag) or a number cannot hold a
    surrogate, so neither is queued nor given a path.
    """
    found: list[Problem] = []
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            found.extend(_lone_surrogate(item, where or "(post)"))
        elif isinstance(item, dict):
            for key, child in item.items():
                name = str(key)
                bad_name = [] if name.isascii() else _lone_surrogate(name, where or "(post)")
                found.extend(bad_name)
                if not bad_name and _may_hold_surrogates(child):
                    pending.append((child, f"{where}.{name}" if where else name))
        elif isinstance(item, list | tuple):
            pending.extend(
                (child, f"{where}[{i}]")
                for i, child in enumerate(item)
                if _may_hold_surrogates(child)
            )
    return found


def _may_hold_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii()
    return isinstance(value, dict | list | tuple)


def _lone_surrogate(text: str, field: str) -> list[Problem]:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = f"\\u{ord(text[exc.start]):04x}"
        return [Problem(field, NOT_UNICODE.format(code=code, at=exc.start + 1))]
    return []


def _check_unicode(spec: PostSpec) -> Iterable[Problem]:
    yield from text_problems(spec.model_dump(mode="python", exclude={"access_token"}))
    yield from text_problems(spec.token_value(), "access_token")


def _check_media(spec: PostSpec) -> Iterable[Problem]:
    if spec.media_type is MediaType.CAROUSEL:
        for field in ("media_url", "media_path"):
            if getattr(spec, field) is not None:
                yield Problem(field, f"a carousel takes its media from 'children', not '{field}'")
        yield from _check_children(spec.children)
        return
    if spec.children:
        yield Problem("children", f"only a carousel has children, not {_a(spec.media_type)}")
    if spec.media_url is None and spec.media_path is None:
        yield Problem("media_url", f"is required for {_a(spec.media_type)} (or 'media_path')")
        return
    yield from _check_source("", spec.media_url, spec.media_path, spec.media_file)
    if spec.media_type is MediaType.IMAGE and guess_kind(spec.media_source) is ItemKind.VIDEO:
        field = "media_url" if spec.media_url is not None else "media_path"
        yield Problem(field, "is a video: post videos as a reel (content_type 'Video')")


def _check_source(
    where: str, url: str | None, path: str | None, stored: str | None
) -> Iterable[Problem]:
    """A media item comes from exactly one place: a public URL or a local file."""
    if url is not None and path is not None:
        yield Problem(f"{where}media_path", "give either 'media_url' or 'media_path', not both")
        return
    if url is not None:
        yield from _check_url(f"{where}media_url", url)
        if stored is not None:
            yield Problem(f"{where}media_file", "is set by igautopost for a 'media_path' only")
    elif path is not None and not path.strip():
        yield Problem(f"{where}media_path", "must name a file")


def _check_children(children: list[CarouselItem]) -> Iterable[Problem]:
    count = len(children)
    if not CAROUSEL_MIN_ITEMS <= count <= CAROUSEL_MAX_ITEMS:
        yield Problem(
            "children",
            f"a carousel needs {CAROUSEL_MIN_ITEMS} to {CAROUSEL_MAX_ITEMS} items, got {count}",
        )
    for i, child in enumerate(children):
        where = f"children[{i}]"
        if child.media_url is None and child.media_path is None:
            yield Problem(f"{where}.media_url", "is required (or 'media_path')")
        yield from _check_source(f"{where}.", child.media_url, child.media_path, child.media_file)
        video = child.item_kind is ItemKind.VIDEO
        if video and child.alt_text is not None:
            yield Problem(f"{where}.alt_text", "is allowed on image items only")
        if not video and child.thumb_offset is not None:
            yield Problem(f"{where}.thumb_offset", "is allowed on video items only")
        yield from _check_offset(f"{where}.thumb_offset", child.thumb_offset)
        yield from _check_alt_text(f"{where}.alt_text", child.alt_text)
        yield from _check_user_tags(f"{where}.user_tags", child.user_tags, need_xy=True)


def _check_fields(spec: PostSpec) -> Iterable[Problem]:
    """Fields the media type does not take are refused rather than silently dropped."""
    for field, allowed in ALLOWED.items():
        value = getattr(spec, field)
        if value in (None, "", []) or spec.media_type in allowed:
            continue
        takers = ", ".join(sorted(allowed))
        yield Problem(field, f"is not allowed on {_a(spec.media_type)} (only on: {takers})")


def _check_text(spec: PostSpec) -> Iterable[Problem]:
    yield from _check_caption("caption", spec.caption)
    if spec.first_comment is not None:
        yield from _check_caption("first_comment", spec.first_comment)
        if not spec.first_comment.strip():
            yield Problem("first_comment", "must not be empty")
    yield from _check_alt_text("alt_text", spec.alt_text)


def _check_caption(field: str, text: str) -> Iterable[Problem]:
    if len(text) > CAPTION_MAX_CHARS:
        yield Problem(field, f"is {len(text)} characters long; the limit is {CAPTION_MAX_CHARS}")
    hashtags = len(HASHTAG.findall(text))
    if hashtags > HASHTAGS_MAX:
        yield Problem(field, f"has {hashtags} hashtags; the limit is {HASHTAGS_MAX}")
    mentions = len(MENTION.findall(text))
    if mentions > MENTIONS_MAX:
        yield Problem(field, f"has {mentions} @-mentions; the limit is {MENTIONS_MAX}")


def _check_alt_text(field: str, text: str | None) -> Iterable[Problem]:
    if text is not None and len(text) > ALT_TEXT_MAX_CHARS:
        yield Problem(field, f"is {len(text)} characters long; the limit is {ALT_TEXT_MAX_CHARS}")


def _check_tags(spec: PostSpec) -> Iterable[Problem]:
    need_xy = spec.media_type is not MediaType.STORY
    yield from _check_user_tags("user_tags", spec.user_tags, need_xy=need_xy)
    if len(spec.collaborators) > COLLABORATORS_MAX:
        yield Problem(
            "collaborators",
            f"has {len(spec.collaborators)} names; the limit is {COLLABORATORS_MAX}",
        )
    for i, name in enumerate(spec.collaborators):
        if not USERNAME.match(name):
            yield Problem(f"collaborators[{i}]", f"{name!r} is not an Instagram username")


def _check_user_tags(field: str, tags: list[UserTag], *, need_xy: bool) -> Iterable[Problem]:
    """Instagram's user tag rule (graph-api.md), which the sandbox emulates: x and y are
    fractions from 0 to 1, required on every tag but a story's (optional there since
    2025-07); Instagram refuses a reel or carousel item tag without them (code 100)."""
    if len(tags) > USER_TAGS_MAX:
        yield Problem(field, f"has {len(tags)} tags; the limit is {USER_TAGS_MAX}")
    for i, tag in enumerate(tags):
        where = f"{field}[{i}]"
        if not USERNAME.match(tag.username):
            yield Problem(f"{where}.username", f"{tag.username!r} is not an Instagram username")
        for axis in ("x", "y"):
            value = getattr(tag, axis)
            if value is None:
                if need_xy:
                    yield Problem(
                        f"{where}.{axis}", "is required (only a story's tags may omit it)"
                    )
            elif not 0.0 <= value <= 1.0:
                yield Problem(f"{where}.{axis}", f"must be between 0 and 1, got {value}")


def _check_extras(spec: PostSpec) -> Iterable[Problem]:
    yield from _check_offset("thumb_offset", spec.thumb_offset)
    if spec.cover_url is not None:
        yield from _check_url("cover_url", spec.cover_url)
    if spec.location_id is not None and not LOCATION_ID.match(spec.location_id):
        yield Problem("location_id", f"{spec.location_id!r} is not a numeric Page id")
    if not spec.account.isdigit():
        yield Problem("account", f"{spec.account!r} is not a numeric Instagram user id")
    if spec.access_token is not None and not spec.token_value():
        yield Problem("access_token", "must not be empty")
    if spec.prepare_ahead is not None and not 0 <= spec.prepare_ahead <= PREPARE_AHEAD_MAX:
        yield Problem(
            "prepare_ahead",
            f"must be 0 to {PREPARE_AHEAD_MAX} seconds (containers expire after 24 h), "
            f"got {spec.prepare_ahead}",
        )
    if spec.client_key is not None and not 1 <= len(spec.client_key) <= 200:
        yield Problem("client_key", "must be 1 to 200 characters long")


def _check_offset(field: str, offset: int | None) -> Iterable[Problem]:
    if offset is not None and offset < 0:
        yield Problem(field, f"must be 0 or more milliseconds, got {offset}")


def _check_url(field: str, url: str) -> Iterable[Problem]:
    if not url.isascii():
        yield Problem(field, "must be US-ASCII (percent-encode other characters)")
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        yield Problem(field, f"must be a public http(s) URL, got {url[:80]!r}")


def _problem(error: Any, index: int | None) -> Problem:
    loc = error.get("loc", ())
    field = _field_path(loc) or "(post)"
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "extra_forbidden":
        message = "is not a known field"
    elif error.get("type") == "missing":
        message = "is required"
    return Problem(field, message.removeprefix("Value error, "), index)


def _field_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _a(media_type: str) -> str:
    """ "an image", "a reel": the article a media type takes in a message."""
    return f"an {media_type}" if media_type[:1] in "aeiou" else f"a {media_type}"
