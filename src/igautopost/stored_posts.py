"""Posts of a store named by their ids and read when wanted (`bulk.schedule_stream`'s
created posts): a module of its own, so that `posts.ScheduleResult` can name the type."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from .models import Post
from .storage.protocols import Store


class StoredPosts(Sequence[Post]):
    """Posts of a store by id, each read when it is wanted: a list of a hundred thousand
    posts, without a hundred thousand posts in memory."""

    def __init__(self, store: Store, ids: list[int], *, owner_id: int | None = None) -> None:
        self._store = store
        self._ids = ids
        self._owner_id = owner_id

    @property
    def ids(self) -> list[int]:
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Post: ...

    @overload
    def __getitem__(self, index: slice) -> list[Post]: ...

    def __getitem__(self, index: int | slice) -> Post | list[Post]:
        if isinstance(index, slice):
            return [self._read(post_id) for post_id in self._ids[index]]
        return self._read(self._ids[index])

    def __iter__(self) -> Iterator[Post]:
        return (self._read(post_id) for post_id in self._ids)

    def _read(self, post_id: int) -> Post:
        return self._store.get(post_id, owner_id=self._owner_id)
