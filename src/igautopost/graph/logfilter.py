"""Keep query strings out of urllib3's DEBUG request lines.

Instagram Login's token endpoints take the token and the app secret only as query parameters.
igautopost's own log lines and errors never contain a URL, but urllib3 logs each request line
(``"GET /refresh_access_token?...&access_token=... HTTP/1.1" 200``) at DEBUG. The filter cuts
every query string from that logger's records; it is installed once, the first time a
token endpoint is called, and changes nothing else.
"""

from __future__ import annotations

import logging
import threading

URLLIB3_LOGGER = "urllib3.connectionpool"
_install_lock = threading.Lock()


class RedactQueryStrings(logging.Filter):
    """Replace the query string of any URL-like argument of a log record by ``?[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        if isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = _redacted(record.msg)
        return True


def redact_urllib3_request_lines() -> None:
    """Install `RedactQueryStrings` on urllib3's connection pool logger (idempotent)."""
    logger = logging.getLogger(URLLIB3_LOGGER)
    with _install_lock:
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())


def _redacted(value: object) -> object:
    if not isinstance(value, str) or "?" not in value:
        return value
    head, _, tail = value.partition("?")
    rest = tail.split(" ", 1)  # "path?query HTTP/1.1" keeps what follows the URL
    return f"{head}?[redacted]" + (f" {rest[1]}" if len(rest) > 1 else "")
