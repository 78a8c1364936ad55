"""publishing slots held in the database, and what a claim did as a column of its own

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

The quota was reserved per process: quota 2, four posts due in the same second and two
workers made four publish calls, two refused by Instagram (9/2207042). A post about to be
published now holds one of its account's slots (`quota_held_until`) in the same
transaction that counts the others, so every process sees every slot.

A claim said whether it stored the publish attempt itself only by writing its own time
there, which the reader compared (`publish_attempted_at == claimed_at`). It now sets
`claim_marked_publish`, true or false, in the same write (read as `Post.publish_marked`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("quota_held_until", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "claim_marked_publish", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    for column in ("quota_held_until", "published_at"):  # partial: a new post is in neither
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_posts_account_{column}",
            "posts",
            ["account", column],
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    op.drop_index("ix_posts_account_published_at", "posts")
    op.drop_index("ix_posts_account_quota_held_until", "posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("claim_marked_publish")
        batch.drop_column("quota_held_until")
