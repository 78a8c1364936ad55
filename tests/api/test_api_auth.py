"""The token endpoint and `Authorization: Token <key>`, in Django REST Framework's words."""

from __future__ import annotations

import pytest
from apitest import PASSWORD, SECRETS

CHALLENGE = "Token"


def test_token_endpoint_json_and_form_give_the_same_working_key(api):
    api.users.create("alice", PASSWORD)
    first = api.client.post(
        "/api/v1/api-token-auth/", json={"username": "alice", "password": PASSWORD}
    )
    again = api.client.post(
        "/api/v1/api-token-auth", data={"username": "alice", "password": PASSWORD}
    )
    assert first.status_code == again.status_code == 200
    key = first.json()["token"]
    SECRETS.append(key)
    assert again.json() == {"token": key}
    assert len(key) == 40 and int(key, 16) >= 0
    listed = api.client.get("/api/v1/posts/", headers={"Authorization": f"Token {key}"})
    assert listed.status_code == 200 and listed.json() == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"password": "x"}, {"username": ["This field is required."]}),
        ({"username": "alice"}, {"password": ["This field is required."]}),
        ({"username": "", "password": "x"}, {"username": ["This field may not be blank."]}),
        ({"username": 5, "password": "x"}, {"username": ["Not a valid string."]}),
    ],
)
def test_token_endpoint_missing_fields(api, body, errors):
    response = api.client.post("/api/v1/api-token-auth/", json=body)
    assert response.status_code == 400
    assert response.json() == errors


@pytest.mark.parametrize("who", [("alice", "wrong password"), ("nobody", PASSWORD)])
def test_token_endpoint_wrong_credentials(api, who):
    api.users.create("alice", PASSWORD)
    response = api.client.post(
        "/api/v1/api-token-auth/", data=dict(zip(("username", "password"), who, strict=True))
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer abc", "Authentication credentials were not provided."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("Token " + "0" * 40, "Invalid token."),
        ("Token short", "Invalid token."),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/posts/", "/api/v1/posts/1/", "/api/v1/posts/1/events/"])
def test_401_bodies_and_challenge(api, header, detail, path):
    headers = {"Authorization": header} if header else {}
    response = api.client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_token_keyword_is_case_insensitive(api, alice):
    key = alice["Authorization"].split()[1]
    assert (
        api.client.get("/api/v1/posts/", headers={"Authorization": f"token {key}"}).status_code
        == 200
    )


def test_a_revoked_key_stops_working(api, alice):
    [token] = api.users.tokens("alice")
    api.users.revoke(token.id)
    response = api.client.get("/api/v1/posts/", headers=alice)
    assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}


def test_a_cli_key_works_and_login_still_returns_the_login_key(api, alice):
    _, cli_key = api.users.create_key("alice")
    SECRETS.append(cli_key)
    assert (
        api.client.get("/api/v1/posts/", headers={"Authorization": f"Token {cli_key}"}).status_code
        == 200
    )
    again = api.client.post(
        "/api/v1/api-token-auth/", json={"username": "alice", "password": PASSWORD}
    )
    assert f"Token {again.json()['token']}" == alice["Authorization"]


def test_keys_are_stored_as_hashes_only(api, alice):
    import sqlalchemy as sa

    key = alice["Authorization"].split()[1]
    with api.store.engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("api_tokens", "users")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert key not in dump
    assert PASSWORD not in dump and "$argon2id$" in dump


def test_token_endpoint_refuses_get(api):
    response = api.client.get("/api/v1/api-token-auth/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
