"""Storage: the `Store` protocol and its SQL implementation (SQLite by default, PostgreSQL)."""

from .base import PostQuery, Store
from .sql import SqlStore, create_engine

__all__ = ["PostQuery", "SqlStore", "Store", "create_engine"]
