"""The held-ahead request: an optional capability of a transport, not part of its seam.

A publish call must leave on its second. A transport that `OpensAhead` builds the request
and opens its connection early (`open`), so that sending it later costs no TCP or TLS
handshake; any thread may then `launch` it, and `answer` reads the answer. A transport
without the capability still works: `open_ahead` falls back to sending the request when its
answer is asked for (`SentLater`).
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .messages import Request, Response

if TYPE_CHECKING:
    from pydantic import SecretStr
    from urllib3 import HTTPConnectionPool
    from urllib3._base_connection import BaseHTTPConnection


class Pending(Protocol):
    """A request on a connection of its own, opened ahead (`OpensAhead.open`)."""

    def launch(self) -> bool:
        """Write the request now, from any thread, without waiting for the answer; False
        (nothing written) when that could block: no connection is open."""
        ...

    def answer(self) -> Response:
        """Send the request unless launched, then read its answer; once only."""
        ...


@runtime_checkable
class OpensAhead(Protocol):
    """A transport that can hold a request on a connection opened now, to send it later."""

    def open(self, request: Request) -> Pending:
        """`request` on a connection taken for it and opened now, to be sent later."""
        ...


@dataclass(frozen=True)
class Prepared:
    """A publish call built and connected ahead of sending (`GraphClient.prepare_publish`)."""

    request: Request
    token: str | SecretStr = field(repr=False)
    pending: Pending = field(repr=False)

    def launch(self) -> bool:
        """Send the call now if that cannot block (see `Pending.launch`): a failure is kept
        for `GraphClient.send_publish` to report."""
        return self.pending.launch()

    def answer(self) -> Response:
        return self.pending.answer()

    def abandon(self) -> None:
        """Give the call up unsent (its step lost its lease): its connection is closed now
        rather than by the garbage collector, when the pending request can close one."""
        close = getattr(self.pending, "close", None)
        if callable(close):
            close()


def open_ahead(transport: object, send: Callable[[Request], Response], request: Request) -> Pending:
    """`request` held ahead by `transport` if it `OpensAhead`, else sent only when answered."""
    if isinstance(transport, OpensAhead):
        return transport.open(request)
    return SentLater(send, request)


class SentLater:
    """A request sent only when its answer is asked for (where holding one cannot work)."""

    def __init__(self, send: Callable[[Request], Response], request: Request) -> None:
        self._send = send
        self._request = request

    def launch(self) -> bool:
        return False

    def answer(self) -> Response:
        return self._send(self._request)


class HeldConnection:
    """A request held on its own urllib3 connection, out of its thread's pool until answered."""

    def __init__(
        self,
        pool: HTTPConnectionPool,
        connection: BaseHTTPConnection,
        request: Request,
        target: str,
        read_timeout: float,
        host: str | None = None,
    ) -> None:
        self._pool = pool
        self._connection: BaseHTTPConnection | None = connection
        self._request = request
        self._target = target
        self._read_timeout = read_timeout
        # The request's bytes, built now: at the mark, writing it is one `sendall` (urllib3's
        # `request` took ten times as long, and a launcher writes a burst's calls in a row).
        self._raw = _serialized(request, target, host) if host else None
        self._raw_sent = False
        self._sent = False
        self._failure: BaseException | None = None
        self._writing = threading.Lock()  # one write, whichever thread gets there first

    def launch(self) -> bool:
        with self._writing:
            connection = self._connection
            # Not connected, or closed by the server meanwhile: connecting could block.
            if connection is None or self._sent or not connection.is_connected:
                return False
            self._write()
            return True

    def close(self) -> None:
        """Give the request up unsent: its connection is closed, its pool's slot freed."""
        with self._writing:
            connection, self._connection = self._connection, None
            self._sent = True
        if connection is not None:
            connection.close()
            _give_back(self._pool, None)

    def answer(self) -> Response:
        connection = self._connection
        if connection is None:
            raise RuntimeError("a prepared request is answered once only")
        try:
            with self._writing:
                if not self._sent:
                    if not connection.is_closed and not connection.is_connected:
                        connection.close()  # closed by the server meanwhile: connect again
                    self._write()
            if self._failure is not None:
                raise self._failure
            answer, reusable = self._read(connection)
        except BaseException:
            connection.close()
            _give_back(self._pool, None)
            raise
        finally:
            self._connection = None
        if not reusable:
            connection.close()
        _give_back(self._pool, connection if reusable else None)
        return answer

    def _read(self, connection: BaseHTTPConnection) -> tuple[Response, bool]:
        """The answer, and whether the connection may carry another request."""
        if not self._raw_sent:
            connection.timeout = self._read_timeout
            response = connection.getresponse()
            return Response(response.status, response.headers, response.data), True
        # Written past http.client, so read past it too: its connection object stays idle
        # and can carry the pool's next request.
        import http.client

        from urllib3 import HTTPHeaderDict

        sock = _socket_of(connection)
        assert sock is not None
        sock.settimeout(self._read_timeout)
        raw = http.client.HTTPResponse(sock, method=self._request.method)
        try:
            raw.begin()
            data = raw.read()
        finally:
            raw.close()
        headers = HTTPHeaderDict(raw.getheaders())
        return Response(raw.status, headers, data), not raw.will_close

    def _write(self) -> None:
        request, connection = self._request, self._connection
        assert connection is not None
        self._sent = True
        try:
            if self._raw is not None:
                if _socket_of(connection) is None:
                    connection.connect()
                sock = _socket_of(connection)
                assert sock is not None
                self._raw_sent = True
                sock.sendall(self._raw)
            else:
                connection.request(
                    request.method, self._target, body=request.body, headers=request.headers
                )
        except BrokenPipeError:
            pass  # the server may have answered and closed already: the answer tells
        except BaseException as exc:  # reported by `answer`, in the caller's thread
            self._failure = exc


def _give_back(pool: HTTPConnectionPool, connection: BaseHTTPConnection | None) -> None:
    """`connection` back to its pool (None: its slot), or closed when the pool is full.

    A thread may hold more requests ahead than its pool keeps (a burst of calls handed to
    the launcher, see `igautopost.engine.launcher`); urllib3's own `_put_conn` would log a
    warning for each of those."""
    idle = pool.pool
    if idle is not None:
        try:
            idle.put(connection, block=False)
            return
        except queue.Full:
            pass
    if connection is not None:
        connection.close()


def _serialized(request: Request, target: str, host: str) -> bytes | None:
    """The request as urllib3 would write it (Host, identity encoding, its user agent, the
    length); None when a header could not be written as given (urllib3 then refuses it)."""
    body = request.body or b""
    names = {name.lower() for name in request.headers}
    headers = {"Host": host}
    if "accept-encoding" not in names:
        headers["Accept-Encoding"] = "identity"
    headers.update(request.headers)
    if "user-agent" not in names:
        headers["User-Agent"] = _user_agent()
    if "content-length" not in names and (body or request.method in ("POST", "PUT", "PATCH")):
        headers["Content-Length"] = str(len(body))
    lines = [f"{request.method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if any(bad in f"{name}{value}" for bad in ("\r", "\n", "\0")):
            return None
        lines.append(f"{name}: {value}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        return None
    return head + body


def _socket_of(connection: BaseHTTPConnection) -> socket.socket | None:
    """The connection's socket (urllib3's connections are http.client's, with `sock`)."""
    sock: socket.socket | None = getattr(connection, "sock", None)
    return sock


@cache
def _user_agent() -> str:
    """urllib3's own default, so that a call written ahead looks like any other."""
    return f"python-urllib3/{version('urllib3')}"
