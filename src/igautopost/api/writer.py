"""The API process's one writer thread on SQLite, which stores queued POSTs together.

SQLite admits one writer at a time, so an API process's writes queue on one thread
(`ApiContext.write`). Under load, POSTs queue there faster than they commit one by one, and
each commit costs more than the post it stores: the write gate, the commit, and the WAL
pages it copies (every index of `posts` gains an entry, about 10 pages). So when the thread
takes a batchable call and more are waiting, it runs up to `MAX_BATCH` of them in one
transaction (`WriteBatch`), each in a savepoint of its own: a refused post undoes only its
own writes. Every caller is answered after the commit; if the commit fails, each of them
gets its error and none of their posts is stored. Alone, a call runs as before, in its own
transaction: batching adds no wait to a quiet server.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from ..storage.sql.sqlite_writes import WriteBatch

T = TypeVar("T")
MAX_BATCH = 32  # a batch holds the write gate for its whole length: the other process waits


@dataclass
class _Call:
    run: Callable[[], Any]
    batchable: bool
    done: Future[Any] = field(default_factory=Future)


class Writer:
    """One thread running write calls in the order they came, batching the batchable."""

    def __init__(self, engine: sa.Engine, *, name: str = "igautopost-api-writer") -> None:
        self._engine = engine
        self._queue: deque[_Call] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, batchable: bool, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(*args, **kwargs)` on the writer thread with this task's context variables;
        `batchable`: it may share a transaction with other batchable calls."""
        bound = contextvars.copy_context().run
        item = _Call(lambda: bound(call, *args, **kwargs), batchable)
        with self._ready:
            if self._closed:
                raise RuntimeError("the writer is shut down")
            self._queue.append(item)
            self._ready.notify()
        result: T = await asyncio.wrap_future(item.done)
        return result

    def shutdown(self) -> None:
        """Run what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join()

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                group = [self._queue.popleft()]
                while (
                    group[0].batchable
                    and self._queue
                    and self._queue[0].batchable
                    and len(group) < MAX_BATCH
                ):
                    group.append(self._queue.popleft())
            if len(group) == 1:
                _settle(group[0], group[0].run)
            else:
                self._run_together(group)

    def _run_together(self, group: list[_Call]) -> None:
        batch = WriteBatch(self._engine)
        outcomes: list[tuple[_Call, bool, Any]] = []
        try:
            for item in group:
                if item.done.set_running_or_notify_cancel():
                    outcomes.append((item, *_outcome(functools.partial(batch.run, item.run))))
            batch.close()
        except BaseException as exc:  # the commit failed: nothing of the batch is stored
            batch.abandon()
            for item in group:
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        for item, ok, value in outcomes:
            if ok:
                item.done.set_result(value)
            else:
                item.done.set_exception(value)


def _outcome(run: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, run()
    except Exception as exc:
        return False, exc


def _settle(item: _Call, run: Callable[[], Any]) -> None:
    if not item.done.set_running_or_notify_cancel():
        return
    ok, value = _outcome(run)
    if ok:
        item.done.set_result(value)
    else:
        item.done.set_exception(value)
