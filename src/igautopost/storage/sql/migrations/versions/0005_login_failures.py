"""failed logins counted in the database, shared by every server process

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12

The login throttle kept its counts in each process: `serve` with four API processes allowed
four times the budget, and a restart forgot every count. One row per client address and
username, and one per address alone (username ''), counts the failures of its window.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(150), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_failures_window_start", "login_failures", ["window_start"])


def downgrade() -> None:
    op.drop_table("login_failures")
