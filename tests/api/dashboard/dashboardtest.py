"""Helpers for the dashboard's tests: log in through the form as a browser does."""

from __future__ import annotations

import re

from apitest import PASSWORD, SECRETS, Api

HTML = {"accept": "text/html"}


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(api: Api, name: str = "alice", *, create: bool = True) -> str:
    """Create `name` (unless told not to), log in through /login; the client keeps the
    session cookie. Returns the session's CSRF token."""
    if create:
        api.users.create(name, PASSWORD)
    form = api.client.get("/login", headers=HTML)
    answer = api.client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = api.client.get("/queue", headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def api_key_of(api: Api, name: str = "alice") -> dict[str, str]:
    """API headers for a user made already (by `log_in`): the API's view of the same posts."""
    answer = api.client.post(
        "/api/v1/api-token-auth/", json={"username": name, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    key = answer.json()["token"]
    SECRETS.append(key)
    return {"Authorization": f"Token {key}"}
