"""The OpenAPI document as the API really answers.

FastAPI documents a 422 on every route with parameters, a status this API never sends (its
validation errors are DRF's 400s), and nothing of the other errors. Here the generated
document is corrected once, in one place: each operation lists the error statuses it can
answer, with DRF's two error bodies, and the posts list documents its page object.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

FIELD_ERRORS = {
    "type": "object",
    "description": 'DRF validation errors: {"<field>": ["<message>", ...]}',
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
DETAIL = {
    "type": "object",
    "description": 'DRF\'s error body: {"detail": "<message>"}',
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
WHY = {
    "400": "Invalid input: every problem, by field",
    "401": "No token, or an unknown one",
    "404": "No such post (or not yours, or deleted)",
    "409": "The post's state forbids it (being published, or published)",
    "413": "The body is larger than the server accepts",
    "415": "The body is neither JSON nor a form",
    "429": "Too many failed logins: wait the seconds given",
}
WRITES = frozenset({"post", "put", "patch"})
CHANGES_STATE = frozenset({"put", "patch", "delete"})


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the corrected document (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def corrected(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["FieldErrors"] = FIELD_ERRORS
    components["Detail"] = DETAIL
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(error_statuses(path, method, operation)):
                responses.setdefault(status, _error(status))
    _posts_list_pages(schema)
    health = schema["paths"].get("/api/v1/health", {}).get("get")
    if health is not None:  # a token is optional here: it only adds the caller's counts
        health["security"] = [{}, *health.get("security", [])]
    return schema


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    """The error statuses an operation can answer."""
    statuses: set[str] = set()
    if "security" in operation:
        statuses.add("401")
    actions = path.endswith(("/retry/", "/publish-now/"))  # they read no body
    if method in WRITES and not actions:
        statuses |= {"400", "413", "415"}
    if operation.get("parameters") and method == "get" and "{" not in path:
        statuses.add("400")  # query parameters: status, since, until, page
    if "{post_id}" in path and method != "options":  # OPTIONS leaves its actions out instead
        statuses.add("404")
        if method in CHANGES_STATE or actions:
            statuses.add("409")
    if path.endswith("/api-token-auth/"):
        statuses |= {"400", "429"}
    if path == "/api/v1/posts/" and method == "get":
        statuses.add("404")  # a page past the last one
    return statuses


def _error(status: str) -> dict[str, Any]:
    body = "FieldErrors" if status == "400" else "Detail"
    return {
        "description": WHY[status],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
    }


def _posts_list_pages(schema: dict[str, Any]) -> None:
    """The posts list answers an array, or DRF's page object when a page is asked for."""
    listing = schema["paths"].get("/api/v1/posts/", {}).get("get")
    if listing is None:
        return
    content = listing["responses"]["200"]["content"]["application/json"]
    content["schema"] = {
        "anyOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/PostOut"}},
            {"$ref": "#/components/schemas/PostPage"},
        ]
    }
    listing["responses"]["200"]["headers"] = {
        "Link": {
            "description": 'With `limit`, when there may be more: `<url>; rel="next"`, the '
            "same query continuing after the last post (`after_id`)",
            "schema": {"type": "string"},
        }
    }
    schema["components"]["schemas"].setdefault("PostPage", _page_schema())
    for path, why in (
        ("/api/v1/posts/", "The same client_key again"),
        ("/api/v1/accounts/", "Replaced"),
    ):
        create = schema["paths"].get(path, {}).get("post")
        if create is not None:  # 201 when new, 200 for what was stored already
            created = create["responses"]["201"]
            create["responses"].setdefault("200", {**created, "description": why})


def _page_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "next": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "previous": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/PostOut"}},
        },
        "required": ["count", "next", "previous", "results"],
    }
