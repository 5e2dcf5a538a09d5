"""Use case: managing accounts (`logchat users`, and the daemon's user administration).

Callers check ``users:manage`` first (the daemon) or have local access to the store (the CLI).
Whatever the caller, the store always keeps at least one enabled admin once it has one, also when
several processes or daemon threads change accounts at the same moment: every change that can take
an admin away runs under one lock per store (see ``auth_repo.lock_admin_changes``).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from logchat.auth.passwords import PasswordHasher, check_password_policy
from logchat.auth.permissions import Role, parse_role
from logchat.errors import Conflict, InvalidCredentials, LogchatError, NotFound, StoreBusy, StoreError, UsageError
from logchat.storage import auth_repo
from logchat.storage.models import User
from logchat.storage.transactions import begin_write, busy_means_try_again

if TYPE_CHECKING:
    from logchat.config import Settings
    from logchat.storage.db import Session, Store

_M = TypeVar("_M", bound=Callable[..., Any])
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


def is_valid_username(name: str) -> bool:
    return _USERNAME.fullmatch(name) is not None


def normalize_username(username: str) -> str:
    """Lower-case and validate a user name for storing; raise UsageError naming the rule."""
    name = username.strip().lower()
    if not is_valid_username(name):
        raise UsageError(
            f"invalid user name {username!r}: use 1-64 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class UserInfo:
    """An account as front ends see it: never the password hash."""

    id: int
    username: str
    role: Role
    enabled: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime
    last_login_at: datetime | None

    @classmethod
    def from_row(cls, user: User) -> UserInfo:
        return cls(
            id=user.id,
            username=user.username,
            role=Role(user.role),
            enabled=user.enabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
            password_changed_at=user.password_changed_at,
            last_login_at=user.last_login_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role.value,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "password_changed_at": self.password_changed_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


def _audited(action: str, detail: Callable[..., dict[str, Any]] | None = None) -> Callable[[_M], _M]:
    """Record an account change in the audit trail with its outcome: ``ok``, or ``failed`` with the
    reason (the last admin kept, an unknown user). ``detail`` gets the method's arguments after the
    user name and says what changed; it never sees a password (the lambdas name what they keep)."""

    def wrap(method: _M) -> _M:
        @functools.wraps(method)
        def audited(self: AccountService, username: str, *args: Any, **kwargs: Any) -> Any:
            from logchat.services import audit

            facts = detail(*args, **kwargs) if detail else None
            target = username.strip().lower()[:64]
            try:
                result = method(self, username, *args, **kwargs)
            except (StoreBusy, StoreError):
                raise  # the store could not take the change, nor would it take the entry now
            except LogchatError as exc:
                audit.record(self._store, action, target=target, outcome=audit.FAILED,
                             detail={**(facts or {}), "error": exc.message})
                raise
            audit.record(self._store, action, target=target, detail=facts)
            return result

        return audited  # type: ignore[return-value]

    return wrap


class AccountService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        passwords: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._min_password_length = settings.auth.min_password_length
        self._passwords = passwords or PasswordHasher()
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    @contextmanager
    def _writing(self, what: str) -> Iterator[Session]:
        """A transaction that writes: it waits its turn behind other writers (a bounded wait that
        ends in StoreBusy) instead of failing half-way with "database is locked"."""
        with busy_means_try_again(what), self._store.session() as session:
            begin_write(session)
            yield session

    @contextmanager
    def _taking_admin_away(self, what: str) -> Iterator[Session]:
        """A transaction for a change that can leave fewer enabled admins. It holds the store's
        admin-change lock from its first statement, so the last-admin check and the change it allows
        are one atomic step: two admins demoting each other cannot both pass the check."""
        with busy_means_try_again(what), self._store.session() as session:
            auth_repo.lock_admin_changes(session)
            yield session

    # --- reading ---------------------------------------------------------------------------------

    def list_users(self) -> list[UserInfo]:
        with self._store.session() as session:
            return [UserInfo.from_row(user) for user in auth_repo.list_users(session)]

    def get_user(self, username: str) -> UserInfo:
        with self._store.session() as session:
            return UserInfo.from_row(_require_user(session, username))

    def has_enabled_admin(self) -> bool:
        with self._store.session() as session:
            return auth_repo.count_enabled_admins(session) > 0

    def check_new_password(self, username: str, password: str) -> None:
        """Raise InvalidPassword if ``password`` breaks the policy (before any slow hashing)."""
        check_password_policy(password, min_length=self._min_password_length, username=username)

    # --- changing --------------------------------------------------------------------------------

    @_audited("user.create", lambda password, role=Role.VIEWER: {"role": str(getattr(role, "value", role))})
    def add_user(self, username: str, password: str, role: Role | str = Role.VIEWER) -> UserInfo:
        name = normalize_username(username)
        role = parse_role(role)
        self.check_new_password(name, password)
        with self._store.session() as session:
            if auth_repo.get_user_by_name(session, name) is not None:
                raise _exists(name)
        password_hash = self._passwords.hash(password)
        now = self._now()
        try:
            with self._writing(f"add user {name!r}") as session:
                user = auth_repo.add_user(
                    session,
                    User(
                        username=name, password_hash=password_hash, role=role.value, enabled=True, token_version=0,
                        created_at=now, updated_at=now, password_changed_at=now,
                    ),
                )
                return UserInfo.from_row(user)
        except auth_repo.UsernameTaken:
            # Someone added the same name while the password was being hashed.
            raise _exists(name) from None

    def set_role(self, username: str, role: Role | str) -> UserInfo:
        return self.update_user(username, role=role)

    @_audited("user.update", lambda role=None, enabled=None: {
        key: value for key, value in (("role", str(getattr(role, "value", role)) if role is not None else None),
                                      ("enabled", enabled)) if value is not None})
    def update_user(self, username: str, *, role: Role | str | None = None, enabled: bool | None = None) -> UserInfo:
        """Change the role and/or the enabled flag in one transaction: both apply or neither does,
        and the last enabled admin is kept whatever the combination."""
        new_role = parse_role(role) if role is not None else None
        actions = ([f"change the role of {username!r}"] if new_role is not None else []) + (
            [f"disable {username!r}"] if enabled is False else []
        )
        with self._taking_admin_away(" and ".join(actions) or f"change {username!r}") as session:
            user = _require_user(session, username)
            role_after = new_role or Role(user.role)
            enabled_after = user.enabled if enabled is None else enabled
            if user.role == Role.ADMIN and user.enabled and not (role_after == Role.ADMIN and enabled_after):
                taken_away = ([f"change the role of {user.username!r}"] if role_after != Role.ADMIN else []) + (
                    [f"disable {user.username!r}"] if not enabled_after else []
                )
                _keep_one_admin(session, user, " and ".join(taken_away))
            changed = False
            if role_after != user.role:
                # No token change needed: every request reads the current role from the store.
                user.role = role_after.value
                changed = True
            if enabled_after != user.enabled:
                user.enabled = enabled_after
                if not enabled_after:
                    # Tokens already out stop working now, and stay dead if the account is enabled again.
                    user.token_version += 1
                changed = True
            if changed:
                user.updated_at = self._now()
            return UserInfo.from_row(user)

    @_audited("user.password")
    def change_password(self, username: str, new_password: str, *, current_password: str | None = None) -> UserInfo:
        """Set a new password and sign the user out everywhere. With ``current_password`` (a user
        changing their own password) that must match first."""
        with self._store.session() as session:
            user = _require_user(session, username)
        self.check_new_password(user.username, new_password)
        if current_password is not None:
            matches, _ = self._passwords.verify(current_password, user.password_hash)
            if not matches:
                raise InvalidCredentials("the current password is wrong")
        password_hash = self._passwords.hash(new_password)
        with self._writing(f"change the password of {user.username!r}") as session:
            user = auth_repo.get_user_by_id(session, user.id)
            if user is None:
                raise _not_found(username)
            now = self._now()
            user.password_hash = password_hash
            user.password_changed_at = now
            user.updated_at = now
            user.token_version += 1
            return UserInfo.from_row(user)

    def disable_user(self, username: str) -> UserInfo:
        return self.update_user(username, enabled=False)

    @_audited("user.update", lambda: {"enabled": True})
    def enable_user(self, username: str) -> UserInfo:
        with self._writing(f"enable {username!r}") as session:
            user = _require_user(session, username)
            if not user.enabled:
                user.enabled = True
                user.updated_at = self._now()
            return UserInfo.from_row(user)

    @_audited("user.sign_out")
    def sign_out_everywhere(self, username: str) -> UserInfo:
        """Invalidate every token of the user (all devices) without touching the password."""
        with self._writing(f"sign out {username!r}") as session:
            user = _require_user(session, username)
            user.token_version += 1
            user.updated_at = self._now()
            return UserInfo.from_row(user)

    @_audited("user.delete")
    def remove_user(self, username: str) -> None:
        with self._taking_admin_away(f"remove {username!r}") as session:
            user = _require_user(session, username)
            if user.role == Role.ADMIN and user.enabled:
                _keep_one_admin(session, user, f"remove {user.username!r}")
            auth_repo.delete_user(session, user)


def _require_user(session: Session, username: str) -> User:
    name = username.strip().lower()
    # A name that could never have been stored is not looked up (PostgreSQL refuses NUL bytes).
    user = auth_repo.get_user_by_name(session, name) if is_valid_username(name) else None
    if user is None:
        raise _not_found(username)
    return user


def _keep_one_admin(session: Session, user: User, action: str) -> None:
    # Only sound inside _taking_admin_away: without the lock another transaction could be taking
    # away the admin counted here.
    if auth_repo.count_enabled_admins(session, excluding=user.id) == 0:
        raise Conflict(
            f"cannot {action}: it is the last enabled admin",
            hint="add another admin first: logchat users add NAME --role admin",
        )


def _not_found(username: str) -> NotFound:
    return NotFound(f"no such user: {username!r}", hint="see the accounts with: logchat users list")


def _exists(name: str) -> Conflict:
    return Conflict(f"user {name!r} already exists", hint=f"change its password with: logchat users passwd {name}")
