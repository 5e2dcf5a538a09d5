"""Password policy and hashing: argon2id, legacy bcrypt, the 72-byte question, normalisation."""

from __future__ import annotations

import bcrypt
import pytest

from logchat.auth.passwords import MAX_PASSWORD_LENGTH, PasswordHasher, check_password_policy, is_bcrypt_hash
from logchat.errors import InvalidPassword

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


def legacy_bcrypt(password: bytes) -> str:
    # Cost 4 keeps the test fast; verification treats every cost alike.
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=4)).decode()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "password too short: 5 characters, at least 10 required"),
        ("123456789", "password too short: 9 characters, at least 10 required"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "password too long: 1025 characters, at most 1024 allowed"),
        (" " * 12, "password must not be only spaces"),
        ("Ops-Admin-1", "password must not be the user name"),
    ],
)
def test_policy_names_the_broken_rule(password: str, message: str) -> None:
    with pytest.raises(InvalidPassword) as info:
        check_password_policy(password, min_length=10, username="ops-admin-1")
    assert str(info.value) == message
    assert info.value.exit_code == 2 and info.value.http_status == 400


@pytest.mark.parametrize("password", ["1234567890", "x" * MAX_PASSWORD_LENGTH, "ünïcødé pässwörd"])
def test_policy_accepts_passwords_within_the_bounds(password: str) -> None:
    check_password_policy(password, min_length=10, username="jdoe")


def test_length_is_counted_in_characters_after_normalisation() -> None:
    # Ten decomposed "é" (e + combining accent) are twenty code points but ten characters.
    check_password_policy("e\u0301" * 10, min_length=10)
    with pytest.raises(InvalidPassword, match="9 characters"):
        check_password_policy("e\u0301" * 9, min_length=10)


def test_new_hashes_are_argon2id_and_salted(hasher: PasswordHasher, stored: str) -> None:
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_verify_accepts_the_password_and_refuses_others(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(PASSWORD, stored) == (True, None)
    assert hasher.verify(PASSWORD + "!", stored) == (False, None)
    assert hasher.verify("", stored) == (False, None)


def test_legacy_bcrypt_hash_verifies_and_is_replaced_by_argon2id(hasher: PasswordHasher) -> None:
    old = legacy_bcrypt(PASSWORD.encode())
    assert is_bcrypt_hash(old)
    assert hasher.verify("wrong password", old) == (False, None)
    matches, replacement = hasher.verify(PASSWORD, old)
    assert matches
    assert replacement is not None and replacement.startswith("$argon2id$")
    assert hasher.verify(PASSWORD, replacement) == (True, None)


def test_a_bcrypt_hash_is_never_checked_against_a_cut_password(hasher: PasswordHasher) -> None:
    long_password = "p" * 72 + "-and-the-rest"
    # What a library that silently truncates would have stored for long_password.
    old = legacy_bcrypt(long_password.encode()[:72])
    assert hasher.verify("p" * 72, old)[0]
    assert hasher.verify(long_password, old) == (False, None)
    assert hasher.verify("p" * 72 + "something else", old) == (False, None)


def test_argon2id_tells_apart_long_passwords_that_share_72_bytes(hasher: PasswordHasher) -> None:
    prefix = "é" * 40  # 80 bytes of UTF-8
    stored = hasher.hash(prefix + "one")
    assert hasher.verify(prefix + "one", stored)[0]
    assert not hasher.verify(prefix + "two", stored)[0]


def test_the_same_passphrase_in_composed_and_decomposed_form_is_one_password(hasher: PasswordHasher) -> None:
    stored = hasher.hash("caf\u00e9 au lait, s'il vous pla\u00eet")
    assert hasher.verify("cafe\u0301 au lait, s'il vous plai\u0302t", stored)[0]


def test_an_unrecognised_or_empty_hash_never_matches(hasher: PasswordHasher) -> None:
    assert hasher.verify(PASSWORD, "plain-text-password") == (False, None)
    assert hasher.verify(PASSWORD, "") == (False, None)


def test_an_oversized_password_never_matches(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(PASSWORD + "x" * MAX_PASSWORD_LENGTH, stored) == (False, None)
