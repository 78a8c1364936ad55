"""The API process's one writer thread on SQLite, which stores queued POSTs together.

SQLite admits one writer at a time, so an API process's writes queue on one thread
(`ApiContext.write`), and its processes take turns on the write gate (`sqlite_writes`).
Under load, POSTs queue there faster than they commit one by one, and each commit costs
more than the post it stores: the commit, and the WAL pages it copies (every index of
`posts` gains an entry, about 10 pages). So when the thread takes a batchable call and more
are waiting, it runs up to `MAX_BATCH` of them in one transaction (`WriteBatch`), each in
a savepoint of its own: a refused post undoes only its own writes.

A call may come in two phases (`planned`): its plan (the reads: client keys, near
duplicates) runs first for every call of the batch, before the gate is taken, and the gate
is then held only for their writes. Another process's writes go on meanwhile; with the
whole call inside, the gate was held for the batch's reads and Python too, and the API
processes spent much of a benchmark waiting for each other (docs/benchmarks.md).

Every caller is answered after the commit; if the commit fails, each of them gets its
error and none of their posts is stored. Alone, a call runs as before, in its own
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

P = TypeVar("P")
T = TypeVar("T")
MAX_BATCH = 32  # a batch holds the write gate for all its writes: the other process waits


def _nothing() -> None:
    return None


@dataclass
class _Call:
    write: Callable[[Any], Any]  # given the plan's result; inside the transaction
    batchable: bool
    plan: Callable[[], Any] = _nothing  # before the transaction, outside the gate
    done: Future[Any] = field(default_factory=Future)

    def alone(self) -> Any:
        return self.write(self.plan())


class Writer:
    """One thread running write calls in the order they came, batching the batchable."""

    def __init__(self, engine: sa.Engine, *, name: str = "igautopost-api-writer") -> None:
        self._engine = engine
        self._queue: deque[_Call] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(*args, **kwargs)` on the writer thread with this task's context variables,
        alone in its transactions (a reschedule, a cancel, an account's change)."""
        context = contextvars.copy_context()
        result: T = await self._submit(
            _Call(lambda _: context.run(call, *args, **kwargs), batchable=False)
        )
        return result

    async def planned(self, plan: Callable[[], P], write: Callable[[P], T]) -> T:
        """`write(plan())` on the writer thread, batchable: with other calls queued, every
        plan runs before the batch's transaction, and `write` inside it."""
        context = contextvars.copy_context()
        result: T = await self._submit(
            _Call(
                lambda planned: context.run(write, planned),
                batchable=True,
                plan=lambda: context.run(plan),
            )
        )
        return result

    async def _submit(self, item: _Call) -> Any:
        with self._ready:
            if self._closed:
                raise RuntimeError("the writer is shut down")
            self._queue.append(item)
            self._ready.notify()
        return await asyncio.wrap_future(item.done)

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
                if group[0].done.set_running_or_notify_cancel():  # else its caller is gone
                    _settle(group[0], _outcome(group[0].alone))
            else:
                self._run_together(group)

    def _run_together(self, group: list[_Call]) -> None:
        planned: list[tuple[_Call, Any]] = []
        for item in group:
            if not item.done.set_running_or_notify_cancel():
                continue  # its caller is gone
            ok, plan = _outcome(item.plan)
            if ok:
                planned.append((item, plan))
            else:
                item.done.set_exception(plan)
        batch = WriteBatch(self._engine)
        outcomes: list[tuple[_Call, tuple[bool, Any]]] = []
        try:
            for item, plan in planned:
                write = functools.partial(item.write, plan)
                outcomes.append((item, _outcome(functools.partial(batch.run, write))))
            batch.close()
        except BaseException as exc:  # the commit failed: nothing of the batch is stored
            batch.abandon()
            for item, _ in planned:
                item.done.set_exception(exc)
            return
        for item, outcome in outcomes:
            _settle(item, outcome)


def _outcome(run: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, run()
    except Exception as exc:
        return False, exc


def _settle(item: _Call, outcome: tuple[bool, Any]) -> None:
    ok, value = outcome
    if ok:
        item.done.set_result(value)
    else:
        item.done.set_exception(value)
