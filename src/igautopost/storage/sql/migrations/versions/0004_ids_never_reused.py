"""ids never reused (SQLite AUTOINCREMENT); client keys unique per owner and account

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

SQLite gives a new row the highest id plus one, so deleting the newest user handed their id,
and with it their posts and accounts (keyed by owner_id), to the next user created. With
AUTOINCREMENT an id is never given twice; the counter starts above every owner id still in
use, so the posts of a user deleted before this migration stay nobody's. PostgreSQL's
sequences never hand out an id twice: nothing to do there.

A client key was unique per account: one user could learn whether another used a key, and
block it. It is now unique per owner and account (the local operator's posts, without an
owner, among themselves).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REBUILT = ("users", "api_tokens", "accounts")
OWNED = "client_key IS NOT NULL AND owner_id IS NOT NULL"
LOCAL = "client_key IS NOT NULL AND owner_id IS NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in REBUILT:
            _rebuild(table, autoincrement=True)
        _start_user_ids_above_every_owner()
    op.drop_index("uq_posts_account_client_key", "posts")
    _client_key_index("uq_posts_owner_account_client_key", ["owner_id"], OWNED)
    _client_key_index("uq_posts_local_account_client_key", [], LOCAL)


def downgrade() -> None:
    op.drop_index("uq_posts_local_account_client_key", "posts")
    op.drop_index("uq_posts_owner_account_client_key", "posts")
    _client_key_index("uq_posts_account_client_key", [], "client_key IS NOT NULL")
    if op.get_bind().dialect.name == "sqlite":
        for table in REBUILT:
            _rebuild(table, autoincrement=False)


def _rebuild(table: str, *, autoincrement: bool) -> None:
    """SQLite changes a table's key only by copying the table (migrate.upgrade turns the
    foreign key checks off meanwhile, and checks every key afterwards)."""
    kwargs = {"sqlite_autoincrement": True} if autoincrement else {}
    with op.batch_alter_table(table, recreate="always", table_kwargs=kwargs):
        pass


def _start_user_ids_above_every_owner() -> None:
    highest = """
        SELECT max(id) FROM (
            SELECT max(id) AS id FROM users
            UNION ALL SELECT max(owner_id) FROM posts
            UNION ALL SELECT max(owner_id) FROM accounts
        )"""
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'users'")
    op.execute(f"INSERT INTO sqlite_sequence VALUES ('users', coalesce(({highest}), 0))")


def _client_key_index(name: str, owner: list[str], where: str) -> None:
    op.create_index(
        name,
        "posts",
        [*owner, "account", "client_key"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )
