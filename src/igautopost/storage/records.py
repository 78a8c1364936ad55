"""The stored form of a post, shared by every store: the columns a new post starts with and
those a new spec sets. `SqlStore` writes them to its table, `InMemoryStore` keeps them as
dicts; both read them back with `sql.rows.read_post`, so a post looks the same in either."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..crypto import TokenCipher
from ..models import Post, PostSpec, Status


def spec_json(spec: PostSpec) -> str:
    """The spec as stored: JSON without its token."""
    return json.dumps(spec.public_dict(), separators=(",", ":"))


def new_post_row(
    spec: PostSpec,
    *,
    now: datetime,
    owner_id: int | None,
    cipher: TokenCipher,
    encrypted: dict[str, str],
) -> dict[str, Any]:
    """A scheduled post's columns. `encrypted` maps tokens to ciphertexts already made (bulk
    files repeat one token): reused, and filled with the ones made here."""
    token = spec.token_value()
    if token is not None and token not in encrypted:
        encrypted[token] = cipher.encrypt(token)
    return {
        "owner_id": owner_id,
        "account": spec.account,
        "media_type": spec.media_type.value,
        "status": Status.SCHEDULED.value,
        "spec_json": spec_json(spec),
        "token_ciphertext": encrypted.get(token) if token else None,
        "client_key": spec.client_key,
        "fingerprint": spec.content_fingerprint(),
        "publish_at": spec.publish_at,
        "next_attempt_at": spec.publish_at,
        "attempts": 0,
        "containers_created": 0,
        "created_at": now,
        "updated_at": now,
    }


def spec_columns(spec: PostSpec, cipher: TokenCipher) -> dict[str, Any]:
    """The columns an edited spec replaces (its token only when it brings one)."""
    columns: dict[str, Any] = {
        "spec_json": spec_json(spec),
        "publish_at": spec.publish_at,
        "media_type": spec.media_type.value,
        "client_key": spec.client_key,
        "fingerprint": spec.content_fingerprint(),
    }
    if spec.access_token is not None:
        columns["token_ciphertext"] = cipher.encrypt(spec.access_token.get_secret_value())
    return columns


def new_post_rows(
    specs: Sequence[PostSpec],
    *,
    now: datetime,
    owner_id: int | None,
    cipher: TokenCipher,
    prepare_at: Sequence[datetime] | None,
    ciphertexts: Mapping[str, str] | None,
) -> list[dict[str, Any]]:
    """The rows of new posts, each first due at its `prepare_at` (default: its publish
    time); one ciphertext per distinct token (bulk files repeat it)."""
    encrypted = dict(ciphertexts or {})
    rows = [
        new_post_row(spec, now=now, owner_id=owner_id, cipher=cipher, encrypted=encrypted)
        for spec in specs
    ]
    for row, due in zip(rows, prepare_at or (), strict=False):
        row["next_attempt_at"] = due
    return rows


@dataclass(frozen=True)
class PendingRows:
    """New posts' rows made by a store's `prepare_add`, inserted by `store`."""

    specs: list[PostSpec]
    rows: list[dict[str, Any]]
    now: datetime
    insert: Callable[[list[PostSpec], list[dict[str, Any]], datetime], list[Post]]

    def store(self) -> list[Post]:
        return self.insert(self.specs, self.rows, self.now)
