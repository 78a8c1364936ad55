"""`GraphClient`: the Instagram Graph API calls igautopost makes, on `requests`, synchronous.

One client serves many accounts: the token is an argument of each call, and it travels only in
the ``Authorization: Bearer`` header. Each thread gets its own `requests.Session` (keep-alive
connections, a pool of ``pool_size``). Every call has a timeout, never retries by itself (the
publisher decides, from the error's class and ``action``) and raises only `GraphError`s.

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
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool

from .error_table import error_from_response
from .errors import GraphConnectionError, GraphError, GraphNetworkError, GraphTimeout
from .logfilter import redact_urllib3_request_lines
from .responses import ContainerStatus, LongLivedToken, MediaInfo, PublishingLimit

log = logging.getLogger(__name__)

FACEBOOK_HOST = "https://graph.facebook.com"
INSTAGRAM_HOST = "https://graph.instagram.com"
META_HOSTS = frozenset({"graph.facebook.com", "graph.instagram.com"})
STATUS_FIELDS = "id,status_code,status"
MEDIA_FIELDS = "id,permalink,shortcode,timestamp,media_type,media_product_type"
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
    ``https://graph.instagram.com``, or a sandbox. ``timeout`` is in seconds (or a
    ``(connect, read)`` pair). ``session_factory`` builds each thread's session.
    """

    def __init__(
        self,
        *,
        base_url: str = FACEBOOK_HOST,
        version: str = "v25.0",
        timeout: Timeout = 30.0,
        session_factory: Callable[[], requests.Session] = requests.Session,
        pool_size: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.timeout = timeout
        self._session_factory = session_factory
        self._pool_size = pool_size
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

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
        """`publish`, built but not sent: `send_publish` sends it. Building the request is
        most of a call's work here; done ahead of the publish time, the call leaves on it."""
        path = self._path(ig_user_id, "media_publish")
        headers = self._headers(token)
        url = (getattr(token, "api_base", None) or self.base_url) + path
        request = requests.Request("POST", url, data={"creation_id": container_id}, headers=headers)
        try:
            prepared = self._session().prepare_request(request)
        except (requests.RequestException, ValueError) as exc:
            raise GraphConnectionError(
                f"could not build the request ({type(exc).__name__})", method="POST", path=path
            ) from None
        self._connect_ahead(prepared)
        return Prepared("POST", path, prepared, token)

    def send_publish(self, prepared: Prepared) -> str:
        """Send a call `prepare_publish` built, in the thread that built it; the media id."""
        method, path = prepared.method, prepared.path

        def send() -> requests.Response:
            return self._session().send(prepared.request, timeout=self.timeout)

        data = self._finish(method, path, self._transport(method, path, send), prepared.token)
        return _id(data, method, path)

    def media(self, media_id: str, *, token: Token) -> MediaInfo:
        """A published media's permalink, shortcode, timestamp and types."""
        data = self._call("GET", self._path(media_id), token=token, query={"fields": MEDIA_FIELDS})
        return MediaInfo.from_json(data, media_id)

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
            return _token(self._call("POST", path, form=form, base=self._token_host(login)), path)
        query = {
            "grant_type": "ig_exchange_token",
            "client_secret": _secret(app_secret),
            "access_token": _secret(short_lived),
        }
        return self._instagram_token("/access_token", query)

    def refresh_token(self, token: Token) -> LongLivedToken:
        """Refresh a long-lived Instagram Login token (>= 24 h old, still valid): 60 more days."""
        query = {"grant_type": "ig_refresh_token", "access_token": _secret(token)}
        return self._instagram_token("/refresh_access_token", query)

    def _instagram_token(self, path: str, query: dict[str, str]) -> LongLivedToken:
        # graph.instagram.com answers these only to GET with the secrets in the query string
        # ("Unsupported request - method type" otherwise). Our logs and errors carry the path
        # only; urllib3's DEBUG request line would show the query, so it is redacted too.
        redact_urllib3_request_lines()
        data = self._call("GET", path, query=query, base=self._token_host("instagram"))
        return _token(data, path)

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's session and its connections."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _path(self, object_id: str, edge: str | None = None) -> str:
        segment = quote(str(object_id), safe="")
        if not segment:
            raise ValueError("a Graph object id must not be empty")
        return f"/{self.version}/{segment}" + (f"/{edge}" if edge else "")

    def _token_host(self, login: Login) -> str:
        """Meta's host for that login type; a non-Meta base URL (a sandbox) serves both."""
        if urlsplit(self.base_url).hostname not in META_HOSTS:
            return self.base_url
        return FACEBOOK_HOST if login == "facebook" else INSTAGRAM_HOST

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            # Read proxy settings from the environment once, not on every call: requests'
            # per-call lookup walks os.environ and costs more than a loopback round trip.
            session.proxies.update(
                {k: v for k, v in requests.utils.get_environ_proxies(self.base_url).items() if v}
            )
            session.trust_env = False
            adapter = HTTPAdapter(pool_maxsize=self._pool_size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _connect_ahead(self, request: requests.PreparedRequest) -> None:
        """Open this thread's connection to the request's host now unless one is open, so
        that the call, when it is sent, does not start with a TCP (and TLS) handshake. Only
        an optimisation: whatever goes wrong here is left to the call itself."""
        session = self._session()
        try:
            adapter = session.get_adapter(request.url or "")
            if not isinstance(adapter, HTTPAdapter):
                return
            pool = adapter.get_connection_with_tls_context(
                request, verify=session.verify, proxies=session.proxies
            )
            if not isinstance(pool, HTTPConnectionPool):
                return
            connection = pool._get_conn()  # urllib3 has no public way to open one ahead
            try:
                if not connection.is_connected:
                    connection.timeout = self._connect_timeout
                    connection.connect()
            finally:
                pool._put_conn(connection)
        except Exception as exc:  # the call reports real failures
            log.debug("could not connect ahead: %s", type(exc).__name__)

    @property
    def _connect_timeout(self) -> float:
        return self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout

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
        headers = self._headers(token)
        base = base or getattr(token, "api_base", None) or self.base_url

        def send() -> requests.Response:
            return self._session().request(
                method, base + path, params=query, data=form, headers=headers, timeout=self.timeout
            )

        return self._finish(method, path, self._transport(method, path, send), token, query, form)

    @staticmethod
    def _headers(token: Token | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {_secret(token)}"
        return headers

    def _finish(
        self,
        method: str,
        path: str,
        response: requests.Response,
        token: Token | None,
        query: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        data = _json(response.content)
        if response.ok and data is not None and "error" not in data:
            return data
        error = error_from_response(
            response.status_code, response.headers, response.content, method, path
        )
        error.redact(*_secrets(token, query, form))
        log.debug(
            "%s %s failed: %s %s/%s", method, path, type(error).__name__, error.code, error.subcode
        )
        raise error

    def _transport(
        self, method: str, path: str, send: Callable[[], requests.Response]
    ) -> requests.Response:
        """`send()`'s response; network failures become `GraphNetworkError`s."""
        failure: GraphNetworkError
        started = time.perf_counter()
        try:
            response = send()
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.debug("%s %s -> HTTP %s in %.0f ms", method, path, response.status_code, elapsed_ms)
            return response
        except requests.Timeout:
            failure = GraphTimeout(f"no answer within {self.timeout} s", method=method, path=path)
        except (requests.RequestException, OSError) as exc:
            # The exception's text may hold the URL and its query: keep only its class name.
            failure = GraphConnectionError(
                f"could not reach the Graph API ({type(exc).__name__})", method=method, path=path
            )
        log.debug("%s %s failed: %s", method, path, type(failure).__name__)
        raise failure  # outside the except block: no chained exception carries the URL


@dataclass(frozen=True)
class Prepared:
    """A Graph call built ahead of sending (`GraphClient.prepare_publish`)."""

    method: str
    path: str
    request: requests.PreparedRequest = field(repr=False)
    token: Token = field(repr=False)


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
