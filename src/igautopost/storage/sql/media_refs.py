"""Which posts use which media copy: the `post_media` table.

A post scheduled from a local file names its copy by key (`PostSpec.media_file`, and its
carousel items'). The served route asks "does an active post use this key?" on every fetch,
and the pruner "who uses these keys, and in what status?": both are one range of an index on
the key here, instead of a read of every post's JSON. The rows are written in the same
transaction as the post (`SqlStore.add`, `add_many`, an edit's new spec, a recurring post's
next occurrence), so a copy is never without its users in between.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from ...models import PostSpec, Status
from ..protocols import MediaUse
from .tables import posts

# 64 hex digits and an extension (media.store.KEY_PATTERN); room to spare.
post_media = sa.Table(
    "post_media",
    SQLModel.metadata,
    sa.Column(
        "post_id",
        sa.Integer,
        sa.ForeignKey("posts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("media_key", sa.String(80), primary_key=True),
    sa.Index("ix_post_media_key", "media_key", "post_id"),
)

LOOKUP_CHUNK = 500  # keys per IN (...): well under every database's parameter limit


def media_keys(spec: PostSpec) -> set[str]:
    """The media copies a post uses: its own and its carousel items'."""
    keys = {child.media_file for child in spec.children if child.media_file}
    if spec.media_file:
        keys.add(spec.media_file)
    return keys


def insert_refs(conn: sa.Connection, ids: Sequence[int], specs: Sequence[PostSpec]) -> None:
    rows = [
        {"post_id": post_id, "media_key": key}
        for post_id, spec in zip(ids, specs, strict=True)
        for key in sorted(media_keys(spec))
    ]
    if rows:
        conn.execute(post_media.insert(), rows)


def replace_refs(conn: sa.Connection, post_id: int, spec: PostSpec) -> None:
    """An edit gave the post a new spec: its copies are those of the new one."""
    conn.execute(post_media.delete().where(post_media.c.post_id == post_id))
    insert_refs(conn, [post_id], [spec])


def copy_refs(conn: sa.Connection, source_id: int, new_id: int) -> None:
    """A recurring post's next occurrence publishes the same copies."""
    conn.execute(
        post_media.insert().from_select(
            ["post_id", "media_key"],
            sa.select(sa.literal(new_id), post_media.c.media_key).where(
                post_media.c.post_id == source_id
            ),
        )
    )


def media_uses(conn: sa.Connection, keys: Iterable[str]) -> dict[str, builtins.list[MediaUse]]:
    """The posts using each of `keys` (keys no post uses are left out), by post id."""
    found: dict[str, builtins.list[MediaUse]] = {}
    wanted = iter(sorted(set(keys)))
    while chunk := builtins.list(islice(wanted, LOOKUP_CHUNK)):
        for row in conn.execute(_USES, {"keys": chunk}):
            found.setdefault(row.media_key, []).append(_use(row))
    return found


def _use(row: Any) -> MediaUse:
    return MediaUse(post_id=row.id, status=Status(row.status), updated_at=row.updated_at)


_USES = (
    sa.select(post_media.c.media_key, posts.c.id, posts.c.status, posts.c.updated_at)
    .join(posts, posts.c.id == post_media.c.post_id)
    .where(post_media.c.media_key.in_(sa.bindparam("keys", expanding=True)))
    .order_by(post_media.c.media_key, posts.c.id)
)
