"""A media URL's headers and first bytes, fetched the way Instagram would reach them.

A HEAD, then a ranged GET of the first `HEAD_BYTES`: the status, the content type, the total
size (``Content-Range``, else ``Content-Length``) and the bytes that show the format. Every
host, the first and each redirect's, is resolved here and must be public (Instagram cannot
reach a private or loopback address, and igautopost must not be used to probe one); the
connection goes to the address that was checked, so a second lookup cannot swap it.

`MediaUrlRefused` is a fact about the URL (404, a private address, too many redirects): the post is
invalid. `MediaUrlUnreachable` is a failure to learn (a timeout, a refused connection, a 5xx): the
media could not be checked, which does not make the post invalid.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError

from ..errors import MediaUrlRefused, MediaUrlUnreachable
from .probe import HEAD_BYTES

Resolver = Callable[[str, int], list[str]]  # (host, port) -> its IP addresses

_REDIRECTS = {301, 302, 303, 307, 308}
_NO_HEAD = {405, 501}  # HEAD not supported: the GET tells the same
_MISSING = {401, 403, 404, 410}
# Names that no DNS resolves anywhere (RFC 6761, RFC 2606): a URL on one is certainly wrong.
# (`localhost` resolves, to this machine: it is refused as a loopback address, unless private
# addresses are allowed, as on a test machine whose sandbox fetches from it.)
_NEVER_EXISTING_DOMAINS = {"invalid", "test", "example"}


@dataclass(frozen=True)
class Fetched:
    content_type: str  # lower case, without parameters; "" when not given
    size: int | None  # the whole file's, when the server said
    head: bytes  # the first bytes (at most the amount asked)


# Domains reserved for documentation (RFC 2606): they resolve, but serve a placeholder page.
# Examples, demos and the sandbox name them; checking them would refuse every example on a
# machine with DNS and pass it on one without, so they are "could not check" everywhere.
_DOCUMENTATION_DOMAINS = ("example.com", "example.org", "example.net")


def resolve_host(host: str, port: int) -> list[str]:
    """The host's addresses, from the system resolver."""
    name = host.rstrip(".").lower()
    if name.rpartition(".")[2] in _NEVER_EXISTING_DOMAINS:
        raise MediaUrlRefused(f"host {host!r} cannot exist (a reserved name)")
    if any(name == domain or name.endswith("." + domain) for domain in _DOCUMENTATION_DOMAINS):
        raise MediaUrlUnreachable(
            f"host {host!r} is a documentation domain (RFC 2606): nothing there to check"
        )
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        # "Not known" is also what a machine without DNS says: not a fact about the URL.
        raise MediaUrlUnreachable(
            f"host {host!r} could not be looked up ({exc.strerror})"
        ) from None
    return [str(address[4][0]) for address in found]


def is_public(address: str) -> bool:
    """Whether Instagram's servers could reach this address: not private, loopback,
    link-local, reserved, shared (CGNAT), multicast or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class UrlFetcher:
    """Fetches URLs' headers and first bytes; safe to share between threads."""

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool = False,
        head_bytes: int = HEAD_BYTES,
        max_redirects: int = 5,
        connections_per_host: int = 32,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.head_bytes = head_bytes
        self.max_redirects = max_redirects
        self._resolve = resolve
        self._pool_size = connections_per_host
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def fetch(self, url: str) -> Fetched:
        """The URL's content type, size and first bytes; raises `MediaUrlRefused` or
        `MediaUrlUnreachable`."""
        deadline = time.monotonic() + self.timeout
        try:
            url, status, headers = self._follow("HEAD", url, deadline)
            size = _int(headers.get("content-length")) if status not in _NO_HEAD else None
            content_type = headers.get("content-type", "") if status not in _NO_HEAD else ""
            return self._get_head(url, deadline, size, content_type)
        except NewConnectionError:  # before TimeoutError: urllib3 makes it one
            raise MediaUrlUnreachable(
                "could not connect (connection refused or no route)"
            ) from None
        except TimeoutError:
            raise MediaUrlUnreachable(f"did not answer within {self.timeout:g} s") from None
        except SSLError:
            raise MediaUrlUnreachable(
                "its TLS connection failed (certificate or protocol)"
            ) from None
        except HTTPError as exc:
            raise MediaUrlUnreachable(f"could not be reached ({type(exc).__name__})") from None

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _get_head(self, url: str, deadline: float, size: int | None, content_type: str) -> Fetched:
        wanted = {"Range": f"bytes=0-{self.head_bytes - 1}"}
        url, status, response = self._open("GET", url, deadline, wanted)
        try:
            head = response.read(self.head_bytes)
            whole = response.headers.get("content-range", "").rpartition("/")[2]
            if status == HTTPStatus.PARTIAL_CONTENT and whole.isdigit():
                size = int(whole)
            elif status == HTTPStatus.OK:
                size = _int(response.headers.get("content-length")) or size
            elif status == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
                size, head = 0, b""  # nothing at byte 0: an empty file
            content_type = response.headers.get("content-type", "") or content_type
        finally:
            response.close()  # the rest of a whole-file answer is not wanted
            response.release_conn()
        kind = content_type.split(";", 1)[0].strip().lower()
        return Fetched(content_type=kind, size=size, head=head)

    def _follow(
        self, method: str, url: str, deadline: float
    ) -> tuple[str, int, urllib3.HTTPHeaderDict]:
        url, status, response = self._open(method, url, deadline, {})
        response.drain_conn()
        response.release_conn()
        return url, status, response.headers

    def _open(
        self, method: str, url: str, deadline: float, headers: dict[str, str]
    ) -> tuple[str, int, urllib3.BaseHTTPResponse]:
        """The answer to ``method url``, redirects followed (each host checked again)."""
        for _ in range(self.max_redirects + 1):
            response = self._request(method, url, deadline, headers)
            status = response.status
            location = response.headers.get("location")
            if status in _REDIRECTS and location:
                response.drain_conn()
                response.release_conn()
                url = urljoin(url, location)
                continue
            _judge_status(status, method)
            return url, status, response
        raise MediaUrlRefused(f"redirects more than {self.max_redirects} times")

    def _request(
        self, method: str, url: str, deadline: float, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MediaUrlRefused("redirects to a URL that is not http(s)")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._public_address(host, port)
        pool = self._pool(parts.scheme, address, port, host)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        return pool.urlopen(
            method,
            target,
            headers={"Host": host_header, "User-Agent": "igautopost-media-check", **headers},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=left, read=left),
        )

    def _public_address(self, host: str, port: int) -> str:
        addresses = self._resolve(host, port)
        if not addresses:
            raise MediaUrlRefused(f"host {host!r} has no address")
        if not self.allow_private:
            hidden = [a for a in addresses if not is_public(a)]
            if hidden:
                raise MediaUrlRefused(
                    f"host {host!r} is at a private, loopback or reserved address "
                    f"({hidden[0]}), which Instagram cannot reach"
                )
        return addresses[0]

    def _pool(self, scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        key = (scheme, address, port, host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        address, port, maxsize=self._pool_size,
                        server_hostname=host, assert_hostname=host,
                    )  # fmt: skip
                else:
                    pool = urllib3.HTTPConnectionPool(address, port, maxsize=self._pool_size)
                self._pools[key] = pool
            return pool


def _judge_status(status: int, method: str) -> None:
    if 200 <= status < 300 or status == 416 or (method == "HEAD" and status in _NO_HEAD):
        return
    name = _status_name(status)
    if status in _MISSING or (400 <= status < 500 and status != 429):
        raise MediaUrlRefused(f"answered {status} {name}: Instagram could not fetch it")
    raise MediaUrlUnreachable(f"answered {status} {name}")


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None
