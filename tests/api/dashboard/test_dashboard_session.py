"""Logging in to the dashboard: the signed session cookie, CSRF, throttling, logout."""

from __future__ import annotations

import httpx
from apitest import PASSWORD, Api
from dashboardtest import HTML, csrf_of, log_in

from igautopost.api.dashboard.session import LOGIN_COOKIE, SESSION_COOKIE


def test_a_page_without_a_session_sends_the_browser_to_the_login_form(api: Api) -> None:
    answer = api.client.get("/queue?status=failed", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fqueue%3Fstatus%3Dfailed"


def test_a_script_without_a_session_gets_401(api: Api) -> None:
    answer = api.client.get("/queue", headers={"accept": "application/json"})
    assert answer.status_code == 401


def _log_in_then_go(api: Api, target: str) -> httpx.Response:
    """Alice's login through the form, asking to go to `target` after."""
    api.users.create("alice", PASSWORD)
    form = api.client.get("/login", headers=HTML)
    fields = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    return api.client.post("/login", data={**fields, "next": target}, follow_redirects=False)


def test_logging_in_sets_a_signed_http_only_strict_cookie(api: Api) -> None:
    answer = _log_in_then_go(api, "/accounts")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/accounts"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie  # plain HTTP in the test; HTTPS adds it
    assert len(api.users.tokens("alice")) == 1  # the session is a token, stored hashed


def test_a_tampered_cookie_is_no_session(api: Api) -> None:
    log_in(api)
    value = api.client.cookies[SESSION_COOKIE]
    key, name, signature = value.split(".")
    forged = f"{key}.{name}.{'A' * len(signature)}"
    api.client.cookies.set(SESSION_COOKIE, forged)
    answer = api.client.get("/queue", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303


def test_a_wrong_password_is_refused_in_drf_words_and_stores_nothing(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    form = api.client.get("/login", headers=HTML)
    answer = api.client.post(
        "/login",
        data={"username": "alice", "password": "wrong", "csrf_token": csrf_of(form.text)},
    )
    assert answer.status_code == 400
    assert "Unable to log in with provided credentials." in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert api.users.tokens("alice") == []


def test_the_login_form_without_its_csrf_token_is_refused(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    api.client.get("/login", headers=HTML)
    answer = api.client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert api.users.tokens("alice") == []


def test_logins_are_throttled_as_the_apis_are(api: Api) -> None:
    api.users.create("alice", PASSWORD)
    token = csrf_of(api.client.get("/login", headers=HTML).text)
    codes = [
        api.client.post(
            "/login", data={"username": "alice", "password": "nope", "csrf_token": token}
        ).status_code
        for _ in range(12)
    ]
    assert codes[0] == 400
    assert codes[-1] == 429
    throttled = api.client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert throttled.status_code == 429
    assert "Try again in" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0


def test_next_never_leaves_the_site(api: Api) -> None:
    answer = _log_in_then_go(api, "//evil.example.com/")
    assert answer.headers["location"] == "/"


def test_a_post_without_the_sessions_csrf_token_is_refused(api: Api) -> None:
    log_in(api)
    answer = api.client.post("/logout", data={}, headers=HTML)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    still = api.client.get("/queue", headers=HTML, follow_redirects=False)
    assert still.status_code == 200  # nothing happened: still logged in


def test_another_sessions_csrf_token_is_refused(api: Api) -> None:
    other = log_in(api, "bob")
    api.client.cookies.clear()
    log_in(api, "alice")
    answer = api.client.post("/logout", data={"csrf_token": other}, headers=HTML)
    assert answer.status_code == 403


def test_logging_out_revokes_the_session(api: Api) -> None:
    token = log_in(api)
    cookie = api.client.cookies[SESSION_COOKIE]
    answer = api.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert api.users.tokens("alice") == []
    api.client.cookies.set(SESSION_COOKIE, cookie)  # a copy kept by someone else
    again = api.client.get("/queue", headers=HTML, follow_redirects=False)
    assert again.status_code == 303


def test_the_login_page_sets_its_own_csrf_cookie(api: Api) -> None:
    answer = api.client.get("/login", headers=HTML)
    assert answer.status_code == 200
    assert LOGIN_COOKIE in answer.cookies
    assert csrf_of(answer.text) == answer.cookies[LOGIN_COOKIE]
