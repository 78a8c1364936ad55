"""The HTTP app: `create_app(settings)` builds it; nothing happens at import time.

>>> app = create_app(Settings())                                # doctest: +SKIP
>>> uvicorn.run(app)                                            # doctest: +SKIP

`igautopost serve` runs it with the scheduler in the same process. The app does not start
or stop a scheduler it is given: it wakes it when a post changes and reports its health.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

import igautopost

from .. import services
from ..auth.users import Users
from ..clock import Clock, SystemClock
from ..config import Settings
from ..scheduler import Scheduler
from ..storage.protocols import Store
from ..storage.sql.sqlite_writes import WriteGate, gate_for
from . import accounts, auth, dashboard, docs_page, health, options, post_actions, posts, schema
from .context import ApiContext
from .errors import HANDLERS
from .media_files import register as serve_media_files
from .middleware import Guard

DEFAULT_MAX_BODY_BYTES = 1_000_000
DESCRIPTION = """\
Schedule Instagram posts. Compatible with the Django REST Framework service it replaces:
`Authorization: Token <key>`, the old field names (`user_id`, `token`, `url`,
`content_type`, `date_pub`, `thump_offset`), DRF's status codes and error bodies.
See docs/api.md."""


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    scheduler: Scheduler | None = None,
    clock: Clock | None = None,
    users: Users | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The /api/v1 app. Without `store`, it opens (and at shutdown closes) the one `settings`
    names. `scheduler`, when publishing runs in this process, is woken on every change."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    owns_store = store is None
    store = store or services.open_store(settings)
    users = users or services.users(settings, store, clock=clock)
    ctx = ApiContext(
        settings,
        store,
        users,
        scheduler,
        clock,
        owns_store=owns_store,
        write_gate=_write_gate(store),
    )

    app = FastAPI(
        title="igautopost",
        version=igautopost.__version__,
        description=DESCRIPTION,
        redirect_slashes=False,
        lifespan=_lifespan,
        docs_url=None,  # served by docs_page, from installed assets: no CDN, works offline
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.igautopost = ctx
    for module in (auth, posts, options, post_actions, health, accounts):
        module.register(app.router)
    serve_media_files(app.router)  # GET /media/{token}/{key}: copies, for Instagram
    docs_page.install(app)
    dashboard.install(app)  # the operator's web page at / (docs/dashboard.md)
    for exc_class, handler in HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
    app.add_middleware(Guard, max_body_bytes=max_body_bytes)
    schema.install(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {}
    ctx: ApiContext = app.state.igautopost
    ctx.close()


def _write_gate(store: Store) -> WriteGate | None:
    """The write gate of a store on SQLite, whose writers exclude each other
    (`ApiContext.write`); None for any other store."""
    engine = getattr(store, "engine", None)
    return gate_for(engine) if isinstance(engine, sa.Engine) else None
