"""post_media: which posts use which media copy

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A post scheduled from a local file (`media_path`) publishes a copy kept in the media store
under its content hash (`PostSpec.media_file`, and its carousel items'). `igautopost serve`
serves a copy only while an active post uses it, and the pruner deletes a copy once every
post using it is finished: both ask "which posts use this key?", here one range of an index
on the key instead of a read of every post's JSON. A row goes when its post does.

Nothing is filled in: no version before this one set `media_file` on a stored post.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_media",
        sa.Column(
            "post_id",
            sa.Integer(),
            sa.ForeignKey("posts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("media_key", sa.String(80), primary_key=True),
    )
    op.create_index("ix_post_media_key", "post_media", ["media_key", "post_id"])


def downgrade() -> None:
    op.drop_index("ix_post_media_key", "post_media")
    op.drop_table("post_media")
