"""What the sandbox saw: every call, every publish, and the duplicates a client caused.

Records hold token *hashes* only. The call log is bounded (`max_logged_calls`); counters
and the publish ledger are not, since one entry per post is small.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from igautopost.sandbox.objects import Container, Media


def _call_row(call: CallRecord) -> dict[str, Any]:
    row = asdict(call)
    row["sandbox_time"] = call.sandbox_time.isoformat()
    row["wall_time"] = call.wall_time.isoformat(timespec="milliseconds")
    for name in ("socket_time", "tcp_time"):
        moment: datetime | None = row[name]
        row[name] = moment.isoformat(timespec="microseconds") if moment else None
    return row


@dataclass
class CallRecord:
    """One Graph call as it arrived and as it was answered."""

    seq: int
    sandbox_time: datetime
    wall_time: datetime  # when the app began handling it (see arrival.py)
    method: str
    path: str  # with any access_token query value redacted
    endpoint: str
    account_id: str | None = None
    status: int | None = None  # None: connection dropped without an answer
    error_code: int | None = None
    error_subcode: int | None = None
    fault: str | None = None
    token_hash: str | None = None
    token_in_url: bool = False
    object_id: str | None = None
    socket_time: datetime | None = None  # when its bytes were read (see arrival.py)
    tcp_time: datetime | None = None  # when the kernel received them (see arrival.py)


@dataclass
class PublishRecord:
    media_id: str
    container_id: str
    account_id: str
    caption: str | None
    sandbox_time: str


@dataclass
class Inspector:
    """The inspection log; the state calls it under its lock."""

    max_calls: int = 100_000
    calls: deque[CallRecord] = field(default_factory=deque)
    counts: Counter[tuple[str, int | None]] = field(default_factory=Counter)
    publishes: list[PublishRecord] = field(default_factory=list)
    repeat_attempts: Counter[str] = field(default_factory=Counter)  # container -> rejected
    tokens_in_url: int = 0
    seq: int = 0

    def record_call(self, record: CallRecord) -> None:
        self.calls.append(record)
        if len(self.calls) > self.max_calls:
            self.calls.popleft()
        self.counts[(record.endpoint, record.status)] += 1
        self.tokens_in_url += record.token_in_url

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def record_publish(self, media: Media, container: Container, when: str) -> None:
        self.publishes.append(
            PublishRecord(media.id, container.id, media.account_id, media.caption, when)
        )

    def record_repeat_attempt(self, container_id: str) -> None:
        """A publish call for a container that is already PUBLISHED (rejected, but a bug)."""
        self.repeat_attempts[container_id] += 1

    def call_list(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
        rows = [_call_row(c) for c in self.calls]
        for key, wanted in filters.items():
            rows = [r for r in rows if str(r.get(key)) == wanted]
        return rows[-limit:] if limit else rows

    def publish_report(self) -> dict[str, Any]:
        """Publishes per container and per caption, and every duplicate spelled out."""
        by_container: dict[str, list[str]] = {}
        by_caption: dict[tuple[str, str | None], list[str]] = {}
        for p in self.publishes:
            by_container.setdefault(p.container_id, []).append(p.media_id)
            by_caption.setdefault((p.account_id, p.caption), []).append(p.media_id)
        return {
            "publishes": [asdict(p) for p in self.publishes],
            "by_container": by_container,
            "by_caption": [
                {"account_id": a, "caption": c, "media_ids": ids}
                for (a, c), ids in by_caption.items()
            ],
            "duplicates": self._duplicates(by_container, by_caption),
        }

    def _duplicates(
        self,
        by_container: dict[str, list[str]],
        by_caption: dict[tuple[str, str | None], list[str]],
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = [
            {
                "kind": "container",
                "container_id": cid,
                "media_ids": ids,
                "rejected_attempts": self.repeat_attempts.get(cid, 0),
            }
            for cid, ids in by_container.items()
            if len(ids) > 1 or self.repeat_attempts.get(cid)
        ]
        found += [
            {"kind": "caption", "account_id": a, "caption": c, "media_ids": ids}
            for (a, c), ids in by_caption.items()
            if len(ids) > 1
        ]
        return found

    def stats(self) -> dict[str, Any]:
        per_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, status), n in sorted(self.counts.items(), key=str):
            per_endpoint.setdefault(endpoint, {})[str(status or "dropped")] = n
        report = self.publish_report()
        return {
            "calls": sum(self.counts.values()),
            "per_endpoint": per_endpoint,
            "publishes": len(self.publishes),
            "duplicates": len(report["duplicates"]),
            "tokens_in_url": self.tokens_in_url,
        }
