"""One writer at a time on a SQLite database, handed over without sleeping.

SQLite lets one connection write at a time. A writer that finds the lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries: however
short the other transaction, the loser sleeps at least a millisecond and often tens. With the
API in two processes, those sleeps were the tail of the POST latency.

So igautopost queues its own writers before they reach SQLite: threads of one process on a
lock, processes on an exclusive `flock` of a file beside the database. The kernel wakes the
next waiter as soon as the holder lets go. SQLite's busy timeout stays as the fallback for
other programs writing to the same file (the sqlite3 shell, a backup tool).

Checkpoints (copying the WAL back into the database file) are taken off that path too.
SQLite's automatic checkpoint runs inside the commit that grows the WAL past 1,000 pages,
and copying the WAL takes many writes' time, all of it with the gate held, so every other
writer would wait for it (docs/benchmarks.md, "The HTTP API"). Here the
connections run with `wal_autocheckpoint=0` (see `storage.sql`), and every
`CHECKPOINT_EVERY` writes the committing thread, after letting go of the gate, copies the
bulk while others write, then takes the gate for a short second pass over what they wrote
meanwhile, so that the WAL is wholly copied and the next writer starts it over. (Taking
that pass only once the WAL held 64 MiB was tried: no better for the API's tail, and the
engine then prepared up to 183 of a 1,000-post burst too late, docs/benchmarks.md.)

Under load, one transaction per write costs more than the write: taking the gate, the
commit, and the WAL pages each commit copies (a post touches a page of every index of
`posts`: about 10). A `WriteBatch` runs several callers' writes in one transaction instead,
each in a savepoint of its own, so that one caller's failure undoes only its own writes; the
API's writer thread batches the POSTs that queued while it wrote (`api.writer`). Inside a
batch, `write_transaction` and `read_connection` on its thread hand out the batch's
connection, so a write sees the batch's earlier writes (a client key stored a moment ago).

PostgreSQL needs none of this: its writers do not exclude each other.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

from .files import sqlite_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads of one process are still queued
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("igautopost.storage")
LOCK_SUFFIX = "-writelock"
CHECKPOINT_EVERY = 200  # writes in this process; about 1,000 WAL pages of posts
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
SAVEPOINT = "igautopost_batched_call"
T = TypeVar("T")


class WriteGate:
    """Held around every write transaction on one database, by every store on it."""

    def __init__(self, database_path: str | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = database_path + LOCK_SUFFIX if database_path else None
        self._fd: int | None = None
        self._pid = 0
        self._commits = 0
        self._checkpointing = False
        # Where a due checkpoint runs: by default on the thread whose commit made it due. The
        # API, whose writes share one thread, gives it a thread of its own (`api.context`).
        self.run_checkpoint: Callable[[Callable[[], None]], object] | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._lock_file()
                yield
            finally:
                if self._depth == 1:
                    self._unlock_file()
                    self._commits += 1
                self._depth -= 1

    def count_writes(self, writes: int) -> None:
        """Count `writes` more toward the next checkpoint than the one commit that held
        them: a batch's commit copies about the pages of as many commits (`WriteBatch`)."""
        with self._lock:
            self._commits += writes

    def checkpoint_due(self) -> bool:
        """True for one caller every `CHECKPOINT_EVERY` writes, until it ran `checkpoint`."""
        with self._lock:
            if self._path is None or self._checkpointing or self._commits < CHECKPOINT_EVERY:
                return False
            self._checkpointing = True
            return True

    def checkpoint(self, engine: sa.Engine) -> None:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(CHECKPOINT).fetchall()  # the bulk, while others write
                with self.held():
                    conn.exec_driver_sql(CHECKPOINT).fetchall()  # what they wrote meanwhile
        finally:
            with self._lock:
                self._commits = 0
                self._checkpointing = False

    def _lock_file(self) -> None:
        if self._path is None or fcntl is None:
            return
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class WriteBatch:
    """Calls whose writes share one SQLite transaction, committed once by `close`.

    Holds the write gate from the first `run` to `close`: open it only around calls that
    are ready to write (not while waiting for the network). `run` calls `call` inside a
    savepoint: if it raises, its writes are undone and the batch goes on. If the commit
    fails, nothing of the batch is stored and `close` raises; the callers must be told.
    """

    def __init__(self, engine: sa.Engine) -> None:
        gate = gate_for(engine)
        if gate is None:
            raise ValueError("a WriteBatch needs a SQLite engine")
        self._engine = engine
        self._gate = gate
        self._held: contextlib.ExitStack | None = None
        self._conn: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self._calls = 0

    def run(self, call: Callable[[], T]) -> T:
        conn = self._connection()
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in use has its driver's
        driver.execute(f"SAVEPOINT {SAVEPOINT}")
        self._calls += 1
        try:
            result = call()
        except BaseException:
            driver.execute(f"ROLLBACK TO {SAVEPOINT}")
            driver.execute(f"RELEASE {SAVEPOINT}")
            raise
        driver.execute(f"RELEASE {SAVEPOINT}")
        return result

    def close(self) -> None:
        """Commit what the calls wrote (nothing to do if none ran), let go of the gate."""
        if self._held is None:
            return
        try:
            assert self._transaction is not None
            self._transaction.commit()
        except BaseException:
            self._undo()
            raise
        finally:
            self._release()
        self._gate.count_writes(self._calls - 1)
        if self._gate.checkpoint_due():
            _checkpoint(self._gate, self._engine)

    def abandon(self) -> None:
        """Undo every call's writes (an error outside the calls), let go of the gate."""
        if self._held is None:
            return
        try:
            self._undo()
        finally:
            self._release()

    def _undo(self) -> None:
        # On the driver itself: a COMMIT that SQLite refused (a deferred constraint) leaves
        # its transaction open, and SQLAlchemy, counting it ended, would pool the connection
        # with the batch's writes still in it, for the next user's commit to store.
        assert self._conn is not None
        driver = self._conn.connection.driver_connection
        assert driver is not None
        driver.rollback()

    def _connection(self) -> sa.Connection:
        if self._conn is not None:
            return self._conn
        with contextlib.ExitStack() as held:
            held.enter_context(self._gate.held())
            conn = held.enter_context(self._engine.connect())
            self._transaction = conn.begin()
            driver = conn.connection.driver_connection
            assert driver is not None
            # pysqlite begins on the first INSERT only; a savepoint first would begin (and
            # its RELEASE commit) a transaction of its own.
            driver.execute("BEGIN")
            _batches().append((self._engine, conn))
            self._held, self._conn = held.pop_all(), conn
        return conn

    def _release(self) -> None:
        batches = _batches()
        batches[:] = [pair for pair in batches if pair[1] is not self._conn]
        held, self._held, self._conn, self._transaction = self._held, None, None, None
        assert held is not None
        held.close()


def _batches() -> list[tuple[sa.Engine, sa.Connection]]:
    """The batches open on this thread, with their connections."""
    found: list[tuple[sa.Engine, sa.Connection]] | None = getattr(_open_batches, "pairs", None)
    if found is None:
        found = _open_batches.pairs = []
    return found


def _batch_connection(engine: sa.Engine) -> sa.Connection | None:
    return next((conn for owner, conn in _batches() if owner is engine), None)


@contextmanager
def read_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """`engine.connect()`, or inside a `WriteBatch` on this thread its connection: a read
    then sees what the batch's earlier calls wrote."""
    shared = _batch_connection(engine)
    if shared is not None:
        yield shared
        return
    with engine.connect() as conn:
        yield conn


_open_batches = threading.local()
_gates: weakref.WeakKeyDictionary[sa.Engine, WriteGate | None] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def gate_for(engine: sa.Engine) -> WriteGate | None:
    """The engine's gate if it is SQLite (one per engine, shared by its stores), else None."""
    with _gates_lock:
        if engine not in _gates:
            _gates[engine] = _new_gate(engine)
        return _gates[engine]


def _new_gate(engine: sa.Engine) -> WriteGate | None:
    if engine.dialect.name != "sqlite":
        return None
    database = sqlite_file(engine.url)  # None in memory: one process, no file to lock
    return WriteGate(os.path.abspath(database) if database else None)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """`engine.begin()`, behind the engine's write gate on SQLite; inside a `WriteBatch` on
    this thread, the batch's transaction (its savepoint keeps the caller's writes apart)."""
    shared = _batch_connection(engine)
    if shared is not None:
        yield shared
        return
    gate = gate_for(engine)
    if gate is None:
        with engine.begin() as conn:
            yield conn
        return
    with gate.held(), engine.begin() as conn:
        yield conn
    if gate.checkpoint_due():
        _checkpoint(gate, engine)


def _checkpoint(gate: WriteGate, engine: sa.Engine) -> None:
    if gate.run_checkpoint is not None:
        try:
            gate.run_checkpoint(functools.partial(_logged_checkpoint, gate, engine))
            return
        except RuntimeError:  # its thread is shut down: run it here
            pass
    gate.checkpoint(engine)


def _logged_checkpoint(gate: WriteGate, engine: sa.Engine) -> None:
    try:
        gate.checkpoint(engine)
    except Exception:  # on a thread of its own nobody would see it; the next one retries
        log.exception("checkpoint of the SQLite WAL failed")
