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

    # Media (docs/media.md). Where copies of local media files are kept: a folder (default:
    # `media` in the data directory) or an S3-compatible bucket, `s3://bucket/prefix` (with
    # the usual AWS_* settings, and `media_s3_endpoint_url` for a server other than AWS).
    media_store: str | None = None
    media_s3_endpoint_url: str | None = None
    # Where Instagram fetches an image from a local file when the store is a folder:
    # `igautopost serve` at this public address serves it under an unguessable path until
    # its post is published. Without it (and without a bucket) such images are refused.
    public_url: str | None = None
    # Check every post's media against Instagram's rules when it is scheduled (a URL: a
    # HEAD and its first bytes). `--no-media-check` turns it off for one command.
    media_check: bool = True
    media_check_timeout: float = Field(default=10.0, gt=0)  # seconds per URL
    media_check_concurrency: int = Field(default=32, ge=1, le=256)
    # A private or loopback address is refused as a media URL (Instagram cannot fetch it);
    # tests and benchmarks on one machine turn this on.
    media_allow_private_urls: bool = False
    # How long a published or cancelled post's media copy is kept before it is deleted.
    media_keep_seconds: float = Field(default=86_400.0, ge=0)

    def resolved_media_store(self) -> str:
        """Where media copies go: the setting, or the `media` folder of the data directory."""
        return self.media_store or str(self.data_dir / "media")

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to use: the setting, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'igautopost.db'}"
