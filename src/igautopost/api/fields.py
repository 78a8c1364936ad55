"""Field names on the wire: the old service's (``user_id``, ``url``, ``date_pub``...) and ours.

Clients send either; unknown fields are ignored, as Django REST Framework ignores them; an
error names a field the way the client named it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ..models import PostSpec

# Our field name -> the old service's name for it.
OLD_NAMES = {
    "account": "user_id",
    "access_token": "token",
    "media_url": "url",
    "media_type": "content_type",
    "publish_at": "date_pub",
    "thumb_offset": "thump_offset",
}
TOKEN_NAMES = frozenset({"access_token", "token"})


@cache
def aliases() -> dict[str, str]:
    """Every accepted input name -> the `PostSpec` field it fills."""
    table: dict[str, str] = {}
    for name, info in PostSpec.model_fields.items():
        table[name] = name
        for alias in getattr(info.validation_alias, "choices", ()):
            table[str(alias)] = name
    return table


def known_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` without the fields a post does not have (ids, statuses, typos): DRF ignores them."""
    table = aliases()
    return {key: value for key, value in data.items() if key in table}


def client_name(field: str, data: Mapping[str, Any]) -> str:
    """The name to report `field` under: the one the client sent; for a field it did not send,
    the old name unless the client writes our names."""
    table = aliases()
    for key in data:
        if table.get(key) == field:
            return key
    old = OLD_NAMES.get(field)
    if old is None:
        return field
    uses_new_names = any(name in data for name in OLD_NAMES)
    return field if uses_new_names else old
