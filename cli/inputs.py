"""Reading posts from files: a JSON object, a JSON array, or JSON Lines; ``-`` is standard input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class InputError(Exception):
    """A file could not be read as posts; the message names the file and the place."""


def read_posts(sources: list[str]) -> list[Any]:
    """Every post of every source, in order."""
    items: list[Any] = []
    for source in sources:
        items.extend(_parse(source, _read_text(source)))
    return items


def _read_text(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file")
        data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise InputError(f"{source}: is a binary file, not JSON")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: is not UTF-8 text (byte {exc.start})") from None


def _parse(source: str, text: str) -> list[Any]:
    stripped = text.strip()
    if not stripped:
        raise InputError(f"{source}: is empty")
    if stripped[0] in "[{":
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            if stripped[0] == "{" and exc.msg == "Extra data":
                return list(_json_lines(source, text))  # several objects, one per line
            raise InputError(f"{source}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{source}: is nested too deeply to be posts") from None
        return value if isinstance(value, list) else [value]
    raise InputError(f"{source}: line 1: expected a JSON object, array or JSON Lines")


def _json_lines(source: str, text: str) -> Iterator[Any]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: line {number} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            message = f"{source}: line {number}: is nested too deeply to be a post"
            raise InputError(message) from None
