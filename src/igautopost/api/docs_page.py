"""``/api/docs``: Swagger UI on the app's OpenAPI document, every asset served by the app.

FastAPI's own docs page loads Swagger UI from a CDN, so it was blank offline or behind a
firewall. The assets come from the `swagger-ui-bundle` package (in the `server` extra),
mounted under ``/api/docs/assets/``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS = "/api/docs"
ASSETS = f"{DOCS}/assets"


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    openapi_url = app.openapi_url or "/api/v1/openapi.json"
    title = f"{app.title} {app.version}"

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.add_api_route(DOCS, docs, methods=["GET"], include_in_schema=False)
