"""The media checks of the post commands (issue 16): each post's media against Instagram's
rules, once the posts themselves are valid. A broken rule is a problem like any other (exit
code 1); media that could not be checked (a network failure, a timeout, a 5xx) is a warning.

`MediaBatch` rides along the reading of the posts: it learns each post's folder (a local
``media_path`` is read relative to its post file) and keeps each valid post's media items,
not the posts, then checks them all at once with a bounded pool.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from .base import err

if TYPE_CHECKING:
    from igautopost import PostSpec, Problem
    from igautopost.media.preflight import MediaRef

    from .inputs import Places
    from .state import State

T = TypeVar("T")
UNCHECKED_SHOWN = 20  # "could not check" lines before the rest are summed up

NoMediaCheckOption = Annotated[
    bool,
    typer.Option(
        "--no-media-check",
        help="Do not check the media (format, size, shape, reachable URL); "
        "IGAUTOPOST_MEDIA_CHECK=false does it for every command.",
    ),
]


class MediaBatch:
    """The media items of a batch of posts, checked at the end (or not at all: `enabled`)."""

    def __init__(self, state: State, *, skip: bool, every_unchecked: bool = False) -> None:
        self.state = state
        self.enabled = not skip and state.settings.media_check
        self.every_unchecked = every_unchecked  # else the first UNCHECKED_SHOWN, then a sum
        self._folders: list[tuple[int, Path]] = []  # (first post's index, its file's folder)
        self._read = 0
        self._refs: list[MediaRef] = []

    def reading(self, files: list[str], places: Places) -> Iterator[Any]:
        """`read_posts` of every file, noting the folder each post came from."""
        from .inputs import read_posts

        for source in files:
            folder = Path.cwd() if source == "-" else Path(source).resolve().parent
            self._folders.append((self._read, folder))
            for post in read_posts([source], places):
                self._read += 1
                yield post

    def kept(self, specs: Iterable[PostSpec]) -> Iterator[PostSpec]:
        """Each valid post, as it passes; its media items are kept for `check`. The posts
        pass in input order and only while all are valid, so the n-th is post n."""
        from igautopost.media.preflight import media_refs

        for index, spec in enumerate(specs):
            if self.enabled:
                self._refs.extend(media_refs(spec, index, self._folder_of(index)))
            yield spec

    def check(self, places: Places) -> int:
        """Check the media kept: warnings printed for what could not be checked, and an
        `InvalidPost` for the broken rules. Returns how many files and URLs were read."""
        from igautopost import InvalidPost
        from igautopost.media.preflight import MediaChecker, MediaCheckPolicy

        if not self.enabled or not self._refs:
            return 0
        policy = MediaCheckPolicy.from_settings(self.state.settings)
        with MediaChecker(policy) as checker:
            report = checker.check_refs(self._refs)
        say_unchecked(report.unchecked, places, every=self.every_unchecked)
        if report.problems:
            raise InvalidPost(report.problems)
        return report.sources

    def _folder_of(self, index: int) -> Path:
        at = bisect_right(self._folders, index, key=lambda entry: entry[0]) - 1
        return self._folders[at][1] if at >= 0 else Path.cwd()


def say_unchecked(notes: list[Problem], places: Places, *, every: bool) -> None:
    """One "could not check" warning per media URL or file, each naming its post's file and
    line: the first `UNCHECKED_SHOWN`, then one line for the rest (`every`: all of them). A
    file of 169,000 posts naming a host that cannot be checked printed 169,000 lines, and
    spent 40 s of CPU doing it (issue 14)."""
    shown = notes if every else notes[:UNCHECKED_SHOWN]
    for note in shown:
        place = places.of(note.index) if note.index is not None else None
        where = f"{place}: {note.field}" if place else str(note)
        line = escape(f"{where}: {note.message}" if place else where)
        err.print(f"[yellow]could not check:[/] {line}", highlight=False, soft_wrap=True)
    rest = notes[len(shown) :]
    if not rest:
        return
    reasons = {note.message for note in rest}
    why = f": {next(iter(reasons))}" if len(reasons) == 1 else f", for {len(reasons):,} reasons"
    err.print(
        f"[yellow]could not check:[/] {len(rest):,} more media URL(s) or file(s){escape(why)} "
        "(--verbose lists each)",
        highlight=False,
        soft_wrap=True,
    )
