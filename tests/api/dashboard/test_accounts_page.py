"""``/accounts``: each of the operator's accounts with its health, quota and waiting posts."""

from __future__ import annotations

import re
from datetime import timedelta

from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.accounts.service import reconnect_message
from igautopost.models import Status

ACCOUNT = "17841400000000001"


def _row(page: str, ig_user_id: str) -> str:
    found = re.search(rf'<tr id="account-{ig_user_id}"[^>]*>.*?</tr>', page, re.S)
    assert found, f"no row for account {ig_user_id}"
    return found.group(0)


def test_the_page_lists_the_operators_accounts_and_no_one_elses(api: Api) -> None:
    log_in(api, "bob")
    api.create(api_key_of(api, "bob"), user_id="17841400000000009")
    api.client.cookies.clear()
    log_in(api, "alice")
    headers = api_key_of(api)
    api.create(headers)
    api.create(headers, caption="another")
    page = api.client.get("/accounts", headers=HTML)
    assert page.status_code == 200
    row = _row(page.text, ACCOUNT)
    assert 'data-health="ok"' in row
    assert re.search(
        r'<td class="waiting"><a href="/queue\?account=17841400000000001&amp;from=">2 waiting</a>',
        row,
    )
    assert re.search(r'<td class="quota">0 of 50', row)
    assert "17841400000000009" not in page.text


def test_an_account_that_needs_reconnecting_says_why(api: Api) -> None:
    log_in(api)
    api.create(api_key_of(api))
    user_id = api.users.store.user("alice").id  # type: ignore[attr-defined]
    found = api.store.accounts.credentials(user_id, ACCOUNT)
    assert found is not None
    reason = (
        "Error validating access token: The user has changed the password (Graph error 190/460)"
    )
    api.store.accounts.mark_needs_reconnect(
        found.account, reason, expected=found.ciphertext, now=NOW
    )
    row = _row(api.client.get("/accounts", headers=HTML).text, ACCOUNT)
    assert 'data-health="needs_reconnect"' in row
    assert reconnect_message(ACCOUNT, reason) in row.replace("&#39;", "'")
    assert f"igautopost account add {ACCOUNT} --replace" in row


def test_the_quota_counts_the_publishes_of_the_last_24_hours(api: Api) -> None:
    log_in(api)
    headers = api_key_of(api)
    old, recent, _still_waiting = (
        api.create(headers),
        api.create(headers, caption="b"),
        api.create(headers, caption="c"),
    )
    api.clock.advance(timedelta(hours=30))  # type: ignore[attr-defined]
    log_in(api, create=False)
    now = api.clock.now()
    for post, when in ((old, now - timedelta(hours=25)), (recent, now - timedelta(hours=1))):
        api.store.transition(post["id"], Status.PUBLISHED, now=when, changes={"published_at": when})
    row = _row(api.client.get("/accounts", headers=HTML).text, ACCOUNT)
    assert re.search(r'<td class="quota">1 of 50', row)
    assert ">1 waiting</a>" in row  # only the scheduled one waits


def test_with_no_account_the_page_says_how_to_add_one(api: Api) -> None:
    log_in(api)
    page = api.client.get("/accounts", headers=HTML)
    assert page.status_code == 200
    assert "No Instagram account is stored for you yet" in page.text
