"""Reading posts from files: a JSON object, a JSON array, or JSON Lines; ``-`` is standard input.

Posts come out one at a time as the caller consumes them. JSON Lines, the form of large
exports, is read a line at a time, so a post's text is dropped once it is parsed: a 50 MB file
held whole, decoded, split into lines and parsed cost six times its size before validation
began (issue 14). A JSON array or a pretty-printed object is one document and is read whole.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

BINARY_SNIFF = 8192  # bytes looked at for a NUL, which no JSON text holds


class InputError(Exception):
    """A file could not be read as posts; the message names the file and the place."""


def read_posts(sources: list[str]) -> Iterator[Any]:
    """Every post of every source, in order, read as they are asked for."""
    for source in sources:
        yield from _posts_of(source)


def _posts_of(source: str) -> Iterator[Any]:
    with ExitStack() as stack:
        if source == "-":
            handle: IO[bytes] = sys.stdin.buffer
        else:
            path = Path(source)
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
                yield first  # JSON Lines (or an object on one line)
                yield from _json_lines(source, lines)
                return
            text = "\n" * (number - 1) + line + "".join(rest for _, rest in lines)
            yield from _parse(source, text)  # one document over several lines
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


def _parse(source: str, text: str) -> list[Any]:
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped[0] == "{" and exc.msg == "Extra data":
            lines = enumerate(text.splitlines(), start=1)
            return list(_json_lines(source, lines))  # several objects, one per line
        raise InputError(f"{source}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{source}: is nested too deeply to be posts") from None
    return value if isinstance(value, list) else [value]


def _json_lines(source: str, lines: Iterator[tuple[int, str]]) -> Iterator[Any]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: line {number} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            message = f"{source}: line {number}: is nested too deeply to be a post"
            raise InputError(message) from None
