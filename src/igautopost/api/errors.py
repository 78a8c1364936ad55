"""Django REST Framework's error bodies, so that the old service's clients read ours.

400 {"<field>": ["<message>", ...]}        validation, several fields at once
401 {"detail": "..."} + WWW-Authenticate    no or unknown credentials
404 {"detail": "Not found."}
405 {"detail": "Method \\"X\\" not allowed."}
409 {"detail": "..."}                       the post's state forbids it
413 {"detail": "..."}                       body over the configured limit
500 {"detail": "A server error occurred."} never a stack trace
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..errors import InvalidPost, InvalidTransition, PostNotFound, Problem
from .fields import client_name

NOT_FOUND = "Not found."
REQUIRED = "This field is required."
SERVER_ERROR = "A server error occurred."
NON_FIELD = "non_field_errors"


class ApiError(Exception):
    """An error answer with a DRF body; raised anywhere in a request, turned into a response."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    @classmethod
    def detail(
        cls, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> ApiError:
        return cls(status, {"detail": message}, headers)

    @classmethod
    def not_found(cls) -> ApiError:
        return cls.detail(404, NOT_FOUND)


def field_errors(problems: Sequence[Problem], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Problems keyed by the name the client used for each field (``date_pub``, ``url``...)."""
    body: dict[str, list[str]] = {}
    for problem in problems:
        key, message = _split(problem, data)
        messages = body.setdefault(key, [])
        if message not in messages:
            messages.append(message)
    return body


def _split(problem: Problem, data: Mapping[str, Any]) -> tuple[str, str]:
    if problem.field in ("(post)", ""):
        return NON_FIELD, _sentence(problem.message)
    root, rest = field_root(problem.field)
    required = problem.message.startswith("is required") and not rest  # "... for a reel" too
    message = REQUIRED if required else problem.message
    if rest:
        message = f"{rest.lstrip('.')}: {message}"
    return client_name(root, data), _sentence(message)


def field_root(path: str) -> tuple[str, str]:
    for index, char in enumerate(path):
        if char in ".[":
            return path[:index], path[index:]
    return path, ""


def _sentence(message: str) -> str:
    """DRF's messages are sentences: a capital first letter and a full stop."""
    if not message:
        return "Invalid value."
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


def _response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


async def on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _response(exc)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 and 405 (unknown path, method not routed) in DRF's words."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _response(ApiError.not_found())
    if exc.status_code == 405:
        headers = {"Allow": ", ".join(_allowed(request))}
        return _response(ApiError.detail(405, f'Method "{request.method}" not allowed.', headers))
    return _response(ApiError.detail(exc.status_code, str(exc.detail), exc.headers))


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (one route per method here)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's checks of query parameters, as DRF field errors."""
    assert isinstance(exc, RequestValidationError)
    body: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path")]
        message = REQUIRED if error.get("type") == "missing" else str(error.get("msg", ""))
        body.setdefault(loc[0] if loc else NON_FIELD, []).append(_sentence(message))
    return _response(ApiError(400, body))


async def on_invalid_post(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidPost)
    return _response(ApiError(400, field_errors(exc.problems, {})))


async def on_not_found(_request: Request, _exc: Exception) -> JSONResponse:
    assert isinstance(_exc, PostNotFound)
    return _response(ApiError.not_found())


async def on_conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidTransition)
    return _response(ApiError.detail(409, str(exc)))


HANDLERS = {
    ApiError: on_api_error,
    StarletteHTTPException: on_http_error,
    RequestValidationError: on_validation_error,
    InvalidPost: on_invalid_post,
    PostNotFound: on_not_found,
    InvalidTransition: on_conflict,
}
