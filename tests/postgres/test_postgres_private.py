"""What the store keeps private, on SQLite and PostgreSQL: a failing statement's error (what
ends up in logs) never holds the values it was given, such as a token's ciphertext."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.tables import accounts

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def account_row(ciphertext: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "owner_id": 0,
        "ig_user_id": "17841400000000001",
        "login": "facebook",
        "token_ciphertext": ciphertext,
        "token_stored_at": NOW,
        "health": "ok",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return row | changes


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({}, id="unique key"),
        pytest.param({"ig_user_id": "2", "login": None}, id="not null"),
    ],
)
def test_a_failing_statements_error_holds_no_ciphertext(
    any_database: Callable[[], str], cipher: TokenCipher, caplog, second
):
    store = SqlStore.open(any_database(), cipher=cipher)
    ciphertext = cipher.encrypt("EAAB-never-in-a-log")
    with store.engine.begin() as conn:
        conn.execute(accounts.insert().values(account_row(ciphertext)))

    with pytest.raises(sa.exc.IntegrityError) as failed, store.engine.begin() as conn:
        conn.execute(accounts.insert().values(account_row(ciphertext, **second)))
    logging.getLogger("igautopost.test").exception("storing failed", exc_info=failed.value)
    store.close()

    shown = "".join(traceback.format_exception(failed.value)) + caplog.text
    assert "SQL parameters hidden" in shown
    assert ciphertext not in shown
    assert ciphertext[:20] not in shown  # nor a truncated copy
