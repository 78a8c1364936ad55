"""The SQL implementation of the stores (SQLite by default, PostgreSQL), with its migrations."""

from .accounts import SqlAccountStore
from .store import SqlStore, create_engine
from .users import SqlUserStore

__all__ = ["SqlAccountStore", "SqlStore", "SqlUserStore", "create_engine"]
