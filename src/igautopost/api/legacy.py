"""The old service's input rules, applied before a post reaches the library.

Django REST Framework checked these on the old serializer, and its clients rely on them:

- every nullable field (``caption``, ``location_id``, ``user_tags``, ``thump_offset``) takes
  an explicit ``null``;
- the five required fields (``user_id``, ``url``, ``token``, ``date_pub``, ``content_type``)
  are each reported as required when missing, and may not be null or blank;
- ``url`` holds at most 4,000 characters and ``user_id`` fits the old BigIntegerField;
- the token placeholder that every answer carries, sent back (as a PUT of a fetched post
  does), keeps the stored token instead of replacing it.

The library's own rules (Instagram's limits) are checked afterwards; this module only adds
what the old contract promised on top of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Problem
from ..models import MEDIA_TYPE_NAMES, MediaType
from .fields import OLD_NAMES, TOKEN_NAMES, aliases

TOKEN_PLACEHOLDER = "********"
URL_MAX_CHARS = 4000
BIGINT_MAX = 2**63 - 1
NULLABLE = frozenset({"caption", "location_id", "user_tags", "thumb_offset"})
# The old required fields, by the library's field names (the API reports the client's names).
REQUIRED = ("account", "media_url", "access_token", "publish_at", "media_type")
REQUIRED_MESSAGE = "is required"  # errors.py words it as DRF does: "This field is required."


def old_rules(
    data: Mapping[str, Any], *, required: bool, stored_token: bool = False
) -> tuple[dict[str, Any], list[Problem]]:
    """`data` as the library takes it, and the old rules it breaks.

    `required` asks for every required field (POST, PUT); `stored_token` says a token is
    already known (a stored account, or the post's own on a PUT), so none need be sent.
    """
    fields = _one_name_each(
        {key: value for key, value in data.items() if not _placeholder(key, value)}
    )
    given = _by_field(fields)
    problems: list[Problem] = []
    for field in REQUIRED:
        value = given.get(field, _MISSING)
        if value is _MISSING:
            if required and _needed(field, given, stored_token):
                problems.append(Problem(field, _missing_message(field, data)))
        elif value is None:
            problems.append(Problem(field, "This field may not be null."))
        elif isinstance(value, str) and not value.strip():
            problems.append(Problem(field, "This field may not be blank."))
    problems.extend(_limits(given))
    for key, value in fields.items():
        if value is None and aliases().get(key) == "user_tags":
            fields[key] = []  # null means "no tags", as the old nullable field did
    return fields, problems


_MISSING = object()


def _placeholder(key: str, value: Any) -> bool:
    return key in TOKEN_NAMES and value == TOKEN_PLACEHOLDER


def _one_name_each(data: dict[str, Any]) -> dict[str, Any]:
    """One value per field. A fetched post sent back carries `user_id` and its extension twin
    `account`: an old client edits the old name and echoes the other, so the old name wins."""
    table = aliases()
    old_names = set(OLD_NAMES.values())
    chosen: dict[str, str] = {}
    for key in data:
        field = table.get(key, key)
        if field not in chosen or key in old_names:
            chosen[field] = key
    keep = set(chosen.values())
    return {key: value for key, value in data.items() if key in keep}


def _by_field(data: Mapping[str, Any]) -> dict[str, Any]:
    """The sent values by library field name (old and new names alike)."""
    table = aliases()
    return {table[key]: value for key, value in data.items() if key in table}


def _needed(field: str, given: Mapping[str, Any], stored_token: bool) -> bool:
    if field == "access_token":
        return not stored_token
    if field == "media_url":  # a carousel takes its media from children instead
        if given.get("media_path"):  # set by the server: the file uploaded in media_url
            return False
        kind = given.get("media_type")
        name = kind.strip().lower() if isinstance(kind, str) else None
        return MEDIA_TYPE_NAMES.get(name or "") is not MediaType.CAROUSEL
    return True


def _missing_message(field: str, data: Mapping[str, Any]) -> str:
    if field == "access_token" and any(_placeholder(k, v) for k, v in data.items()):
        return f"is the placeholder {TOKEN_PLACEHOLDER!r} that answers carry; send the token"
    return REQUIRED_MESSAGE


def _limits(given: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    url = given.get("media_url")
    if isinstance(url, str) and len(url) > URL_MAX_CHARS:
        problems.append(
            Problem("media_url", f"Ensure this field has no more than {URL_MAX_CHARS} characters.")
        )
    account = given.get("account")
    text = str(account) if isinstance(account, int | str) else ""
    if text.isascii() and text.isdigit() and int(text) > BIGINT_MAX:
        problems.append(
            Problem("account", f"Ensure this value is less than or equal to {BIGINT_MAX}.")
        )
    return problems
