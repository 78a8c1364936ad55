"""The API's media checks and uploads, one set per process (issue 16).

Every post the API schedules has its media checked as the CLI's are: one `MediaChecker`
per process, whose cache keeps what it learnt of a URL (five minutes) and that a URL could
not be checked (a minute: a host that cannot be looked up must not cost a resolver call on
every POST). ``IGAUTOPOST_MEDIA_CHECK=false`` turns the checks off.

An uploaded file goes through the library's `MediaIntake`, as a local file of the CLI's:
it is written under its safe name into a private folder of its own, checked against the
rules of the post's media type, refused if it is an image and no host is configured, and
copied into the media store (`MediaStore.add_stream`, hashing it as it is read), which
sets the post's ``media_file``. The folder is deleted at once; the store keeps the copy.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile

from ..clock import Clock
from ..config import Settings
from ..errors import ConfigurationError, InvalidPost, Problem
from ..media.hosting import media_host_from, media_store_from
from ..media.protocols import MediaHost, MediaStore
from ..media_intake import MediaIntake
from ..models import PostSpec
from ..models.posts import ItemKind, guess_kind

if TYPE_CHECKING:  # Pillow and pymediainfo: imported on the first check, not at startup
    from ..media.preflight import MediaChecker

log = logging.getLogger("igautopost.api")


@dataclass
class Upload:
    """The file part of a form (api/uploads.py reads it): where it was sent, its name as
    shown, its spooled bytes."""

    field: str  # "media_url" or "url", as the client named it
    name: str  # the client's file name, made safe: no folders, a media extension
    file: UploadFile
    size: int

    @property
    def is_video(self) -> bool:
        return guess_kind(self.name) is ItemKind.VIDEO


UNCHECKED_CACHE_SECONDS = 60.0
COPY_CHUNK_BYTES = 1024 * 1024


class PostMedia:
    """What the API checks posts' media with and takes uploads in with; close it at
    shutdown (the checker's connections)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.checker = self._checker() if settings.media_check else None
        self._lock = threading.Lock()
        self._intake_parts: tuple[MediaStore, MediaHost | None] | None = None

    def _checker(self) -> MediaChecker:
        from ..media.preflight import MediaChecker, MediaCheckPolicy

        policy = MediaCheckPolicy.from_settings(self.settings)
        policy = replace(policy, unchecked_cache_seconds=UNCHECKED_CACHE_SECONDS)
        return MediaChecker(policy, clock=self.clock)

    def check(self, spec: PostSpec) -> list[Problem]:
        """The items of `spec` that could not be checked; `InvalidPost` for broken rules."""
        if self.checker is None:
            return []
        report = self.checker.check_post(spec)
        if report.problems:
            raise InvalidPost(report.problems)
        return report.unchecked

    def check_cached(self, spec: PostSpec) -> list[Problem] | None:
        """`check` from the checker's cache alone; None when it must fetch."""
        if self.checker is None:
            return []
        report = self.checker.check_cached(spec)
        if report is None:
            return None
        if report.problems:
            raise InvalidPost(report.problems)
        return report.unchecked

    def take_upload(self, spec: PostSpec, upload: Upload) -> tuple[PostSpec, list[Problem]]:
        """`spec` (whose ``media_path`` is the upload's name) with ``media_file`` set to the
        copy's key, and what could not be checked; `InvalidPost` with the problems on
        ``media_path`` otherwise."""
        store, host = self._store_and_host()
        staging = Path(tempfile.mkdtemp(prefix="igautopost-upload-"))
        try:
            with (staging / upload.name).open("wb") as copy:
                upload.file.file.seek(0)
                shutil.copyfileobj(upload.file.file, copy, COPY_CHUNK_BYTES)
            intake = MediaIntake(store, host, self.checker).take([spec], base_dir=staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if intake.problems:
            raise InvalidPost([replace(p, index=None) for p in intake.problems])
        return intake.specs[0], [replace(p, index=None) for p in intake.unchecked]

    def _store_and_host(self) -> tuple[MediaStore, MediaHost | None]:
        """Built on the first upload and kept: the host's secret is read once."""
        with self._lock:
            if self._intake_parts is None:
                store = media_store_from(self.settings, clock=self.clock)
                try:
                    host = media_host_from(self.settings, store=store)
                except ConfigurationError as exc:  # no secret: images are refused, saying so
                    log.warning("uploaded images have no host: %s", exc)
                    host = None
                self._intake_parts = (store, host)
            return self._intake_parts

    def close(self) -> None:
        if self.checker is not None:
            self.checker.close()


__all__ = ["PostMedia"]
