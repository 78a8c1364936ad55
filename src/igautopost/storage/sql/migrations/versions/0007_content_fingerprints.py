"""content fingerprints for the duplicate warning, and indexes for lists by publish time

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

The near-duplicate warning loaded and parsed every active post of the account within an hour
of each new post: 3,000 posts in one hour made POST /api/v1/posts/ 40 % slower. Each post now
stores `fingerprint` (a hash of its media and caption, `PostSpec.content_fingerprint`),
indexed with the account and publish time, so the warning is one indexed lookup. Active posts
get theirs here; finished ones never take part in the warning.

Lists by publish time (the API's pages, `igautopost list`) get indexes in their order, with
and without an owner, so that a page is one index range at any depth.
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTIVE = ("scheduled", "processing", "ready")
BATCH = 5000


def fingerprint(spec_json: str) -> str | None:
    """`PostSpec.content_fingerprint` of a stored spec, as that method computed it when this
    migration was written (tests/storage/test_fingerprints.py keeps the two equal)."""
    try:
        spec = json.loads(spec_json)
        media = [spec.get("media_url") or ""]
        media += [child["media_url"] for child in spec.get("children") or []]
        text = json.dumps([media, spec.get("caption") or ""], ensure_ascii=False)
    except (ValueError, TypeError, KeyError):
        return None  # a row that cannot be read: the scheduler fails it, no warning needed
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(32), nullable=True))
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("spec_json", sa.Text),
        sa.column("fingerprint", sa.String),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(posts.c.id, posts.c.spec_json)
            .where(posts.c.id > last, posts.c.status.in_(ACTIVE))
            .order_by(posts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            posts.update().where(posts.c.id == sa.bindparam("row_id")),
            [{"row_id": row.id, "fingerprint": fingerprint(row.spec_json)} for row in rows],
        )
        last = rows[-1].id
    op.create_index(
        "ix_posts_account_fingerprint", "posts", ["account", "fingerprint", "publish_at"]
    )
    op.create_index("ix_posts_owner_publish_at", "posts", ["owner_id", "publish_at", "id"])
    op.create_index("ix_posts_publish_at", "posts", ["publish_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_posts_publish_at", "posts")
    op.drop_index("ix_posts_owner_publish_at", "posts")
    op.drop_index("ix_posts_account_fingerprint", "posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("fingerprint")
