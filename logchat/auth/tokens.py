"""JWT access and refresh tokens (HS256) and the signing key.

The key comes from ``auth.jwt_secret`` or is generated once into ``<data_dir>/jwt-secret`` (mode 0600).
It is never logged and never part of an error message. ``auth.jwt_previous_secrets`` are accepted when
checking a token, never used to sign one: rotating the key does not sign everyone out, and a refresh
with an old-key refresh token yields tokens signed with the new key.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logchat.errors import ConfigError, TokenExpired, TokenInvalid

if TYPE_CHECKING:
    from logchat.config import Settings

ACCESS = "access"
REFRESH = "refresh"
ALGORITHM = "HS256"
ISSUER = "logchat"
MIN_KEY_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash output
SECRET_FILE_NAME = "jwt-secret"  # nosec B105  # a file name; the secret is generated into it
_REQUIRED_CLAIMS = ("exp", "iat", "sub", "jti", "iss", "typ", "role", "fam", "ver")


@dataclass(frozen=True)
class TokenClaims:
    token_type: str  # ACCESS or REFRESH
    user_id: int
    username: str
    role: str
    token_id: str  # jti
    family: str  # one sign-in: every token rotated from it shares this id
    version: int  # the user's token version when issued; bumped to sign the user out everywhere
    issued_at: int  # epoch seconds
    expires_at: int

    def to_payload(self) -> dict[str, Any]:
        return {
            "iss": ISSUER,
            "typ": self.token_type,
            "sub": str(self.user_id),
            "name": self.username,
            "role": self.role,
            "jti": self.token_id,
            "fam": self.family,
            "ver": self.version,
            "iat": self.issued_at,
            "exp": self.expires_at,
        }


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


class TokenCodec:
    """Sign tokens with one key; check them against it and the previous keys. Only HS256 is accepted,
    so ``alg: none`` and tokens signed with another algorithm or an unknown key are refused."""

    def __init__(self, key: bytes, previous_keys: tuple[bytes, ...] = ()) -> None:
        for candidate in (key, *previous_keys):
            if len(candidate) < MIN_KEY_BYTES:
                raise ConfigError(
                    f"JWT signing key too short: {len(candidate)} bytes, at least {MIN_KEY_BYTES} required"
                )
        self._key = key
        self._verification_keys = (key, *(k for k in previous_keys if k != key))

    def encode(self, claims: TokenClaims) -> str:
        import jwt

        return jwt.encode(claims.to_payload(), self._key, algorithm=ALGORITHM)

    def decode(self, token: str, *, expected_type: str, allow_expired: bool = False) -> TokenClaims:
        """Check signature, algorithm, issuer, expiry and claim shapes; raise TokenInvalid or TokenExpired."""
        import jwt

        options: dict[str, Any] = {"require": list(_REQUIRED_CLAIMS)}
        if allow_expired:
            options["verify_exp"] = False
        try:
            payload = self._decode_with_known_keys(jwt, token, options)
        except jwt.ExpiredSignatureError:
            raise TokenExpired(f"{expected_type} token expired") from None
        except jwt.InvalidTokenError:
            raise TokenInvalid(f"invalid {expected_type} token") from None
        claims = _claims_from_payload(payload, expected_type)
        if claims.token_type != expected_type:
            raise TokenInvalid(f"{_a(claims.token_type)} token cannot be used as {_a(expected_type)} token")
        return claims


    def _decode_with_known_keys(self, jwt: Any, token: str, options: dict[str, Any]) -> dict[str, Any]:
        # The signature is checked before any claim, so a wrong key is always InvalidSignatureError
        # and only then is the next key tried; an expired token signed with a known key stays expired.
        for key in self._verification_keys[:-1]:
            try:
                return jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options=options)
            except jwt.InvalidSignatureError:
                continue
        return jwt.decode(token, self._verification_keys[-1], algorithms=[ALGORITHM], issuer=ISSUER, options=options)


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _claims_from_payload(payload: dict[str, Any], expected_type: str) -> TokenClaims:
    try:
        fields = {
            "token_type": payload["typ"],
            "user_id": int(payload["sub"]),
            "username": payload.get("name", ""),
            "role": payload["role"],
            "token_id": payload["jti"],
            "family": payload["fam"],
            "version": payload["ver"],
            "issued_at": payload["iat"],
            "expires_at": payload["exp"],
        }
    except (TypeError, ValueError):
        raise TokenInvalid(f"invalid {expected_type} token") from None
    text_fields = ("token_type", "username", "role", "token_id", "family")
    if not all(isinstance(fields[name], str) for name in text_fields) or not all(
        isinstance(fields[name], int) and not isinstance(fields[name], bool)
        for name in ("version", "issued_at", "expires_at")
    ):
        raise TokenInvalid(f"invalid {expected_type} token")
    return TokenClaims(**fields)


def secret_file(data_dir: Path) -> Path:
    return data_dir / SECRET_FILE_NAME


def load_signing_key(settings: Settings) -> bytes:
    """The HS256 key: ``auth.jwt_secret`` if set, else the data dir's secret file (created on first use)."""
    configured = settings.auth.jwt_secret
    if configured is not None:
        key = configured.get_secret_value().encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"config key 'auth.jwt_secret': too short ({len(key)} bytes), at least {MIN_KEY_BYTES} required",
                hint="generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
            )
        return key
    return _read_or_create_secret_file(secret_file(settings.data_dir))


def load_previous_keys(settings: Settings) -> tuple[bytes, ...]:
    """The keys of ``auth.jwt_previous_secrets``, accepted for checking tokens only."""
    keys = []
    for position, secret in enumerate(settings.auth.jwt_previous_secrets, start=1):
        key = secret.get_secret_value().encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"config key 'auth.jwt_previous_secrets': entry {position} is too short ({len(key)} bytes, "
                f"at least {MIN_KEY_BYTES} required)"
            )
        keys.append(key)
    return tuple(keys)


def _read_or_create_secret_file(path: Path) -> bytes:
    if not path.exists():
        _create_secret_file(path)
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the JWT secret file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the JWT secret file {path} is accessible by other users (mode {stat.S_IMODE(mode):04o})",
            hint=f"chmod 600 {path}",
        )
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the JWT secret file {path} is too short ({len(key)} bytes, at least {MIN_KEY_BYTES} required)",
            hint="delete it to have a new one generated (every issued token becomes invalid)",
        )
    return key


def _create_secret_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if the file exists: when two processes start at once, the first one's key
            # wins and both use it; the file never appears half-written.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise ConfigError(f"cannot create the JWT secret file {path}: {exc.strerror}") from exc
