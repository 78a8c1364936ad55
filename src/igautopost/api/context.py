"""What every request handler needs (store, users, scheduler, clock), and small helpers."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..auth.users import Users
from ..clock import Clock
from ..config import Settings
from ..models import Post
from ..scheduler import Scheduler
from ..storage.protocols import Store
from ..storage.sql.sqlite_writes import WriteGate
from ..validation import text_problems
from .errors import NON_FIELD, ApiError, field_errors
from .post_media import PostMedia
from .writer import Writer

P = TypeVar("P")
T = TypeVar("T")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass
class ApiContext:
    settings: Settings
    store: Store
    users: Users
    scheduler: Scheduler | None
    clock: Clock
    owns_store: bool = False
    # SQLite's: one writer at a time, so this process's writes queue on one thread of their own
    write_gate: WriteGate | None = None
    _writer: Writer | None = field(default=None, init=False, repr=False)
    _reader: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _checkpointer: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _media: PostMedia | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.write_gate is not None:  # from the first write on, whichever thread makes it
            self._checkpointer = ThreadPoolExecutor(
                1, thread_name_prefix="igautopost-api-checkpoint"
            )
            self.write_gate.run_checkpoint = self._checkpointer.submit

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call on the thread pool, never on the event loop: a SQLite write may
        wait for another process's write (the write gate's lock), a PostgreSQL call for the
        network, and the loop must go on serving other requests meanwhile."""
        return await run_in_threadpool(call, *args, **kwargs)

    async def write(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`run` for a call that writes. On SQLite (`write_gate`) it runs on this process's
        one writer thread: SQLite admits one writer anyway, and 16 connections' writes on as
        many pool threads fought over the GIL for nothing, about 100-200 us of CPU a POST
        (docs/benchmarks.md). Reads keep the pool, so a write waiting for another process's
        lock (a large `schedule`) holds up no GET. The WAL checkpoint due every few hundred
        commits (10-30 ms) gets a thread of its own, or every write queued behind it waits."""
        if self.write_gate is None:
            return await self.run(call, *args, **kwargs)
        return await self._writer_thread().call(call, *args, **kwargs)

    async def write_planned(self, plan: Callable[[], P], write: Callable[[P], T]) -> T:
        """`write(plan())` for a write whose reads (`plan`) may run before the write gate is
        taken: on SQLite, POSTs queued together run their plans first, then their writes in
        one transaction, each in a savepoint of its own (`api.writer`)."""
        if self.write_gate is None:
            return await self.run(lambda: write(plan()))
        return await self._writer_thread().planned(plan, write)

    def _writer_thread(self) -> Writer:
        if self._writer is None:
            self._writer = Writer(self.store.engine)  # type: ignore[attr-defined]
        return self._writer

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`run` for a point read (one post by its id). On SQLite it runs on this process's
        one reader thread: anyio's pool of up to 40 threads, 16 of them busy with 32
        connections, fought over the GIL for reads of 50-100 us, and a GET cost 472-646
        against 389-436 us of CPU on one thread (docs/benchmarks.md). A read does not wait
        for SQLite's writers (WAL), so one thread keeps up; calls that may be slow (a media
        URL's fetch, a page of a listing) stay on the pool, or they would queue here. Over
        the network (PostgreSQL) a read waits, so it keeps the pool too."""
        if self.write_gate is None:
            return await self.run(call, *args, **kwargs)
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="igautopost-api-reader")
        return await _on(self._reader, call, *args, **kwargs)

    @property
    def media(self) -> PostMedia:
        """This process's media checks and upload intake, built on first use: one checker,
        so its cache serves every request (api/post_media.py)."""
        if self._media is None:
            self._media = PostMedia(self.settings, self.clock)
        return self._media

    def close(self) -> None:
        """Let the writer thread finish its queue; close the store if this app opened it."""
        if self._media is not None:
            self._media.close()
            self._media = None
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None
        if self._checkpointer is not None:
            # another app on the same database (tests) may have given it its own since
            if self.write_gate is not None and (
                self.write_gate.run_checkpoint == self._checkpointer.submit
            ):
                self.write_gate.run_checkpoint = None
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None
        if self.owns_store:
            self.store.close()

    def wake(self, post: Post) -> None:
        """Tell the scheduler, if any, that `post` is due at its next attempt; it decides
        whether that is soon enough to act on now."""
        if self.scheduler is not None and post.next_attempt_at is not None:
            self.scheduler.wake(post.id, post.next_attempt_at)


async def _on(thread: ThreadPoolExecutor, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call` on `thread`, with this task's context variables, as anyio's pool would."""
    bound = functools.partial(contextvars.copy_context().run, call, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(thread, bound)


async def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.igautopost
    return ctx


def both_slashes(
    router: APIRouter, path: str, endpoint: Callable[..., Any], **options: Any
) -> None:
    """Serve `path` with and without its trailing slash (the slash form is canonical and the
    only one in the schema); no redirect, since a redirected POST loses its body."""
    canonical = path if path.endswith("/") else path + "/"
    router.add_api_route(canonical, endpoint, **options)
    router.add_api_route(canonical.rstrip("/"), endpoint, include_in_schema=False, **options)


async def read_data(request: Request) -> dict[str, Any]:
    """The request's fields from a JSON object or a form body (last value of a repeated key).
    Text that is not valid Unicode (a lone surrogate) is refused here, naming its field."""
    data = await _fields(request)
    unreadable = text_problems(data)
    if unreadable:  # it could be neither stored nor echoed back in an answer
        raise ApiError(400, field_errors(unreadable, data))
    return data


async def _fields(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in FORM_TYPES:
        async with request.form() as form:  # closes uploaded files, which are ignored
            return {key: value for key, value in form.multi_items() if isinstance(value, str)}
    body = await request.body()
    if kind not in ("", "application/json") and not kind.endswith("+json"):
        raise ApiError.detail(415, f'Unsupported media type "{kind}" in request.')
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError.detail(400, f"JSON parse error - {exc}") from None
    if not isinstance(data, dict):
        got = type(data).__name__
        raise ApiError(400, {NON_FIELD: [f"Invalid data. Expected a dictionary, but got {got}."]})
    return data
