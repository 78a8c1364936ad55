"""How a Celery worker's Publisher is built from the settings (no broker needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from igautopost import services
from igautopost.config import Settings
from igautopost.crypto import TokenCipher
from igautopost.engine.launcher import GRACE
from igautopost.engine.leases import engine_policy
from igautopost.errors import ConfigurationError


def test_the_lease_and_the_publish_ahead_come_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        secret_key=TokenCipher.generate_key(),
        lease_seconds=20,
        step_seconds=400,
        publish_ahead_seconds=1.5,
    )
    publisher = services.celery_publisher(settings, threads=8)
    try:
        assert publisher.policy.lease == timedelta(seconds=20)
        assert publisher.policy.step_limit == timedelta(seconds=400)
        assert publisher.policy.publish_ahead == timedelta(seconds=1.5)
    finally:
        publisher.client.close()
        publisher.store.close()


@pytest.mark.parametrize("value", [-0.1, 61])
def test_a_publish_ahead_out_of_range_is_refused_with_its_name(value: float) -> None:
    with pytest.raises(ValidationError, match="publish_ahead_seconds"):
        Settings(publish_ahead_seconds=value)


def test_the_default_lease_is_short_and_the_default_step_deadline_holds_a_step() -> None:
    policy = engine_policy(Settings())
    assert policy.lease == timedelta(seconds=10)
    assert policy.step_limit == timedelta(seconds=300)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"lease_seconds": 2}, ["IGAUTOPOST_LEASE_SECONDS=2", "every third of the lease"]),
        ({"lease_seconds": 0}, ["IGAUTOPOST_LEASE_SECONDS=0", "positive"]),
        ({"lease_seconds": float("nan")}, ["IGAUTOPOST_LEASE_SECONDS=nan", "positive"]),
        ({"step_seconds": float("inf")}, ["IGAUTOPOST_STEP_SECONDS=inf", "positive"]),
        ({"graph_timeout": 0}, ["IGAUTOPOST_GRAPH_TIMEOUT=0", "positive"]),
        (
            {"step_seconds": 120},
            [
                "IGAUTOPOST_STEP_SECONDS=120",
                "IGAUTOPOST_GRAPH_TIMEOUT=30",
                f"at least {0.5 + GRACE + 4 * 2 * 30:g} s",
            ],
        ),
        (
            {"graph_timeout": 60},
            [
                "IGAUTOPOST_STEP_SECONDS=300",
                "IGAUTOPOST_GRAPH_TIMEOUT=60",
                f"at least {0.5 + GRACE + 4 * 2 * 60:g} s",
            ],
        ),
        (
            {"lease_seconds": 400},
            ["IGAUTOPOST_LEASE_SECONDS=400", "longer than IGAUTOPOST_STEP_SECONDS=300"],
        ),
    ],
)
def test_leases_that_cannot_hold_a_step_are_refused_naming_the_rule(
    settings: dict[str, float], named: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        engine_policy(Settings(**settings))  # type: ignore[arg-type]
    for words in named:
        assert words in str(refused.value)


def test_a_celery_worker_refuses_such_leases_before_taking_tasks(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        broker_url="redis://127.0.0.1:1/0",  # never reached: refused first
        lease_seconds=1,
    )
    with pytest.raises(ConfigurationError, match="IGAUTOPOST_LEASE_SECONDS=1"):
        services.run_celery_worker(settings, threads=2)
