"""``GET /api/v1/health``: is the store reachable, is the scheduler alive; counts by status.

No authentication, so that load balancers and monitors can call it; it shows totals only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

import igautopost

from .context import ApiContext, context


def scheduler_state(ctx: ApiContext) -> str:
    """running, stopped, or external (publishing runs in another process: `serve --no-worker`,
    or one of several server processes)."""
    if ctx.scheduler is None:
        return "external"
    alive = getattr(ctx.scheduler, "is_alive", None)
    return "running" if alive is None or alive() else "stopped"


async def health(ctx: Annotated[ApiContext, Depends(context)]) -> Any:
    """200 when healthy, 503 when the store is unreachable or the scheduler has stopped."""
    body: dict[str, Any] = {"status": "ok", "version": igautopost.__version__}
    try:
        counts = await ctx.run(ctx.store.counts)
        body.update(store="ok", counts=counts)
    except Exception:  # any database failure: report it, never its details
        body.update(store="unreachable", counts=None)
    body["scheduler"] = scheduler_state(ctx)
    healthy = body["store"] == "ok" and body["scheduler"] != "stopped"
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
