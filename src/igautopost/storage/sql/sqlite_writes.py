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
`CHECKPOINT_EVERY` commits the committing thread, after letting go of the gate, copies the
bulk while others write, then takes the gate for a short second pass over what they wrote
meanwhile, so that the WAL is wholly copied and the next writer starts it over.

PostgreSQL needs none of this: its writers do not exclude each other.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .files import sqlite_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads of one process are still queued
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("igautopost.storage")
LOCK_SUFFIX = "-writelock"
CHECKPOINT_EVERY = 200  # commits in this process; about 1,000 WAL pages of posts
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


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
    """`engine.begin()`, behind the engine's write gate on SQLite."""
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
