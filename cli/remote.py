"""The CLI as a client of `igautopost serve`: the posts backend over HTTP (`backends.py`).

`HttpPosts` answers with the same `Post` and `Event` objects the local store returns, built from
the API's JSON, so that the commands render both alike. The API's error bodies become the
library's exceptions (400 -> `InvalidPost`, 404 -> `PostNotFound`, 409 -> `InvalidTransition`)
and everything else a `ServerError`; no `requests` exception reaches the caller. The API
token goes in the ``Authorization`` header only, never into a message.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests

from igautopost import (
    Event,
    IgAutopostError,
    InvalidPost,
    InvalidTransition,
    Post,
    PostNotFound,
    PostQuery,
    PostSpec,
    Problem,
    ScheduleResult,
    Status,
    parse_posts,
)
from igautopost.media.store import content_type_of

if TYPE_CHECKING:
    from igautopost.media.preflight import MediaCheckPolicy
    from igautopost.media_intake import BaseDir

API = "/api/v1"
PAGE_SIZE_MAX = 1000  # the API's largest page
# The API's names for the spec fields whose names differ from ours.
SPEC_NAMES = {"url": "media_url", "thump_offset": "thumb_offset"}
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Connection failures that mean the request never left: nothing can have been stored.
NOT_SENT = ("connection refused", "name or service not known", "no route to host")


class ServerError(IgAutopostError):
    """The server could not be reached, refused the API token, or failed."""

    def __init__(self, message: str, *, answer_lost: bool = False) -> None:
        super().__init__(message)
        self.answer_lost = answer_lost  # the request may have reached the server


class ScheduleInterrupted(IgAutopostError):
    """The server refused a post after storing the ones before it: `stored` were kept."""

    def __init__(self, stored: list[Post], index: int, total: int, cause: IgAutopostError):
        self.stored, self.index, self.total, self.cause = stored, index, total, cause
        parts = [f"{_span(1, index)} stored as {', '.join(str(p.id) for p in stored)}"]
        unsure = isinstance(cause, ServerError) and cause.answer_lost
        if unsure:
            parts.append(f"post {index + 1} may or may not have been stored (its answer was lost)")
        rest = index + 2 if unsure else index + 1
        if rest <= total:
            parts.append(f"{_span(rest, total)} not stored")
        super().__init__(
            f"the server stopped at post {index + 1} of {total}: " + "; ".join(parts[not stored :])
        )


def _span(first: int, last: int) -> str:
    """Posts by their 1-based place in the input: "post 3 was", "posts 3-5 were"."""
    return f"post {first} was" if first == last else f"posts {first}-{last} were"


def normalized_url(url: str) -> str:
    """``http://host:8000``, with or without a trailing ``/`` or ``/api/v1/``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8000")
    path = parts.path.rstrip("/").removesuffix(API)
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_plain_http_to_another_host(url: str) -> bool:
    """The token would cross the network unencrypted."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK


class HttpPosts:
    """Posts on a server: ``HttpPosts("http://127.0.0.1:8000", key)``; close it, or use `with`."""

    def __init__(
        self,
        url: str,
        api_token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        media_policy: MediaCheckPolicy | None = None,
    ) -> None:
        self.url = normalized_url(url)
        self.timeout = timeout
        self.media_policy = media_policy  # how the media is checked here, before sending
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Token {api_token}"
        self._session.headers["Accept"] = "application/json"

    # -- the operations the commands need ------------------------------------------------

    def schedule(
        self,
        items: Iterable[Any],
        *,
        now: datetime,
        zone: ZoneInfo,
        allow_missing_account: bool = False,
        media_check: bool = True,
        base_dir: BaseDir | None = None,
    ) -> ScheduleResult:
        """Check every post here first (all of them, or the server sees none), their media
        too unless `media_check` is False, then send them one by one: the API takes one post
        per request. A post naming a local file (``media_path``, read relative to
        `base_dir`) is sent as ``multipart/form-data`` with the file in its ``media_url``
        field. A refusal midway raises `ScheduleInterrupted`, which names the posts already
        stored. A post without `timezone` is sent with `zone`, so that the server reads its
        naive times as here. The server refuses a post whose account it does not store,
        whatever `allow_missing_account` says: its account cannot be added later there."""
        items = [_with_zone(item, zone) for item in items]  # read twice: checked, then sent
        specs = parse_posts(items, now=now, zone=zone)
        folder = _folders(base_dir)
        local = _local_files(specs, folder)
        unchecked = _checked_media(specs, folder, self.media_policy) if media_check else []
        created: list[Post] = []
        existing: list[Post] = []
        for index, item in enumerate(items):
            try:
                response = self._send(item, local.get(index))
            except (InvalidPost, InvalidTransition, ServerError) as exc:
                cause = _numbered(exc, index) if len(items) > 1 else exc
                stored = created + existing
                if not stored and not (isinstance(exc, ServerError) and exc.answer_lost):
                    raise cause from None  # nothing stored: all or nothing still holds
                raise ScheduleInterrupted(stored, index, len(items), cause) from None
            post = post_from_body(response.json())
            (created if response.status_code == 201 else existing).append(post)
            if not media_check:  # the server checked what was not checked here
                unchecked.extend(server_unchecked(response, index if len(items) > 1 else None))
        return ScheduleResult(created=created, existing=existing, media_unchecked=unchecked)

    def _send(self, item: Any, media_file: Path | None) -> requests.Response:
        """One post: JSON, or a form with its local file in ``media_url``."""
        if media_file is None:
            return self._call("POST", "/posts/", json=item)
        fields = {
            key: _form_value(value)
            for key, value in item.items()
            if key != "media_path" and value is not None
        }
        with ExitStack() as stack:
            try:
                handle = stack.enter_context(media_file.open("rb"))
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise InvalidPost([Problem("media_path", f"{reason}: {media_file}")]) from None
            upload = {"media_url": (media_file.name, handle, content_type_of(media_file.name))}
            return self._call("POST", "/posts/", data=fields, files=upload)

    def stream(self, query: PostQuery) -> Iterator[Post]:
        """Posts by publish time, a page at a time; cancelled ones only when asked for (the
        API's rule). Each page is `?limit=`; the next one continues after the `after_id`
        that the answer's ``Link: <...>; rel="next"`` names. Only that cursor is taken from
        the link: the request goes to this server, with this token, whatever host it names."""
        params: dict[str, Any] = {
            "status": sorted(s.value for s in query.statuses) if query.statuses else None,
            "user_id": query.account,
            "since": query.publish_from.isoformat() if query.publish_from else None,
            "until": query.publish_until.isoformat() if query.publish_until else None,
        }
        params = {key: value for key, value in params.items() if value is not None}
        remaining = query.limit
        while remaining is None or remaining > 0:
            size = PAGE_SIZE_MAX if remaining is None else min(PAGE_SIZE_MAX, remaining)
            answer = self._call("GET", "/posts/", params={**params, "limit": size})
            bodies = answer.json()
            yield from (post_from_body(body) for body in bodies)
            after_id = _next_after_id(answer)
            if after_id is None or len(bodies) < size:
                return
            if remaining is not None:
                remaining -= size
            params["after_id"] = after_id

    def get(self, post_id: int) -> Post:
        return post_from_body(self._call("GET", f"/posts/{post_id}/", post_id=post_id).json())

    def events(self, post_id: int) -> builtins.list[Event]:
        bodies = self._call("GET", f"/posts/{post_id}/events/", post_id=post_id).json()
        return [event_from_body(post_id, body) for body in bodies]

    def cancel(self, post_id: int) -> Post:
        """DELETE, then the post as it is now (the API lists a deleted post as cancelled)."""
        post = self.get(post_id)
        self._call("DELETE", f"/posts/{post_id}/", post_id=post_id)
        moment = post.publish_at.isoformat()
        params = {"status": "cancelled", "user_id": post.account, "since": moment, "until": moment}
        found = self._call("GET", "/posts/", params=params).json()
        cancelled = [post_from_body(b) for b in found if b.get("id") == post_id]
        return cancelled[0] if cancelled else post.model_copy(update={"status": Status.CANCELLED})

    def reschedule(self, post_id: int, publish_at: datetime) -> Post:
        body = {"publish_at": publish_at.isoformat()}
        return post_from_body(
            self._call("PATCH", f"/posts/{post_id}/", post_id=post_id, json=body).json()
        )

    def retry(self, post_id: int) -> Post:
        answer = self._call("POST", f"/posts/{post_id}/retry/", post_id=post_id)
        return post_from_body(answer.json())

    # -- HTTP ----------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, post_id: int | None = None, **options: Any
    ) -> requests.Response:
        url = f"{self.url}{API}{path}"
        try:
            response = self._session.request(method, url, timeout=self.timeout, **options)
        except requests.RequestException as exc:
            reason = _reason(exc, self.timeout)
            sent = not isinstance(exc, requests.ConnectTimeout) and reason not in NOT_SENT
            raise ServerError(
                f"cannot reach the server at {self.url} ({reason})", answer_lost=sent
            ) from None
        if response.status_code >= 400:
            raise error_for(response, post_id, self.url)
        return response

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpPosts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _folders(
    base_dir: BaseDir | None,
) -> Callable[[int | None], Path]:
    if base_dir is None:
        cwd = Path.cwd()
        return lambda index: cwd
    if isinstance(base_dir, Path):
        folder = base_dir
        return lambda index: folder
    return base_dir


def _local_files(specs: list[PostSpec], folder: Callable[[int | None], Path]) -> dict[int, Path]:
    """Each post's local file, by its index. The API takes one file per post, in
    ``media_url``: a carousel item's local file cannot be sent (yet)."""
    files: dict[int, Path] = {}
    problems: list[Problem] = []
    for index, spec in enumerate(specs):
        for n, child in enumerate(spec.children):
            if child.media_path is not None:
                message = (
                    "a server takes one file per post: give the carousel's items as URLs, or "
                    "schedule it without --server"
                )
                problems.append(Problem(f"children[{n}].media_path", message, index))
        if spec.media_path is not None:
            files[index] = folder(index) / spec.media_path
    if problems:
        raise InvalidPost(problems)
    return files


def _checked_media(
    specs: list[PostSpec],
    folder: Callable[[int | None], Path],
    policy: MediaCheckPolicy | None,
) -> list[Problem]:
    """The media checks, here, before anything is sent: an `InvalidPost` for a broken rule;
    the items that could not be checked are returned."""
    from igautopost.media.preflight import MediaChecker

    with MediaChecker(policy) as checker:
        report = checker.check(specs, base_dir=folder)
    if report.problems:
        raise InvalidPost(report.problems)
    return report.unchecked


def server_unchecked(response: requests.Response, index: int | None) -> list[Problem]:
    """What the server could not check of a post's media: its ``Warning`` header,
    ``199 igautopost "<field>: could not check: <why>; ..."``."""
    header = response.headers.get("Warning", "")
    prefix = '199 igautopost "'
    if not header.startswith(prefix):
        return []
    problems = []
    for part in header.removeprefix(prefix).rstrip('"').split("; "):
        field, _, why = part.partition(": could not check: ")
        if why:
            problems.append(Problem(field, why, index))
    return problems


def _form_value(value: Any) -> str:
    """A post field as a form field: text as is, anything else as JSON (true, 3, [...])."""
    return value if isinstance(value, str) else json.dumps(value)


def _with_zone(item: Any, zone: ZoneInfo) -> Any:
    if isinstance(item, dict) and item.get("timezone") is None:
        return {**item, "timezone": zone.key}
    return item


def _next_after_id(answer: requests.Response) -> str | None:
    """The cursor of the page after this one, from its ``Link`` header; None on the last."""
    link = answer.links.get("next", {}).get("url")
    if not link:
        return None
    found = parse_qs(urlsplit(link).query).get("after_id")
    return found[-1] if found else None


def error_for(response: requests.Response, post_id: int | None, url: str) -> IgAutopostError:
    """The library's exception for an API error answer (DRF's bodies)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ServerError(f"{url} answered {status}, not as an igautopost server; check --server")
    detail = str(body.get("detail", ""))
    if status == 401:
        return ServerError(
            f"the server refused the API token ({detail or 'unauthorized'}): check "
            "IGAUTOPOST_API_TOKEN (a key from `igautopost token create` on the server)"
        )
    if status == 404 and post_id is not None:
        return PostNotFound(post_id)
    if status == 409:
        return InvalidTransition(detail)
    if status == 400 and "detail" not in body:
        return InvalidPost(field_problems(body))
    return ServerError(f"the server answered {status}: {detail or response.reason}")


def field_problems(body: dict[str, Any]) -> list[Problem]:
    """DRF's ``{"field": ["message", ...]}`` as problems, one per message."""
    problems = []
    for field, messages in body.items():
        where = "(post)" if field == "non_field_errors" else field
        for message in messages if isinstance(messages, list) else [messages]:
            problems.append(Problem(where, str(message)))
    return problems


def _numbered(exc: IgAutopostError, index: int) -> IgAutopostError:
    """Problems of one post of a batch name it, as local validation does."""
    if isinstance(exc, InvalidPost):
        return InvalidPost([Problem(p.field, p.message, index) for p in exc.problems])
    return exc


def _reason(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    text = str(exc)
    return next((reason for reason in NOT_SENT if reason in text.lower()), type(exc).__name__)


def post_from_body(body: dict[str, Any]) -> Post:
    """A `Post` from the API's JSON. The API does not show a post's engine details (attempts,
    next attempt, container id): they keep their defaults (0 and none). The IG user id is read
    from the extension `account` (text, every digit), not from the old numeric `user_id`."""
    renamed = {SPEC_NAMES.get(key, key): value for key, value in body.items() if key != "user_id"}
    if renamed.get("media_type") == "carousel":
        renamed.pop("media_url", None)  # the old `url` field shows a carousel's first item
    fields = PostSpec.model_fields
    spec = {
        k: v for k, v in renamed.items() if k in fields and k != "access_token" and v is not None
    }
    return Post(
        id=body["id"],
        spec=PostSpec.model_validate(spec),
        status=Status(body["status"]),
        has_token=True,  # the API refuses a post without a token or a stored account
        media_id=body.get("media_id"),
        permalink=body.get("permalink"),
        published_at=body.get("published_at"),
        error=body.get("error"),
        created_at=body["created_at"],
        updated_at=body["updated_at"],
    )


def event_from_body(post_id: int, body: dict[str, Any]) -> Event:
    return Event(
        post_id=post_id,
        at=body["at"],
        from_status=body.get("from"),
        to_status=body["to"],
        detail=body.get("detail") or "",
    )
