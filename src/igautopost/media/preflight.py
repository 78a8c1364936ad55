"""Pre-flight media checks: every media item of a batch of posts against Instagram's rules,
before anything is stored, so that a PNG, a 3:1 panorama, a 2-second reel or a URL Instagram
cannot fetch is reported now and not at publishing time.

>>> report = check_media(specs, base_dir=Path("posts"))        # doctest: +SKIP
>>> report.problems      # [Problem("children[1].media_url", "is a PNG: ...", 3)]  +SKIP
>>> report.unchecked     # network failures, timeouts, 5xx: "could not check", not invalid

Each distinct URL or file of the batch is read once, by a pool of `concurrency` threads,
each URL within `timeout` seconds. A `MediaChecker` kept for a process (the HTTP API's)
remembers what it learnt of a URL for `cache_seconds`, on its clock, so a URL sent again
and again is not fetched again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..clock import Clock, SystemClock
from ..errors import MediaUrlRefused, MediaUrlUnreachable, Problem
from ..models.posts import ItemKind, MediaType, PostSpec
from .fetch import Resolver, UrlFetcher, resolve_host
from .probe import HEAD_BYTES, MediaFacts, probe_bytes, probe_file
from .rules import RULES, Target, broken_rules

# Content types a server may give a media file: the bytes then say what it is.
_MEDIA_CONTENT_TYPES = ("image/", "video/", "application/octet-stream", "binary/octet-stream")


class MediaSettings(Protocol):
    """The settings the checks read (`igautopost.config.Settings` has them)."""

    media_check_timeout: float
    media_check_concurrency: int
    media_allow_private_urls: bool


@dataclass(frozen=True)
class MediaCheckPolicy:
    """How far the checks go: time, threads, addresses, and how long a URL's answer is kept."""

    timeout: float = 10.0  # seconds per URL, redirects included
    concurrency: int = 32  # URLs and files read at once
    allow_private_urls: bool = False  # for a test server on localhost, never in production
    head_bytes: int = HEAD_BYTES
    max_redirects: int = 5
    cache_seconds: float = 300.0
    cache_entries: int = 4096
    # A URL that could not be checked (no DNS answer, a timeout) is tried again after this
    # long; 0: on every check. The HTTP API keeps it a minute, or a POST naming a host that
    # cannot be looked up would wait for the resolver every time (docs/api.md).
    unchecked_cache_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: MediaSettings) -> MediaCheckPolicy:
        return cls(
            timeout=settings.media_check_timeout,
            concurrency=settings.media_check_concurrency,
            allow_private_urls=settings.media_allow_private_urls,
        )


@dataclass(frozen=True)
class MediaRef:
    """One media item of one post: where it is named, where it goes, where it comes from."""

    index: int | None  # the post's position in the batch
    field: str  # "media_url", "children[1].media_path", "cover_url"
    target: Target
    url: str | None = None
    path: Path | None = None  # resolved against the base folder


@dataclass
class MediaReport:
    """What the checks found: `problems` make a post invalid; `unchecked` are items that could
    not be checked now (network failure, timeout, 5xx), which do not."""

    problems: list[Problem] = field(default_factory=list)
    unchecked: list[Problem] = field(default_factory=list)
    sources: int = 0  # distinct URLs and files read

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Failed:
    message: str
    definite: bool  # a fact about the media (a problem), not a failure to learn (unchecked)


_Outcome = MediaFacts | _Failed
BaseDir = Path | Callable[[int | None], Path]


def media_refs(spec: PostSpec, index: int | None, base_dir: Path) -> list[MediaRef]:
    """Every media item of a post, with the rules it must meet. A copy already in the media
    store (``media_file``) was checked when it was made."""

    def ref(field_prefix: str, url: str | None, path: str | None, target: Target) -> MediaRef:
        if url:
            return MediaRef(index, f"{field_prefix}media_url", target, url=url)
        return MediaRef(index, f"{field_prefix}media_path", target, path=base_dir / (path or ""))

    refs: list[MediaRef] = []
    if spec.media_type is MediaType.CAROUSEL:
        for n, child in enumerate(spec.children):
            if child.media_file or not (child.media_url or child.media_path):
                continue
            video = child.item_kind is ItemKind.VIDEO
            target = Target.CAROUSEL_VIDEO if video else Target.CAROUSEL_IMAGE
            refs.append(ref(f"children[{n}].", child.media_url, child.media_path, target))
        return refs
    if not spec.media_file and (spec.media_url or spec.media_path):
        if spec.media_type is MediaType.IMAGE:
            target = Target.FEED_IMAGE
        elif spec.media_type is MediaType.REEL:
            target = Target.REEL
        else:
            target = Target.STORY_VIDEO if spec.is_video else Target.STORY_IMAGE
        refs.append(ref("", spec.media_url, spec.media_path, target))
    if spec.media_type is MediaType.REEL and spec.cover_url:
        refs.append(MediaRef(index, "cover_url", Target.REEL_COVER, url=spec.cover_url))
    return refs


class _AnswerCache:
    """What was learnt of each URL recently (facts, or a definite refusal), for a while."""

    def __init__(
        self, clock: Clock, seconds: float, entries: int, *, unchecked_seconds: float = 0.0
    ) -> None:
        self._clock, self._ttl, self._entries = clock, timedelta(seconds=seconds), entries
        self._unchecked_ttl = timedelta(seconds=unchecked_seconds)
        self._kept: OrderedDict[str, tuple[datetime, _Outcome]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> _Outcome | None:
        with self._lock:
            kept = self._kept.get(url)
            if kept is None:
                return None
            if self._clock.now() - kept[0] >= self._ttl_of(kept[1]):
                del self._kept[url]
                return None
            return kept[1]

    def put(self, url: str, outcome: _Outcome) -> None:
        if not self._ttl_of(outcome):
            return  # a failure to learn is tried again next time
        with self._lock:
            self._kept[url] = (self._clock.now(), outcome)
            self._kept.move_to_end(url)
            while len(self._kept) > self._entries:
                self._kept.popitem(last=False)

    def _ttl_of(self, outcome: _Outcome) -> timedelta:
        unchecked = isinstance(outcome, _Failed) and not outcome.definite
        return self._unchecked_ttl if unchecked else self._ttl


class MediaChecker:
    """Checks posts' media; keep one per process to reuse its connections and its cache."""

    def __init__(
        self,
        policy: MediaCheckPolicy | None = None,
        *,
        clock: Clock | None = None,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.policy = policy or MediaCheckPolicy()
        self._cache = _AnswerCache(
            clock or SystemClock(),
            self.policy.cache_seconds,
            self.policy.cache_entries,
            unchecked_seconds=self.policy.unchecked_cache_seconds,
        )
        self._fetcher = UrlFetcher(
            timeout=self.policy.timeout,
            allow_private=self.policy.allow_private_urls,
            head_bytes=self.policy.head_bytes,
            max_redirects=self.policy.max_redirects,
            connections_per_host=self.policy.concurrency,
            resolve=resolve,
        )

    def __enter__(self) -> MediaChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fetcher.close()

    def check(self, specs: Iterable[PostSpec], *, base_dir: BaseDir = Path()) -> MediaReport:
        """Every media item of every post; problems carry each post's position."""
        refs = [
            ref
            for index, spec in enumerate(specs)
            for ref in media_refs(spec, index, _folder(base_dir, index))
        ]
        return self.check_refs(refs)

    def check_post(self, spec: PostSpec, *, base_dir: Path = Path()) -> MediaReport:
        """One post's media (the HTTP API's case); problems carry no position."""
        return self.check_refs(media_refs(spec, None, base_dir))

    def check_cached(self, spec: PostSpec) -> MediaReport | None:
        """`check_post` from the cache alone, or None when an item must be fetched or read:
        the HTTP API judges a URL it has seen on its writer thread, with no hop to another
        thread, and sends the others to the pool first."""
        refs = media_refs(spec, None, Path())
        outcomes: dict[str, _Outcome] = {}
        for ref in refs:
            cached = self._cache.get(ref.url) if ref.url is not None else None
            if cached is None:
                return None
            outcomes[_source(ref)] = cached
        report = MediaReport(sources=len(outcomes))
        for ref in refs:
            _judge(ref, outcomes[_source(ref)], report)
        return report

    def check_refs(self, refs: list[MediaRef]) -> MediaReport:
        sources = list(dict.fromkeys(_source(ref) for ref in refs))
        outcomes: dict[str, _Outcome] = {}
        if len(sources) == 1:  # one post's one item (the API's case): no pool to start
            outcomes = {sources[0]: self._learn(sources[0])}
        elif sources:
            workers = min(self.policy.concurrency, len(sources))
            with ThreadPoolExecutor(workers, thread_name_prefix="media-check") as pool:
                outcomes = dict(zip(sources, pool.map(self._learn, sources), strict=True))
        report = MediaReport(sources=len(sources))
        for ref in refs:
            _judge(ref, outcomes[_source(ref)], report)
        return report

    def _learn(self, source: str) -> _Outcome:
        if source.startswith("file:"):
            return _read_file(Path(source[5:]))
        cached = self._cache.get(source)
        if cached is not None:
            return cached
        outcome = self._fetch(source)
        self._cache.put(source, outcome)
        return outcome

    def _fetch(self, url: str) -> _Outcome:
        try:
            fetched = self._fetcher.fetch(url)
        except MediaUrlRefused as exc:
            return _Failed(str(exc), definite=True)
        except MediaUrlUnreachable as exc:
            return _Failed(str(exc), definite=False)
        if fetched.content_type and not fetched.content_type.startswith(_MEDIA_CONTENT_TYPES):
            return _Failed(f"is served as {fetched.content_type}, not as an image or a video", True)
        if fetched.size == 0 or not fetched.head:
            return _Failed("is empty", definite=True)
        return probe_bytes(fetched.head, size=fetched.size)


def check_media(
    specs: Iterable[PostSpec],
    *,
    base_dir: BaseDir = Path(),
    policy: MediaCheckPolicy | MediaSettings | None = None,
    clock: Clock | None = None,
) -> MediaReport:
    """Check a batch's media once (a fresh `MediaChecker`, closed after)."""
    if policy is not None and not isinstance(policy, MediaCheckPolicy):
        policy = MediaCheckPolicy.from_settings(policy)
    with MediaChecker(policy, clock=clock) as checker:
        return checker.check(specs, base_dir=base_dir)


def _folder(base_dir: BaseDir, index: int | None) -> Path:
    return base_dir if isinstance(base_dir, Path) else base_dir(index)


def _source(ref: MediaRef) -> str:
    return ref.url if ref.url is not None else f"file:{ref.path}"


def _read_file(path: Path) -> _Outcome:
    try:
        if not path.is_file():
            missing = "is a folder, not a file" if path.is_dir() else "no such file"
            return _Failed(f"{missing}: {path}", definite=True)
        if path.stat().st_size == 0:
            return _Failed(f"the file is empty: {path}", definite=True)
        return probe_file(path)
    except OSError as exc:
        return _Failed(f"the file cannot be read ({exc.strerror}): {path}", definite=True)


def _judge(ref: MediaRef, outcome: _Outcome, report: MediaReport) -> None:
    if isinstance(outcome, _Failed):
        found = report.problems if outcome.definite else report.unchecked
        found.append(Problem(ref.field, outcome.message, ref.index))
        return
    if not outcome.recognised:
        message = "is not an image or a video: its first bytes match no media format"
        report.problems.append(Problem(ref.field, message, ref.index))
        return
    for message in broken_rules(outcome, RULES[ref.target]):
        report.problems.append(Problem(ref.field, message, ref.index))
    if outcome.unread and outcome.moov_first is not False:
        report.unchecked.append(Problem(ref.field, outcome.unread, ref.index))
