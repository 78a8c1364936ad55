"""The in-memory stores (tests, examples, experiments): `InMemoryStore` with its accounts,
and `InMemoryUserStore` beside it."""

from typing import TYPE_CHECKING

from .accounts import InMemoryAccountStore
from .store import InMemoryStore
from .users import InMemoryLoginFailures, InMemoryUserStore

__all__ = ["InMemoryAccountStore", "InMemoryLoginFailures", "InMemoryStore", "InMemoryUserStore"]


if TYPE_CHECKING:  # mypy checks that both implementations keep the protocols' promises
    import sqlalchemy as sa

    from ...crypto import TokenCipher
    from ..protocols import AccountStore, Store, UserStore
    from ..sql import SqlStore, SqlUserStore

    def _conformance(cipher: TokenCipher, engine: sa.Engine) -> None:
        in_memory: Store = InMemoryStore(cipher=cipher)
        in_sql: Store = SqlStore(engine, cipher=cipher)
        accounts: tuple[AccountStore, AccountStore] = (in_memory.accounts, in_sql.accounts)
        users: tuple[UserStore, UserStore] = (
            InMemoryUserStore(InMemoryStore(cipher=cipher)),
            SqlUserStore(engine),
        )
        del in_memory, in_sql, accounts, users
