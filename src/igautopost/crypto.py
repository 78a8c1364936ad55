"""Encryption at rest for Instagram access tokens (Fernet: AES-128-CBC with HMAC-SHA256).

The key comes from ``IGAUTOPOST_SECRET_KEY`` or from a key file created on first use in the
data directory, readable by its owner only. Several keys may be given (newest first) so that
tokens written under an older key stay readable while they are re-encrypted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

from .errors import ConfigurationError, InvalidSecretKey, UndecryptableSecret

KEY_FILE_NAME = "secret.key"


class TokenCipher:
    """Encrypts and decrypts secrets with the first key; decrypts with any of them."""

    def __init__(
        self,
        keys: Sequence[str | bytes],
        *,
        reload: Callable[[], Sequence[str | bytes]] | None = None,
    ) -> None:
        """`reload`, when given, re-reads the keys once a secret fails to decrypt: a key file
        rewritten by `igautopost secrets rotate` is picked up without a restart."""
        self._use(keys)
        self._reload = reload
        self._plain: dict[str, str] = {}

    def _use(self, keys: Sequence[str | bytes]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise ConfigurationError("TokenCipher needs at least one key")
        try:
            fernets = [Fernet(key) for key in keys]
        except ValueError:
            raise InvalidSecretKey from None
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)

    @staticmethod
    def generate_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode("ascii")

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        # A worker decrypts the same few tokens at every step; keep the plaintexts it needs.
        found = self._plain.get(token)
        if found is not None:
            return found
        plain = self._decrypt(token)
        if len(self._plain) >= 10_000:
            self._plain.clear()
        self._plain[token] = plain
        return plain

    def is_current(self, token: str) -> bool:
        """Whether `token` is encrypted under the first (newest) key."""
        from cryptography.fernet import InvalidToken

        try:
            self._primary.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def can_decrypt(self, token: str) -> bool:
        """Whether one of the keys (re-read once, if they can be) decrypts `token`."""
        try:
            self._decrypt(token)
        except ConfigurationError:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same secret, encrypted under the first key (`igautopost secrets rotate`)."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            self._decrypt(token)  # reloads the keys once, or raises the readable error
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def _decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            if self._reload is not None:
                self._use(self._reload())
                with suppress(InvalidToken):
                    return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
            raise UndecryptableSecret from None


def load_keys(data_dir: Path) -> list[str]:
    """The keys in ``data_dir/secret.key``, newest first (one a line), created when missing."""
    first = load_or_create_key(data_dir)
    lines = (data_dir / KEY_FILE_NAME).read_text(encoding="ascii").split()
    return [key for key in lines if key] or [first]


def write_keys(data_dir: Path, keys: Sequence[str]) -> None:
    """Replace the key file atomically (mode 0600): the new file is complete or absent."""
    path = data_dir / KEY_FILE_NAME
    temporary = path.with_suffix(".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("".join(key + "\n" for key in keys))
    os.replace(temporary, path)


def load_or_create_key(data_dir: Path) -> str:
    """The (newest) key in ``data_dir/secret.key``, created (mode 0600) when missing."""
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        with suppress(PermissionError):  # a file copied in by hand may be readable by others
            path.chmod(0o600)
        return path.read_text(encoding="ascii").split()[0]
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = TokenCipher.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
