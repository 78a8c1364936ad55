"""The outermost layer of the app: body size limit, last-resort 500, structured access log.

A plain ASGI middleware (no BaseHTTPMiddleware): it adds a few microseconds per request.
The access log is one JSON object per request on the ``igautopost.api.access`` logger:
method, path, status, duration and user id. Query values that could be secrets are
redacted; headers and bodies are never logged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .media_files import logged_path
from .uploads import is_upload

access_log = logging.getLogger("igautopost.api.access")
error_log = logging.getLogger("igautopost.api")
SECRET_WORDS = ("token", "key", "password", "secret", "auth")


class BodyTooLarge(Exception):
    """The request body passed the configured limit while it was being read."""


class Guard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()  # a duration for the log, not a time of day
        sent: dict[str, Any] = {"status": 500, "started": False}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent.update(status=message["status"], started=True)
            await send(message)

        try:
            if _is_upload(scope):  # bounded by api/uploads.py, which names the field
                await self.app(scope, receive, tracking_send)
                return
            if _declared_length(scope) > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, self._limited(receive), tracking_send)
        except BodyTooLarge:
            await _answer(tracking_send, sent, 413, "Request body too large.")
        except Exception:
            error_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await _answer(tracking_send, sent, 500, "A server error occurred.")
        finally:
            _log(scope, sent["status"], time.perf_counter() - started)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise BodyTooLarge
            return message

        return limited


def _is_upload(scope: Scope) -> bool:
    if scope["method"] != "POST":
        return False
    kind = next((value for name, value in scope["headers"] if name == b"content-type"), b"")
    return is_upload(scope["method"], scope["path"], kind)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _answer(send: Send, sent: dict[str, Any], status: int, detail: str) -> None:
    if sent["started"]:
        return  # too late for another answer; the connection is closed by the server
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log(scope: Scope, status: int, seconds: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    path = logged_path(scope["path"])  # a media URL's token is its only secret
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        path += "?" + redact(query)
    state = scope.get("state") or {}
    line = json.dumps(
        {
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": state.get("user_id"),
        }
    )
    # `access_log.info(line)` but for its search of the stack for the caller's file and line
    # (always this function): a sixth of the record's cost, on every request (issue 14).
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, line, (), None, func="_log"
    )
    access_log.handle(record)


def redact(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced by ``***``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    safe = [(k, "***" if any(w in k.lower() for w in SECRET_WORDS) else v) for k, v in pairs]
    return urlencode(safe)
