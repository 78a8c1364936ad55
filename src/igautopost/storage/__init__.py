"""Storage: the protocols the rest of igautopost is typed to (`protocols`), the SQL
implementation (`sql`: SQLite by default, PostgreSQL) and an in-memory one (`memory`)."""

from .memory import InMemoryAccountStore, InMemoryStore, InMemoryUserStore
from .protocols import (
    AccountStore,
    ClaimStore,
    PostQuery,
    PostStore,
    QuotaSlot,
    Store,
    UserStore,
)
from .sql import SqlAccountStore, SqlStore, SqlUserStore, create_engine

__all__ = [
    "AccountStore",
    "ClaimStore",
    "InMemoryAccountStore",
    "InMemoryStore",
    "InMemoryUserStore",
    "PostQuery",
    "PostStore",
    "QuotaSlot",
    "SqlAccountStore",
    "SqlStore",
    "SqlUserStore",
    "Store",
    "UserStore",
    "create_engine",
]
