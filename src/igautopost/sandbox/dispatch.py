"""From a resolved route and its parameters to the Graph answer (a JSON body and status).

Handlers are plain synchronous functions on the `SandboxState`; errors travel as
`GraphErrorAnswer` and are rendered by the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from igautopost.sandbox import routing
from igautopost.sandbox.errors import GraphErrorAnswer, invalid_parameter, object_not_found
from igautopost.sandbox.fields import parse_fields
from igautopost.sandbox.requests_in import GraphRequest
from igautopost.sandbox.routing import GraphRoute
from igautopost.sandbox.state import SandboxState

Answer = tuple[dict[str, Any], str | None, str | None]  # body, account id, object id
Handler = Callable[[SandboxState, GraphRoute, GraphRequest], Answer]


def dispatch(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    """Run the handler of `route`; raise `GraphErrorAnswer` as the real API would answer."""
    handler = _HANDLERS.get(route.endpoint)
    if handler is None:
        raise _unknown_route(route)
    return handler(state, route, call)


def _unknown_route(route: GraphRoute) -> GraphErrorAnswer:
    problem = route.problem or "unknown"
    if problem.startswith("unsupported") and route.node:
        return object_not_found(route.node, problem.split()[-1])
    return GraphErrorAnswer(2500, None, problem)


def _account(state: SandboxState, route: GraphRoute, call: GraphRequest) -> str:
    account = state.authorize(call.token, route.node)
    assert account is not None  # a path node always resolves to an account
    return account


def _create(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = _account(state, route, call)
    container = state.create_container(account, call.params)
    body: dict[str, Any] = {"id": container.id}
    if container.ready_at is None:
        body["uri"] = f"{call.base_url}/ig-api-upload/{call.version}/{container.id}"
    return body, account, container.id


def _publish(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = _account(state, route, call)
    creation_id = call.params.get("creation_id")
    media = state.publish(account, creation_id)
    return {"id": media.id}, account, creation_id


def _get_object(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = state.authorize(call.token, None)
    node = route.node or ""
    if node == "me":
        return _me(state, call)
    body = state.get_object(account, node, parse_fields(call.params.get("fields")))
    return body, account, node


def _list_media(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    """`GET /{ig-user-id}/media`: the account's feed posts and reels, newest first."""
    account = _account(state, route, call)
    limit = call.params.get("limit", "25")
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise invalid_parameter("(#100) The parameter limit must be between 1 and 100")
    wanted = parse_fields(call.params.get("fields"))
    return {"data": state.recent_media(account, wanted, int(limit))}, account, None


def _me(state: SandboxState, call: GraphRequest) -> Answer:
    account = state.authorize(call.token, "me") or state.config.default_account_id
    available = {"id": account, "user_id": account, "username": state.config.username}
    wanted = [f for f, _ in parse_fields(call.params.get("fields"))] or ["id"]
    unknown = [f for f in wanted if f not in available]
    if unknown:
        raise invalid_parameter(f"(#100) Tried accessing nonexisting field ({unknown[0]})")
    return {f: available[f] for f in wanted}, account, account


def _multi_get(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = state.authorize(call.token, None)
    ids = [i for i in call.params.get("ids", "").split(",") if i]
    if not ids:
        raise GraphErrorAnswer(100, None, "The parameter ids is required")
    wanted = parse_fields(call.params.get("fields"))
    return {i: state.get_object(account, i, wanted) for i in ids}, account, None


def _limit(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = _account(state, route, call)
    fields = [f for f, _ in parse_fields(call.params.get("fields"))]
    return state.publishing_limit(account, fields), account, None


def _comment(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    account = state.authorize(call.token, None)
    media_id = route.node or ""
    comment = state.comment(account, media_id, call.params.get("message"))
    return {"id": comment.id}, account, media_id


def _exchange(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    grant = call.params.get("grant_type")
    if grant == "fb_exchange_token":
        for name in ("client_id", "client_secret", "fb_exchange_token"):
            if not call.params.get(name):
                raise GraphErrorAnswer(100, None, f"Missing {name} parameter.")
        return state.exchange_token(call.params["fb_exchange_token"], refresh=False), None, None
    if grant == "ig_exchange_token":
        if not call.params.get("client_secret"):
            raise GraphErrorAnswer(100, None, "Missing client_secret parameter.")
        return state.exchange_token(call.token, refresh=False), None, None
    raise GraphErrorAnswer(100, None, f"Unsupported grant_type: {grant}")


def _refresh(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    if call.params.get("grant_type") != "ig_refresh_token":
        raise GraphErrorAnswer(100, None, "grant_type must be ig_refresh_token")
    return state.exchange_token(call.token, refresh=True), None, None


def _upload(state: SandboxState, route: GraphRoute, call: GraphRequest) -> Answer:
    """A resumable upload to `/ig-api-upload/{version}/{container-id}`: `SandboxState.upload`."""
    container_id = route.node or ""
    if call.file_url is not None:
        account = state.upload_from_url(container_id, call.token, call.file_url)
        return {"success": True, "message": "Upload successful."}, account, container_id
    if call.auth_scheme != "oauth" or not call.token:
        raise GraphErrorAnswer(
            190,
            None,
            "Invalid OAuth access token - an upload needs the header Authorization: OAuth <token>",
        )
    offset = _header_number(call.upload_offset, "offset")
    file_size = _header_number(call.upload_file_size, "file_size")
    if file_size == 0:
        raise invalid_parameter("The header file_size must be the video's size in bytes, not 0")
    body = state.upload(
        container_id, call.token, offset=offset, file_size=file_size, received=call.upload
    )
    return body, state.owner_of(container_id), container_id


def _header_number(value: str | None, name: str) -> int:
    """A byte count sent as an upload header: present, a whole number."""
    if value is None:
        raise invalid_parameter(f"The header {name} is required for a resumable upload")
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise invalid_parameter(f"The header {name} must be a whole number of bytes, not {value!r}")
    return int(text)


_HANDLERS: dict[str, Handler] = {
    routing.CREATE: _create,
    routing.PUBLISH: _publish,
    routing.GET_OBJECT: _get_object,
    routing.LIST_MEDIA: _list_media,
    routing.MULTI_GET: _multi_get,
    routing.LIMIT: _limit,
    routing.COMMENT: _comment,
    routing.TOKEN_EXCHANGE: _exchange,
    routing.TOKEN_REFRESH: _refresh,
    routing.UPLOAD: _upload,
}
