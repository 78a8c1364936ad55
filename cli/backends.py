"""Where the post commands work: the local database, or an `igautopost serve` over HTTP.

Both implement `PostsBackend` and answer with the library's `Post`, `Event` and exceptions,
so a command picks its backend once (`posts_backend`, from `--server`) and never asks which
one it has.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import typer

from .base import err, fail

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from igautopost import Event, Post, PostQuery, ScheduleResult
    from igautopost.media_intake import BaseDir

    from .state import State

PAGE_SIZE = 1000  # posts read at a time: a list costs one page of memory, however long


class PostsBackend(Protocol):
    """What the post commands do to posts. `now` is the moment a schedule is checked at;
    `zone` the one a post without `timezone` takes, its naive times read in it; `base_dir`
    where a relative ``media_path`` is read from (each post file's folder); `media_check`
    whether the posts' media is checked against Instagram's rules."""

    def schedule(
        self,
        items: Iterable[Any],
        *,
        now: datetime,
        zone: ZoneInfo,
        allow_missing_account: bool = False,
        media_check: bool = True,
        base_dir: BaseDir | None = None,
    ) -> ScheduleResult: ...

    def stream(self, query: PostQuery) -> Iterator[Post]:
        """The posts `query` finds, by publish time, read a page at a time as they are
        consumed; `query.limit` caps how many in all."""
        ...

    def get(self, post_id: int) -> Post: ...

    def events(self, post_id: int) -> builtins.list[Event]: ...

    def cancel(self, post_id: int) -> Post: ...

    def reschedule(self, post_id: int, publish_at: datetime) -> Post: ...

    def retry(self, post_id: int) -> Post: ...


class LocalPosts:
    """Posts in the local database, through the library's functions. The store is opened on
    first use: a command that fails on its input leaves no database behind."""

    def __init__(self, state: State) -> None:
        self._state = state

    def schedule(
        self,
        items: Iterable[Any],
        *,
        now: datetime,
        zone: ZoneInfo,
        allow_missing_account: bool = False,
        media_check: bool = True,
        base_dir: BaseDir | None = None,
    ) -> ScheduleResult:
        """`bulk.schedule_stream` with the settings' media intake: local files checked and
        copied into the media store, every post's media checked unless `media_check` is
        False."""
        from igautopost import services
        from igautopost.bulk import schedule_stream  # a file's posts are never all held

        store = self._state.store  # first: a served host signs with the data directory's key
        with services.media_intake(self._state.settings, check=media_check) as intake:
            return schedule_stream(
                store,
                items,
                now=now,
                zone=zone,
                allow_missing_account=allow_missing_account,
                media=intake,
                base_dir=base_dir,
            )

    def stream(self, query: PostQuery) -> Iterator[Post]:
        """Keyset pages of the store: each page starts after the last post of the one
        before (`PostQuery.after`), so a page costs the same however deep it is."""
        store = self._state.store
        remaining = query.limit
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            page = store.list(replace(query, limit=size))
            yield from page
            if len(page) < size:
                return
            if remaining is not None:
                remaining -= size
            query = replace(query, after=(page[-1].publish_at, page[-1].id), offset=0)

    def get(self, post_id: int) -> Post:
        return self._state.store.get(post_id)

    def events(self, post_id: int) -> builtins.list[Event]:
        return self._state.store.events(post_id)

    def cancel(self, post_id: int) -> Post:
        import igautopost

        return igautopost.cancel(self._state.store, post_id, now=self._state.now())

    def reschedule(self, post_id: int, publish_at: datetime) -> Post:
        import igautopost

        return igautopost.reschedule(self._state.store, post_id, publish_at, now=self._state.now())

    def retry(self, post_id: int) -> Post:
        import igautopost

        return igautopost.retry(self._state.store, post_id, now=self._state.now())


@contextmanager
def posts_backend(
    state: State, server_url: str | None, api_token: str | None
) -> Iterator[PostsBackend]:
    """The server's posts when one is given (`--server` or IGAUTOPOST_SERVER), else the local
    database's. The server's API token is prompted for when not set."""
    if not server_url:
        yield LocalPosts(state)
        return
    from igautopost.media.preflight import MediaCheckPolicy

    from .remote import HttpPosts, is_plain_http_to_another_host, normalized_url

    try:
        url = normalized_url(server_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--server") from None
    if not api_token and sys.stdin.isatty():
        api_token = str(typer.prompt("API token", hide_input=True, err=True))
    if not api_token:
        fail(f"no API token for {url}: set IGAUTOPOST_API_TOKEN (`igautopost token create`)")
    if is_plain_http_to_another_host(url):
        err.print(f"[yellow]warning:[/] the API token crosses the network unencrypted ({url})")
    policy = MediaCheckPolicy.from_settings(state.settings)
    with HttpPosts(url, api_token, media_policy=policy) as remote:
        yield remote
