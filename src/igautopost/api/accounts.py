"""``/api/v1/accounts/``: the caller's Instagram accounts. The token is write-only.

GET lists the caller's accounts (health, expiry; never a token). POST stores an account's
token, or replaces it (answering 200 instead of 201): this is how a client reconnects an
account whose posts wait for a working token. ``exchange: true`` trades a short-lived token
for a long-lived one when the server has the app secret (``IGAUTOPOST_APP_SECRET``); that
call runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import services
from ..graph.errors import GraphError
from ..models import Account, Login
from ..validation import USERNAME
from .auth import UserId
from .context import ApiContext, both_slashes, context, read_data
from .errors import REQUIRED, ApiError

Ctx = Annotated[ApiContext, Depends(context)]
ID_FIELDS = ("ig_user_id", "account", "user_id")
TOKEN_FIELDS = ("access_token", "token")
LOGINS = ("facebook", "instagram")
TEXT_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
BOOLEAN = "Must be a valid boolean: true, false, 1 or 0."


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((data[n] for n in names if data.get(n) not in (None, "")), None)


@dataclass(frozen=True)
class AccountInput:
    ig_user_id: str
    token: str
    login: Login | None
    username: str | None
    exchange: bool


def _checked(data: dict[str, Any]) -> AccountInput:
    """The body's fields, or a 400 naming every bad one."""
    errors: dict[str, list[str]] = {}
    ig_user_id, token, login = (
        _first(data, ID_FIELDS),
        _first(data, TOKEN_FIELDS),
        data.get("login"),
    )
    if ig_user_id is None:
        errors["ig_user_id"] = [REQUIRED]
    elif not _ascii_digits(ig_user_id):
        errors["ig_user_id"] = ["An Instagram user id is a number."]
    if not isinstance(token, str):
        errors["access_token"] = [REQUIRED if token is None else "Not a valid string."]
    if login is not None and login not in LOGINS:
        errors["login"] = ["Either facebook or instagram."]
    username, username_error = _username(data.get("username"))
    if username_error:
        errors["username"] = [username_error]
    exchange = _boolean(data.get("exchange"))
    if exchange is None:
        errors["exchange"] = [BOOLEAN]
    if errors:
        raise ApiError(400, errors)
    return AccountInput(str(ig_user_id), str(token), login, username, bool(exchange))


def _ascii_digits(value: Any) -> bool:
    """A number or a string of ASCII digits (``"١٢"`` or ``"²"`` are digits to Python)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 64


def _username(value: Any) -> tuple[str | None, str | None]:
    """The account's @name (without the @), or the reason it is not one."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "Not a valid string."
    name = value.strip().removeprefix("@")
    if not USERNAME.match(name):
        return None, "Not an Instagram username (1 to 30 letters, digits, periods, underscores)."
    return name, None


def _boolean(value: Any) -> bool | None:
    """``exchange``: absent or null is false; true/false/1/0, as JSON or as text (a form's
    values are text); None for anything else, which is refused rather than guessed at."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        return TEXT_BOOLEANS.get(value.strip().lower())
    return None


def store_account(ctx: ApiContext, owner: int, data: dict[str, Any]) -> tuple[Account, bool]:
    """Check and store the account (exchanging its token first if asked): blocking work,
    the token exchange above all, so the endpoint runs it in a worker thread."""
    found = _checked(data)
    ig_user_id = found.ig_user_id
    existed = ctx.store.accounts.find(owner, ig_user_id) is not None
    with services.graph_client(ctx.settings) as client:
        accounts = services.accounts(ctx.settings, ctx.store, client=client, clock=ctx.clock)
        try:
            account = accounts.add(
                owner,
                ig_user_id,
                found.token,
                login=found.login,
                username=found.username,
                exchange=found.exchange,
                replace=True,
            )
        except ValueError as exc:
            raise ApiError(400, {"exchange": [str(exc)]}) from None
        except GraphError as exc:
            raise ApiError(400, {"access_token": [exc.user_message or exc.message]}) from None
    return account, not existed


async def list_accounts(owner: UserId, ctx: Ctx) -> Any:
    """The caller's accounts."""
    found = await ctx.run(ctx.store.accounts.list_accounts, owner)
    return JSONResponse([a.public_dict() for a in found])


async def create_account(request: Request, owner: UserId, ctx: Ctx) -> Any:
    """Store (or replace) an account's token; waiting posts of that account resume."""
    data = await read_data(request)
    # Never on the event loop, whatever the database: the token exchange is a Graph API
    # call of up to graph_timeout seconds, during which every other request would wait.
    account, created = await run_in_threadpool(store_account, ctx, owner, data)
    if ctx.scheduler is not None:
        ctx.scheduler.wake()  # its waiting posts are due now
    return JSONResponse(account.public_dict(), status_code=201 if created else 200)


def register(routes: APIRouter) -> None:
    both_slashes(
        routes,
        "/api/v1/accounts/",
        list_accounts,
        tags=["accounts"],
        methods=["GET"],
        summary="List your Instagram accounts",
    )
    both_slashes(
        routes,
        "/api/v1/accounts/",
        create_account,
        tags=["accounts"],
        methods=["POST"],
        status_code=201,
        summary="Store an account's token",
    )
