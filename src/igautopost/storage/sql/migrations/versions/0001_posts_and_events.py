"""posts and their event log

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec_json", sa.String(), nullable=False),
        sa.Column("token_ciphertext", sa.String(), nullable=True),
        sa.Column("client_key", sa.String(200), nullable=True),
        sa.Column("publish_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("containers_created", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("container_id", sa.String(64), nullable=True),
        sa.Column("child_container_ids", sa.String(), nullable=True),
        sa.Column("container_created_at", sa.DateTime(), nullable=True),
        sa.Column("publish_attempted_at", sa.DateTime(), nullable=True),
        sa.Column("media_id", sa.String(64), nullable=True),
        sa.Column("permalink", sa.String(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("comment_id", sa.String(64), nullable=True),
        sa.Column("comment_attempted_at", sa.DateTime(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_subcode", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_posts_owner_id", "posts", ["owner_id"])
    op.create_index("ix_posts_due", "posts", ["status", "next_attempt_at"])
    op.create_index("ix_posts_lease_until", "posts", ["lease_until"])
    op.create_index("ix_posts_account_publish_at", "posts", ["account", "publish_at"])
    op.create_index(
        "uq_posts_account_client_key",
        "posts",
        ["account", "client_key"],
        unique=True,
        sqlite_where=sa.text("client_key IS NOT NULL"),
        postgresql_where=sa.text("client_key IS NOT NULL"),
    )
    op.create_table(
        "post_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
    )
    op.create_index("ix_post_events_post_id", "post_events", ["post_id"])


def downgrade() -> None:
    op.drop_table("post_events")
    op.drop_table("posts")
