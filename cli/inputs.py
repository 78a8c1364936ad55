"""Reading posts from files: a JSON object, a JSON array, or JSON Lines; ``-`` is standard input.

Posts come out one at a time as the caller consumes them. JSON Lines, the form of large
exports, is read a line at a time, so a post's text is dropped once it is parsed: a 50 MB file
held whole, decoded, split into lines and parsed cost six times its size before validation
began (issue 14). A JSON array or a pretty-printed object is one document and is read whole.

`Places` remembers where each post came from (a file and its line, or its index in an
array), so that a problem names it: ``bad5.jsonl:5: caption: ...`` (issue 15); and the folder
of its file, which a relative ``media_path`` is read from (issue 16).
"""

from __future__ import annotations

import io
import json
import re
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

BINARY_SNIFF = 8192  # bytes looked at for a NUL, which no JSON text holds
# igautopost.posts.NO_ACCOUNT, which `_with_hint` adds the command to
MISSING_ACCOUNT = re.compile(r"account (\d+) is not stored")


class InputError(Exception):
    """A file could not be read as posts; the message names the file and the place."""


class Places:
    """Where each post read came from, by its position in the input: a JSON Lines post by
    its file and line, an array's by its file and index. Four bytes a post: a 3,000-post
    file's places cost 12 KB, not a string each."""

    def __init__(self) -> None:
        self._files: list[tuple[int, str, bool]] = []  # (first post, name, is an array)
        self._folders: list[Path] = []  # each file's folder, as `_files`
        self._lines = array("I")  # each post's line (0: an array's item)
        self._count = 0

    def add(self, source: str, line: int, *, is_array: bool, first: bool) -> None:
        """The next post came from `source`, at `line` (0 for an array's item); `first`
        says it is the first of its source."""
        if first:
            self._files.append((self._count, "<stdin>" if source == "-" else source, is_array))
            self._folders.append(Path.cwd() if source == "-" else Path(source).resolve().parent)
        self._lines.append(line)
        self._count += 1

    def of(self, index: int) -> str | None:
        """``file:line`` or ``file[index]`` of the post at `index` of the input, if read."""
        if not 0 <= index < self._count:
            return None
        at = bisect_right([start for start, _, _ in self._files], index) - 1
        start, name, is_array = self._files[at]
        return f"{name}[{index - start}]" if is_array else f"{name}:{self._lines[index]}"

    def folder_of(self, index: int | None) -> Path:
        """The folder of the file the post at `index` came from (the working directory for
        standard input, or a post not read yet): a relative ``media_path`` is read there."""
        if index is None or not 0 <= index < self._count:
            return Path.cwd()
        at = bisect_right(self._files, index, key=lambda entry: entry[0]) - 1
        return self._folders[at]


def read_posts(sources: list[str], places: Places | None = None) -> Iterator[Any]:
    """Every post of every source, in order, read as they are asked for; `places`, when
    given, learns where each one came from."""
    for source in sources:
        for number, (line, is_array, post) in enumerate(_posts_of(source)):
            if places is not None:
                places.add(source, line, is_array=is_array, first=number == 0)
            yield post


def _posts_of(source: str) -> Iterator[tuple[int, bool, Any]]:
    """(line, whether an array's item, post) for each post of `source`."""
    with ExitStack() as stack:
        if source == "-":
            handle: IO[bytes] = sys.stdin.buffer
        else:
            path = Path(source)
            if path.is_dir():
                raise InputError(f"{source}: is a directory; give the files of posts in it")
            if not path.is_file():
                raise InputError(f"{source}: no such file")
            handle = stack.enter_context(path.open("rb"))
        lines = _text_lines(source, handle)
        for number, line in lines:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped[0] not in "[{":
                break
            if stripped[0] == "{" and (first := _one_line(stripped)) is not None:
                yield number, False, first  # JSON Lines (or an object on one line)
                yield from _json_lines(source, lines)
                return
            text = "\n" * (number - 1) + line + "".join(rest for _, rest in lines)
            yield from _parse(source, text, number)  # one document over several lines
            return
        else:
            raise InputError(f"{source}: is empty")
        raise InputError(f"{source}: line 1: expected a JSON object, array or JSON Lines")


def _text_lines(source: str, handle: IO[bytes]) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered from 1 and decoded; a BOM at its start is dropped."""
    offset = 0
    for number, raw in enumerate(_byte_lines(source, handle), start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: is not UTF-8 text (byte {offset + exc.start})") from None
        offset += len(raw)


def _byte_lines(source: str, handle: IO[bytes]) -> Iterator[bytes]:
    """Lines as bytes, after a look at the start for a NUL (a binary file has no lines)."""
    head = handle.read(BINARY_SNIFF)
    if b"\x00" in head:
        raise InputError(f"{source}: is a binary file, not JSON")
    lines = io.BytesIO(head).readlines()
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += handle.readline()  # the head ended inside a line
    yield from lines
    yield from handle


def _one_line(text: str) -> Any | None:
    """The object a line holds by itself, or None when it is not one (yet)."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _parse(source: str, text: str, first_line: int) -> Iterator[tuple[int, bool, Any]]:
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped[0] == "{" and exc.msg == "Extra data":
            lines = enumerate(text.splitlines(), start=1)
            yield from _json_lines(source, lines)  # several objects, one per line
            return
        raise InputError(f"{source}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{source}: is nested too deeply to be posts") from None
    if isinstance(value, list):
        yield from ((0, True, item) for item in value)
    else:
        yield first_line, False, value


def _json_lines(source: str, lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, bool, Any]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield number, False, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: line {number} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            message = f"{source}: line {number}: is nested too deeply to be a post"
            raise InputError(message) from None


@contextmanager
def located(places: Places) -> Iterator[None]:
    """Problems of the posts read name the file and line (or index) of each post, and a
    missing account says how to add it: ``bad5.jsonl:5: caption: ...``."""
    from igautopost import InvalidPost, Problem

    try:
        yield
    except InvalidPost as exc:
        problems = []
        for problem in exc.problems:
            place = places.of(problem.index) if problem.index is not None else None
            field = f"{place}: {problem.field}" if place else problem.field
            index = None if place else problem.index
            problems.append(Problem(field, _with_hint(problem.message), index))
        raise InvalidPost(problems) from None


def _with_hint(message: str) -> str:
    """The library names no command; the CLI adds the one that helps."""
    found = MISSING_ACCOUNT.search(message)
    if found is None:
        return message
    return (
        f"{message}: `igautopost account add {found.group(1)}`, "
        "or --allow-missing-account to add it later"
    )
