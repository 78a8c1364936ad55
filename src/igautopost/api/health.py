"""``GET /api/v1/health``: is the store reachable, is the scheduler alive and not failing.

No authentication needed, so that load balancers and monitors can call it. Post counts are
shown only to an authenticated caller (``Authorization: Token <key>``), and only their own:
how many posts other people schedule is nobody else's business.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse

import igautopost

from .auth import current_user, token_header
from .context import ApiContext, context


def scheduler_state(ctx: ApiContext) -> str:
    """running, failing (it runs, but its claims or its steps keep raising), stopped, or
    external (publishing runs in another process: `serve --no-worker`, or one of several
    server processes)."""
    if ctx.scheduler is None:
        return "external"
    if not ctx.scheduler.is_alive():
        return "stopped"
    health = ctx.scheduler.health()
    return "failing" if health is not None and health.failing else "running"


def scheduler_failures(ctx: ApiContext) -> dict[str, Any] | None:
    """Failures in a row and the last error's kind (never its text), when the scheduler
    runs in this process."""
    state = ctx.scheduler.health() if ctx.scheduler is not None else None
    if state is None:
        return None
    at = state.last_error_at
    return {
        "failed_cycles": state.failed_cycles,
        "failed_steps": state.failed_steps,
        "last_error": state.last_error,
        "last_error_at": at.isoformat() if at is not None else None,
    }


async def caller(
    request: Request,
    header: Annotated[str | None, Security(token_header)],
    ctx: Annotated[ApiContext, Depends(context)],
) -> int | None:
    """The caller's user id when a token is sent (a wrong one is refused: 401), else None."""
    if header is None:
        return None
    return await current_user(request, header, ctx)


async def health(
    ctx: Annotated[ApiContext, Depends(context)],
    user_id: Annotated[int | None, Depends(caller)],
) -> Any:
    """200 when healthy; 503 when the store is unreachable, or the scheduler has stopped or
    keeps failing. `counts` (posts by status) only with a token: the caller's own."""
    body: dict[str, Any] = {"status": "ok", "version": igautopost.__version__}
    try:
        if user_id is None:
            await ctx.run(ctx.store.ping)
        else:
            body["counts"] = await ctx.run(ctx.store.counts, owner_id=user_id)
        body["store"] = "ok"
    except Exception:  # any database failure: report it, never its details
        body["store"] = "unreachable"
        if user_id is not None:
            body["counts"] = None
    body["scheduler"] = scheduler_state(ctx)
    if (failures := scheduler_failures(ctx)) is not None:
        body["scheduler_failures"] = failures
    healthy = body["store"] == "ok" and body["scheduler"] not in ("stopped", "failing")
    if not healthy:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if healthy else 503)


def register(routes: APIRouter) -> None:
    """Add these endpoints to the app's router (flat, so 405 answers can list methods)."""
    routes.add_api_route(
        "/api/v1/health", health, tags=["health"], methods=["GET"], summary="Liveness"
    )
    routes.add_api_route(
        "/api/v1/health/", health, tags=["health"], methods=["GET"], include_in_schema=False
    )
