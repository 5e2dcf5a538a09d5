"""Use case: signing in and checking access, for every front end.

``authenticate`` checks a password (throttled, failures recorded), ``issue``/``login`` hand out an
access token and a refresh token, ``refresh`` rotates them (a refresh token works once: using one
twice revokes the whole sign-in), ``revoke`` logs out, ``verify`` turns an access token into a
Principal and ``require`` checks one permission. Every ``verify`` reads the account from the store,
so disabling a user or changing a role takes effect on the next request, not at token expiry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

from logchat.auth.passwords import PasswordHasher
from logchat.auth.permissions import ROLE_PERMISSIONS, Role, has_permission, roles_with
from logchat.auth.revocation import DatabaseRevocationStore, RedisRevocationStore, RevocationStore
from logchat.auth.throttle import (
    DatabaseLoginThrottle,
    LoginThrottle,
    RedisLoginThrottle,
    ThrottlePolicy,
    address_key,
    user_key,
)
from logchat.auth.tokens import (
    ACCESS,
    REFRESH,
    TokenClaims,
    TokenCodec,
    load_previous_keys,
    load_signing_key,
    new_token_id,
)
from logchat.errors import (
    AccountDisabled,
    ConfigError,
    DisabledAccountToken,
    InvalidCredentials,
    PermissionDenied,
    TokenInvalid,
    TokenRevoked,
    TooManyAttempts,
)
from logchat.observability.audit import Actor, current_actor
from logchat.services import audit
from logchat.services.accounts import AccountService, UserInfo, is_valid_username
from logchat.storage import auth_repo

if TYPE_CHECKING:
    import redis

    from logchat.config import Settings
    from logchat.storage.db import Store

# One message for an unknown user and a wrong password, so the answer does not tell which.
BAD_CREDENTIALS = "invalid user name or password"


class NoAdminAccount(ConfigError):
    """The daemon would start with nobody able to administer it."""

    code = "no_admin"


class AccessMode(StrEnum):
    ACCOUNTS = "accounts"  # every request needs a token
    OPEN_DEMO = "open_demo"  # no accounts at all: anonymous read-only access (--allow-no-users)


@dataclass(frozen=True)
class Principal:
    """Who makes a request, with the role the store holds now (not the one in the token)."""

    user_id: int | None
    username: str
    role: Role
    token_id: str | None = None
    family: str | None = None
    expires_at: datetime | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        """The visitor of an open demo: a viewer without an account."""
        return cls(user_id=None, username="anonymous", role=Role.VIEWER)

    @property
    def permissions(self) -> frozenset[str]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    refresh_expires_in: int
    username: str
    role: Role
    token_type: str = "Bearer"

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_expires_in": self.refresh_expires_in,
            "username": self.username,
            "role": self.role.value,
        }


def ensure_admin_exists(store: Store, allow_no_users: bool) -> AccessMode:
    """Start-up check of the daemon: refuse to run without an enabled admin unless allowed.

    With ``allow_no_users`` and no accounts at all the daemon runs as an open read-only demo; with
    accounts but no enabled admin it still requires sign-in."""
    with store.session() as session:
        admins = auth_repo.count_enabled_admins(session)
        users = auth_repo.count_users(session)
    if admins:
        return AccessMode.ACCOUNTS
    if not allow_no_users:
        raise NoAdminAccount(
            "no enabled admin account in the store: refusing to start",
            hint="create one with: logchat users add NAME --role admin "
            "(or start with --allow-no-users for an open read-only demo)",
        )
    return AccessMode.OPEN_DEMO if users == 0 else AccessMode.ACCOUNTS


class AuthService:
    """Sign-in and access checks over one store (and Redis when ``redis.url`` is set)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        redis_client: redis.Redis | None = None,
        passwords: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._auth = settings.auth
        self._clock = clock
        self._passwords = passwords or PasswordHasher()
        self._codec = TokenCodec(load_signing_key(settings), load_previous_keys(settings))
        self._owned_redis: redis.Redis | None = None
        if redis_client is None and settings.redis.url:
            redis_client = self._owned_redis = _connect_redis(settings.redis.url)
        self.revocations, self.throttle = _state_backends(settings, store, redis_client, clock)
        self.accounts = AccountService(store, settings, passwords=self._passwords, clock=clock)
        self._user_policy = ThrottlePolicy(
            limit=self._auth.max_failed_logins,
            base_seconds=self._auth.lockout_seconds,
            max_seconds=self._auth.max_lockout_seconds,
            window_seconds=self._auth.failure_window_seconds,
        )
        self._address_policy = ThrottlePolicy(
            limit=self._auth.max_failed_logins_per_address,
            base_seconds=self._auth.lockout_seconds,
            max_seconds=self._auth.max_lockout_seconds,
            window_seconds=self._auth.failure_window_seconds,
        )

    def close(self) -> None:
        if self._owned_redis is not None:
            self._owned_redis.close()
            self._owned_redis = None

    def _now(self) -> float:
        return self._clock()

    # --- passwords -------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, client_address: str | None = None,
                     action: str = "auth.login") -> UserInfo:
        """The account if ``password`` is right. Raises InvalidCredentials (unknown user and wrong
        password alike, after the same amount of work), AccountDisabled or TooManyAttempts."""
        # Whatever arrives is only recorded in a printable form, cut to size.
        name = _printable(username.strip().lower())
        client_address = _printable(client_address) if client_address else None
        keys = [user_key(name)] + ([address_key(client_address)] if client_address else [])
        wait = self.throttle.retry_after(keys)
        if wait > 0:
            self._record_failure(name, None, client_address, "throttled")
            seconds = max(1, math.ceil(round(wait, 3)))  # micro-second storage must not turn 60 s into 61
            raise TooManyAttempts(f"too many failed sign-ins: try again in {seconds} s", retry_after=wait)
        user = None
        if is_valid_username(name):  # a name that could not be stored is simply unknown
            with self._store.session() as session:
                user = auth_repo.get_user_by_name(session, name)
        if user is None:
            self._passwords.verify_dummy(password)
            self._fail(name, None, client_address, "unknown_user")
        matches, new_hash = self._passwords.verify(password, user.password_hash)
        if not matches:
            self._fail(name, user.id, client_address, "wrong_password")
        if not user.enabled:
            # Said only to someone who knows the password, so it reveals nothing to a guesser.
            self._record_failure(name, user.id, client_address, "disabled")
            raise AccountDisabled(f"account {user.username!r} is disabled")
        self.throttle.reset(user_key(name))
        with self._store.session() as session:
            row = auth_repo.get_user_by_id(session, user.id)
            if row is None:  # removed in between
                raise InvalidCredentials(BAD_CREDENTIALS)
            if new_hash is not None:
                row.password_hash = new_hash
            row.last_login_at = datetime.fromtimestamp(self._now(), UTC)
            signed_in = UserInfo.from_row(row)
        audit.record(self._store, action, target=signed_in.username,
                     actor=_signing_in(signed_in.username, signed_in.id, client_address))
        return signed_in

    def _fail(self, name: str, user_id: int | None, client_address: str | None, reason: str) -> NoReturn:
        self._record_failure(name, user_id, client_address, reason)
        self.throttle.record_failure(user_key(name), self._user_policy)
        if client_address:
            self.throttle.record_failure(address_key(client_address), self._address_policy)
        raise InvalidCredentials(BAD_CREDENTIALS)

    def _record_failure(self, name: str, user_id: int | None, client_address: str | None, reason: str) -> None:
        with self._store.session() as session:
            auth_repo.record_login_failure(
                session, username=name, user_id=user_id, client_address=client_address, reason=reason,
                occurred_at=datetime.fromtimestamp(self._now(), UTC),
            )
        audit.record(self._store, "auth.login", target=name, outcome=audit.DENIED if reason == "throttled"
                     else audit.FAILED, detail={"reason": reason},
                     actor=_signing_in(name, user_id, client_address))

    def change_own_password(
        self, principal: Principal, current_password: str, new_password: str, *, client_address: str | None = None
    ) -> UserInfo:
        """A signed-in user changes their password; the current one is checked (and throttled) like
        a sign-in. Every token of the user stops working; sign in again afterwards."""
        self.accounts.check_new_password(principal.username, new_password)
        self.authenticate(principal.username, current_password, client_address=client_address,
                          action="auth.password_check")
        return self.accounts.change_password(principal.username, new_password)

    # --- tokens ----------------------------------------------------------------------------------

    def login(self, username: str, password: str, *, client_address: str | None = None) -> TokenPair:
        return self.issue(self.authenticate(username, password, client_address=client_address))

    def issue(self, user: UserInfo) -> TokenPair:
        """A new sign-in for ``user``: a fresh token family."""
        with self._store.session() as session:
            row = auth_repo.get_user_by_id(session, user.id)
            if row is None:  # removed since it was authenticated
                raise InvalidCredentials(BAD_CREDENTIALS)
            if not row.enabled:
                raise AccountDisabled(f"account {row.username!r} is disabled")
            current = UserInfo.from_row(row)
            version = row.token_version
        return self._issue(current, version, family=new_token_id())

    def _issue(self, user: UserInfo, version: int, *, family: str) -> TokenPair:
        now = int(self._now())
        access_ttl = self._auth.access_token_ttl_seconds
        refresh_ttl = self._auth.refresh_token_ttl_seconds

        def claims(token_type: str, ttl: int) -> TokenClaims:
            return TokenClaims(
                token_type=token_type, user_id=user.id, username=user.username, role=user.role.value,
                token_id=new_token_id(), family=family, version=version, issued_at=now, expires_at=now + ttl,
            )

        return TokenPair(
            access_token=self._codec.encode(claims(ACCESS, access_ttl)),
            refresh_token=self._codec.encode(claims(REFRESH, refresh_ttl)),
            expires_in=access_ttl,
            refresh_expires_in=refresh_ttl,
            username=user.username,
            role=user.role,
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token for a new pair. Each refresh token works once: a second use means
        it was copied, so every token of that sign-in is revoked."""
        claims = self._codec.decode(refresh_token, expected_type=REFRESH)
        if self.revocations.is_revoked(family=claims.family):
            raise TokenRevoked("refresh token revoked: sign in again")
        if not self.revocations.claim_refresh_token(claims.token_id, _at(claims.expires_at)):
            self.revocations.revoke_family(claims.family, self._family_expiry(claims))
            audit.record(self._store, "auth.refresh_reuse", target=claims.username, outcome=audit.DENIED,
                         detail={"revoked": "every token of this sign-in"})
            raise TokenRevoked("refresh token already used: this sign-in is revoked everywhere, sign in again")
        user, version = self._current_user(claims)
        return self._issue(user, version, family=claims.family)

    def verify(self, access_token: str) -> Principal:
        """Signature, algorithm, expiry, blacklist, account still there and enabled, tokens not
        invalidated since; the role is the account's current one."""
        claims = self._codec.decode(access_token, expected_type=ACCESS)
        if self.revocations.is_revoked(token_id=claims.token_id, family=claims.family):
            raise TokenRevoked("token revoked (signed out, or its sign-in was revoked): sign in again")
        user, _ = self._current_user(claims)
        return Principal(
            user_id=user.id,
            username=user.username,
            role=user.role,
            token_id=claims.token_id,
            family=claims.family,
            expires_at=_at(claims.expires_at),
        )

    def revoke(self, access_token: str | None = None, refresh_token: str | None = None) -> None:
        """Log out: blacklist the access token until it expires and revoke the sign-in it belongs
        to (so its refresh token is dead too). Expired tokens are accepted here: logging out with
        a stale token must still end the session."""
        families: dict[str, TokenClaims] = {}
        if access_token:
            claims = self._codec.decode(access_token, expected_type=ACCESS, allow_expired=True)
            if claims.expires_at > self._now():
                self.revocations.revoke_access_token(claims.token_id, _at(claims.expires_at))
            families[claims.family] = claims
        if refresh_token:
            claims = self._codec.decode(refresh_token, expected_type=REFRESH, allow_expired=True)
            if access_token and any(c.user_id != claims.user_id for c in families.values()):
                raise TokenInvalid("the access and refresh tokens belong to different users")
            families.setdefault(claims.family, claims)
        for family, claims in families.items():
            self.revocations.revoke_family(family, self._family_expiry(claims))
        for claims in {c.user_id: c for c in families.values()}.values():
            audit.record(self._store, "auth.logout", target=claims.username)

    def _family_expiry(self, claims: TokenClaims) -> datetime:
        # A family lives as long as the newest refresh token rotated from it could: at most one
        # refresh lifetime from now.
        return _at(max(claims.expires_at, int(self._now()) + self._auth.refresh_token_ttl_seconds))

    def _current_user(self, claims: TokenClaims) -> tuple[UserInfo, int]:
        with self._store.session() as session:
            row = auth_repo.get_user_by_id(session, claims.user_id)
            if row is None or row.username != claims.username:
                raise TokenInvalid("the account of this token no longer exists")
            if not row.enabled:
                raise DisabledAccountToken(f"account {row.username!r} is disabled")
            if row.token_version != claims.version:
                raise TokenRevoked("token no longer valid (password changed or signed out everywhere): sign in again")
            return UserInfo.from_row(row), row.token_version

    # --- permissions -----------------------------------------------------------------------------

    def require(self, principal: Principal, permission: str) -> None:
        """Raise PermissionDenied unless ``principal`` holds ``permission``."""
        if principal.can(permission):
            return
        allowed = " or ".join(role.value for role in roles_with(permission))
        raise PermissionDenied(
            f"permission denied: {permission!r} needs role {allowed} (you are {principal.role.value})"
        )

    def authorize(self, access_token: str, permission: str) -> Principal:
        """verify() and require() in one call, for routes that need one permission."""
        principal = self.verify(access_token)
        self.require(principal, permission)
        return principal

    def warm_up(self) -> None:
        """Pay one-off costs at start-up rather than on the first sign-in."""
        self._passwords.warm_up()


def _signing_in(name: str, user_id: int | None, client_address: str | None) -> Actor:
    """A sign-in acts for the name it gives (nobody is signed in yet), from the client's address."""
    return Actor(name, user_id, client_address or current_actor().client)


def _at(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _printable(text: str, limit: int = 256) -> str:
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])


def _connect_redis(url: str) -> redis.Redis:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    try:
        # A short, bounded retry: a blip in Redis is ridden out, an outage answers 503 within a
        # second or two instead of holding every request.
        return redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        )
    except ValueError as exc:
        raise ConfigError(f"config key 'redis.url': {exc}") from exc


def _state_backends(
    settings: Settings, store: Store, redis_client: redis.Redis | None, clock: Callable[[], float]
) -> tuple[RevocationStore, LoginThrottle]:
    if redis_client is not None:
        prefix = settings.redis.key_prefix
        return (
            RedisRevocationStore(redis_client, prefix=prefix, clock=clock),
            RedisLoginThrottle(redis_client, prefix=prefix, clock=clock),
        )
    return DatabaseRevocationStore(store, clock=clock), DatabaseLoginThrottle(store, clock=clock)
