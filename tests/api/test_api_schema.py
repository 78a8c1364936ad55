"""The OpenAPI document describes what the API answers: its error statuses, never a 422."""

from __future__ import annotations

import pytest


@pytest.fixture
def schema(api):
    return api.client.get("/api/v1/openapi.json").json()


def test_no_operation_documents_the_422_the_api_never_sends(schema):
    statuses = {
        s for ops in schema["paths"].values() for op in ops.values() for s in op["responses"]
    }
    assert "422" not in statuses
    assert {"400", "401", "404", "409", "413", "429"} <= statuses


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/api/v1/posts/", "get", {"200", "400", "401", "404"}),
        ("/api/v1/posts/", "post", {"200", "201", "400", "401", "413", "415"}),
        ("/api/v1/posts/{post_id}/", "patch", {"200", "400", "401", "404", "409", "413", "415"}),
        ("/api/v1/posts/{post_id}/", "delete", {"204", "401", "404", "409"}),
        ("/api/v1/posts/{post_id}/retry/", "post", {"200", "401", "404", "409"}),
        ("/api/v1/api-token-auth/", "post", {"200", "400", "413", "415", "429"}),
    ],
)
def test_each_operation_lists_the_statuses_it_answers(schema, path, method, expected):
    assert set(schema["paths"][path][method]["responses"]) == expected


def test_errors_use_drf_bodies_and_the_list_documents_its_page_object(schema):
    responses = schema["paths"]["/api/v1/posts/{post_id}/"]["put"]["responses"]
    assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/FieldErrors"
    )
    assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Detail")
    listing = schema["paths"]["/api/v1/posts/"]["get"]["responses"]["200"]
    shapes = listing["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/PostPage"} in shapes
    assert {"type": "array", "items": {"$ref": "#/components/schemas/PostOut"}} in shapes
    assert set(schema["components"]["schemas"]["PostPage"]["required"]) == {
        "count",
        "next",
        "previous",
        "results",
    }
