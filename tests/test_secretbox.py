"""Tokens at rest: Fernet encryption, key rotation, the key file, and how keys are configured."""

from __future__ import annotations

import stat

import pytest

from igautopost.config import Settings
from igautopost.crypto import KEY_FILE_NAME, TokenCipher, load_or_create_key
from igautopost.errors import ConfigurationError
from igautopost.services import open_store, token_cipher

SECRET = "EAAB-very-secret-token-4f1c9"


def cipher(*keys: str) -> TokenCipher:
    return TokenCipher(list(keys))


def test_encrypt_then_decrypt():
    box = cipher(TokenCipher.generate_key())
    sealed = box.encrypt(SECRET)
    assert SECRET not in sealed
    assert box.decrypt(sealed) == SECRET
    assert box.encrypt(SECRET) != sealed  # a fresh IV each time


@pytest.mark.parametrize("secret", ["", "é☕ unicode", "x" * 5000])
def test_any_text_survives(secret):
    box = cipher(TokenCipher.generate_key())
    assert box.decrypt(box.encrypt(secret)) == secret


def test_rotation_keeps_old_ciphertext_readable():
    old_key, new_key = TokenCipher.generate_key(), TokenCipher.generate_key()
    written_before = cipher(old_key).encrypt(SECRET)
    rotated = cipher(new_key, old_key)
    assert rotated.decrypt(written_before) == SECRET
    written_after = rotated.encrypt(SECRET)
    assert cipher(new_key).decrypt(written_after) == SECRET  # new writes use the first key
    with pytest.raises(ConfigurationError):
        cipher(old_key).decrypt(written_after)


def test_wrong_key_is_a_configuration_error_without_the_secret():
    key, other = TokenCipher.generate_key(), TokenCipher.generate_key()
    sealed = cipher(key).encrypt(SECRET)
    with pytest.raises(ConfigurationError) as info:
        cipher(other).decrypt(sealed)
    shown = f"{info.value} {info.value!r} {info.getrepr()}"
    for leaked in (SECRET, key, other, sealed):
        assert leaked not in shown
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("bad", ["", "short-key-text", "not-base64!" * 4])
def test_malformed_key_is_a_configuration_error_without_the_key(bad):
    good = TokenCipher.generate_key()
    with pytest.raises(ConfigurationError, match="Fernet key") as info:
        TokenCipher([good, bad])
    assert good not in str(info.value)
    assert not bad or bad not in str(info.value)


def test_no_key_at_all():
    with pytest.raises(ConfigurationError):
        TokenCipher([])


def test_garbage_ciphertext_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        cipher(TokenCipher.generate_key()).decrypt("not a token")


def test_key_file_is_created_owner_only_and_reused(tmp_path):
    data_dir = tmp_path / "nested" / "data"
    key = load_or_create_key(data_dir)
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(data_dir) == key
    box = cipher(key)
    assert box.decrypt(box.encrypt(SECRET)) == SECRET


def test_settings_key_list_is_newest_first(tmp_path):
    old_key, new_key = TokenCipher.generate_key(), TokenCipher.generate_key()
    sealed = cipher(old_key).encrypt(SECRET)
    settings = Settings(data_dir=tmp_path, secret_key=f" {new_key} ,{old_key},")
    box = token_cipher(settings)
    assert box.decrypt(sealed) == SECRET
    assert cipher(new_key).decrypt(box.encrypt(SECRET)) == SECRET
    assert not (tmp_path / KEY_FILE_NAME).exists()  # no key file when the key is configured


def test_open_store_creates_its_database_and_key_in_the_data_dir(tmp_path, make_post):
    from datetime import UTC, datetime

    from igautopost.models import PostSpec

    store = open_store(Settings(data_dir=tmp_path / "d"))
    try:
        [post] = store.add(
            [PostSpec.model_validate(make_post())], now=datetime(2030, 1, 1, tzinfo=UTC)
        )
        assert store.access_token(post.id) == make_post()["access_token"]
    finally:
        store.close()
    assert (tmp_path / "d" / "igautopost.db").is_file()
    assert stat.S_IMODE((tmp_path / "d" / KEY_FILE_NAME).stat().st_mode) == 0o600
