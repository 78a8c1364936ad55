"""The folder media store: content-addressed, atomic, private, deduplicated."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igautopost.clock import FakeClock
from igautopost.media.protocols import MediaMissing, StoredMedia
from igautopost.media.store import FolderMediaStore, is_media_key

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def listing(store: FolderMediaStore) -> list[StoredMedia]:
    return list(store.keys())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> FolderMediaStore:
    return FolderMediaStore(tmp_path / "media", clock=clock)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "Sunrise.JPG"
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3000))
    return path


def test_a_copy_is_named_by_its_content_and_lowercased_extension(store, photo):
    stored = store.add(photo)

    assert stored.key == hashlib.sha256(photo.read_bytes()).hexdigest() + ".jpg"
    assert stored.size == photo.stat().st_size
    assert stored.content_type == "image/jpeg"
    assert stored.stored_at == START
    with store.open(stored.key) as stream:
        assert stream.read() == photo.read_bytes()


def test_the_same_content_is_stored_once_and_its_stored_at_refreshed(store, photo, clock):
    first = store.add(photo)
    clock.advance(timedelta(hours=3))
    again = store.add_stream(io.BytesIO(photo.read_bytes()), suffix=".JPG")

    assert again.key == first.key
    assert again.stored_at == START + timedelta(hours=3)
    assert [m.key for m in listing(store)] == [first.key]
    assert [p.name for p in store.path.iterdir()] == [first.key]  # no temporary left over


def test_keys_list_every_copy_with_its_stored_at_and_skip_other_files(store, photo, clock):
    video = store.add_stream(io.BytesIO(b"\x00\x00\x00\x18ftypmp42"), suffix=".mp4")
    clock.advance(timedelta(minutes=5))
    image = store.add(photo)
    (store.path / ".incoming-abc").write_bytes(b"half written")
    (store.path / "notes.txt").write_text("not a copy")

    listed = {m.key: m for m in listing(store)}

    assert set(listed) == {video.key, image.key}
    assert listed[video.key].content_type == "video/mp4"
    assert listed[video.key].stored_at == START
    assert listed[image.key].stored_at == START + timedelta(minutes=5)


def test_a_missing_or_malformed_key_raises_media_missing(store, photo):
    store.add(photo)
    absent = "0" * 64 + ".jpg"
    for key in (absent, "../secret.key", "x.jpg", photo.name):
        with pytest.raises(MediaMissing):
            store.info(key)
        with pytest.raises(MediaMissing):
            store.open(key)
    store.delete(absent)  # idempotent


def test_delete_removes_the_copy(store, photo):
    stored = store.add(photo)
    store.delete(stored.key)
    store.delete(stored.key)

    with pytest.raises(MediaMissing):
        store.info(stored.key)
    assert list(store.keys()) == []


def test_an_empty_store_lists_nothing_and_creates_no_folder(store):
    assert list(store.keys()) == []
    assert not store.path.exists()


def test_a_failed_copy_leaves_nothing_behind(store):
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise OSError("disk went away")
            return super().read(4)

    with pytest.raises(OSError, match="disk went away"):
        store.add_stream(Broken(b"12345678"), suffix=".jpg")

    assert list(store.path.iterdir()) == []


def test_an_existing_copy_is_never_seen_half_written(store, photo, monkeypatch):
    """The rename is the only moment a copy appears: a crash before it leaves no key."""
    stored = store.add(photo)
    seen: list[list[str]] = []
    real_replace = os.replace

    def watching_replace(source, target):
        seen.append(sorted(n for n in os.listdir(store.path) if is_media_key(n)))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", watching_replace)
    other = store.add_stream(io.BytesIO(b"other bytes"), suffix=".png")

    assert seen == [[stored.key]]  # while the new copy was being written, only the old key
    assert other.key in {m.key for m in listing(store)}


def test_a_bad_suffix_is_refused(store):
    with pytest.raises(ValueError):
        store.add_stream(io.BytesIO(b"x"), suffix="/../x")


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_the_folder_and_copies_are_the_owners_only(store, photo, permissive_umask):
    stored = store.add(photo)

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.path / stored.key).stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_existing_folder_is_narrowed(tmp_path, photo, permissive_umask):
    folder = tmp_path / "shared-media"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    FolderMediaStore(folder).add(photo)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
