"""How long to stay away after a rate limit, read from Meta's usage headers.

``X-Business-Use-Case-Usage`` maps business object ids to lists of usage reports; each report's
``estimated_time_to_regain_access`` is in minutes. ``X-App-Usage`` only gives percentages
(``call_count``, ``total_time``, ``total_cputime``; throttled at 100) over a rolling hour and
no estimate, so a throttled app waits `APP_THROTTLE_WAIT`. A standard ``Retry-After`` header
(seconds) is honoured too. The longest wait wins: calls made while throttled extend the block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

# X-App-Usage has no time estimate; the app window is a rolling hour. Ten minutes lets part of
# the window roll off without hammering an API that extends blocks on every throttled call.
APP_THROTTLE_WAIT = 600.0
THROTTLED_PERCENT = 100.0


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before calling again, or None when the headers give no hint."""
    lowered = {name.lower(): value for name, value in headers.items()}
    waits = [
        _business_use_case_wait(lowered.get("x-business-use-case-usage")),
        _app_usage_wait(lowered.get("x-app-usage")),
        _retry_after_wait(lowered.get("retry-after")),
    ]
    known = [wait for wait in waits if wait is not None]
    return max(known) if known else None


def _business_use_case_wait(header: str | None) -> float | None:
    minutes = [
        _number(report.get("estimated_time_to_regain_access"))
        for report in _usage_reports(_json(header))
    ]
    positive = [m for m in minutes if m is not None and m > 0]
    return max(positive) * 60.0 if positive else None


def _usage_reports(data: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(data, dict):
        return
    for reports in data.values():
        if isinstance(reports, list):
            yield from (report for report in reports if isinstance(report, dict))


def _app_usage_wait(header: str | None) -> float | None:
    data = _json(header)
    if not isinstance(data, dict):
        return None
    percents = [_number(value) for value in data.values()]
    throttled = any(p is not None and p >= THROTTLED_PERCENT for p in percents)
    return APP_THROTTLE_WAIT if throttled else None


def _retry_after_wait(header: str | None) -> float | None:
    seconds = _number(header)
    return seconds if seconds is not None and seconds > 0 else None


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
