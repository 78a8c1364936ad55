"""Failed-login counts in the database, shared by every process that serves the API.

Each login attempt is counted as a failure *before* its password is checked, in the same
transaction that decides whether it may be checked at all; a correct password takes its count
back (`forgive`). So parallel guesses cannot all pass a check before any of them is counted.
Two counters take each attempt: its client address with its username, and its address alone
(username ``''``). A counter counts the failures of a window that starts at its first failure
and lasts `Budget.window`; a later failure after the window starts a new one.

Counting is one upsert per counter, always the pair's before the address's: PostgreSQL locks
the row each writes (a parallel attempt waits for it), SQLite runs one write transaction at a
time. Expired rows are deleted in a transaction of their own, skipping rows locked by a
running attempt, so that the deletion can never deadlock with one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..protocols import Budget
from .sqlite_writes import write_transaction
from .tables import login_failures

ADDRESS_ALONE = ""  # the username of an address's own counter


class _Refused(Exception):
    def __init__(self, until: datetime) -> None:
        self.until = until


class LoginFailureStore:
    """The login_failures table (migration 0005)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def count(
        self, username: str, address: str, *, now: datetime, budget: Budget
    ) -> datetime | None:
        """Count a failure for the pair and for the address and return None; or, when either
        has used up its budget, count nothing and return when both allow another attempt."""
        cutoff = now - budget.window
        try:
            with write_transaction(self.engine) as conn:
                pair = self._add(conn, address, username, now, cutoff)
                alone = self._add(conn, address, ADDRESS_ALONE, now, cutoff)
                blocked = [
                    counter.window_start + budget.window
                    for counter, limit in ((pair, budget.per_pair), (alone, budget.per_address))
                    if counter.failures > limit
                ]
                if blocked:
                    raise _Refused(max(blocked))  # rolls the two counts back
        except _Refused as refused:
            return refused.until
        self._prune(cutoff)
        return None

    def forgive(self, username: str, address: str, *, counted_at: datetime) -> None:
        """Take back the failure counted at `counted_at` (its password was right): the pair's
        counter goes, the address's loses one if its window still holds that failure."""
        pair = sa.and_(login_failures.c.address == address, login_failures.c.username == username)
        alone = sa.and_(
            login_failures.c.address == address,
            login_failures.c.username == ADDRESS_ALONE,
            login_failures.c.window_start <= counted_at,
            login_failures.c.failures > 0,
        )
        with write_transaction(self.engine) as conn:
            conn.execute(login_failures.delete().where(pair))
            conn.execute(
                login_failures.update().where(alone).values(failures=login_failures.c.failures - 1)
            )

    def failures(self, username: str, address: str) -> int:
        """The pair's count in its current window (0 when there is none); for tests and tools."""
        query = sa.select(login_failures.c.failures).where(
            login_failures.c.address == address, login_failures.c.username == username
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def _add(
        self, conn: sa.Connection, address: str, username: str, now: datetime, cutoff: datetime
    ) -> sa.Row[Any]:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        expired = login_failures.c.window_start <= cutoff
        upsert = (
            insert(login_failures)
            .values(address=address, username=username, failures=1, window_start=now)
            .on_conflict_do_update(
                index_elements=["address", "username"],
                set_={
                    "failures": sa.case((expired, 1), else_=login_failures.c.failures + 1),
                    "window_start": sa.case((expired, now), else_=login_failures.c.window_start),
                },
            )
            .returning(login_failures.c.failures, login_failures.c.window_start)
        )
        return conn.execute(upsert).one()

    def _prune(self, cutoff: datetime) -> None:
        expired = (
            sa.select(login_failures.c.address, login_failures.c.username)
            .where(login_failures.c.window_start <= cutoff)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite writes one at a time anyway
        )
        key = sa.tuple_(login_failures.c.address, login_failures.c.username)
        with write_transaction(self.engine) as conn:
            conn.execute(login_failures.delete().where(key.in_(expired)))
