"""Pruning media copies: a copy goes once every post using it has been finished for the grace
period, or once it is that old with no post; never while an active post uses it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from s3server import (  # the fixtures: moto_server, bucket
    bucket_fixture,  # noqa: F401
    client_for,
    moto_server_fixture,  # noqa: F401
)

from igautopost.clock import FakeClock
from igautopost.crypto import TokenCipher
from igautopost.media.bucket import S3Media
from igautopost.media.protocols import MediaStore, StoredMedia
from igautopost.media.store import FolderMediaStore
from igautopost.media_copies import MediaKeeper, media_copies, prune_media
from igautopost.models import Post, PostSpec, Status
from igautopost.storage import SqlStore

START = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
KEEP = timedelta(hours=24)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    cipher = TokenCipher([TokenCipher.generate_key()])
    opened = SqlStore.open(f"sqlite:///{tmp_path / 'prune.db'}", cipher=cipher)
    yield opened
    opened.close()


@pytest.fixture
def folder(tmp_path: Path, clock: FakeClock) -> FolderMediaStore:
    return FolderMediaStore(tmp_path / "media", clock=clock)


def copy_of(media: MediaStore, content: bytes, suffix: str = ".jpg") -> StoredMedia:
    return media.add_stream(io.BytesIO(content), suffix=suffix)


def post_using(store: SqlStore, make_post: Any, clock: FakeClock, *keys: str) -> Post:
    """A post scheduled now with these copies (a carousel for more than one)."""
    if len(keys) == 1:
        raw = make_post(media_url=None, media_path="a.jpg", media_file=keys[0])
    else:
        children = [{"media_path": f"{i}.jpg", "media_file": k} for i, k in enumerate(keys)]
        raw = make_post(media_type="carousel", media_url=None, children=children)
    return store.add([PostSpec.model_validate(raw)], now=clock.now())[0]


def finish(store: SqlStore, post: Post, status: Status, clock: FakeClock) -> None:
    store.transition(post.id, status, now=clock.now())


def pruned_keys(store: SqlStore, media: MediaStore, clock: FakeClock, **options: Any) -> set[str]:
    result = prune_media(store, media, now=clock.now(), keep=KEEP, **options)
    return {m.key for m in result.deleted}


def stored(media: MediaStore) -> set[str]:
    return {m.key for m in list(media.keys())}


def test_a_finished_posts_copy_is_kept_for_the_grace_period_then_deleted(
    store, folder, clock, make_post
):
    photo = copy_of(folder, b"published photo")
    post = post_using(store, make_post, clock, photo.key)
    clock.advance(timedelta(hours=5))
    finish(store, post, Status.PUBLISHED, clock)

    clock.advance(KEEP - timedelta(seconds=1))
    assert pruned_keys(store, folder, clock) == set()
    clock.advance(timedelta(seconds=2))
    assert pruned_keys(store, folder, clock) == {photo.key}
    assert stored(folder) == set()


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.FAILED])
def test_cancelled_and_failed_posts_copies_go_too(store, folder, clock, make_post, status):
    photo = copy_of(folder, b"photo " + status.value.encode())
    finish(store, post_using(store, make_post, clock, photo.key), status, clock)
    clock.advance(KEEP * 2)
    assert pruned_keys(store, folder, clock) == {photo.key}


def test_a_copy_an_active_post_uses_is_never_deleted(store, folder, clock, make_post):
    shared = copy_of(folder, b"shared by two posts")
    carousel_only = copy_of(folder, b"in a carousel", ".mp4")
    published = post_using(store, make_post, clock, shared.key)
    waiting = post_using(store, make_post, clock, shared.key, carousel_only.key)
    finish(store, published, Status.PUBLISHED, clock)
    store.transition(waiting.id, Status.READY, now=clock.now())

    clock.advance(KEEP * 10)
    assert pruned_keys(store, folder, clock) == set()
    assert stored(folder) == {shared.key, carousel_only.key}

    finish(store, waiting, Status.PUBLISHED, clock)
    clock.advance(KEEP + timedelta(minutes=1))
    assert pruned_keys(store, folder, clock) == {shared.key, carousel_only.key}


def test_a_copy_no_post_uses_goes_once_older_than_the_grace_period(store, folder, clock, make_post):
    orphan = copy_of(folder, b"an upload whose post was never saved")
    clock.advance(KEEP - timedelta(minutes=1))
    assert pruned_keys(store, folder, clock) == set()
    clock.advance(timedelta(minutes=2))
    assert pruned_keys(store, folder, clock) == {orphan.key}


def test_a_copy_added_again_for_a_new_post_is_not_deleted_under_it(store, folder, clock, make_post):
    """Scheduling adds the copy, then saves the post: in between, the copy's only users are
    long finished, but it was just added again."""
    photo = copy_of(folder, b"used again next week")
    finish(store, post_using(store, make_post, clock, photo.key), Status.PUBLISHED, clock)
    clock.advance(KEEP * 7)
    copy_of(folder, b"used again next week")  # the new post is not saved yet

    assert pruned_keys(store, folder, clock) == set()


def test_dry_run_says_what_would_go_and_deletes_nothing(store, folder, clock, make_post):
    photo = copy_of(folder, b"x" * 1000)
    clock.advance(KEEP * 2)

    result = prune_media(store, folder, now=clock.now(), keep=KEEP, dry_run=True)

    assert [m.key for m in result.deleted] == [photo.key]
    assert result.bytes_freed == 1000
    assert stored(folder) == {photo.key}


def test_media_copies_lists_each_copy_with_its_posts(store, folder, clock, make_post):
    used = copy_of(folder, b"used")
    unused = copy_of(folder, b"unused")
    post = post_using(store, make_post, clock, used.key)

    listed = {c.media.key: c for c in media_copies(store, folder)}

    assert [u.post_id for u in listed[used.key].uses] == [post.id]
    assert listed[used.key].in_use
    assert listed[unused.key].uses == [] and not listed[unused.key].in_use


def test_the_keeper_prunes_on_each_pass(store, folder, clock, make_post):
    photo = copy_of(folder, b"kept by the keeper until")
    keeper = MediaKeeper(store, folder, clock, keep=KEEP)
    assert keeper.run_once().deleted == []
    clock.advance(KEEP * 2)
    assert [m.key for m in keeper.run_once().deleted] == [photo.key]


def test_bucket_objects_are_deleted_and_active_ones_kept(
    store, clock, make_post, moto_server, bucket
):
    media = S3Media(bucket, "copies", client=client_for(moto_server), clock=clock)
    done = copy_of(media, b"published from the bucket")
    needed = copy_of(media, b"still scheduled")
    finish(store, post_using(store, make_post, clock, done.key), Status.PUBLISHED, clock)
    post_using(store, make_post, clock, needed.key)
    clock.advance(KEEP * 2)

    assert pruned_keys(store, media, clock) == {done.key}
    listed = media._client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [entry["Key"] for entry in listed] == [f"copies/{needed.key}"]
