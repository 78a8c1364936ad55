"""`bulk.schedule_stream`: `posts.schedule`'s answers for inputs of any size, written in
chunks inside one transaction that any problem, however late in the input, rolls back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igautopost.bulk import schedule_stream
from igautopost.crypto import TokenCipher
from igautopost.errors import InvalidPost
from igautopost.posts import ScheduleResult, schedule
from igautopost.storage import InMemoryStore, PostQuery, SqlStore, Store
from igautopost.storage.sql.store import ADD_CHUNK
from igautopost.stored_posts import StoredPosts

NOW = datetime(2030, 1, 1, tzinfo=UTC)
AT = datetime(2035, 6, 1, 9, tzinfo=UTC)
OTHER = "17841400000000002"
Schedule = Callable[..., ScheduleResult]


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Fresh stores of one kind, each with the same stored posts: one with client key
    "stored-1", one whose content the input repeats (a near-duplicate warning)."""
    opened: list[Store] = []
    cipher = TokenCipher([TokenCipher.generate_key()])

    def make() -> Store:
        if request.param == "memory":
            store: Store = InMemoryStore(cipher=cipher)
        else:
            store = SqlStore.open(f"sqlite:///{tmp_path / f'{len(opened)}.db'}", cipher=cipher)
        opened.append(store)
        schedule(store, [post(1, client_key="stored-1"), post(7, caption="same")], now=NOW)
        return store

    yield make
    for store in opened:
        store.close()


def post(n: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "account": "17841400000000001",
        "access_token": "EAAB-token",
        "media_type": "image",
        "media_url": f"https://example.com/{n}.jpg",
        "caption": f"post {n}",
        "publish_at": (AT + timedelta(minutes=7 * n)).isoformat(),
        "client_key": f"key-{n}",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def big_input(**late: Any) -> Iterator[dict[str, Any]]:
    """More than two chunks of posts, as a generator (a file read a line at a time): one
    stored already, one near duplicate, and `late` applied to a post of the third chunk."""
    for n in range(2 * ADD_CHUNK + 50):
        if n == 1:
            yield post(n, client_key="stored-1")
        elif n == 7:
            yield post(n, caption="same", client_key=None)
        elif n == 2 * ADD_CHUNK + 10:
            yield post(n, **late)
        else:
            yield post(n)


def stored(store: Store) -> list[tuple[Any, ...]]:
    return [
        (p.spec, p.status, p.next_attempt_at, p.has_token, p.owner_id)
        for p in store.list(PostQuery())
    ]


def outcome(run: Schedule, store: Store, items: Iterator[dict[str, Any]]) -> Any:
    try:
        result = run(store, items, now=NOW)
    except InvalidPost as exc:
        return exc.problems, stored(store)
    existing = [p.spec.client_key for p in result.existing]
    return len(result.created), existing, result.warnings, stored(store)


@pytest.mark.parametrize(
    "late",
    [
        {},  # stored, with one already stored and one warning
        {"media_url": "ftp://nope"},  # an invalid post after two chunks were written
        {"client_key": "key-5"},  # a client key twice, far apart
        {"access_token": None, "account": OTHER},  # a post whose account is not stored
    ],
)
def test_it_answers_as_schedule_does(new_store: Callable[[], Store], late: dict[str, Any]) -> None:
    expected = outcome(schedule, new_store(), big_input(**late))
    got = outcome(schedule_stream, new_store(), big_input(**late))

    assert got == expected


def test_a_problem_late_in_the_input_stores_none_of_it(new_store: Callable[[], Store]) -> None:
    store = new_store()
    before = stored(store)

    with pytest.raises(InvalidPost) as raised:
        schedule_stream(store, big_input(media_url="ftp://nope"), now=NOW)

    assert [p.index for p in raised.value.problems] == [2 * ADD_CHUNK + 10]
    assert stored(store) == before


def test_a_later_post_may_bring_the_token_of_an_account_not_stored(
    new_store: Callable[[], Store],
) -> None:
    items = [post(0, access_token=None, account=OTHER), post(1, account=OTHER)]

    result = schedule_stream(new_store(), iter(items), now=NOW)

    assert len(result.created) == 2


def test_created_posts_are_read_back_when_wanted(new_store: Callable[[], Store]) -> None:
    store = new_store()
    result = schedule_stream(store, big_input(), now=NOW)

    assert isinstance(result.created, StoredPosts)
    assert result.created.ids == sorted(result.created.ids)
    assert [p.id for p in result.created[:3]] == result.created.ids[:3]
    assert result.created[-1] == store.get(result.created.ids[-1])
    assert (
        sum(1 for _ in result.created) == len(result.created) == 2 * ADD_CHUNK + 49
    )  # one stored already


def test_a_file_run_again_holds_the_ids_of_its_posts_not_the_posts(
    new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running a file of 170,000 posts again must not read 170,000 posts back (it took the
    peak memory of a re-run of 40,000 from 119 MB to 305 MB, issue 14): the posts already
    stored are read only when they are wanted, as the created ones are."""
    store = new_store()
    first = schedule_stream(store, big_input(), now=NOW)
    reads: list[int] = []
    original_get = store.get

    def counted_get(post_id: int, **kwargs: Any) -> Any:
        reads.append(post_id)
        return original_get(post_id, **kwargs)

    monkeypatch.setattr(store, "get", counted_get)

    again = schedule_stream(store, big_input(), now=NOW)

    assert len(again.created) == 1  # the post without a client key is stored again
    # every keyed post: those stored by the first run, and the one stored before it
    assert len(again.existing) == len(first.created) - 1 + 1
    assert reads == []  # nothing read back yet
    assert again.existing[0].spec.client_key is not None
    assert len(reads) == 1
