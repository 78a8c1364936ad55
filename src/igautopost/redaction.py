"""Redaction: tokens, passwords and ``Authorization`` headers never reach a log line or an
error report, whichever library wrote it (ours, requests, urllib3, uvicorn, alembic...).

`install` replaces the logging record factory, so that every record is redacted when it is
created, before any handler or formatter sees it, including records of third-party loggers
with handlers of their own (uvicorn's) and their tracebacks; it also wraps `sys.excepthook`
and `threading.excepthook`. igautopost's own code already keeps secrets out of messages: this
is the second line, for what other libraries print.

>>> redact("GET /refresh_access_token?access_token=IGQVJabc123&grant_type=x")
'GET /refresh_access_token?access_token=[redacted]&grant_type=x'
>>> redact("Authorization: Bearer EAABsecretsecret")
'Authorization: [redacted]'
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

MASK = "[redacted]"
SECRET_NAMES = (
    r"access_token|fb_exchange_token|client_secret|app_secret|secret_key|refresh_token"
    r"|password|passwd|api_key|apikey|token|key|secret|authorization"
)
_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization)(['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n,}]+)")
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_API_KEY = re.compile(r"(?i)\b(token)(\s+)([0-9a-f]{20,})")  # "Token <40 hex>", our API keys
# A quoted value is masked to its closing quote: a password may hold spaces.
_QUOTED_PARAM = re.compile(rf"""(?i)\b({SECRET_NAMES})(['"]?\s*(?:=|:)\s*)(["'])((?:(?!\3).)+)\3""")
_PARAM = re.compile(rf"(?i)\b({SECRET_NAMES})(['\"]?\s*(?:=|:)\s*['\"]?)([^&\s'\",}}\]]+)")
# Meta's token shapes: Facebook Login "EAA...", Instagram Login "IGQV..."/"IGAA...".
_META_TOKEN = re.compile(r"\b(?:EAA[A-Za-z0-9]|IG[A-Z]{2})[A-Za-z0-9_-]{12,}")


class Redactor:
    """Patterns, plus exact values known to be secret (the app secret, the storage key)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._exact: set[str] = set()
        self._lock = threading.Lock()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._exact.update(s for s in secrets if s and len(s) >= 6)

    def clear(self) -> None:
        with self._lock:
            self._exact.clear()

    def __call__(self, text: str) -> str:
        for secret in tuple(self._exact):
            if secret in text:
                text = text.replace(secret, MASK)
        text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
        text = _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
        text = _API_KEY.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
        text = _QUOTED_PARAM.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{MASK}{m[3]}", text)
        text = _PARAM.sub(_param, text)
        return _META_TOKEN.sub(MASK, text)


_PROSE_AFTER = re.compile(r" +[a-z]")  # "token: Session has been invalidated": a sentence


def _param(match: re.Match[str]) -> str:
    if match[3] == MASK or match[3].startswith("[redacted"):
        return match[0]
    if _is_prose(match):
        return match[0]
    return f"{match[1]}{match[2]}{MASK}"


def _is_prose(match: re.Match[str]) -> bool:
    """A word of a sentence after "name: ", as in Meta's "Error validating access token:
    Session has been invalidated because...": a plain word followed by more lower-case words
    is text, not a credential. Keys, tokens and passwords given as ``name=value``, in JSON,
    or alone at the end of a line are still masked."""
    separator, value = match[2], match[3]
    if ":" not in separator or not separator.endswith(" ") or not value.isalpha():
        return False
    if not value[0].isupper():  # a sentence starts here; "password: letmein now" does not
        return False
    return _PROSE_AFTER.match(match.string, match.end()) is not None


_default = Redactor()


def redact(text: str) -> str:
    """`text` without anything that looks like a token, password or credential header."""
    return _default(text)


def format_exception(exc: BaseException) -> str:
    """An exception with its traceback, redacted: for error reports and crash logs."""
    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def redact_record(record: logging.LogRecord, redactor: Redactor = _default) -> None:
    """Render the record's message and traceback now, redacted; later formatting then only
    ever sees the redacted text."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what can be shown
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redactor(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redactor("".join(traceback.format_exception(*record.exc_info)))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redactor(record.stack_info)


class RedactingFilter(logging.Filter):
    """The same redaction as a filter, for handlers configured elsewhere."""

    def __init__(self, redactor: Redactor = _default) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record, self.redactor)
        return True


_installed = threading.Lock()
_factory_installed = False
_saved: list[Any] = []  # what `install` replaced: the record factory and both excepthooks


def install(secrets: Iterable[str] = ()) -> Redactor:
    """Redact every log record from now on, and uncaught exceptions; idempotent. `secrets`
    are exact values to remove too (added to those of earlier calls)."""
    global _factory_installed
    _default.add(secrets)
    with _installed:
        if _factory_installed:
            return _default
        _factory_installed = True
        previous = logging.getLogRecordFactory()
        _saved[:] = [previous, sys.excepthook, threading.excepthook]

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _wrap_excepthooks()
    return _default


def _wrap_excepthooks() -> None:
    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            name = args.thread.name if args.thread else "?"
            sys.stderr.write(f"Exception in thread {name}:\n{format_exception(args.exc_value)}")

    sys.excepthook = excepthook
    threading.excepthook = thread_hook


def uninstall() -> None:
    """Undo `install` (for tests); the known secrets are forgotten too."""
    global _factory_installed
    with _installed:
        if not _factory_installed:
            return
        logging.setLogRecordFactory(_saved[0])
        sys.excepthook, threading.excepthook = _saved[1], _saved[2]
        _factory_installed = False
        _default.clear()
