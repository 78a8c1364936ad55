"""The operator's web page, served by `igautopost serve` at ``/`` (docs/dashboard.md).

Server-rendered HTML (Jinja2 templates in ``templates/``), a little plain JavaScript and one
stylesheet (``static/``, served at ``/assets/`` by the app itself: nothing from a CDN, the
page works offline). It logs in with the API's users and calls the same library functions
as the API (`igautopost.schedule`, `reschedule`, `cancel`, `retry`): there is no second path
to the store.

Pages: ``/calendar`` (week and month), ``/queue``, ``/accounts``, ``/posts/new`` and
``/posts/{id}``; ``/login`` and ``/logout``. Each module adds its routes in `register`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from . import accounts_page, calendar, live, post_actions_page, post_pages, queue, session
from .rendering import ASSETS, STATIC_DIR


def install(app: FastAPI) -> None:
    """Serve the dashboard's pages and assets from `app` (an /api/v1 app from create_app)."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC_DIR)), name="dashboard-assets")
    session.install(app)
    app.add_api_route("/", _home, methods=["GET"], include_in_schema=False)
    for module in (calendar, queue, live, accounts_page, post_pages, post_actions_page):
        module.register(app.router)


async def _home() -> RedirectResponse:
    return RedirectResponse("/calendar", status_code=303)
