"""Building the objects a process needs from `Settings`: used by the CLI and the HTTP app."""

from __future__ import annotations

from .config import Settings
from .crypto import TokenCipher, load_keys
from .storage.files import private_directory
from .storage.sql import SqlStore


def token_cipher(settings: Settings) -> TokenCipher:
    """The cipher for tokens at rest: ``IGAUTOPOST_SECRET_KEY`` (comma-separated, newest first)
    or the key file in the data directory."""
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",") if k.strip()]
        return TokenCipher(keys)
    return TokenCipher(load_keys(settings.data_dir), reload=lambda: load_keys(settings.data_dir))


def open_store(settings: Settings | None = None) -> SqlStore:
    """The store the settings name, migrated to the current schema.

    >>> key = TokenCipher.generate_key()
    >>> store = open_store(Settings(database_url="sqlite://", secret_key=key))
    """
    settings = settings or Settings()
    private_directory(settings.data_dir)  # the key file and the default database live there
    return SqlStore.open(settings.resolved_database_url(), cipher=token_cipher(settings))
