"""Scheduling local files through the library (issue 16): `schedule(..., media=intake)` and
`bulk.schedule_stream` check each file, copy it into the media store once, and store posts
whose `media_file` the engine publishes from: a reel through the resumable upload, an image
through the media host. Copies are pruned once their posts are done."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from makers import MediaServer, make_image

import igautopost
from igautopost import InvalidPost, services
from igautopost.bulk import schedule_stream
from igautopost.clock import FakeClock
from igautopost.engine.policy import EnginePolicy, PollPolicy
from igautopost.media.preflight import MediaChecker, MediaCheckPolicy
from igautopost.media.protocols import StoredMedia
from igautopost.media.store import FolderMediaStore
from igautopost.media_copies import MediaKeeper
from igautopost.media_intake import NO_HOST, NO_INTAKE, MediaIntake
from igautopost.models import Post, Status
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage import SqlStore
from services import settings_for

HOUR = timedelta(hours=1)
TENTH = timedelta(seconds=0.1)
FAST = EnginePolicy(
    polls=PollPolicy(image_first=TENTH, video_first=TENTH, late_longest=TENTH),
    follow_up_delay=TENTH,
)


def raw(path: str, media_type: str = "image", **fields: Any) -> dict[str, Any]:
    return {
        "account": "17841400000000001",
        "access_token": "EAAB-intake-token",
        "media_type": media_type,
        "media_path": path,
        "publish_at": "2035-06-01T09:00:00+00:00",
        **fields,
    }


class CountingStore(FolderMediaStore):
    """A folder store that counts the files read into it."""

    def __init__(self, path: Path, **options: Any) -> None:
        super().__init__(path, **options)
        self.added = 0

    def add(self, source: Path) -> StoredMedia:
        self.added += 1
        return super().add(source)

    def add_stream(self, stream: BinaryIO, *, suffix: str) -> StoredMedia:
        return super().add_stream(stream, suffix=suffix)


class NamedHost:
    """A media host double for scheduling only: it names URLs nobody fetches."""

    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        return f"https://media.example.org/{media.key}"

    def forget(self, key: str) -> None:
        pass


class ServedFolder:
    """A media host double: the store's folder served by a local HTTP server."""

    def __init__(self, server: MediaServer) -> None:
        self.server = server

    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        return self.server.url(media.key)

    def forget(self, key: str) -> None:
        pass


@pytest.fixture
def files(tmp_path: Path, library: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("feed.jpg", "photo.png", "reel.mp4", "short.mp4"):
        (folder / name).write_bytes((library / name).read_bytes())
    return folder


@pytest.fixture
def media(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path / "media")


@pytest.fixture
def checker() -> Iterator[MediaChecker]:
    with MediaChecker(MediaCheckPolicy(allow_private_urls=True)) as made:
        yield made


def test_without_an_intake_a_local_file_is_refused(store: SqlStore, files: Path) -> None:
    with pytest.raises(InvalidPost) as refused:
        igautopost.schedule(store, [raw("reel.mp4", "reel")], now=igautopost.SystemClock().now())
    [problem] = refused.value.problems
    assert (problem.field, problem.message) == ("media_path", NO_INTAKE)
    assert sum(store.counts().values()) == 0


def test_a_carousel_of_local_files_gets_a_copy_for_each_item(
    store: SqlStore, files: Path, media: CountingStore, checker: MediaChecker
) -> None:
    intake = MediaIntake(media, NamedHost(), checker)
    children = [{"media_path": "feed.jpg"}, {"media_path": "reel.mp4"}, {"media_path": "feed.jpg"}]
    post = raw("x", "carousel", children=children)
    del post["media_path"]
    result = igautopost.schedule(
        store, [post], now=igautopost.SystemClock().now(), media=intake, base_dir=files
    )
    [created] = result.created
    keys = [child.media_file for child in created.spec.children]
    assert keys[0] == keys[2] and keys[0] != keys[1]
    assert keys[0] is not None and keys[0].endswith(".jpg")
    assert keys[1] is not None and keys[1].endswith(".mp4")
    assert media.added == 2  # feed.jpg read once for both items
    assert set(store.media_uses(keys)) == set(keys)


def test_a_carousel_image_needs_a_host_its_video_does_not(
    store: SqlStore, files: Path, media: CountingStore
) -> None:
    post = raw("x", "carousel", children=[{"media_path": "reel.mp4"}, {"media_path": "feed.jpg"}])
    del post["media_path"]
    with pytest.raises(InvalidPost) as refused:
        igautopost.schedule(
            store,
            [post],
            now=igautopost.SystemClock().now(),
            media=MediaIntake(media),
            base_dir=files,
        )
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("children[1].media_path", NO_HOST)
    ]
    assert media.added == 0


def test_a_stream_sharing_one_file_reads_it_once_and_bounds_its_checks(
    store: SqlStore, files: Path, media: CountingStore
) -> None:
    now = igautopost.SystemClock().now()
    items = (raw("reel.mp4", "reel", client_key=f"k{n}") for n in range(2500))  # 3 chunks
    with MediaChecker(MediaCheckPolicy(concurrency=4)) as checker:
        intake = MediaIntake(media, None, checker)
        result = schedule_stream(store, items, now=now, media=intake, base_dir=files)
    assert len(result.created) == 2500
    assert (media.added, intake.copies_made) == (1, 1)
    [key] = [copy.key for copy in list(media.keys())]
    assert len(store.media_uses([key])[key]) == 2500


def test_all_or_nothing_and_the_refused_batchs_copies_are_pruned(
    store: SqlStore, files: Path, tmp_path: Path
) -> None:
    clock = FakeClock(igautopost.SystemClock().now())
    media = FolderMediaStore(tmp_path / "media", clock=clock)
    items = [raw("reel.mp4", "reel", client_key=f"k{n}") for n in range(1000)]
    items.append(raw("missing.mp4", "reel"))  # in the second chunk: the first was copied
    with pytest.raises(InvalidPost) as refused:
        schedule_stream(store, items, now=clock.now(), media=MediaIntake(media), base_dir=files)
    [problem] = refused.value.problems
    assert (problem.field, problem.index) == ("media_path", 1000)
    assert problem.message == f"no such file: {files / 'missing.mp4'}"
    assert sum(store.counts().values()) == 0
    assert len(list(media.keys())) == 1  # made for the refused batch, used by no post
    keeper = MediaKeeper(store, media, clock, keep=HOUR)
    assert keeper.run_once().deleted == []  # within the grace period: a post on its way
    clock.advance(2 * HOUR)
    assert len(keeper.run_once().deleted) == 1
    assert list(media.keys()) == []


def test_problems_of_posts_and_of_media_come_together_in_input_order(
    store: SqlStore, files: Path, media: CountingStore, checker: MediaChecker
) -> None:
    items = [raw("short.mp4", "reel")]  # its media checked with its chunk, the first
    items += [raw("reel.mp4", "reel", client_key=f"k{n}") for n in range(999)]
    items.append(raw("reel.mp4", "reel", caption="x" * 2201))  # the second chunk
    with pytest.raises(InvalidPost) as refused:
        schedule_stream(
            store,
            items,
            now=igautopost.SystemClock().now(),
            media=MediaIntake(media, None, checker),
            base_dir=files,
        )
    assert [(p.index, p.field) for p in refused.value.problems] == [
        (0, "media_path"),
        (1000, "caption"),
    ]
    assert media.added == 0


def test_a_media_file_naming_no_copy_is_refused(
    store: SqlStore, files: Path, media: CountingStore
) -> None:
    post = raw("reel.mp4", "reel", media_file="0" * 64 + ".mp4")
    with pytest.raises(InvalidPost) as refused:
        igautopost.schedule(
            store,
            [post],
            now=igautopost.SystemClock().now(),
            media=MediaIntake(media),
            base_dir=files,
        )
    [problem] = refused.value.problems
    assert problem.field == "media_file" and "names no copy" in problem.message


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(video_processing_seconds=0, fetch_media=True)) as server:
        yield server


def published(publisher: igautopost.Publisher, post_id: int) -> Post:
    deadline = time.monotonic() + 20
    while True:
        post = publisher.advance(post_id) or publisher.store.get(post_id)
        if not post.status.is_active and post.next_attempt_at is None:
            return post
        assert time.monotonic() < deadline, post
        time.sleep(0.05)


def test_a_reel_and_an_image_from_local_files_publish_then_are_pruned(
    tmp_path: Path, files: Path, sandbox: SandboxServer
) -> None:
    settings = settings_for(tmp_path / "data", sandbox_url=sandbox.url)
    store = services.open_store(settings)
    media_folder = tmp_path / "data" / "media"
    media_folder.mkdir(parents=True)
    make_image(files / "sunrise.jpg", 1080, 1080)
    with MediaServer(media_folder) as served:  # the host double: the store's folder, served
        media = FolderMediaStore(media_folder)
        publisher = igautopost.Publisher(
            store,
            services.graph_client(settings),
            igautopost.SystemClock(),
            policy=FAST,
            media_store=media,
            media_host=ServedFolder(served),
        )
        now = publisher.clock.now()
        posts = [
            raw("reel.mp4", "reel", publish_at=now.isoformat()),
            raw("sunrise.jpg", publish_at=now.isoformat()),
        ]
        with MediaIntake(media, ServedFolder(served)) as intake:
            result = igautopost.schedule(store, posts, now=now, media=intake, base_dir=files)
        reel, image = (published(publisher, post.id) for post in result.created)
        assert served.count(image.spec.media_file or "") >= 1  # the sandbox fetched it
    assert (reel.status, image.status) == (Status.PUBLISHED, Status.PUBLISHED)
    reel_events = [event.detail for event in store.events(reel.id)]
    assert any("video uploaded" in detail for detail in reel_events)

    clock = FakeClock(publisher.clock.now())
    keeper = MediaKeeper(store, FolderMediaStore(media_folder, clock=clock), clock, keep=HOUR)
    assert keeper.run_once().deleted == []
    clock.advance(2 * HOUR)
    assert len(keeper.run_once().deleted) == 2
    assert not any(media_folder.iterdir())
    store.close()


def test_services_build_an_intake_and_a_publisher_from_the_settings(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", public_url="https://media.example.org")
    with services.media_intake(settings, check=False) as intake:
        assert intake.checker is None
        assert isinstance(intake.store, FolderMediaStore)
        assert intake.host is not None
        url = intake.host.url_for(StoredMedia("a" * 64 + ".jpg", 1, "image/jpeg"), valid_for=HOUR)
        assert url.startswith("https://media.example.org/media/")
    store = services.open_store(settings)
    engine = services.publisher(settings, store)
    assert isinstance(engine.media_store, FolderMediaStore)
    assert engine.media_host is not None
    settings.public_url = None
    assert services.publisher(settings, store).media_host is None
    store.close()
