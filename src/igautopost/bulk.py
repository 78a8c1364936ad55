"""Scheduling more posts than memory should hold: a 50 MB export of an account (issue 14).

`schedule_stream` does what `posts.schedule` does, with the same checks and the same
answers, but never holds the input's posts: each valid post is checked against the store a
chunk at a time, written, and dropped, all inside the store's one transaction
(`PostStore.add_many`), which any problem found later rolls back. The result's `created`
posts are read back from the store when they are wanted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from itertools import islice
from typing import TYPE_CHECKING, Any

from .engine.policy import LeadTimes
from .errors import InvalidPost, Problem
from .media_intake import local_files_refused
from .models import PostSpec
from .posts import (
    DEFAULT_LEADS,
    LOOKUP_BATCH,
    NO_ACCOUNT,
    ScheduleResult,
    _warnings_of_batch,
    checked_posts,
)
from .storage.protocols import Store
from .stored_posts import StoredPosts

if TYPE_CHECKING:
    from .media_intake import BaseDir, MediaIntake


def schedule_stream(
    store: Store,
    items: Iterable[Any],
    *,
    now: datetime,
    owner_id: int | None = None,
    leads: LeadTimes = DEFAULT_LEADS,
    zone: tzinfo | None = None,
    allow_missing_account: bool = False,
    media: MediaIntake | None = None,
    base_dir: BaseDir | None = None,
) -> ScheduleResult:
    """`posts.schedule` for inputs of any size: all of them stored, or none, in one
    transaction; what it keeps grows with the number of posts by an id each.

    `created` reads its posts from the store as they are wanted. A post's token becomes its
    account's (`posts.attach_tokens`) once the posts are stored: that write cannot run inside
    the posts' transaction on SQLite, and the posts carry their own tokens meanwhile.

    `media` and `base_dir` as for `posts.schedule`; the media is checked and copied a chunk
    (`LOOKUP_BATCH` posts) at a time, each chunk's distinct URLs and files read by the
    checker's bounded pool, so that memory stays bounded however long the input."""
    checks = _StreamChecks(
        store,
        owner_id,
        allow_missing_account=allow_missing_account,
        media=media,
        base_dir=base_dir,
    )
    specs = checks.fresh(checked_posts(items, now=now, zone=zone))
    ids = store.add_many(specs, now=now, owner_id=owner_id, prepare_at=leads.prepare_at)
    if checks.tokens:
        store.accounts.attach(list(checks.tokens), now=now)
    existing = StoredPosts(store, checks.existing_ids, owner_id=owner_id)
    return ScheduleResult(
        created=StoredPosts(store, ids, owner_id=owner_id),
        existing=existing,
        warnings=checks.warnings,
        media_unchecked=checks.media_unchecked,
    )


class _StreamChecks:
    """`posts.schedule`'s checks a chunk at a time, keeping what they need across chunks: the
    client keys seen, the accounts looked up, and the problems found."""

    def __init__(
        self,
        store: Store,
        owner_id: int | None,
        *,
        allow_missing_account: bool,
        media: MediaIntake | None = None,
        base_dir: BaseDir | None = None,
    ):
        self._store = store
        self._owner_id = owner_id
        self._allow_missing_account = allow_missing_account
        self._media = media
        self._base_dir = base_dir
        self._media_problems: list[Problem] = []
        self.media_unchecked: list[Problem] = []
        self.warnings: list[str] = []
        self.existing_ids: list[int] = []
        self.tokens: dict[tuple[int | None, str, str], None] = {}  # ordered, each once
        self._seen_keys: set[tuple[str, str]] = set()
        self._twice: Problem | None = None
        self._stored_accounts: dict[str, bool] = {}
        self._with_token: set[str] = set()
        self._without_account: dict[str, list[int]] = {}  # account -> indexes of its posts

    def fresh(self, specs: Iterator[PostSpec]) -> Iterator[PostSpec]:
        """The posts to store, checked a chunk at a time. At the end, the problems, in
        `posts.schedule`'s order: the posts' own (raised by `specs`) with their media's,
        missing accounts, a client key twice."""
        index = 0  # `checked_posts` yields nothing after a problem: the nth yielded is item n
        try:
            while chunk := list(islice(specs, LOOKUP_BATCH)):
                self._note_accounts(chunk, index)
                chunk = self._media_of(chunk, index)
                index += len(chunk)
                if self._twice is None and not self._media_problems:  # else none is stored
                    yield from self._fresh_of(chunk)
        except InvalidPost as exc:
            raise InvalidPost(self._with_media_problems(exc.problems)) from None
        if self._media_problems:
            raise InvalidPost(self._with_media_problems(self._missing_accounts()))
        if missing := self._missing_accounts():
            raise InvalidPost(missing)
        if self._twice is not None:
            raise InvalidPost([self._twice])

    def _media_of(self, chunk: list[PostSpec], start: int) -> list[PostSpec]:
        """The chunk with its local files copied (`MediaIntake.take`); its media problems are
        kept, and once there is one (or a client key twice) nothing more is copied."""
        if self._media is None:
            self._media_problems.extend(local_files_refused(chunk, start=start))
            return chunk
        copy = self._twice is None and not self._media_problems
        intake = self._media.take(chunk, start=start, base_dir=self._base_dir, copy=copy)
        self._media_problems.extend(intake.problems)
        self.media_unchecked.extend(intake.unchecked)
        return intake.specs or chunk

    def _with_media_problems(self, problems: list[Problem]) -> list[Problem]:
        merged = [*problems, *self._media_problems]
        return sorted(merged, key=lambda problem: problem.index or 0)

    def _fresh_of(self, chunk: list[PostSpec]) -> list[PostSpec]:
        known = self._stored_keys(chunk)
        fresh: list[PostSpec] = []
        for spec in chunk:
            ident = (spec.account, spec.client_key) if spec.client_key is not None else None
            if ident is not None and ident in known:
                self.existing_ids.append(known[ident])
            elif ident is not None and ident in self._seen_keys:
                problem = f"{spec.client_key!r} appears twice in the input"
                self._twice = Problem("client_key", problem)
                return []
            else:
                if ident is not None:
                    self._seen_keys.add(ident)
                fresh.append(spec)
        self.warnings.extend(_warnings_of_batch(self._store, fresh))
        for spec in fresh:
            if (token := spec.token_value()) is not None:
                self.tokens[(self._owner_id, spec.account, token)] = None
        return fresh

    def _stored_keys(self, chunk: list[PostSpec]) -> dict[tuple[str, str], int]:
        keyed: dict[str, set[str]] = {}
        for spec in chunk:
            if spec.client_key is not None:
                keyed.setdefault(spec.account, set()).add(spec.client_key)
        return {
            (account, key): post_id
            for account, keys in keyed.items()
            for key, post_id in self._store.client_keys(
                account, keys, owner_id=self._owner_id
            ).items()
        }

    def _note_accounts(self, chunk: list[PostSpec], start: int) -> None:
        """`posts.missing_accounts`, across chunks: a post without a token whose account is
        not stored, unless another post of the input brings a token for it."""
        if self._allow_missing_account:
            return
        for offset, spec in enumerate(chunk):
            account = spec.account
            if spec.token_value() is not None:
                self._with_token.add(account)
                continue
            if account in self._with_token:
                continue
            if account not in self._stored_accounts:
                found = self._store.accounts.find(self._owner_id, account)
                self._stored_accounts[account] = found is not None
            if not self._stored_accounts[account]:
                self._without_account.setdefault(account, []).append(start + offset)

    def _missing_accounts(self) -> list[Problem]:
        problems = [
            Problem("access_token", NO_ACCOUNT.format(account=account), index)
            for account, indexes in self._without_account.items()
            if account not in self._with_token
            for index in indexes
        ]
        return sorted(problems, key=lambda problem: problem.index or 0)
