"""`GraphClient`: the Instagram Graph API calls igautopost makes, synchronous, over urllib3.

One client serves many accounts: the token is an argument of each call, and it travels only in
the ``Authorization: Bearer`` header. Each thread has its own keep-alive connections (a
urllib3 pool manager per thread). Every call has a timeout, never retries by itself
(the publisher decides, from the error's class and ``action``) and raises only `GraphError`s.

Why urllib3 and not `requests` on top of it: sessions, cookies, hooks and redirects are of
no use against the Graph API, yet each call would pay for them in CPU, and a publishing burst
is CPU-bound on exactly this (docs/benchmarks.md).

>>> client = GraphClient(timeout=10)
>>> container_id = client.create_container("17841400000000000", {"image_url": "https://..."},
...                                        token="EAAB...")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote, urlencode, urlsplit

import certifi
import requests.utils
import urllib3
from pydantic import SecretStr
from urllib3 import HTTPConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import parse_url

from .error_table import error_from_response
from .errors import GraphConnectionError, GraphError, GraphNetworkError, GraphTimeout
from .logfilter import redact_urllib3_request_lines
from .responses import ContainerStatus, LongLivedToken, MediaInfo, PublishingLimit

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

log = logging.getLogger(__name__)

FACEBOOK_HOST = "https://graph.facebook.com"
INSTAGRAM_HOST = "https://graph.instagram.com"
META_HOSTS = frozenset({"graph.facebook.com", "graph.instagram.com"})
STATUS_FIELDS = "id,status_code,status"
MEDIA_FIELDS = "id,permalink,shortcode,timestamp,media_type,media_product_type"
RECENT_MEDIA_FIELDS = MEDIA_FIELDS + ",caption"
LIMIT_FIELDS = "config,quota_usage"
SECRET_PARAMS = frozenset({"access_token", "client_secret", "fb_exchange_token"})

Token = str | SecretStr
Login = Literal["facebook", "instagram"]
Timeout = float | tuple[float, float]


class HostToken(str):
    """An access token bound to the API host that must receive it: Instagram Login tokens
    are sent to graph.instagram.com, Facebook Login tokens to graph.facebook.com. One client
    then serves accounts of both login types."""

    api_base: str

    def __new__(cls, token: str, api_base: str) -> HostToken:
        bound = super().__new__(cls, token)
        bound.api_base = api_base.rstrip("/")
        return bound

    def __repr__(self) -> str:
        return f"HostToken('[redacted]', api_base={self.api_base!r})"


class GraphClient:
    """The Graph API calls of the publishing flow, token exchange and refresh.

    ``base_url`` is the Facebook Login host (default), the Instagram Login host
    ``https://graph.instagram.com``, or a sandbox. ``instagram_base_url`` is where Instagram
    Login's token exchange and refresh go: by default ``https://graph.instagram.com`` when
    ``base_url`` is one of Meta's hosts, else ``base_url`` (a sandbox serves both). ``timeout``
    is in seconds (or a ``(connect, read)`` pair). ``transport`` sends the requests: by default an
    `Urllib3Transport` keeping ``pool_size`` idle connections per thread and host; tests pass
    a fake.
    """

    def __init__(
        self,
        *,
        base_url: str = FACEBOOK_HOST,
        instagram_base_url: str | None = None,
        version: str = "v25.0",
        timeout: Timeout = 30.0,
        transport: Transport | None = None,
        pool_size: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        on_meta = urlsplit(self.base_url).hostname in META_HOSTS
        default_instagram = INSTAGRAM_HOST if on_meta else self.base_url
        self.instagram_base_url = (instagram_base_url or default_instagram).rstrip("/")
        self.version = version.strip("/")
        self.timeout = timeout
        self._transport = transport or Urllib3Transport(pool_size, proxy_for(self.base_url))

    # -- publishing ----------------------------------------------------------------------

    def create_container(self, ig_user_id: str, params: Mapping[str, str], *, token: Token) -> str:
        """Create a media container (`igautopost.graph.params` builds ``params``); its id."""
        data = self._call("POST", self._path(ig_user_id, "media"), token=token, form=params)
        return _id(data, "POST", self._path(ig_user_id, "media"))

    def container_status(self, container_id: str, *, token: Token) -> ContainerStatus:
        """The container's ``status_code`` and ``status`` text (ERROR subcode parsed)."""
        query = {"fields": STATUS_FIELDS}
        data = self._call("GET", self._path(container_id), token=token, query=query)
        return ContainerStatus.from_json(data, container_id)

    def publish(self, ig_user_id: str, container_id: str, *, token: Token) -> str:
        """Publish a FINISHED container; the new media id. Never call twice for one post."""
        path = self._path(ig_user_id, "media_publish")
        data = self._call("POST", path, token=token, form={"creation_id": container_id})
        return _id(data, "POST", path)

    def prepare_publish(self, ig_user_id: str, container_id: str, *, token: Token) -> Prepared:
        """`publish`, built but not sent, on a connection opened now: done ahead of the
        publish time, the call then leaves without a TCP (and TLS) handshake. Any thread may
        send it (`Prepared.launch`, never blocking); `send_publish` reads the answer."""
        path = self._path(ig_user_id, "media_publish")
        request = self._request(
            "POST", path, token=token, query=None, form={"creation_id": container_id}, base=None
        )
        return Prepared(request, token, self._transport.open(request))

    def send_publish(self, prepared: Prepared) -> str:
        """The answer to a call `prepare_publish` built (sent now unless launched already);
        the new media id."""
        request = prepared.request
        data = self._finish(request, self._send(request, prepared.answer), prepared.token)
        return _id(data, request.method, request.path)

    def media(self, media_id: str, *, token: Token) -> MediaInfo:
        """A published media's permalink, shortcode, timestamp and types."""
        data = self._call("GET", self._path(media_id), token=token, query={"fields": MEDIA_FIELDS})
        return MediaInfo.from_json(data, media_id)

    def recent_media(self, ig_user_id: str, *, token: Token, limit: int = 50) -> list[MediaInfo]:
        """The account's latest feed posts and reels, newest first (stories are not listed),
        with their captions and times: to find a post whose publish answer was lost."""
        path = self._path(ig_user_id, "media")
        query = {"fields": RECENT_MEDIA_FIELDS, "limit": str(limit)}
        data = self._call("GET", path, token=token, query=query)
        rows = data.get("data")
        items = rows if isinstance(rows, list) else []
        return [MediaInfo.from_json(row, "") for row in items if isinstance(row, dict)]

    def publishing_limit(self, ig_user_id: str, *, token: Token) -> PublishingLimit:
        """The account's publishing quota usage; quota defaults to 50 per 24 h if not sent."""
        path = self._path(ig_user_id, "content_publishing_limit")
        data = self._call("GET", path, token=token, query={"fields": LIMIT_FIELDS})
        return PublishingLimit.from_json(data)

    def comment(self, media_id: str, message: str, *, token: Token) -> str:
        """Comment on a media (the "first comment"); the comment's id."""
        path = self._path(media_id, "comments")
        return _id(self._call("POST", path, token=token, form={"message": message}), "POST", path)

    # -- tokens --------------------------------------------------------------------------

    def exchange_token(
        self,
        short_lived: Token,
        *,
        app_id: str | None = None,
        app_secret: Token,
        login: Login = "facebook",
    ) -> LongLivedToken:
        """Exchange a short-lived user token for a long-lived one (about 60 days).

        Facebook Login needs ``app_id``. Server side only: it sends the app secret.
        """
        base = self._token_host(login, short_lived)
        if login == "facebook":
            if not app_id:
                raise ValueError("exchange_token(login='facebook') needs app_id")
            # Meta documents a GET with these in the query; the OAuth token endpoint also takes
            # them as a POST form body, which keeps the secrets out of every URL and log line.
            form = {
                "grant_type": "fb_exchange_token",
                "client_id": app_id,
                "client_secret": _secret(app_secret),
                "fb_exchange_token": _secret(short_lived),
            }
            path = f"/{self.version}/oauth/access_token"
            return _token(self._call("POST", path, form=form, base=base), path)
        query = {
            "grant_type": "ig_exchange_token",
            "client_secret": _secret(app_secret),
            "access_token": _secret(short_lived),
        }
        return self._instagram_token("/access_token", query, base)

    def refresh_token(self, token: Token) -> LongLivedToken:
        """Refresh a long-lived Instagram Login token (>= 24 h old, still valid): 60 more days,
        from `instagram_base_url` (or the host a `HostToken` names)."""
        query = {"grant_type": "ig_refresh_token", "access_token": _secret(token)}
        return self._instagram_token(
            "/refresh_access_token", query, self._token_host("instagram", token)
        )

    def _instagram_token(self, path: str, query: dict[str, str], base: str) -> LongLivedToken:
        # graph.instagram.com answers these only to GET with the secrets in the query string
        # ("Unsupported request - method type" otherwise). Our logs and errors carry the path
        # only; urllib3's DEBUG request line would show the query, so it is redacted too.
        redact_urllib3_request_lines()
        data = self._call("GET", path, query=query, base=base)
        return _token(data, path)

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections."""
        self._transport.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _path(self, object_id: str, edge: str | None = None) -> str:
        segment = quote(str(object_id), safe="")
        if not segment:
            raise ValueError("a Graph object id must not be empty")
        return f"/{self.version}/{segment}" + (f"/{edge}" if edge else "")

    def _token_host(self, login: Login, token: Token | None = None) -> str:
        """Where that login type's token calls go: a token bound to a host goes there;
        Instagram Login to `instagram_base_url`; Facebook Login to graph.facebook.com, or to
        a non-Meta base URL (a sandbox, a proxy) as it is."""
        if isinstance(token, HostToken):
            return token.api_base
        if login == "instagram":
            return self.instagram_base_url
        if urlsplit(self.base_url).hostname not in META_HOSTS:
            return self.base_url
        return FACEBOOK_HOST

    def _call(
        self,
        method: str,
        path: str,
        *,
        token: Token | None = None,
        query: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        base: str | None = None,
    ) -> dict[str, Any]:
        request = self._request(method, path, token=token, query=query, form=form, base=base)
        return self._finish(request, self._send(request), token, query, form)

    def _request(
        self,
        method: str,
        path: str,
        *,
        token: Token | None,
        query: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        base: str | None,
    ) -> Request:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {_secret(token)}"
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = (base or getattr(token, "api_base", None) or self.base_url) + path
        if query:
            url += "?" + urlencode(query)
        return Request(method, path, url, headers, body, self.timeout)

    def _send(self, request: Request, exchange: Callable[[], Answer] | None = None) -> Answer:
        """The transport's answer (or `exchange`'s, for a request already on its way);
        network failures become `GraphNetworkError`s."""
        method, path = request.method, request.path
        failure: GraphNetworkError
        started = time.perf_counter()
        try:
            answer = exchange() if exchange is not None else self._transport.send(request)
        except NewConnectionError as exc:  # a subclass of urllib3's timeout, but refused
            failure = GraphConnectionError(
                f"could not reach the Graph API ({type(exc).__name__})", method=method, path=path
            )
        except (TimeoutError, Urllib3Timeout):
            failure = GraphTimeout(f"no answer within {self.timeout} s", method=method, path=path)
        except (Urllib3Error, OSError, HTTPException) as exc:
            # The exception's text may hold the URL and its query: keep only its class name.
            failure = GraphConnectionError(
                f"could not reach the Graph API ({type(exc).__name__})", method=method, path=path
            )
        else:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.debug("%s %s -> HTTP %s in %.0f ms", method, path, answer.status, elapsed_ms)
            return answer
        log.debug("%s %s failed: %s", method, path, type(failure).__name__)
        raise failure  # outside the except block: no chained exception carries the URL

    def _finish(
        self,
        request: Request,
        answer: Answer,
        token: Token | None,
        query: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        data = _json(answer.body)
        if 200 <= answer.status < 400 and data is not None and "error" not in data:
            return data
        method, path = request.method, request.path
        error = error_from_response(answer.status, answer.headers, answer.body, method, path)
        error.redact(*_secrets(token, query, form))
        log.debug(
            "%s %s failed: %s %s/%s", method, path, type(error).__name__, error.code, error.subcode
        )
        raise error


@dataclass(frozen=True)
class Request:
    """One Graph API request, ready to send. Its URL carries no token (the header does)."""

    method: str
    path: str  # what logs and errors show: no host, no query
    url: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    timeout: Timeout


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Pending(Protocol):
    """A request on a connection of its own, opened ahead (`Transport.open`)."""

    def launch(self) -> bool:
        """Write the request now, from any thread, without waiting for the answer; False
        (nothing written) when that could block: no connection is open."""
        ...

    def answer(self) -> Answer:
        """Send the request unless launched, then read its answer; once only."""
        ...


@dataclass(frozen=True)
class Prepared:
    """A publish call built and connected ahead of sending (`GraphClient.prepare_publish`)."""

    request: Request
    token: Token = field(repr=False)
    pending: Pending = field(repr=False)

    def launch(self) -> bool:
        """Send the call now if that cannot block (see `Pending.launch`): a failure is kept
        for `GraphClient.send_publish` to report."""
        return self.pending.launch()

    def answer(self) -> Answer:
        return self.pending.answer()


class Transport(Protocol):
    """What sends the client's requests (`Urllib3Transport`, or a fake in tests)."""

    def send(self, request: Request) -> Answer: ...

    def open(self, request: Request) -> Pending:
        """`request` on a connection taken for it and opened now, to be sent later."""
        ...

    def close(self) -> None: ...


class Urllib3Transport:
    """HTTP/1.1 with keep-alive on urllib3: each thread has its own pool manager, keeping up
    to `pool_size` idle connections per host. Certificates are checked against certifi's
    bundle; `proxy`, when given, carries every request. No retries, no redirects."""

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

    def send(self, request: Request) -> Answer:
        connect, read = _timeouts(request.timeout)
        response = self._manager.urlopen(
            request.method,
            request.url,
            body=request.body,
            headers=request.headers,
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
            redirect=False,
        )
        return Answer(response.status, response.headers, response.data)

    def open(self, request: Request) -> Pending:
        connect, read = _timeouts(request.timeout)
        manager = self._manager
        parsed = parse_url(request.url)
        pool = manager.connection_from_url(request.url)
        if not isinstance(pool, HTTPConnectionPool) or (
            isinstance(manager, urllib3.ProxyManager)
            and manager._proxy_requires_url_absolute_form(parsed)
        ):
            return _Later(self, request)  # a plain-HTTP proxy rewrites requests: no shortcut
        connection = pool._get_conn()  # urllib3 has no public way to hold one for later
        try:
            if not connection.is_connected:
                connection.timeout = connect
                connection.connect()
        except Exception as exc:  # the send reports real failures, after connecting again
            log.debug("could not connect ahead: %s", type(exc).__name__)
        return _Outgoing(pool, connection, request, parsed.request_uri, read)

    def close(self) -> None:
        with self._lock:
            managers, self._managers = self._managers, []
        for manager in managers:
            manager.clear()
        self._local = threading.local()


class _Outgoing:
    """A request held on its own connection, out of its thread's pool until answered."""

    def __init__(
        self,
        pool: HTTPConnectionPool,
        connection: BaseHTTPConnection,
        request: Request,
        target: str,
        read_timeout: float,
    ) -> None:
        self._pool = pool
        self._connection: BaseHTTPConnection | None = connection
        self._request = request
        self._target = target
        self._read_timeout = read_timeout
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

    def answer(self) -> Answer:
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
            connection.timeout = self._read_timeout
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.data)
        except BaseException:
            connection.close()
            self._pool._put_conn(None)
            raise
        finally:
            self._connection = None
        self._pool._put_conn(connection)
        return answer

    def _write(self) -> None:
        request, connection = self._request, self._connection
        assert connection is not None
        self._sent = True
        try:
            connection.request(
                request.method, self._target, body=request.body, headers=request.headers
            )
        except BrokenPipeError:
            pass  # the server may have answered and closed already: the answer tells
        except BaseException as exc:  # reported by `answer`, in the caller's thread
            self._failure = exc


class _Later:
    """A request sent only when its answer is asked for (where holding one cannot work)."""

    def __init__(self, transport: Urllib3Transport, request: Request) -> None:
        self._transport = transport
        self._request = request

    def launch(self) -> bool:
        return False

    def answer(self) -> Answer:
        return self._transport.send(self._request)


def _timeouts(timeout: Timeout) -> tuple[float, float]:
    return timeout if isinstance(timeout, tuple) else (timeout, timeout)


def proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for `base_url` (HTTPS_PROXY, NO_PROXY, ...), read
    once: looking it up on every call walked os.environ each time."""
    proxies = requests.utils.get_environ_proxies(base_url)
    scheme = urlsplit(base_url).scheme
    return proxies.get(scheme) or proxies.get("all") or None


def _secrets(
    token: Token | None, query: Mapping[str, str] | None, form: Mapping[str, str] | None
) -> list[str]:
    found = [_secret(token)] if token is not None else []
    for params in (query or {}, form or {}):
        found.extend(value for name, value in params.items() if name in SECRET_PARAMS)
    return found


def _secret(value: Token) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _id(data: dict[str, Any], method: str, path: str) -> str:
    value = data.get("id")
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise GraphError("the Graph API answered without an id", method=method, path=path)
    return str(value)


def _token(data: dict[str, Any], path: str) -> LongLivedToken:
    if not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise GraphError("the Graph API answered without an access token", path=path)
    return LongLivedToken.from_json(data)
