"""Local files taken in when posts are scheduled (issue 16): ``"media_path": "sunrise.jpg"``.

A post (or a carousel item) may name a local file instead of a URL. Scheduling it with a
`MediaIntake` (``igautopost.schedule(store, posts, now=now, media=intake)``):

1. checks every media item of the batch, local or remote, against Instagram's rules for its
   target (`MediaChecker`, when the intake has one): a broken rule is a `Problem` and the
   batch is refused; an item that could not be checked (a network failure) is a note;
2. refuses an image from a local file when no `MediaHost` is configured: Instagram fetches
   images from a URL, so such a post could only fail at its publish time. Videos need no
   host: they go through Instagram's resumable upload;
3. copies each file into the `MediaStore` (once per file however many posts name it) and
   gives the post ``media_file`` = the copy's key, which the engine publishes from.

The copies are made before the posts are stored. A batch refused later (another post is
invalid) stores no post, and its copies have no user: `prune_media` deletes them once the
grace period has passed (``media_keep_seconds``), so they are harmless.

Without an intake, a post naming a local file that has no copy yet is refused with a message
saying so (`local_files_refused`): stored, it could never be published.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .clock import Clock
from .config import Settings
from .errors import Problem
from .media.hosting import media_host_from, media_store_from
from .media.protocols import MediaHost, MediaMissing, MediaStore, StoredMedia
from .models.posts import ItemKind, MediaType, PostSpec

if TYPE_CHECKING:  # Pillow and pymediainfo: imported when media is checked, not before
    from .media.preflight import MediaChecker

BaseDir = Path | Callable[[int | None], Path]
"""Where a relative ``media_path`` is read from: a folder, or a post's folder by its index
in the input (the CLI: each post file's own folder)."""

NO_HOST = (
    "is an image from a local file, and Instagram fetches images from a URL: set "
    "IGAUTOPOST_PUBLIC_URL (the public address of `igautopost serve`, which serves the copy) "
    "or IGAUTOPOST_MEDIA_STORE=s3://bucket/prefix (a bucket with presigned URLs); a video "
    "needs neither (docs/media.md, 'Local files')"
)
NO_INTAKE = (
    "is a local file, and nothing here takes files in: schedule with "
    "media=igautopost.services.media_intake(settings), which checks it and copies it into "
    "the media store"
)


@dataclass(frozen=True)
class LocalItem:
    """One media item of a post that comes from a local file."""

    field: str  # "media_path", "children[2].media_path"
    child: int | None  # the carousel item's position; None: the post's own media
    path: str  # as written
    is_video: bool
    media_file: str | None  # the copy's key, when the post names one already


@dataclass
class Intake:
    """What `MediaIntake.take` made of a chunk of posts."""

    specs: list[PostSpec] = field(default_factory=list)  # with `media_file` set
    problems: list[Problem] = field(default_factory=list)
    unchecked: list[Problem] = field(default_factory=list)  # could not check: not invalid


class MediaIntake:
    """Checks posts' media and copies their local files into the media store.

    One intake per scheduling run (it remembers the files it copied, so a file named by
    170,000 posts is read once); close it (or use `with`) to release the checker's
    connections. `checker` None: no media checks (``--no-media-check``); files are still
    copied, and a missing one is still a problem.
    """

    def __init__(
        self,
        store: MediaStore,
        host: MediaHost | None = None,
        checker: MediaChecker | None = None,
    ) -> None:
        self.store = store
        self.host = host
        self.checker = checker
        self.copies_made = 0  # files read into the store (not counting those named again)
        self._copied: dict[Path, StoredMedia] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock | None = None, check: bool | None = None
    ) -> MediaIntake:
        """The store and host the settings name, and a checker unless `check` is False
        (default: ``settings.media_check``, i.e. IGAUTOPOST_MEDIA_CHECK)."""
        from .media.preflight import MediaChecker, MediaCheckPolicy

        store = media_store_from(settings, clock=clock)
        host = media_host_from(settings, store=store)
        wanted = settings.media_check if check is None else check
        policy = MediaCheckPolicy.from_settings(settings)
        return cls(store, host, MediaChecker(policy, clock=clock) if wanted else None)

    def __enter__(self) -> MediaIntake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.checker is not None:
            self.checker.close()

    def take(
        self,
        specs: Sequence[PostSpec],
        *,
        start: int = 0,
        base_dir: BaseDir | None = None,
        copy: bool = True,
    ) -> Intake:
        """Check the posts' media and copy their local files (`specs[n]` is the input's post
        ``start + n``; problems carry that index). Nothing is copied when the chunk has a
        problem, nor when `copy` is False (an earlier chunk had one: nothing will be stored)."""
        folder = _folders(base_dir)
        found = Intake()
        if self.checker is not None:
            from .media.preflight import media_refs

            refs = [
                ref
                for n, spec in enumerate(specs)
                for ref in media_refs(spec, start + n, folder(start + n))
            ]
            report = self.checker.check_refs(refs)
            found.problems.extend(report.problems)
            found.unchecked.extend(report.unchecked)
        for n, spec in enumerate(specs):
            for item in local_items(spec):
                if item.media_file is None and not item.is_video and self.host is None:
                    found.problems.append(Problem(item.field, NO_HOST, start + n))
        if found.problems or not copy:
            return found
        for n, spec in enumerate(specs):
            found.specs.append(self._copied_into_store(spec, start + n, folder, found.problems))
        if found.problems:
            found.specs = []
        return found

    def _copied_into_store(
        self,
        spec: PostSpec,
        index: int,
        folder: Callable[[int | None], Path],
        problems: list[Problem],
    ) -> PostSpec:
        keys: dict[int | None, str] = {}
        for item in local_items(spec):
            if item.media_file is not None:
                if not self._has(item.media_file):
                    problems.append(
                        Problem(
                            item.field.replace("media_path", "media_file"),
                            f"names no copy in the media store ({item.media_file}); "
                            "leave it out: igautopost sets it from 'media_path'",
                            index,
                        )
                    )
                continue
            path = folder(index) / item.path
            try:
                keys[item.child] = self._copy(path).key
            except OSError as exc:
                problems.append(Problem(item.field, _unreadable(path, exc), index))
        return with_copies(spec, keys) if keys else spec

    def _copy(self, path: Path) -> StoredMedia:
        resolved = path.resolve()
        copied = self._copied.get(resolved)
        if copied is None:
            copied = self._copied[resolved] = self.store.add(resolved)
            self.copies_made += 1
        return copied

    def _has(self, key: str) -> bool:
        try:
            self.store.info(key)
        except MediaMissing:
            return False
        return True


def local_items(spec: PostSpec) -> list[LocalItem]:
    """The post's media items that come from local files."""
    if spec.media_type is MediaType.CAROUSEL:
        return [
            LocalItem(
                f"children[{n}].media_path",
                n,
                child.media_path,
                child.item_kind is ItemKind.VIDEO,
                child.media_file,
            )
            for n, child in enumerate(spec.children)
            if child.media_path is not None
        ]
    if spec.media_path is None:
        return []
    return [LocalItem("media_path", None, spec.media_path, spec.is_video, spec.media_file)]


def with_copies(spec: PostSpec, keys: dict[int | None, str]) -> PostSpec:
    """The post with ``media_file`` set: `keys` maps a carousel item's position (None: the
    post's own media) to its copy's key."""
    update: dict[str, object] = {}
    if None in keys:
        update["media_file"] = keys[None]
    if any(child is not None for child in keys):
        update["children"] = [
            child.model_copy(update={"media_file": keys[n]}) if n in keys else child
            for n, child in enumerate(spec.children)
        ]
    return spec.model_copy(update=update)


def local_files_refused(specs: Iterable[PostSpec], *, start: int = 0) -> list[Problem]:
    """Without an intake: a problem for each local file that has no copy yet."""
    return [
        Problem(item.field, NO_INTAKE, start + n)
        for n, spec in enumerate(specs)
        for item in local_items(spec)
        if item.media_file is None
    ]


def _folders(base_dir: BaseDir | None) -> Callable[[int | None], Path]:
    if base_dir is None:
        cwd = Path.cwd()
        return lambda index: cwd
    if isinstance(base_dir, Path):
        return lambda index: base_dir
    return base_dir


def _unreadable(path: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {path}"
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return f"is a folder, not a file: {path}"
    reason = exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__
    return f"the file cannot be read ({reason}): {path}"


__all__ = [
    "BaseDir",
    "Intake",
    "LocalItem",
    "MediaIntake",
    "local_files_refused",
    "local_items",
    "with_copies",
]
