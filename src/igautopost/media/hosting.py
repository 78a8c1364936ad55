"""How Instagram reaches an image published from a local file: a `MediaHost`.

Instagram makes an image container from a URL it fetches itself, so a copy needs a public
address for the minutes between the container's request and its fetch. Two hosts give one:

- `S3Media` (media/bucket.py): the copies live in a bucket and the URL is presigned, valid
  for `valid_for`;
- `ServedMediaHost`: `igautopost serve` serves the copy itself at
  ``{public_url}/media/{token}/{key}``, where the token is an HMAC of the key under a secret
  derived from igautopost's secret key: the URL cannot be guessed from the key (which is only
  the content's hash), and the route (api/media_files.py) serves a copy only while a
  scheduled, processing or ready post uses it.

`media_store_from` and `media_host_from` build them from the settings; a folder store without
``IGAUTOPOST_PUBLIC_URL`` has no host (None): an image from a local file is then refused when
it is scheduled, and a video still goes through Instagram's resumable upload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

from ..clock import Clock
from ..config import Settings
from ..errors import ConfigurationError
from .bucket import S3Media
from .protocols import MediaHost, MediaStore, StoredMedia
from .store import FolderMediaStore, is_media_key

ROUTE = "/media"  # where `igautopost serve` serves copies (api/media_files.py)
PURPOSE = b"igautopost media URL tokens v1"  # the secret is derived, never used as is
KEY_FILE_NAME = "secret.key"  # crypto.KEY_FILE_NAME (media sits beside crypto, not above it)


class ServedMediaHost:
    """URLs of copies served by `igautopost serve` itself, signed with `secret`."""

    def __init__(self, public_url: str, secret: str | bytes) -> None:
        if not secret:
            raise ConfigurationError("ServedMediaHost needs a secret")
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        self.public_url = public_url.rstrip("/")
        self._signing_key = hmac.new(raw, PURPOSE, hashlib.sha256).digest()

    def token_for(self, key: str) -> str:
        """The path segment that proves a URL was made here: HMAC-SHA256 of the key."""
        digest = hmac.new(self._signing_key, key.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def is_valid(self, token: str, key: str) -> bool:
        """Whether `token` is this host's for `key`, compared in constant time."""
        if not is_media_key(key):
            return False
        return hmac.compare_digest(token.encode("ascii", "replace"), self.token_for(key).encode())

    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        """The copy's URL. It works while an active post uses the copy, which is at least
        `valid_for` for the post being published: the route checks that, not the URL."""
        return f"{self.public_url}{ROUTE}/{self.token_for(media.key)}/{media.key}"

    def forget(self, key: str) -> None:
        """Nothing to do: the route stops serving a copy once no active post uses it, and
        the store's `delete` removes the file."""


def media_store_from(settings: Settings, *, clock: Clock | None = None) -> MediaStore:
    """The store `settings.media_store` names: a bucket for ``s3://...``, else a folder."""
    where = settings.resolved_media_store()
    if where.startswith("s3://"):
        return S3Media.from_url(where, endpoint_url=settings.media_s3_endpoint_url, clock=clock)
    return FolderMediaStore(Path(where), clock=clock)


def media_host_from(
    settings: Settings, *, store: MediaStore | None = None, secret: str | bytes | None = None
) -> MediaHost | None:
    """How Instagram reaches the copies: the bucket (presigned URLs) when the store is one,
    else `igautopost serve` at ``public_url``; None when neither is configured.

    `secret` defaults to the first of ``IGAUTOPOST_SECRET_KEY``, else the data directory's
    key file (the one tokens are encrypted with; it exists once a store was opened)."""
    store = store if store is not None else media_store_from(settings)
    if isinstance(store, S3Media):
        return store
    if not settings.public_url:
        return None
    return ServedMediaHost(settings.public_url, secret or _secret_of(settings))


def _secret_of(settings: Settings) -> str:
    if settings.secret_key is not None:
        keys = settings.secret_key.get_secret_value().split(",")
        if keys[0].strip():
            return keys[0].strip()
    path = settings.data_dir / KEY_FILE_NAME
    try:
        return path.read_text(encoding="ascii").split()[0]
    except (OSError, IndexError):
        raise ConfigurationError(
            "serving media needs IGAUTOPOST_SECRET_KEY or the data directory's key file"
        ) from None


__all__ = ["S3Media", "ServedMediaHost", "media_host_from", "media_store_from"]
