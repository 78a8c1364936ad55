"""How a Celery worker's Publisher is built from the settings (no broker needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from igautopost.config import Settings
from igautopost.scheduler.celery import build_publisher
from igautopost.secretbox import TokenCipher


def test_the_lease_and_the_publish_ahead_come_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        secret_key=TokenCipher.generate_key(),
        lease_seconds=90,
        publish_ahead_seconds=1.5,
    )
    publisher = build_publisher(settings, threads=8)
    try:
        assert publisher.policy.lease == timedelta(seconds=90)
        assert publisher.policy.publish_ahead == timedelta(seconds=1.5)
    finally:
        publisher.client.close()
        publisher.store.close()


@pytest.mark.parametrize("value", [-0.1, 61])
def test_a_publish_ahead_out_of_range_is_refused_with_its_name(value: float) -> None:
    with pytest.raises(ValidationError, match="publish_ahead_seconds"):
        Settings(publish_ahead_seconds=value)
