"""Templates, the viewer's time zone and the page context every template gets."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..context import ApiContext
from .flash import clear_flash, flash_of

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
ASSETS = "/assets"
ZONE_COOKIE = "igautopost_tz"  # set by app.js from the browser's own zone
UTC = ZoneInfo("UTC")

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["ASSETS"] = ASSETS


def context_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.igautopost
    return ctx


def current_operator(request: Request) -> Any:
    """The `session.Operator` that `session.operator_required` found for this request, if
    it ran (None on the login page)."""
    return getattr(request.state, "operator", None)


def viewer_zone(request: Request) -> tzinfo:
    """The viewer's zone: ``?tz=`` (an IANA name), else the cookie app.js sets from the
    browser, else UTC. An unknown name is ignored rather than refused."""
    for name in (request.query_params.get("tz"), request.cookies.get(ZONE_COOKIE)):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def local_text(moment: datetime | None, zone: tzinfo) -> str:
    """`moment` as the viewer reads it: ``2031-01-05 08:00 CET``; empty for None."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def render(
    request: Request, name: str, values: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """`name` rendered with `values` and what the layout needs: the operator (when logged
    in), the CSRF token for forms, the viewer's zone and the page's path for the nav."""
    operator = current_operator(request)
    page: dict[str, Any] = {
        "operator": operator,
        "csrf_token": operator.csrf_token if operator is not None else "",
        "zone": viewer_zone(request),
        "path": request.url.path,
        "local_text": local_text,
    }
    page.update(values or {})
    page.setdefault("flash", flash_of(request))
    answer = templates.TemplateResponse(request, name, page, status_code=status)
    clear_flash(request, answer)  # shown once
    return answer
