"""Token revocation: the logout blacklist, revoked sign-in families and used refresh tokens.

Two backends behind one interface: Redis when ``redis.url`` is configured (every key expires with
the token it describes, so nothing needs purging) and the database otherwise.
"""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from logchat.errors import StoreError

if TYPE_CHECKING:
    import redis

    from logchat.storage.db import Store

ACCESS_TOKEN = "access"  # nosec B105  # the name of a token kind
FAMILY = "family"
REFRESH_USED = "refresh_used"

_F = TypeVar("_F", bound=Callable[..., Any])


def translate_redis_errors(method: _F) -> _F:
    """Redis down means tokens cannot be checked: fail closed, with one clear line."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreError(f"Redis is not reachable for sign-in state: {exc}") from exc

    return wrapper  # type: ignore[return-value]


class RevocationStore(ABC):
    """Where revoked and used token ids live until the tokens they name expire."""

    @abstractmethod
    def revoke_access_token(self, token_id: str, expires_at: datetime) -> None:
        """Blacklist one access token (logout) until it would have expired anyway."""

    @abstractmethod
    def revoke_family(self, family: str, expires_at: datetime) -> None:
        """Revoke every access and refresh token of one sign-in."""

    @abstractmethod
    def claim_refresh_token(self, token_id: str, expires_at: datetime) -> bool:
        """Mark a refresh token used. True the first time; False means it was used before (reuse)."""

    @abstractmethod
    def is_revoked(self, *, token_id: str | None = None, family: str | None = None) -> bool:
        """True if the access token ``token_id`` is blacklisted or its ``family`` is revoked."""

    def purge_expired(self) -> int:
        """Drop entries whose tokens have expired; returns how many. Redis does this by itself."""
        return 0


class DatabaseRevocationStore(RevocationStore):
    # Entries accumulate with every refresh; a purge now and then keeps the table small without a
    # scheduler, and the scheduler can still call purge_expired().
    PURGE_INTERVAL_SECONDS = 300.0

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._next_purge = 0.0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def revoke_access_token(self, token_id: str, expires_at: datetime) -> None:
        self._revoke(ACCESS_TOKEN, token_id, expires_at)

    def revoke_family(self, family: str, expires_at: datetime) -> None:
        self._revoke(FAMILY, family, expires_at)

    def _revoke(self, kind: str, token_id: str, expires_at: datetime) -> None:
        from logchat.storage import auth_repo

        with self._store.session() as session:
            auth_repo.revoke_token(session, kind, token_id, expires_at=expires_at, now=self._now())
        self._maybe_purge()

    def claim_refresh_token(self, token_id: str, expires_at: datetime) -> bool:
        from logchat.storage import auth_repo

        with self._store.session() as session:
            claimed = auth_repo.claim_token(session, REFRESH_USED, token_id, expires_at=expires_at, now=self._now())
        self._maybe_purge()
        return claimed

    def is_revoked(self, *, token_id: str | None = None, family: str | None = None) -> bool:
        from logchat.storage import auth_repo

        keys = [(kind, value) for kind, value in ((ACCESS_TOKEN, token_id), (FAMILY, family)) if value]
        with self._store.session() as session:
            return auth_repo.any_token_revoked(session, keys)

    def purge_expired(self) -> int:
        from logchat.storage import auth_repo

        with self._store.session() as session:
            return auth_repo.purge_token_revocations(session, self._now())

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_INTERVAL_SECONDS
            self.purge_expired()


class RedisRevocationStore(RevocationStore):
    def __init__(self, client: redis.Redis, *, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._prefix = f"{prefix}auth:"
        self._clock = clock

    def _key(self, kind: str, token_id: str) -> str:
        return f"{self._prefix}{kind}:{token_id}"

    def _ttl_ms(self, expires_at: datetime) -> int:
        # A relative TTL rather than an absolute one, so the key lives as long as the token does by
        # this process's clock, the clock that also judged the token.
        return round((expires_at.timestamp() - self._clock()) * 1000)

    def revoke_access_token(self, token_id: str, expires_at: datetime) -> None:
        self._set(self._key(ACCESS_TOKEN, token_id), expires_at)

    def revoke_family(self, family: str, expires_at: datetime) -> None:
        self._set(self._key(FAMILY, family), expires_at)

    @translate_redis_errors
    def _set(self, key: str, expires_at: datetime) -> None:
        ttl = self._ttl_ms(expires_at)
        if ttl > 0:  # an already expired token needs no entry
            self._client.set(key, b"1", px=ttl)

    @translate_redis_errors
    def claim_refresh_token(self, token_id: str, expires_at: datetime) -> bool:
        # SET NX is atomic: of two concurrent refreshes with the same token, exactly one wins.
        ttl = max(self._ttl_ms(expires_at), 1000)
        return bool(self._client.set(self._key(REFRESH_USED, token_id), b"1", px=ttl, nx=True))

    @translate_redis_errors
    def is_revoked(self, *, token_id: str | None = None, family: str | None = None) -> bool:
        keys = [self._key(kind, value) for kind, value in ((ACCESS_TOKEN, token_id), (FAMILY, family)) if value]
        return bool(keys) and int(self._client.exists(*keys)) > 0
