"""The API reads a time without an offset as the CLI and the library do (issue 15, item 2):
in the post's `timezone`, else in the server's IGAUTOPOST_TIMEZONE (else its system zone).
Unix seconds, which the old iOS app sends, are absolute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apitest import old_post

PARIS_08_00 = int(datetime(2031, 1, 5, 7, tzinfo=UTC).timestamp())


@pytest.fixture
def paris_api(make_api, monkeypatch):
    monkeypatch.setenv("IGAUTOPOST_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("TZ", "UTC")
    return make_api()


def test_a_naive_date_pub_is_read_in_the_servers_zone(paris_api):
    headers = paris_api.login()
    answer = paris_api.client.post(
        "/api/v1/posts/", json=old_post(date_pub="2031-01-05 08:00"), headers=headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["date_pub"] == PARIS_08_00
    own = old_post(date_pub="2031-01-05 08:00", timezone="Asia/Tokyo", caption="tokyo")
    answer = paris_api.client.post("/api/v1/posts/", json=own, headers=headers)
    assert answer.json()["date_pub"] == int(datetime(2031, 1, 4, 23, tzinfo=UTC).timestamp())
    seconds = paris_api.client.post(
        "/api/v1/posts/", json=old_post(date_pub=PARIS_08_00, caption="seconds"), headers=headers
    )
    assert seconds.json()["date_pub"] == PARIS_08_00


def test_naive_since_and_until_are_read_in_the_servers_zone(paris_api):
    headers = paris_api.login()
    paris_api.create(headers, date_pub=PARIS_08_00)
    found = paris_api.client.get(
        "/api/v1/posts/",
        params={"since": "2031-01-05 08:00", "until": "2031-01-05 08:00"},
        headers=headers,
    )
    assert [p["date_pub"] for p in found.json()] == [PARIS_08_00]
    missed = paris_api.client.get(
        "/api/v1/posts/", params={"since": "2031-01-05 08:01"}, headers=headers
    )
    assert missed.json() == []
