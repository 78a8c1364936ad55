"""Deciding, deterministically under a seed, whether a call misbehaves and how.

Each decision is a pure function of (seed, rule index, endpoint, per-endpoint call number),
so a test that sets a seed sees the same faults on every run, whatever the interleaving of
calls to *other* endpoints.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from igautopost.sandbox.config import ErrorSpec, FaultRule, SandboxConfig

OUTAGE_HTML = (
    "<!DOCTYPE html><html><head><title>Error</title></head><body>"
    "<h1>Sorry, something went wrong.</h1><p>We're working on getting this fixed as soon as "
    "we can.</p></body></html>"
)


@dataclass(frozen=True)
class Fault:
    """The fault chosen for one call."""

    kind: str
    error: ErrorSpec | None = None
    http_status: int = 500
    html: bool = False
    delay_seconds: float = 0.0

    @property
    def after_success(self) -> bool:
        return self.kind.startswith("after_success")


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class FaultPlanner:
    """Counts calls per endpoint and picks the fault (if any) of each. The state locks."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._fired: Counter[int] = Counter()

    def decide(self, config: SandboxConfig, endpoint: str) -> Fault | None:
        self._calls[endpoint] += 1
        number = self._calls[endpoint]
        for index, rule in enumerate(config.faults):
            if self._fires(config.seed, index, rule, endpoint, number):
                self._fired[index] += 1
                return _shape(config.seed, index, rule, endpoint, number)
        return None

    def _fires(self, seed: int, index: int, rule: FaultRule, endpoint: str, number: int) -> bool:
        if rule.endpoints and endpoint not in rule.endpoints:
            return False
        if rule.max_times is not None and self._fired[index] >= rule.max_times:
            return False
        if number in rule.on_calls:
            return True
        return rule.rate > 0 and unit_draw(seed, index, endpoint, number) < rule.rate


def _shape(seed: int, index: int, rule: FaultRule, endpoint: str, number: int) -> Fault:
    pick = unit_draw(seed, index, endpoint, number, "pick")
    error = rule.errors[int(pick * len(rule.errors))] if rule.errors else None
    status = rule.http_statuses[int(pick * len(rule.http_statuses))]
    html = unit_draw(seed, index, endpoint, number, "html") < rule.html_ratio
    return Fault(rule.kind, error, status, html, rule.delay_seconds)
