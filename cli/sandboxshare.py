"""One sandbox emulator per sandbox database: runs on the same SQLite file share it.

The sandbox keeps its Graph objects (containers, media) in the memory of the process that
serves it. Two sandbox runs on one database (`make run` in one terminal, `publish --now
--sandbox` in another) each started their own emulator, and each one's engine took steps of
the other's posts, as engines sharing a database do: a container made on one emulator was
then looked up on the other, which had never heard of it (Graph error 100/33), and the post
failed after its retries. With the real Instagram every engine talks to the same Graph;
this gives sandbox runs the same.

So a run that serves an emulator writes its address next to the database file
(``sandbox.db.emulator.json``: the URL and the process id) and removes it when it ends, and a
later run on the same file uses that emulator for as long as it answers. Only the long-running
commands (`serve`, `worker`) offer theirs: a `publish --now` is over in seconds, and a server
that had taken its emulator would lose it then. An in-memory database is never shared, and a
sandbox database on PostgreSQL is not covered (its runs each have their own emulator).
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class SharedEmulator:
    url: str
    pid: int


def address_file(database_url: str) -> Path | None:
    """Where the emulator of sandbox runs on this database is written; None when runs on it
    cannot share one (in memory, not SQLite)."""
    from igautopost.storage.sql.files import sqlite_file

    try:
        file = sqlite_file(database_url)
    except ValueError:
        return None
    return None if file is None else Path(file).with_name(Path(file).name + ".emulator.json")


def running_emulator(database_url: str) -> SharedEmulator | None:
    """The emulator another sandbox run on this database serves, if it is alive and answers
    as a sandbox; None otherwise (none written, its process gone, or not answering)."""
    path = address_file(database_url)
    if path is None:
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        emulator = SharedEmulator(url=str(found["url"]), pid=int(found["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if emulator.pid == os.getpid() or not _alive(emulator.pid):
        return None
    return emulator if _answers(emulator.url) else None


def offer_emulator(database_url: str, url: str) -> Path | None:
    """Write this process's emulator as the one for runs on this database; the file written
    (remove it with `withdraw_emulator` when the emulator stops)."""
    path = address_file(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    os.replace(partial, path)  # a reader sees the old file or the new one, never half of one
    return path


def withdraw_emulator(path: Path) -> None:
    """Remove the address written by this process (not one another run wrote since)."""
    with suppress(OSError, ValueError, KeyError, TypeError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _answers(url: str) -> bool:
    import requests

    try:
        answer = requests.get(f"{url}/_sandbox/config", timeout=PROBE_TIMEOUT_SECONDS)
    except requests.RequestException:
        return False
    return answer.status_code == 200 and "video_processing_seconds" in answer.text
