"""Settings, read from the environment (prefix ``IGAUTOPOST_``) by the CLI and the HTTP app.

The library itself never reads the environment: callers build a `Settings` (or pass plain
arguments) and hand the values down. One exception: the zone a time without an offset is
read in, when the caller names none (`igautopost.zones.default_zone`: IGAUTOPOST_TIMEZONE,
$TZ, the system's), as a time typed at a shell means the shell's zone.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("igautopost", appauthor=False))


class Settings(BaseSettings):
    """Every setting has a default that runs igautopost on one machine with SQLite."""

    model_config = SettingsConfigDict(env_prefix="IGAUTOPOST_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    graph_base_url: str = "https://graph.facebook.com"
    # Where the tokens of Instagram Login accounts go (Facebook Login ones go to graph_base_url).
    graph_instagram_base_url: str = "https://graph.instagram.com"
    graph_version: str = "v25.0"
    graph_timeout: float = 30.0
    broker_url: str | None = None
    celery_queue: str = "igautopost"  # the Celery queue of `advance` tasks
    # How long a claim holds a post without renewal. A worker renews the leases of its
    # running steps every third of this, so a worker that dies (SIGKILL, a lost machine)
    # delays its posts by at most this much; a post whose publish call was leaving stays
    # held until that call has surely ended (see engine/leases.py). At least 3 s.
    lease_seconds: float = 10.0
    # A step's deadline, from its claim: past it the lease is no longer renewed and no
    # publish call is sent, so a stuck step gives its post up. It must hold a step's Graph
    # calls (checked when a worker starts: `igautopost.engine.leases.engine_policy`).
    step_seconds: float = 300.0
    # How long before its publish time a worker claims a ready post and prepares its
    # publish call, which then leaves on the time. Longer lets a large burst be prepared
    # ahead; edits in that window are refused (409), as for a post being published.
    publish_ahead_seconds: float = Field(default=0.5, ge=0, le=60)
    secret_key: SecretStr | None = None
    app_id: str | None = None  # the Meta app's id and secret: to exchange short-lived tokens
    app_secret: SecretStr | None = None
    timezone: str | None = (
        None  # the zone naive command-line times are read in; default: the system's
    )

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to use: the setting, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'igautopost.db'}"
