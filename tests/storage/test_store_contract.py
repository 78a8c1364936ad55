"""One contract for every store: `InMemoryStore`, `SqlStore` on SQLite and on PostgreSQL keep
the promises of storage/protocols.py in the same way. PostgreSQL is required under CI=true
and skipped elsewhere when unreachable (tests/services.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igautopost.crypto import TokenCipher
from igautopost.errors import (
    AccountExists,
    AccountNotFound,
    InvalidPost,
    InvalidTransition,
    PostNotFound,
)
from igautopost.models import Post, PostSpec, Status
from igautopost.storage import InMemoryStore, PostQuery, QuotaSlot, SqlStore, Store
from igautopost.storage.sql.store import ADD_CHUNK
from services import postgres_schemas

NOW = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
ACCOUNT = "17841400000000001"
TOKEN = "EAAB-contract-token"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    cipher = TokenCipher([TokenCipher.generate_key()])
    if request.param == "memory":
        yield InMemoryStore(cipher=cipher)
        return
    if request.param == "sqlite":
        sql = SqlStore.open(f"sqlite:///{tmp_path / 'contract.db'}", cipher=cipher)
        yield sql
        sql.close()
        return
    with postgres_schemas() as schemas:
        sql = SqlStore.open(schemas.new(), cipher=cipher)
        yield sql
        sql.close()


def spec(**overrides: Any) -> PostSpec:
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "access_token": TOKEN,
        "media_type": "image",
        "media_url": "https://example.com/media/coffee.jpg",
        "caption": "Morning coffee",
        "publish_at": NOW + timedelta(hours=1),
    }
    data.update(overrides)
    return PostSpec.model_validate(data)


def add(store: Store, *, prepare_at: datetime | None = None, **overrides: Any) -> Post:
    prepare = [prepare_at] if prepare_at is not None else None
    return store.add([spec(**overrides)], now=NOW, prepare_at=prepare)[0]


def due_now(store: Store, **overrides: Any) -> Post:
    """A scheduled post due (next attempt) a minute ago, published an hour from now."""
    return add(store, prepare_at=NOW - timedelta(minutes=1), **overrides)


def made_ready(store: Store, *, publish_at: datetime) -> Post:
    """A post as its preparing step leaves it: ready, its next attempt at its publish time."""
    post = due_now(store, publish_at=publish_at)
    taken = store.claim(post.id, owner="prep", now=NOW, lease=LEASE)
    assert taken is not None
    changes = {"container_id": f"c{post.id}", "next_attempt_at": post.publish_at}
    assert store.save_step(taken, Status.READY, owner="prep", now=NOW, changes=changes, detail="")
    return store.get(post.id)


# -- posts --------------------------------------------------------------------------------


def test_add_stores_scheduled_posts_with_an_event_and_an_encrypted_token(store: Store) -> None:
    first, second = store.add([spec(caption="one"), spec(caption="two")], now=NOW, owner_id=4)
    assert first.id != second.id
    got = store.get(first.id)
    assert (got.status, got.owner_id, got.spec.caption) == (Status.SCHEDULED, 4, "one")
    assert got.has_token and got.spec.access_token is None
    assert got.next_attempt_at == got.publish_at == NOW + timedelta(hours=1)
    assert got.token_ciphertext is not None and TOKEN not in got.token_ciphertext
    assert store.access_token(first.id) == TOKEN == store.token_of(got)
    [event] = store.events(first.id)
    assert (event.from_status, event.to_status, event.detail) == (
        None,
        Status.SCHEDULED,
        "scheduled",
    )
    assert store.add([], now=NOW) == []


def test_add_uses_prepare_times_and_given_ciphertexts(store: Store) -> None:
    ciphertext = store.cipher.encrypt(TOKEN)
    prepare = NOW + timedelta(minutes=5)
    post = store.add([spec()], now=NOW, prepare_at=[prepare], ciphertexts={TOKEN: ciphertext})[0]
    assert store.get(post.id).next_attempt_at == prepare
    assert store.get(post.id).token_ciphertext == ciphertext


def test_prepare_add_makes_the_rows_and_stores_nothing_until_asked(store: Store) -> None:
    """The token is encrypted when the rows are made, not when they are stored: a writer
    holding the write gate then spends it on the inserts only."""
    prepare = NOW + timedelta(minutes=5)
    pending = store.prepare_add([spec(caption="later")], now=NOW, owner_id=4, prepare_at=[prepare])
    assert store.list(PostQuery()) == []
    store.cipher.encrypt = None  # type: ignore[method-assign] # storing may not encrypt
    (post,) = pending.store()
    got = store.get(post.id)
    assert (got.spec.caption, got.owner_id, got.next_attempt_at) == ("later", 4, prepare)
    assert store.access_token(post.id) == TOKEN
    assert [event.to_status for event in store.events(post.id)] == [Status.SCHEDULED]


def test_prepared_posts_with_a_key_stored_meanwhile_are_refused(store: Store) -> None:
    """Between the two steps another writer stored the same client key: `store` refuses it
    on ``client_key`` and stores nothing (the API then answers with the stored post)."""
    pending = store.prepare_add([spec(client_key="k1")], now=NOW, owner_id=4)
    first = store.add([spec(client_key="k1")], now=NOW, owner_id=4)[0]
    with pytest.raises(InvalidPost) as refused:
        pending.store()
    assert [problem.field for problem in refused.value.problems] == ["client_key"]
    assert [post.id for post in store.list(PostQuery())] == [first.id]


def test_add_many_stores_an_iterable_in_chunks_and_returns_only_ids(store: Store) -> None:
    count = 2 * ADD_CHUNK + 3  # three chunks, the last one short
    specs = (spec(caption=f"post {n}", client_key=f"k{n}") for n in range(count))
    prepare = {f"k{n}": NOW + timedelta(minutes=n) for n in range(count)}

    ids = store.add_many(
        specs, now=NOW, owner_id=4, prepare_at=lambda s: prepare[s.client_key or ""]
    )

    assert len(ids) == len(set(ids)) == count
    last = store.get(ids[-1])
    assert (last.status, last.owner_id, last.spec.caption) == (
        Status.SCHEDULED,
        4,
        f"post {count - 1}",
    )
    assert last.next_attempt_at == NOW + timedelta(minutes=count - 1)
    assert store.access_token(ids[0]) == TOKEN
    assert [e.detail for e in store.events(ids[ADD_CHUNK])] == ["scheduled"]
    assert store.add_many([], now=NOW) == []


def test_add_many_stores_none_when_its_iterable_raises(store: Store) -> None:
    def specs() -> Iterator[PostSpec]:
        for n in range(ADD_CHUNK + 5):  # the first chunk is written before the failure
            yield spec(caption=f"post {n}")
        raise InvalidPost([])

    with pytest.raises(InvalidPost):
        store.add_many(specs(), now=NOW)

    assert store.counts() == {}


def test_add_many_refuses_a_client_key_stored_already(store: Store) -> None:
    add(store, client_key="k1")
    with pytest.raises(InvalidPost):
        store.add_many([spec(client_key="k2"), spec(client_key="k1")], now=NOW)
    assert store.client_keys(ACCOUNT, ["k1", "k2"]).keys() == {"k1"}


def test_a_client_key_is_unique_per_owner_and_account(store: Store) -> None:
    first = add(store, client_key="k1")
    with pytest.raises(InvalidPost):
        add(store, client_key="k1")
    other_owner = store.add([spec(client_key="k1")], now=NOW, owner_id=9)[0]
    other_account = add(store, client_key="k1", account="17841400000000002")
    assert store.client_keys(ACCOUNT, ["k1", "k2"]) == {"k1": first.id}
    assert store.client_keys(ACCOUNT, ["k1"], owner_id=9) == {"k1": other_owner.id}
    assert store.client_keys("17841400000000002", ["k1"]) == {"k1": other_account.id}
    assert store.client_keys(ACCOUNT, ["k1"], owner_id=5) == {}


def test_get_hides_other_owners_posts_and_missing_ones(store: Store) -> None:
    post = store.add([spec()], now=NOW, owner_id=1)[0]
    assert store.get(post.id, owner_id=1).id == post.id
    with pytest.raises(PostNotFound):
        store.get(post.id, owner_id=2)
    with pytest.raises(PostNotFound):
        store.get(post.id + 100)
    assert store.access_token(post.id + 100) is None


def test_list_filters_and_orders_by_publish_time_then_id(store: Store) -> None:
    late = add(store, publish_at=NOW + timedelta(hours=3))
    early = add(store, publish_at=NOW + timedelta(hours=1))
    same = add(store, publish_at=NOW + timedelta(hours=1))
    other = add(store, account="17841400000000002", publish_at=NOW + timedelta(hours=2))
    mine = store.add([spec(publish_at=NOW + timedelta(hours=4))], now=NOW, owner_id=3)[0]
    store.transition(late.id, Status.CANCELLED, now=NOW)
    ids = [p.id for p in store.list(PostQuery())]
    assert ids == [early.id, same.id, other.id, late.id, mine.id]
    active = frozenset({Status.SCHEDULED})
    assert [p.id for p in store.list(PostQuery(statuses=active, account=ACCOUNT))] == [
        early.id,
        same.id,
        mine.id,
    ]
    assert [p.id for p in store.list(PostQuery(owner_id=3))] == [mine.id]
    window = PostQuery(
        publish_from=NOW + timedelta(hours=2), publish_until=NOW + timedelta(hours=3)
    )
    assert [p.id for p in store.list(window)] == [other.id, late.id]
    assert [p.id for p in store.list(PostQuery(limit=2, offset=1))] == [same.id, other.id]


def test_transition_changes_status_and_columns_and_logs_it(store: Store) -> None:
    post = add(store)
    changed = store.transition(
        post.id,
        Status.FAILED,
        now=NOW + timedelta(seconds=5),
        detail="given up",
        changes={"error_message": "nope", "next_attempt_at": None},
    )
    assert changed.status is Status.FAILED and changed.error is not None
    assert changed.error.message == "nope" and changed.next_attempt_at is None
    assert changed.updated_at == NOW + timedelta(seconds=5)
    last = store.events(post.id)[-1]
    assert (last.from_status, last.to_status, last.detail) == (
        Status.SCHEDULED,
        Status.FAILED,
        "given up",
    )
    with pytest.raises(PostNotFound):
        store.transition(post.id + 100, Status.CANCELLED, now=NOW)


def test_transition_with_expect_and_check_refuses_without_writing(store: Store) -> None:
    post = add(store)
    with pytest.raises(InvalidTransition, match="scheduled"):
        store.transition(post.id, Status.CANCELLED, now=NOW, expect=frozenset({Status.FAILED}))
    seen: list[Post] = []

    def refuse(stored: Post) -> None:
        seen.append(stored)
        raise InvalidTransition("not now")

    with pytest.raises(InvalidTransition, match="not now"):
        store.transition(post.id, Status.CANCELLED, now=NOW, check=refuse)
    assert seen[0].id == post.id and seen[0].status is Status.SCHEDULED
    assert store.get(post.id).status is Status.SCHEDULED
    assert len(store.events(post.id)) == 1
    done = store.transition(
        post.id, Status.CANCELLED, now=NOW, expect=frozenset({Status.SCHEDULED})
    )
    assert done.status is Status.CANCELLED


def test_transition_with_a_new_spec_and_taking_the_lease(store: Store) -> None:
    post = due_now(store)
    assert store.claim(post.id, owner="w", now=NOW, lease=LEASE) is not None
    later = NOW + timedelta(days=1)
    new = spec(caption="edited", publish_at=later, access_token="EAAB-new-token")
    edited = store.transition(post.id, Status.SCHEDULED, now=NOW, changes={"spec": new})
    assert (edited.spec.caption, edited.publish_at) == ("edited", later)
    assert edited.lease_until is None
    assert store.access_token(post.id) == "EAAB-new-token"
    assert not store.save_progress(edited, owner="w", changes={"container_id": "c1"})


def test_counts_per_status_and_owner(store: Store) -> None:
    add(store)
    cancelled = add(store)
    store.add([spec()], now=NOW, owner_id=7)
    store.transition(cancelled.id, Status.CANCELLED, now=NOW)
    assert store.counts() == {"scheduled": 2, "cancelled": 1}
    assert store.counts(owner_id=7) == {"scheduled": 1}


def test_similar_posts_are_the_accounts_active_posts_with_that_content_in_the_window(
    store: Store,
) -> None:
    inside = add(store, caption="hello", publish_at=NOW + timedelta(hours=1))
    edge = add(store, caption="hello", publish_at=NOW + timedelta(hours=2))
    add(store, caption="else", publish_at=NOW + timedelta(hours=1))
    add(store, caption="hello", publish_at=NOW + timedelta(hours=5))
    add(store, caption="hello", account="17841400000000002")
    gone = add(store, caption="hello")
    store.transition(gone.id, Status.CANCELLED, now=NOW)
    hello = spec(caption="hello").content_fingerprint()
    found = store.similar_posts(ACCOUNT, [hello], NOW, NOW + timedelta(hours=2))
    assert found == [(inside.id, inside.publish_at, hello), (edge.id, edge.publish_at, hello)]
    assert store.similar_posts(ACCOUNT, [], NOW, NOW + timedelta(hours=2)) == []
    edited = store.transition(
        inside.id, Status.SCHEDULED, now=NOW, changes={"fingerprint": "0" * 32}
    )
    assert [f[0] for f in store.similar_posts(ACCOUNT, ["0" * 32], NOW, edge.publish_at)] == [
        edited.id
    ]


def test_list_pages_by_keyset_after_a_publish_time_and_id(store: Store) -> None:
    same = NOW + timedelta(hours=1)
    first, second, third = (add(store, caption=f"p{n}", publish_at=same) for n in range(3))
    last = add(store, caption="last", publish_at=NOW + timedelta(hours=3))
    page = store.list(PostQuery(limit=2))
    assert [p.id for p in page] == [first.id, second.id]
    rest = store.list(PostQuery(limit=2, after=(page[-1].publish_at, page[-1].id)))
    assert [p.id for p in rest] == [third.id, last.id]
    assert store.list(PostQuery(after=(last.publish_at, last.id))) == []


def test_post_documents_are_the_listed_posts_as_documents(store: Store) -> None:
    """What `igautopost list --json` writes (issue 14): `post_document` of each listed post,
    key for key, whichever way a store builds it."""
    from igautopost.storage.sql.documents import post_document

    failed = add(store, caption="un café ☕ 🇫🇷", client_key="k-1", timezone="Europe/Paris")
    add(
        store,
        media_type="carousel",
        media_url=None,
        children=[{"media_url": f"https://example.com/{n}.jpg"} for n in range(2)],
        collaborators=["friend"],
        publish_at=NOW + timedelta(hours=2, microseconds=5),
    )
    changes = {"error_message": "Graph said no", "error_code": 100, "error_subcode": 33}
    store.transition(failed.id, Status.FAILED, now=NOW, changes=changes)
    for query in (PostQuery(), PostQuery(limit=1), PostQuery(statuses=frozenset({Status.FAILED}))):
        expected = [json.dumps(post_document(p), ensure_ascii=False) for p in store.list(query)]
        found = [json.dumps(d, ensure_ascii=False) for d in store.post_documents(query)]
        assert found == expected
    assert json.loads(found[0])["error"]["code"] == 100


# -- media copies ---------------------------------------------------------------------------

PHOTO_KEY = "a" * 64 + ".jpg"
CLIP_KEY = "b" * 64 + ".mp4"


def local(key: str, **overrides: Any) -> dict[str, Any]:
    """A post's fields as scheduling from a local file leaves them."""
    return {"media_url": None, "media_path": "sunrise.jpg", "media_file": key, **overrides}


def test_media_uses_names_the_posts_using_each_copy(store: Store) -> None:
    single = add(store, **local(PHOTO_KEY))
    children = [
        {"media_path": "a.jpg", "media_file": PHOTO_KEY},
        {"media_path": "b.mp4", "media_file": CLIP_KEY},
        {"media_url": "https://example.com/media/c.jpg"},
    ]
    carousel = add(store, media_type="carousel", media_url=None, children=children)
    add(store)  # a URL: uses no copy
    [bulk] = store.add_many([spec(**local(CLIP_KEY))], now=NOW)
    cancelled_at = NOW + timedelta(minutes=7)
    store.transition(single.id, Status.CANCELLED, now=cancelled_at)

    uses = store.media_uses([PHOTO_KEY, CLIP_KEY, "c" * 64 + ".png"])

    assert set(uses) == {PHOTO_KEY, CLIP_KEY}
    assert [(u.post_id, u.status, u.updated_at) for u in uses[PHOTO_KEY]] == [
        (single.id, Status.CANCELLED, cancelled_at),
        (carousel.id, Status.SCHEDULED, NOW),
    ]
    assert [u.post_id for u in uses[CLIP_KEY]] == [carousel.id, bulk]
    assert store.media_uses([]) == {}


def test_an_edit_and_a_recurring_posts_next_occurrence_keep_media_uses_current(
    store: Store,
) -> None:
    edited = add(store, **local(PHOTO_KEY))
    store.transition(
        edited.id, Status.SCHEDULED, now=NOW, changes={"spec": spec(**local(CLIP_KEY))}
    )
    assert [u.post_id for u in store.media_uses([CLIP_KEY])[CLIP_KEY]] == [edited.id]
    assert store.media_uses([PHOTO_KEY]) == {}

    post = due_now(store, recurrence="0 9 * * *", **local(PHOTO_KEY))
    taken = store.claim(post.id, owner="w", now=NOW, lease=LEASE)
    assert taken is not None
    publish_at = NOW + timedelta(days=1)
    assert store.save_step(
        taken,
        Status.PUBLISHED,
        owner="w",
        now=NOW,
        changes={"published_at": NOW},
        detail="published",
        next_occurrence=(publish_at, publish_at),
    )
    uses = store.media_uses([PHOTO_KEY])[PHOTO_KEY]
    assert [u.status for u in uses] == [Status.PUBLISHED, Status.SCHEDULED]


# -- claims ---------------------------------------------------------------------------------


def test_claim_takes_a_due_post_once_and_not_one_not_yet_due(store: Store) -> None:
    due = due_now(store)
    later = add(store, prepare_at=NOW + timedelta(minutes=5))
    taken = store.claim(due.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None and taken.lease_until == NOW + LEASE and taken.claimed_at == NOW
    assert not taken.publish_marked
    assert store.claim(due.id, owner="b", now=NOW, lease=LEASE) is None  # held by another
    assert store.claim(later.id, owner="a", now=NOW, lease=LEASE) is None
    assert store.claim(later.id + 100, owner="a", now=NOW, lease=LEASE) is None
    # a lease until T is over at T
    assert store.claim(due.id, owner="b", now=NOW + LEASE, lease=LEASE) is not None


def test_claim_skips_posts_that_are_not_active(store: Store) -> None:
    post = due_now(store)
    store.transition(post.id, Status.CANCELLED, now=NOW)
    assert store.claim(post.id, owner="a", now=NOW, lease=LEASE) is None


def test_a_claim_marks_a_ready_post_due_for_publishing(store: Store) -> None:
    publish_at = NOW + timedelta(seconds=30)
    ready = made_ready(store, publish_at=publish_at)
    assert ready.status is Status.READY and ready.publish_attempted_at is None
    assert store.claim(ready.id, owner="a", now=NOW, lease=LEASE) is None  # not due yet
    hold = timedelta(seconds=90)
    ahead = timedelta(minutes=1)
    taken = store.claim(ready.id, owner="a", now=NOW, lease=LEASE, ahead=ahead, hold=hold)
    assert taken is not None and taken.publish_marked
    assert taken.publish_attempted_at == NOW
    assert taken.lease_until == NOW + max(LEASE, ahead + hold)
    # let go without publishing: the next claim finds the attempt stored, and marks nothing
    store.release(ready.id, owner="a")
    again = store.claim(ready.id, owner="b", now=NOW + timedelta(seconds=40), lease=LEASE)
    assert again is not None and not again.publish_marked
    assert again.publish_attempted_at == NOW


def test_claim_many_takes_the_due_free_ones_in_due_order(store: Store) -> None:
    second = add(store, prepare_at=NOW - timedelta(minutes=1))
    first = add(store, prepare_at=NOW - timedelta(minutes=5))
    held = due_now(store)
    not_due = add(store, prepare_at=NOW + timedelta(minutes=1))
    assert store.claim(held.id, owner="other", now=NOW, lease=LEASE) is not None
    ids = [second.id, first.id, held.id, not_due.id, 9999]
    taken = store.claim_many(ids, owner="a", now=NOW, lease=LEASE)
    assert [p.id for p in taken] == [first.id, second.id]
    assert store.claim_many([], owner="a", now=NOW, lease=LEASE) == []


def test_claim_due_takes_up_to_limit_most_overdue_first(store: Store) -> None:
    posts = [add(store, prepare_at=NOW - timedelta(minutes=m)) for m in (1, 9, 5, 3)]
    add(store, prepare_at=NOW + timedelta(minutes=1))
    taken = store.claim_due(owner="a", now=NOW, lease=LEASE, limit=2)
    assert [p.id for p in taken] == [posts[1].id, posts[2].id]
    rest = store.claim_due(owner="b", now=NOW, lease=LEASE, limit=10)
    assert [p.id for p in rest] == [posts[3].id, posts[0].id]
    assert store.claim_due(owner="c", now=NOW, lease=LEASE, limit=10) == []


def test_claim_due_ahead_takes_ready_posts_only(store: Store) -> None:
    ready = made_ready(store, publish_at=NOW + timedelta(seconds=20))
    scheduled = add(store, prepare_at=NOW + timedelta(seconds=20))
    taken = store.claim_due(owner="a", now=NOW, lease=LEASE, limit=10, ahead=timedelta(minutes=1))
    assert [p.id for p in taken] == [ready.id]
    assert taken[0].publish_marked
    assert store.get(scheduled.id).lease_until is None


def test_due_by_lists_due_posts_claimed_or_not_with_when(store: Store) -> None:
    first = add(store, prepare_at=NOW - timedelta(minutes=3))
    held = due_now(store)
    store.claim(held.id, owner="w", now=NOW, lease=LEASE)
    ready = made_ready(store, publish_at=NOW + timedelta(minutes=4))
    add(store, prepare_at=NOW + timedelta(hours=1))
    until = NOW + timedelta(minutes=3)
    assert store.due_by(until, limit=10) == [
        (first.id, NOW - timedelta(minutes=3)),
        (held.id, NOW + LEASE),  # when its lease ends
    ]
    ahead = timedelta(minutes=2)
    with_ready = store.due_by(until, limit=10, ahead=ahead)
    assert (ready.id, NOW + timedelta(minutes=2)) in with_ready
    assert store.due_by(until, limit=1) == [(first.id, NOW - timedelta(minutes=3))]


def test_next_due_is_the_earliest_free_attempt_or_lease_end(store: Store) -> None:
    assert store.next_due(NOW) is None
    later = add(store, prepare_at=NOW + timedelta(minutes=10))
    assert store.next_due(NOW) == NOW + timedelta(minutes=10)
    overdue = add(store, prepare_at=NOW - timedelta(minutes=1))
    assert store.next_due(NOW) == NOW - timedelta(minutes=1)
    assert store.claim(overdue.id, owner="w", now=NOW, lease=LEASE) is not None
    assert store.next_due(NOW) == NOW + LEASE  # the lease ends before the other is due
    store.transition(later.id, Status.CANCELLED, now=NOW)
    store.transition(overdue.id, Status.CANCELLED, now=NOW)
    assert store.next_due(NOW) is None


def test_next_due_ahead_counts_ready_posts_early(store: Store) -> None:
    ready = made_ready(store, publish_at=NOW + timedelta(minutes=10))
    assert store.next_due(NOW) == ready.next_attempt_at
    assert store.next_due(NOW, timedelta(minutes=3)) == NOW + timedelta(minutes=7)


def test_save_step_only_while_the_owner_holds_the_lease(store: Store) -> None:
    post = due_now(store)
    taken = store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None
    changes = {"attempts": 1, "next_attempt_at": NOW + timedelta(minutes=1)}
    assert not store.save_step(taken, Status.PROCESSING, owner="b", now=NOW, changes={}, detail="")
    assert store.save_step(
        taken, Status.PROCESSING, owner="a", now=NOW, changes=changes, detail="made"
    )
    saved = store.get(post.id)
    assert (saved.status, saved.attempts, saved.lease_until) == (Status.PROCESSING, 1, None)
    last = store.events(post.id)[-1]
    assert (last.from_status, last.to_status, last.detail) == (
        Status.SCHEDULED,
        Status.PROCESSING,
        "made",
    )
    # the lease is gone: a second save of the same step is refused
    assert not store.save_step(taken, Status.FAILED, owner="a", now=NOW, changes={}, detail="")


def test_a_step_of_an_older_claim_cannot_save_over_a_newer_claim_by_the_same_worker(
    store: Store,
) -> None:
    """A user's change takes the post from a running step; another thread of the same worker
    claims it again; the first step's write must fail (the live races test found it)."""
    post = due_now(store)
    first = store.claim(post.id, owner="w", now=NOW, lease=LEASE)
    assert first is not None
    store.transition(post.id, Status.SCHEDULED, now=NOW, detail="edited")
    later = NOW + timedelta(milliseconds=3)
    second = store.claim(post.id, owner="w", now=later, lease=LEASE)
    assert second is not None
    stale = {"attempts": 9}
    assert not store.save_step(
        first, Status.PROCESSING, owner="w", now=later, changes=stale, detail="old"
    )
    assert not store.save_progress(first, owner="w", changes=stale)
    assert store.get(post.id).attempts == 0
    assert store.save_step(
        second, Status.PROCESSING, owner="w", now=later, changes={}, detail="new"
    )
    assert [e.detail for e in store.events(post.id)][-2:] == ["edited", "new"]


def test_save_step_without_a_change_of_status_or_detail_logs_nothing(store: Store) -> None:
    post = due_now(store)
    taken = store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None
    changes = {"child_container_ids": ["c1", "c2"], "next_attempt_at": NOW}
    assert store.save_step(taken, Status.SCHEDULED, owner="a", now=NOW, changes=changes, detail="")
    assert len(store.events(post.id)) == 1
    assert store.get(post.id).child_container_ids == ["c1", "c2"]


def test_save_step_creates_a_recurring_posts_next_occurrence_once(store: Store) -> None:
    rule = "0 9 * * *"
    post = due_now(store, client_key="daily", recurrence=rule)
    publish_at, prepare_at = NOW + timedelta(days=1), NOW + timedelta(days=1, minutes=-5)
    for owner in ("a", "b"):  # failed first, retried and published: still one occurrence
        taken = store.claim(post.id, owner=owner, now=NOW, lease=LEASE)
        assert taken is not None
        assert store.save_step(
            taken,
            Status.PUBLISHED,
            owner=owner,
            now=NOW,
            changes={"published_at": NOW, "next_attempt_at": NOW},
            detail="published",
            next_occurrence=(publish_at, prepare_at),
        )
    [occurrence] = [p for p in store.list(PostQuery()) if p.id != post.id]
    assert occurrence.status is Status.SCHEDULED
    assert (occurrence.publish_at, occurrence.next_attempt_at) == (publish_at, prepare_at)
    assert occurrence.spec.client_key == f"daily@{publish_at.isoformat()}"
    assert occurrence.spec.recurrence == store.get(post.id).spec.recurrence
    assert store.access_token(occurrence.id) == TOKEN
    assert f"recurring post {post.id}" in store.events(occurrence.id)[0].detail
    same = store.similar_posts(
        ACCOUNT, [occurrence.spec.content_fingerprint()], publish_at, publish_at
    )
    assert [found[0] for found in same] == [occurrence.id], "the duplicate warning sees it"


def test_save_progress_keeps_the_lease_and_needs_it(store: Store) -> None:
    post = due_now(store)
    taken = store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None
    assert store.save_progress(taken, owner="a", changes={"container_id": "c9"})
    assert not store.save_progress(taken, owner="b", changes={"container_id": "c0"})
    saved = store.get(post.id)
    assert (saved.container_id, saved.lease_until) == ("c9", NOW + LEASE)


def test_renew_leases_extends_only_the_owners_and_never_shortens(store: Store) -> None:
    mine, theirs, free = due_now(store), due_now(store), due_now(store)
    store.claim(mine.id, owner="a", now=NOW, lease=LEASE)
    store.claim(theirs.id, owner="b", now=NOW, lease=LEASE)
    until = NOW + timedelta(minutes=5)
    assert store.renew_leases([mine.id, theirs.id, free.id], owner="a", until=until) == 1
    assert store.get(mine.id).lease_until == until
    assert store.get(theirs.id).lease_until == NOW + LEASE
    assert store.renew_leases([mine.id], owner="a", until=NOW + LEASE) == 0
    assert store.get(mine.id).lease_until == until
    assert store.renew_leases([], owner="a", until=until) == 0


def test_hold_lease_needs_the_same_claim(store: Store) -> None:
    post = due_now(store)
    taken = store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None
    longer = NOW + timedelta(minutes=10)
    assert store.hold_lease(post.id, owner="a", claimed_at=taken.claimed_at, until=longer)
    assert store.get(post.id).lease_until == longer
    assert store.hold_lease(post.id, owner="a", claimed_at=None, until=NOW)  # never shortens
    assert store.get(post.id).lease_until == longer
    assert not store.hold_lease(post.id, owner="b", claimed_at=None, until=longer)
    earlier = NOW - timedelta(seconds=1)
    assert not store.hold_lease(post.id, owner="a", claimed_at=earlier, until=longer)


def test_release_lets_only_the_owners_lease_go(store: Store) -> None:
    post = due_now(store)
    store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    store.release(post.id, owner="b")
    assert store.get(post.id).lease_until == NOW + LEASE
    store.release(post.id, owner="a")
    assert store.get(post.id).lease_until is None
    assert store.claim(post.id, owner="b", now=NOW, lease=LEASE) is not None


def published(store: Store, *, at: datetime, media_id: str, account: str = ACCOUNT) -> Post:
    post = due_now(store, account=account)
    taken = store.claim(post.id, owner="p", now=NOW, lease=LEASE)
    assert taken is not None
    changes = {"published_at": at, "media_id": media_id, "next_attempt_at": None}
    assert store.save_step(taken, Status.PUBLISHED, owner="p", now=NOW, changes=changes, detail="")
    return store.get(post.id)


def test_published_since_and_recorded_media(store: Store) -> None:
    published(store, at=NOW - timedelta(hours=2), media_id="m2")
    published(store, at=NOW - timedelta(hours=30), media_id="m30")
    published(store, at=NOW - timedelta(hours=1), media_id="m1")
    published(store, at=NOW - timedelta(hours=1), media_id="x", account="17841400000000002")
    since = NOW - timedelta(hours=24)
    assert store.published_since(ACCOUNT, since) == [
        NOW - timedelta(hours=2),
        NOW - timedelta(hours=1),
    ]
    assert store.recorded_media(ACCOUNT, since=since) == {"m1", "m2"}


# -- quota slots (every store: the lead's SQL side and the in-memory one) --------------------


def test_reserve_quota_counts_usage_publishes_since_the_read_and_others_slots(
    store: Store,
) -> None:
    published(store, at=NOW - timedelta(minutes=10), media_id="after")
    published(store, at=NOW - timedelta(hours=2), media_id="before")
    first, second, third = due_now(store), due_now(store), due_now(store)
    slot = QuotaSlot(ACCOUNT, usage=1, total=4, read_at=NOW - timedelta(hours=1))
    until = NOW + timedelta(minutes=2)
    # usage 1 + 1 published since the read: two slots left
    assert store.reserve_quota(first.id, slot, owner="a", now=NOW, until=until)
    assert store.reserve_quota(first.id, slot, owner="a", now=NOW, until=until)  # refreshed
    assert store.reserve_quota(second.id, slot, owner="b", now=NOW, until=until)
    assert not store.reserve_quota(third.id, slot, owner="c", now=NOW, until=until)
    store.free_quota(first.id)
    assert store.reserve_quota(third.id, slot, owner="c", now=NOW, until=until)


def test_an_expired_slot_or_a_published_posts_slot_is_free_again(store: Store) -> None:
    first, second = due_now(store), due_now(store)
    slot = QuotaSlot(ACCOUNT, usage=0, total=1, read_at=NOW)
    assert store.reserve_quota(first.id, slot, owner="a", now=NOW, until=NOW + LEASE)
    assert not store.reserve_quota(second.id, slot, owner="b", now=NOW, until=NOW + LEASE)
    assert store.reserve_quota(second.id, slot, owner="b", now=NOW + LEASE, until=NOW + 2 * LEASE)
    other = QuotaSlot("17841400000000002", usage=0, total=1, read_at=NOW)
    assert store.reserve_quota(first.id, other, owner="a", now=NOW, until=NOW + LEASE)


def test_a_slot_of_a_post_that_published_counts_once(store: Store) -> None:
    post = due_now(store)
    slot = QuotaSlot(ACCOUNT, usage=0, total=2, read_at=NOW - timedelta(minutes=1))
    assert store.reserve_quota(post.id, slot, owner="a", now=NOW, until=NOW + LEASE)
    taken = store.claim(post.id, owner="a", now=NOW, lease=LEASE)
    assert taken is not None
    changes = {"published_at": NOW, "media_id": "m", "next_attempt_at": None}
    assert store.save_step(taken, Status.PUBLISHED, owner="a", now=NOW, changes=changes, detail="")
    other = due_now(store)
    assert store.reserve_quota(other.id, slot, owner="b", now=NOW, until=NOW + LEASE)
    third = due_now(store)
    assert not store.reserve_quota(third.id, slot, owner="c", now=NOW, until=NOW + LEASE)


# -- accounts -------------------------------------------------------------------------------


def test_accounts_put_find_and_credentials(store: Store) -> None:
    accounts = store.accounts
    assert accounts.find(None, ACCOUNT) is None
    with pytest.raises(AccountNotFound):
        accounts.get(None, ACCOUNT)
    expires = NOW + timedelta(days=60)
    account = accounts.put(
        None, ACCOUNT, TOKEN, now=NOW, login="facebook", username="cafe", expires_at=expires
    )
    assert (account.owner_id, account.username, account.expires_at) == (None, "cafe", expires)
    assert TOKEN not in repr(account) and TOKEN not in json.dumps(account.public_dict())
    assert accounts.get(None, ACCOUNT) == account
    found = accounts.credentials(None, ACCOUNT, fresh=True)
    assert found is not None and found.token == TOKEN and found.ciphertext != TOKEN
    assert store.cipher.decrypt(found.ciphertext) == TOKEN
    assert accounts.token(None, ACCOUNT) == TOKEN
    assert accounts.find(5, ACCOUNT) is None
    with pytest.raises(AccountNotFound):
        accounts.token(5, ACCOUNT)


def test_accounts_put_twice_needs_replace(store: Store) -> None:
    accounts = store.accounts
    first = accounts.put(7, ACCOUNT, TOKEN, now=NOW, login="facebook", username="cafe")
    with pytest.raises(AccountExists):
        accounts.put(7, ACCOUNT, "EAAB-other", now=NOW, login="facebook")
    later = NOW + timedelta(hours=1)
    again = accounts.put(7, ACCOUNT, "IGAA-new", now=later, login="instagram", replace=True)
    assert (again.id, again.username, again.login) == (first.id, "cafe", "instagram")
    assert again.token_stored_at == later
    assert accounts.token(7, ACCOUNT) == "IGAA-new"
    accounts.put(None, "17841400000000002", TOKEN, now=NOW, login="facebook")
    assert [a.owner_id for a in accounts.list_accounts()] == [None, 7]
    assert [a.ig_user_id for a in accounts.list_accounts(None)] == ["17841400000000002"]
    assert [a.id for a in accounts.list_accounts(7)] == [first.id]


def test_accounts_attach_creates_missing_ones_and_never_replaces_a_token(store: Store) -> None:
    accounts = store.accounts
    accounts.put(None, ACCOUNT, TOKEN, now=NOW, login="facebook")
    pairs = [(None, ACCOUNT, "EAAB-stale"), (None, "17841400000000002", "IGAA-x")]
    assert accounts.attach(pairs, now=NOW) == {}
    assert accounts.token(None, ACCOUNT) == TOKEN
    new = accounts.get(None, "17841400000000002")
    assert new.login == "instagram"
    reused = accounts.attach([(None, ACCOUNT, TOKEN)], now=NOW)
    found = accounts.credentials(None, ACCOUNT)
    assert found is not None and reused == {TOKEN: found.ciphertext}


def test_accounts_remove(store: Store) -> None:
    accounts = store.accounts
    account = accounts.put(None, ACCOUNT, TOKEN, now=NOW, login="facebook")
    assert accounts.remove(None, ACCOUNT) == account
    assert accounts.find(None, ACCOUNT) is None
    with pytest.raises(AccountNotFound):
        accounts.remove(None, ACCOUNT)


def test_store_refreshed_only_over_the_expected_token(store: Store) -> None:
    accounts = store.accounts
    account = accounts.put(None, ACCOUNT, TOKEN, now=NOW, login="facebook")
    found = accounts.credentials(None, ACCOUNT, fresh=True)
    assert found is not None
    later, expires = NOW + timedelta(days=1), NOW + timedelta(days=61)
    assert not accounts.store_refreshed(
        account, "EAAB-refreshed", expected="not-it", now=later, expires_at=expires
    )
    assert accounts.token(None, ACCOUNT) == TOKEN
    assert accounts.store_refreshed(
        account, "EAAB-refreshed", expected=found.ciphertext, now=later, expires_at=expires
    )
    refreshed = accounts.credentials(None, ACCOUNT, fresh=True)
    assert refreshed is not None and refreshed.token == "EAAB-refreshed"
    assert (refreshed.account.last_refresh_at, refreshed.account.expires_at) == (later, expires)


def test_needs_reconnect_and_ok_again_resume_the_waiting_posts(store: Store) -> None:
    accounts = store.accounts
    account = accounts.put(None, ACCOUNT, TOKEN, now=NOW, login="facebook")
    found = accounts.credentials(None, ACCOUNT, fresh=True)
    assert found is not None
    assert not accounts.mark_needs_reconnect(account, "expired", expected="other", now=NOW)
    assert accounts.mark_needs_reconnect(account, "expired", expected=found.ciphertext, now=NOW)
    broken = accounts.get(None, ACCOUNT)
    assert broken.needs_reconnect and broken.health_reason == "expired"
    assert not accounts.mark_needs_reconnect(broken, "again", expected=found.ciphertext, now=NOW)
    waiting = add(store, prepare_at=NOW + timedelta(days=1))
    store.transition(
        waiting.id, Status.SCHEDULED, now=NOW, changes={"error_code": 190, "error_message": "x"}
    )
    later = NOW + timedelta(minutes=3)
    assert not accounts.mark_ok(broken, expected="other", now=later)
    assert accounts.mark_ok(broken, expected=found.ciphertext, now=later)
    ok = accounts.get(None, ACCOUNT)
    assert not ok.needs_reconnect and ok.checked_at == later
    resumed = store.get(waiting.id)
    assert resumed.next_attempt_at == later and resumed.error is None
    assert "working token again" in store.events(waiting.id)[-1].detail


def test_set_times(store: Store) -> None:
    accounts = store.accounts
    account = accounts.put(None, ACCOUNT, TOKEN, now=NOW, login="facebook")
    accounts.set_times(account, warned_at=NOW, checked_at=NOW + timedelta(seconds=1))
    got = accounts.get(None, ACCOUNT)
    assert (got.warned_at, got.checked_at) == (NOW, NOW + timedelta(seconds=1))


def test_spans_count_every_post_and_build_only_the_first_few_of_each(store: Store) -> None:
    day = timedelta(days=1)
    bounds = [NOW, NOW + day, NOW + 2 * day, NOW + 3 * day]
    first_day = [NOW + timedelta(hours=h) for h in (5, 0, 23, 3)]  # stored out of order
    stored = [add(store, publish_at=at) for at in first_day]
    add(store, publish_at=NOW + 2 * day)  # the third day's first instant is its own
    add(store, publish_at=NOW + 3 * day)  # the last bound is excluded
    add(store, publish_at=NOW - timedelta(seconds=1))  # before the first
    add(store, publish_at=NOW + timedelta(hours=1), account="17841400000000002")
    store.add([spec(publish_at=NOW + timedelta(hours=4))], now=NOW, owner_id=7)

    spans = store.spans(PostQuery(account=ACCOUNT, owner_id=None), bounds, first=2)

    assert [(s.start, s.end, s.total) for s in spans] == [
        (NOW, NOW + day, 5),  # includes owner 7's: owner_id None means any
        (NOW + day, NOW + 2 * day, 0),
        (NOW + 2 * day, NOW + 3 * day, 1),
    ]
    by_time = sorted(stored, key=lambda p: p.publish_at)
    assert [p.id for p in spans[0].first] == [by_time[0].id, by_time[1].id]
    assert spans[0].first[0].spec.caption == "Morning coffee"  # whole posts
    assert spans[1].first == []
    owned = store.spans(PostQuery(owner_id=7), bounds, first=0)
    assert [(s.total, s.first) for s in owned] == [(1, []), (0, []), (0, [])]
    failed = store.spans(PostQuery(statuses=frozenset({Status.FAILED})), bounds, first=3)
    assert [s.total for s in failed] == [0, 0, 0]
    [one_day] = store.spans(PostQuery(), bounds[:2], first=1)
    assert (one_day.total, [p.id for p in one_day.first]) == (6, [by_time[0].id])
    assert store.spans(PostQuery(), bounds[:1], first=1) == []
