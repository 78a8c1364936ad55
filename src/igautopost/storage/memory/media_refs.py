"""`PostStore.media_uses` in memory: a read of every post's spec, which for the in-memory
store's few posts costs less than keeping an index in step with every write path."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from ...models import Status
from ..protocols import MediaUse
from .tables import Tables


class MediaRefsMixin:
    """Mixed into `InMemoryStore`; relies on its ``_locked``."""

    def _locked(self) -> AbstractContextManager[Tables]:
        raise NotImplementedError

    def media_uses(self, keys: Iterable[str]) -> dict[str, builtins.list[MediaUse]]:
        wanted = set(keys)
        found: dict[str, builtins.list[MediaUse]] = {}
        with self._locked() as t:
            for post_id in sorted(t.posts):
                row = t.posts[post_id]
                for key in sorted(_media_keys(row["spec_json"]) & wanted):
                    use = MediaUse(post_id, Status(row["status"]), row["updated_at"])
                    found.setdefault(key, []).append(use)
        return found


def _media_keys(spec_json: str) -> set[str]:
    try:
        spec = json.loads(spec_json)
        return set(_keys_in(spec))
    except (ValueError, TypeError, AttributeError):
        return set()  # an unreadable row: the scheduler fails it


def _keys_in(spec: dict[str, Any]) -> Iterator[str]:
    if spec.get("media_file"):
        yield spec["media_file"]
    for child in spec.get("children") or []:
        if child.get("media_file"):
            yield child["media_file"]
