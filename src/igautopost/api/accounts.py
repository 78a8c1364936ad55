"""``/api/v1/accounts/``: the caller's Instagram accounts. The token is write-only.

GET lists the caller's accounts (health, expiry; never a token). POST stores an account's
token, or replaces it (answering 200 instead of 201): this is how a client reconnects an
account whose posts wait for a working token. ``exchange: true`` trades a short-lived token
for a long-lived one when the server has the app secret (``IGAUTOPOST_APP_SECRET``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..accounts import Accounts
from ..graph.client import GraphClient
from ..graph.errors import GraphError
from ..storage.accounts import Account
from .auth import UserId
from .context import ApiContext, both_slashes, context, read_data
from .errors import REQUIRED, ApiError

Ctx = Annotated[ApiContext, Depends(context)]
ID_FIELDS = ("ig_user_id", "account", "user_id")
TOKEN_FIELDS = ("access_token", "token")
LOGINS = ("facebook", "instagram")


def _first(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((data[n] for n in names if data.get(n) not in (None, "")), None)


def _checked(data: dict[str, Any]) -> tuple[str, str, Any]:
    errors: dict[str, list[str]] = {}
    ig_user_id, token, login = (
        _first(data, ID_FIELDS),
        _first(data, TOKEN_FIELDS),
        data.get("login"),
    )
    if ig_user_id is None:
        errors["ig_user_id"] = [REQUIRED]
    elif not str(ig_user_id).isdigit() or len(str(ig_user_id)) > 64:
        errors["ig_user_id"] = ["An Instagram user id is a number."]
    if not isinstance(token, str):
        errors["access_token"] = [REQUIRED if token is None else "Not a valid string."]
    if login is not None and login not in LOGINS:
        errors["login"] = ["Either facebook or instagram."]
    if errors:
        raise ApiError(400, errors)
    return str(ig_user_id), str(token), login


def store_account(ctx: ApiContext, owner: int, data: dict[str, Any]) -> tuple[Account, bool]:
    ig_user_id, token, login = _checked(data)
    existed = ctx.store.accounts.find(owner, ig_user_id) is not None
    settings = ctx.settings
    secret = settings.app_secret.get_secret_value() if settings.app_secret else None
    with GraphClient(
        base_url=settings.graph_base_url,
        instagram_base_url=settings.graph_instagram_base_url,
        version=settings.graph_version,
        timeout=settings.graph_timeout,
    ) as client:
        accounts = Accounts(
            ctx.store.accounts,
            client,
            ctx.clock,
            app_id=settings.app_id,
            app_secret=secret,
            instagram_base_url=settings.graph_instagram_base_url,
        )
        try:
            account = accounts.add(
                owner,
                ig_user_id,
                token,
                login=login,
                username=data.get("username"),
                exchange=bool(data.get("exchange")),
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
    account, created = await ctx.run(store_account, ctx, owner, data)
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
