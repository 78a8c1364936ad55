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
import time
from collections.abc import Callable, Iterator, Mapping
from http.client import HTTPException
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

import requests.utils
from pydantic import SecretStr
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..models import Login
from .error_table import error_from_response
from .errors import GraphConnectionError, GraphError, GraphNetworkError, GraphTimeout
from .logfilter import redact_urllib3_request_lines
from .messages import Request, Response, Timeout
from .prepared import Prepared, open_ahead
from .responses import ContainerStatus, LongLivedToken, MediaInfo, PublishingLimit, UploadContainer
from .transport import Closeable, Transport, Urllib3Transport

__all__ = ["GraphClient", "Login", "Prepared", "Timeout", "Token", "proxy_for"]

log = logging.getLogger(__name__)

FACEBOOK_HOST = "https://graph.facebook.com"
INSTAGRAM_HOST = "https://graph.instagram.com"
META_HOSTS = frozenset({"graph.facebook.com", "graph.instagram.com"})
STATUS_FIELDS = "id,status_code,status"
MEDIA_FIELDS = "id,permalink,shortcode,timestamp,media_type,media_product_type"
RECENT_MEDIA_FIELDS = MEDIA_FIELDS + ",caption"
LIMIT_FIELDS = "config,quota_usage"
SECRET_PARAMS = frozenset({"access_token", "client_secret", "fb_exchange_token"})
UPLOAD_CHUNK = 1024 * 1024  # bytes read from the file per write: a 300 MB reel never in memory
UPLOAD_DONE = "Upload successful."

Token = str | SecretStr


class GraphClient:
    """The Graph API calls of the publishing flow, token exchange and refresh.

    ``base_url`` is the Facebook Login host (default), the Instagram Login host
    ``https://graph.instagram.com``, or a sandbox. ``instagram_base_url`` is where Instagram
    Login's token exchange and refresh go: by default ``https://graph.instagram.com`` when
    ``base_url`` is one of Meta's hosts, else ``base_url`` (a sandbox serves both). ``timeout``
    is in seconds (or a ``(connect, read)`` pair). ``transport`` sends the requests
    (`igautopost.graph.transport`): by default an `Urllib3Transport` keeping ``pool_size`` idle
    connections per thread and host; tests pass a `MockTransport`. A publish call is held
    ahead on an open connection only when the transport offers that (`prepared.OpensAhead`).

    The calls that take an account's token also take ``host``: the API base URL the call
    must go to, given where the token belongs (an Instagram Login account's calls go to
    ``instagram_base_url``); None sends it to ``base_url``.
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

    def create_container(
        self, ig_user_id: str, params: Mapping[str, str], *, token: Token, host: str | None = None
    ) -> str:
        """Create a media container (`igautopost.graph.params` builds ``params``); its id."""
        path = self._path(ig_user_id, "media")
        data = self._call("POST", path, token=token, form=params, base=host)
        return _id(data, "POST", self._path(ig_user_id, "media"))

    def create_upload_container(
        self, ig_user_id: str, params: Mapping[str, str], *, token: Token, host: str | None = None
    ) -> UploadContainer:
        """Create a container whose video is uploaded (``upload_type=resumable``, no
        ``video_url``): its id and the ``uri`` its bytes go to (`upload_video`). The
        container stays IN_PROGRESS, waiting for them, until it expires."""
        path = self._path(ig_user_id, "media")
        form = {**params, "upload_type": "resumable"}
        data = self._call("POST", path, token=token, form=form, base=host)
        container_id = _id(data, "POST", path)
        uri = data.get("uri")
        if not isinstance(uri, str) or not uri.lower().startswith(("https://", "http://")):
            raise GraphError(
                "the Graph API answered a resumable container without an upload uri",
                method="POST",
                path=path,
            )
        return UploadContainer(container_id, uri)

    def upload_video(
        self,
        uri: str,
        media: IO[bytes],
        *,
        token: Token,
        size: int | None = None,
        offset: int = 0,
    ) -> None:
        """Send a video's bytes, from ``offset`` to its end, to a resumable container's
        ``uri`` (used verbatim: rupload.facebook.com for Facebook Login, or wherever Meta
        says). ``media`` is read in chunks as the request goes out, never whole; ``size`` is
        the whole file's length (default: ``media``'s, by seeking to its end).

        The token goes in ``Authorization: OAuth <token>`` as Meta documents for this host;
        errors are mapped as every Graph error is, and never show the token or the uri's
        query. Returns once Instagram answers ``{"success": true}``: processing starts then,
        poll the container as usual."""
        total = _size_of(media) if size is None else size
        if not 0 <= offset <= total:
            raise ValueError(f"offset {offset} is outside the file's {total} bytes")
        parts = urlsplit(uri)
        path = parts.path or "/"  # what logs and errors show: never the query
        headers = {
            "Accept": "application/json",
            "Authorization": f"OAuth {_secret(token)}",
            "offset": str(offset),
            "file_size": str(total),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(total - offset),
        }
        request = Request(
            "POST", path, uri, headers, None, self.timeout, _chunks(media, offset, total)
        )
        data = self._finish(request, self._send(request), token)
        if data.get("success") is not True:
            message = data.get("message")
            text = message if isinstance(message, str) and message else "no success in answer"
            error = GraphError(
                f"the video upload was not accepted: {text}", method="POST", path=path
            )
            error.redact(_secret(token))
            raise error

    def container_status(
        self, container_id: str, *, token: Token, host: str | None = None
    ) -> ContainerStatus:
        """The container's ``status_code`` and ``status`` text (ERROR subcode parsed)."""
        query = {"fields": STATUS_FIELDS}
        data = self._call("GET", self._path(container_id), token=token, query=query, base=host)
        return ContainerStatus.from_json(data, container_id)

    def publish(
        self, ig_user_id: str, container_id: str, *, token: Token, host: str | None = None
    ) -> str:
        """Publish a FINISHED container; the new media id. Never call twice for one post."""
        path = self._path(ig_user_id, "media_publish")
        form = {"creation_id": container_id}
        data = self._call("POST", path, token=token, form=form, base=host)
        return _id(data, "POST", path)

    def prepare_publish(
        self, ig_user_id: str, container_id: str, *, token: Token, host: str | None = None
    ) -> Prepared:
        """`publish`, built but not sent, on a connection opened now: done ahead of the
        publish time, the call then leaves without a TCP (and TLS) handshake. Any thread may
        send it (`Prepared.launch`, never blocking); `send_publish` reads the answer."""
        path = self._path(ig_user_id, "media_publish")
        request = self._request(
            "POST", path, token=token, query=None, form={"creation_id": container_id}, base=host
        )
        return Prepared(request, token, open_ahead(self._transport, self._transport.send, request))

    def send_publish(self, prepared: Prepared) -> str:
        """The answer to a call `prepare_publish` built (sent now unless launched already);
        the new media id."""
        request = prepared.request
        data = self._finish(request, self._send(request, prepared.answer), prepared.token)
        return _id(data, request.method, request.path)

    def media(self, media_id: str, *, token: Token, host: str | None = None) -> MediaInfo:
        """A published media's permalink, shortcode, timestamp and types."""
        query = {"fields": MEDIA_FIELDS}
        data = self._call("GET", self._path(media_id), token=token, query=query, base=host)
        return MediaInfo.from_json(data, media_id)

    def recent_media(
        self, ig_user_id: str, *, token: Token, limit: int = 50, host: str | None = None
    ) -> list[MediaInfo]:
        """The account's latest feed posts and reels, newest first (stories are not listed),
        with their captions and times: to find a post whose publish answer was lost."""
        path = self._path(ig_user_id, "media")
        query = {"fields": RECENT_MEDIA_FIELDS, "limit": str(limit)}
        data = self._call("GET", path, token=token, query=query, base=host)
        rows = data.get("data")
        items = rows if isinstance(rows, list) else []
        return [MediaInfo.from_json(row, "") for row in items if isinstance(row, dict)]

    def publishing_limit(
        self, ig_user_id: str, *, token: Token, host: str | None = None
    ) -> PublishingLimit:
        """The account's publishing quota usage; quota defaults to 50 per 24 h if not sent."""
        path = self._path(ig_user_id, "content_publishing_limit")
        data = self._call("GET", path, token=token, query={"fields": LIMIT_FIELDS}, base=host)
        return PublishingLimit.from_json(data)

    def comment(self, media_id: str, message: str, *, token: Token, host: str | None = None) -> str:
        """Comment on a media (the "first comment"); the comment's id."""
        path = self._path(media_id, "comments")
        data = self._call("POST", path, token=token, form={"message": message}, base=host)
        return _id(data, "POST", path)

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
        base = self._token_host(login)
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

    def refresh_token(self, token: Token, *, host: str | None = None) -> LongLivedToken:
        """Refresh a long-lived Instagram Login token (>= 24 h old, still valid): 60 more days,
        from ``host`` if given, else `instagram_base_url`."""
        query = {"grant_type": "ig_refresh_token", "access_token": _secret(token)}
        base = host.rstrip("/") if host else self._token_host("instagram")
        return self._instagram_token("/refresh_access_token", query, base)

    def _instagram_token(self, path: str, query: dict[str, str], base: str) -> LongLivedToken:
        # graph.instagram.com answers these only to GET with the secrets in the query string
        # ("Unsupported request - method type" otherwise). Our logs and errors carry the path
        # only; urllib3's DEBUG request line would show the query, so it is redacted too.
        redact_urllib3_request_lines()
        data = self._call("GET", path, query=query, base=base)
        return _token(data, path)

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the transport's connections (if it holds any)."""
        if isinstance(self._transport, Closeable):
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

    def _token_host(self, login: Login) -> str:
        """Where that login type's token calls go: Instagram Login to `instagram_base_url`;
        Facebook Login to graph.facebook.com, or to a non-Meta base URL (a sandbox, a proxy)
        as it is."""
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
        url = (base or self.base_url).rstrip("/") + path
        if query:
            url += "?" + urlencode(query)
        return Request(method, path, url, headers, body, self.timeout)

    def _send(self, request: Request, exchange: Callable[[], Response] | None = None) -> Response:
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
        answer: Response,
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


def _size_of(media: IO[bytes]) -> int:
    """The file's length in bytes, by seeking to its end (its position is kept)."""
    here = media.tell()
    end = media.seek(0, 2)
    media.seek(here)
    return end


def _chunks(media: IO[bytes], offset: int, total: int) -> Iterator[bytes]:
    """``media``'s bytes from ``offset`` to ``total``, `UPLOAD_CHUNK` at a time. A file that
    ends early raises (as a network failure would: the request cannot be completed), so that
    the server is never left waiting for bytes the Content-Length promised."""
    media.seek(offset)
    left = total - offset
    while left > 0:
        chunk = media.read(min(UPLOAD_CHUNK, left))
        if not chunk:
            raise OSError(f"the file ended {left} bytes before its announced size")
        left -= len(chunk)
        yield chunk


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
