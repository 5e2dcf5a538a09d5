"""Password policy and hashing: argon2id for new hashes; older bcrypt hashes still verify and are
replaced by argon2id on the next successful login.

bcrypt only looks at the first 72 bytes of a password. New hashes are argon2id, which has no such
limit, and a legacy bcrypt hash is never checked against a password longer than 72 bytes (it would be
compared on a cut copy), so two passwords that differ after byte 72 are never taken for the same.
"""

from __future__ import annotations

import secrets
import unicodedata
from functools import cached_property
from typing import TYPE_CHECKING

from logchat.errors import InvalidPassword

if TYPE_CHECKING:
    from pwdlib import PasswordHash

# Long enough for any passphrase or password manager; short enough that hashing stays cheap.
MAX_PASSWORD_LENGTH = 1024
BCRYPT_MAX_BYTES = 72


def normalize_password(password: str) -> str:
    # The same passphrase typed on two keyboards can arrive as different code points (composed vs
    # decomposed accents); NFKC makes them one password, as NIST SP 800-63B recommends.
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, *, min_length: int, username: str | None = None) -> None:
    """Raise InvalidPassword naming the rule that ``password`` breaks."""
    normalized = normalize_password(password)
    length = len(normalized)
    if length < min_length:
        raise InvalidPassword(
            f"password too short: {length} characters, at least {min_length} required",
            hint="a passphrase of a few unrelated words is long and easy to type",
        )
    if length > MAX_PASSWORD_LENGTH:
        raise InvalidPassword(f"password too long: {length} characters, at most {MAX_PASSWORD_LENGTH} allowed")
    if not normalized.strip():
        raise InvalidPassword("password must not be only spaces")
    if username is not None and normalized.casefold() == username.casefold():
        raise InvalidPassword("password must not be the user name")


def is_bcrypt_hash(stored_hash: str) -> bool:
    return stored_hash.startswith(("$2a$", "$2b$", "$2y$", "$2x$"))


class PasswordHasher:
    """Hash and verify passwords. One instance per process is enough; it holds no secrets."""

    @cached_property
    def _context(self) -> PasswordHash:
        from pwdlib import PasswordHash
        from pwdlib.hashers.argon2 import Argon2Hasher
        from pwdlib.hashers.bcrypt import BcryptHasher

        # The first hasher makes new hashes; the others only verify (and trigger a rehash).
        return PasswordHash((Argon2Hasher(), BcryptHasher()))

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._context.hash(normalize_password(password))

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        """(matches, replacement hash or None). A replacement is returned when the stored hash uses
        an old scheme or old parameters; the caller stores it."""
        from pwdlib.exceptions import UnknownHashError

        normalized = normalize_password(password)
        if len(normalized) > MAX_PASSWORD_LENGTH:
            # Same work as a real check, so a very long password tells nothing about the account.
            self.verify_dummy(normalized[:MAX_PASSWORD_LENGTH])
            return False, None
        if is_bcrypt_hash(stored_hash) and len(normalized.encode("utf-8")) > BCRYPT_MAX_BYTES:
            self.verify_dummy(normalized)
            return False, None
        try:
            return self._context.verify_and_update(normalized, stored_hash)
        except UnknownHashError:
            self.verify_dummy(normalized)
            return False, None

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for user names that do not exist: an unknown user
        and a wrong password then take the same time and get the same answer."""
        self._context.verify(normalize_password(password)[:MAX_PASSWORD_LENGTH], self._dummy_hash)

    def warm_up(self) -> None:
        """Compute the dummy hash now (a daemon calls this at start-up, not on the first login)."""
        _ = self._dummy_hash
