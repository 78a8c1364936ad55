"""Media copies in an S3-compatible bucket: `S3Media`, both the store and the host.

With ``IGAUTOPOST_MEDIA_STORE=s3://bucket/prefix`` the copies live in the bucket (AWS, or any
S3-compatible server at ``media_s3_endpoint_url``) under ``prefix/<key>``, so every machine
running igautopost sees the same copies, and Instagram fetches an image through a presigned
GET URL that expires `valid_for` after it is made: nothing public stays public.

An object keeps its ``stored-at`` time (from the store's clock) in its metadata: adding the
same content again rewrites it (a copy onto itself), so that a copy just added for a post
about to be saved never looks old to the pruner. The credentials are boto3's usual ones
(``AWS_ACCESS_KEY_ID``..., a profile, an instance role): igautopost never sees them.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, cast
from urllib.parse import urlsplit

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from .protocols import MediaMissing, StoredMedia
from .store import CHUNK_BYTES, SUFFIX_PATTERN, content_type_of, is_media_key, media_suffix

SPOOL_BYTES = 8 * 1024 * 1024  # an upload is hashed into memory up to this, then to disk
STORED_AT = "stored-at"  # the object's metadata entry (x-amz-meta-stored-at)
MAX_PRESIGNED = timedelta(days=7)  # SigV4's longest expiry


class S3Media:
    """A `MediaStore` and a `MediaHost` on one bucket (and an optional key prefix)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: Any = None,
        clock: Clock | None = None,
    ) -> None:
        """`client`: a boto3 S3 client, when the caller builds its own (credentials, retries;
        it should sign with ``s3v4``, whose presigned URLs carry their expiry); by default one
        from boto3's usual configuration, at `endpoint_url` when given."""
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client if client is not None else _client(endpoint_url)
        self._clock = clock or SystemClock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3Media:
        """`S3Media` for ``s3://bucket/prefix``."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigurationError(f"media_store: expected s3://bucket/prefix, got {url!r}")
        return cls(parts.netloc, parts.path, **options)

    # -- MediaStore ----------------------------------------------------------------------

    def add(self, source: Path) -> StoredMedia:
        with Path(source).open("rb") as stream:
            return self.add_stream(stream, suffix=media_suffix(str(source)))

    def add_stream(self, stream: BinaryIO, *, suffix: str) -> StoredMedia:
        suffix = suffix.lower()
        if not SUFFIX_PATTERN.fullmatch(suffix):
            raise ValueError(f"not a media file extension: {suffix!r}")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
                spool.write(chunk)
            key = digest.hexdigest() + suffix
            metadata = {STORED_AT: self._clock.now().astimezone(UTC).isoformat()}
            if self._exists(key):  # stored once: only its stored-at moves
                self._client.copy_object(
                    Bucket=self.bucket,
                    Key=self._name(key),
                    CopySource={"Bucket": self.bucket, "Key": self._name(key)},
                    Metadata=metadata,
                    MetadataDirective="REPLACE",
                    ContentType=content_type_of(key),
                )
            else:
                spool.seek(0)
                extra = {"ContentType": content_type_of(key), "Metadata": metadata}
                self._client.upload_fileobj(spool, self.bucket, self._name(key), ExtraArgs=extra)
        return self.info(key)

    def info(self, key: str) -> StoredMedia:
        head = self._head(key)
        if head is None:
            raise MediaMissing(key)
        stored = head.get("Metadata", {}).get(STORED_AT)
        return StoredMedia(
            key=key,
            size=int(head["ContentLength"]),
            content_type=content_type_of(key),
            stored_at=datetime.fromisoformat(stored) if stored else head.get("LastModified"),
        )

    def open(self, key: str) -> BinaryIO:
        """The copy, downloaded to a temporary file (seekable, gone when closed): an upload to
        Instagram may read it in chunks and start a chunk again."""
        if not is_media_key(key):
            raise MediaMissing(key)
        copy: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (returned open)
        try:
            self._client.download_fileobj(self.bucket, self._name(key), copy)
        except Exception as exc:
            copy.close()
            if _is_missing(exc):
                raise MediaMissing(key) from None
            raise
        copy.seek(0)
        return cast(BinaryIO, copy)

    def delete(self, key: str) -> None:
        if is_media_key(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def keys(self) -> Iterator[StoredMedia]:
        """Every copy under the prefix, in key order (one HEAD each, for its stored-at)."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for entry in page.get("Contents", []):
                key = entry["Key"][len(self.prefix) :]
                if is_media_key(key):
                    try:
                        yield self.info(key)
                    except MediaMissing:  # deleted while listing
                        continue

    # -- MediaHost -----------------------------------------------------------------------

    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        """A presigned GET URL that works for `valid_for` (at most 7 days), then is refused."""
        seconds = max(1, int(min(valid_for, MAX_PRESIGNED).total_seconds()))
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._name(media.key)},
            ExpiresIn=seconds,
        )
        return url

    def forget(self, key: str) -> None:
        """The URL's object is the copy itself: deleting it is the only way to stop it."""
        self.delete(key)

    # -- helpers -------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return self.prefix + key

    def _head(self, key: str) -> dict[str, Any] | None:
        if not is_media_key(key):
            return None
        try:
            head: dict[str, Any] = self._client.head_object(Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise
        return head

    def _exists(self, key: str) -> bool:
        return self._head(key) is not None


def _client(endpoint_url: str | None) -> Any:
    try:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigurationError(
            "media_store s3://... needs boto3: pip install 'igautopost[s3]'"
        ) from None
    # Another S3-compatible server (MinIO, moto, ...) rarely has a wildcard DNS name per bucket.
    style = "path" if endpoint_url else "auto"
    config = Config(signature_version="s3v4", s3={"addressing_style": style})
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def _is_missing(exc: Exception) -> bool:
    """A botocore error for an absent object (HEAD answers a bare 404, GET NoSuchKey)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")
