"""``/accounts``: the health of the operator's Instagram accounts (never a token).

For each of the operator's accounts (``tr#account-{ig_user_id}``, never another user's): its
token's expiry, whether it needs reconnecting and why (`reconnect_message`, the words the
engine logs), the publishing quota used in the last 24 hours (the publishes the engine's
quota ledger counts, `ClaimStore.published_since`, against the limit it assumes until
Instagram's is read, `EnginePolicy.quota_default`; the quota is Instagram's, per account,
so every publish of the account counts, whoever scheduled it), and how many of the operator's posts
wait on it, with the next one's time. Elements: ``tr#account-{ig_user_id}[data-health]``
(``ok`` or ``needs_reconnect``), ``.reconnect-reason``, ``td.quota`` ("3 of 50") and
``td.waiting`` (a link to the account's queue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...accounts.service import reconnect_message
from ...engine.policy import EnginePolicy
from ...engine.quota import WINDOW
from ...models import Account, Post, Status
from ...storage.protocols import PostQuery, Store
from .rendering import context_of, render
from .session import SignedIn

WAITING_COUNTED = 1000  # beyond this the page says "more than"; counting costs a read each
ACTIVE = frozenset(s for s in Status if s.is_active)
EXPIRES_SOON_DAYS = 7


@dataclass(frozen=True)
class AccountHealth:
    """One row of the page."""

    account: Account
    reconnect: str | None  # why it needs reconnecting, or None
    expires_in_days: int | None  # None: no known expiry
    published_24h: int
    quota_assumed: int
    waiting: int
    waiting_more: bool  # more than `waiting` (counting stopped at WAITING_COUNTED)
    next_post: Post | None


def health_of(store: Store, owner_id: int, now: datetime) -> list[AccountHealth]:
    """Every account of `owner_id`'s with its health: a few indexed reads per account."""
    rows = []
    for account in store.accounts.list_accounts(owner_id):
        query = PostQuery(
            owner_id=owner_id,
            account=account.ig_user_id,
            statuses=ACTIVE,
            limit=WAITING_COUNTED + 1,
        )
        waiting = store.list(query)
        expires = account.expires_at
        rows.append(
            AccountHealth(
                account=account,
                reconnect=(
                    reconnect_message(account, account.health_reason)
                    if account.needs_reconnect
                    else None
                ),
                expires_in_days=(expires - now).days if expires else None,
                published_24h=len(store.published_since(account.ig_user_id, now - WINDOW)),
                quota_assumed=EnginePolicy().quota_default,
                waiting=min(len(waiting), WAITING_COUNTED),
                waiting_more=len(waiting) > WAITING_COUNTED,
                next_post=waiting[0] if waiting else None,
            )
        )
    return rows


async def accounts_page(request: Request, operator: SignedIn) -> HTMLResponse:
    ctx = context_of(request)
    rows = await ctx.run(health_of, ctx.store, operator.user_id, ctx.clock.now())
    values = {"rows": rows, "soon_days": EXPIRES_SOON_DAYS}
    return render(request, "accounts.html", values)


def register(routes: APIRouter) -> None:
    """Add this page's routes."""
    routes.add_api_route("/accounts", accounts_page, methods=["GET"], include_in_schema=False)
