"""Token authentication as Django REST Framework's TokenAuthentication does it.

``Authorization: Token <key>`` on every request; ``POST /api/v1/api-token-auth/`` trades a
username and password for the user's key (the same one again on the next login).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from ..auth.users import USERNAME_MAX_CHARS
from ..errors import LoginThrottled
from .context import ApiContext, both_slashes, context, read_data
from .errors import NON_FIELD, REQUIRED, ApiError
from .serialize import TokenOut

CHALLENGE = {"WWW-Authenticate": "Token"}
NOT_PROVIDED = "Authentication credentials were not provided."
INVALID = "Invalid token."
BAD_LOGIN = "Unable to log in with provided credentials."
THROTTLED = "Request was throttled. Expected available in {} seconds."  # DRF's words
TOO_LONG = "Ensure this field has no more than {} characters."  # DRF's words

token_header = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    scheme_name="Token",
    description="`Token <key>`: from /api/v1/api-token-auth/ or `igautopost token create`",
)


def _unauthorized(message: str) -> ApiError:
    return ApiError.detail(401, message, CHALLENGE)


async def current_user(
    request: Request,
    header: Annotated[str | None, Security(token_header)],
    ctx: Annotated[ApiContext, Depends(context)],
) -> int:
    """The authenticated user's id; 401 in DRF's words otherwise."""
    parts = (header or "").split()
    if not parts or parts[0].lower() != "token":
        raise _unauthorized(NOT_PROVIDED)
    if len(parts) == 1:
        raise _unauthorized("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise _unauthorized("Invalid token header. Token string should not contain spaces.")
    # A key this process knows is answered here; only a miss reads (and touches) the store.
    who = ctx.users.known(parts[1]) or await ctx.run(ctx.users.identify, parts[1])
    if who is None:
        raise _unauthorized(INVALID)
    request.state.user_id = who.user_id  # for the access log
    return who.user_id


UserId = Annotated[int, Depends(current_user)]


async def obtain_token(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Any:
    """Trade `username` and `password` (JSON or form) for the user's API key."""
    data = await read_data(request)
    errors: dict[str, list[str]] = {}
    for field in ("username", "password"):
        value = data.get(field)
        if value is None:
            errors[field] = [REQUIRED]
        elif not isinstance(value, str):
            errors[field] = ["Not a valid string."]
        elif not value:
            errors[field] = ["This field may not be blank."]
        elif field == "username" and len(value) > USERNAME_MAX_CHARS:  # before it is counted
            errors[field] = [TOO_LONG.format(USERNAME_MAX_CHARS)]
    if errors:
        raise ApiError(400, errors)
    # argon2 costs tens of milliseconds of CPU: keep it off the event loop
    address = request.client.host if request.client else None
    try:
        user = await run_in_threadpool(ctx.users.login, data["username"], data["password"], address)
    except LoginThrottled as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise ApiError.detail(429, THROTTLED.format(exc.retry_after), headers) from None
    if user is None:
        raise ApiError(400, {NON_FIELD: [BAD_LOGIN]})
    key = await run_in_threadpool(ctx.users.login_key, user)
    request.state.user_id = user.id
    return JSONResponse({"token": key})


def register(routes: APIRouter) -> None:
    """Add these endpoints to the app's router (flat, so 405 answers can list methods)."""
    both_slashes(
        routes,
        "/api/v1/api-token-auth/",
        obtain_token,
        tags=["auth"],
        methods=["POST"],
        response_model=TokenOut,
        summary="Get the user's API token",
        openapi_extra=_login_body(),
    )


def _login_body() -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }
