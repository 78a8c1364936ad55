"""The Graph client's seam: a `Transport` sends one `Request` and returns its `Response`.

`Urllib3Transport` sends over HTTP; `MockTransport` answers with a plain function, for tests
and examples that need no server (as httpx's ``MockTransport``):

>>> def handler(request: Request) -> Response:
...     return Response(200, {}, b'{"id": "17900"}')
>>> client = GraphClient(transport=MockTransport(handler))                # doctest: +SKIP
>>> client.publish("1784", "1789", token="EAAB...")                         # doctest: +SKIP
'17900'

Sending a request held ahead on an open connection is an optional capability
(`igautopost.graph.prepared.OpensAhead`), which `Urllib3Transport` offers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import certifi
import urllib3
from urllib3 import HTTPConnectionPool
from urllib3.util import parse_url

from .messages import Request, Response, Timeout, split_timeout
from .prepared import HeldConnection, Pending, SentLater

__all__ = [
    "Closeable",
    "Handler",
    "MockTransport",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "Urllib3Transport",
]

Handler = Callable[[Request], Response]

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What sends the client's requests: one request out, its response back. Network
    failures are raised as they come (`OSError`, urllib3's errors); the client maps them."""

    def send(self, request: Request) -> Response: ...


@runtime_checkable
class Closeable(Protocol):
    """A transport holding connections, closed with the client."""

    def close(self) -> None: ...


class MockTransport:
    """A transport that answers every request with ``handler(request)``: no network.

    The handler may also raise, as a network would (`TimeoutError`, `ConnectionError`)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def send(self, request: Request) -> Response:
        return self.handler(request)


class Urllib3Transport:
    """HTTP/1.1 with keep-alive on urllib3: each thread has its own pool manager, keeping up
    to `pool_size` idle connections per host. Certificates are checked against certifi's
    bundle; `proxy`, when given, carries every request. No retries, no redirects. It can
    hold a request ahead on an open connection (`open`, see `igautopost.graph.prepared`)."""

    def __init__(self, pool_size: int = 4, proxy: str | None = None) -> None:
        self._options: dict[str, Any] = {"maxsize": pool_size, "ca_certs": certifi.where()}
        self._proxy = proxy
        self._local = threading.local()
        self._managers: list[urllib3.PoolManager] = []
        self._lock = threading.Lock()

    @property
    def _manager(self) -> urllib3.PoolManager:
        manager: urllib3.PoolManager | None = getattr(self._local, "manager", None)
        if manager is None:
            proxy, options = self._proxy, self._options
            manager = (
                urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
            )
            self._local.manager = manager
            with self._lock:
                self._managers.append(manager)
        return manager

    def send(self, request: Request) -> Response:
        connect, read = split_timeout(request.timeout)
        response = self._manager.urlopen(
            request.method,
            request.url,
            body=request.stream if request.stream is not None else request.body,
            headers=request.headers,
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
            redirect=False,
        )
        return Response(response.status, response.headers, response.data)

    def open(self, request: Request) -> Pending:
        """`request` on a connection of its own, connected now, sent later (`Pending`)."""
        connect, read = split_timeout(request.timeout)
        manager = self._manager
        parsed = parse_url(request.url)
        pool = manager.connection_from_url(request.url)
        if not isinstance(pool, HTTPConnectionPool) or (
            isinstance(manager, urllib3.ProxyManager)
            and manager._proxy_requires_url_absolute_form(parsed)
        ):
            return SentLater(self.send, request)  # a plain-HTTP proxy rewrites requests
        connection = pool._get_conn()  # urllib3 has no public way to hold one for later
        try:
            if not connection.is_connected:
                connection.timeout = connect
                connection.connect()
        except Exception as exc:  # the send reports real failures, after connecting again
            log.debug("could not connect ahead: %s", type(exc).__name__)
        # Without a proxy the request is written as bytes built now (see `HeldConnection`).
        host = None if isinstance(manager, urllib3.ProxyManager) else parsed.netloc
        return HeldConnection(pool, connection, request, parsed.request_uri, read, host)

    def close(self) -> None:
        with self._lock:
            managers, self._managers = self._managers, []
        for manager in managers:
            manager.clear()
        self._local = threading.local()
