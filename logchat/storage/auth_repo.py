"""Queries for accounts, failed logins, token revocations and login throttling."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logchat.errors import Conflict
from logchat.storage.models import LoginFailure, LoginThrottle, TokenRevocation, User
from logchat.storage.transactions import begin_write


class UsernameTaken(Conflict):
    """Another account already holds the user name."""


def _insert(session: Session, model: type[Any]) -> Any:
    # INSERT ... ON CONFLICT is spelled the same on both backends but built by dialect-specific
    # constructs in SQLAlchemy.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


# --- users ---------------------------------------------------------------------------------------


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def add_user(session: Session, user: User) -> User:
    """Insert ``user``; raise UsernameTaken when the name is held, even by a concurrent insert."""
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise UsernameTaken(f"user {user.username!r} already exists") from exc
    return user


def delete_user(session: Session, user: User) -> None:
    session.delete(user)
    session.flush()


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


# The key space of the lock below (two-int advisory keys never collide with the ingest lock's one-int keys).
_ADMIN_CHANGES_LOCK_SPACE = 0x6C63_6164  # "lcad"


def lock_admin_changes(session: Session) -> None:
    """Make ``session`` the only transaction that may take an enabled admin away, until it ends.

    Call it before anything else in the transaction; everything read afterwards is current and
    stays so. The last-admin rule is about a set of rows ("at least one enabled admin"), so
    locking the row being changed is not enough: two admins disabling each other each lock only
    their own target and each still count the other. So every change that can leave fewer enabled
    admins (demote, disable, remove) takes one lock per store, and changes that only add admins
    (add, enable, promote) need none, because they can only make a check err on the safe side.

    SQLite: the database write lock (``BEGIN IMMEDIATE``), which serialises all writers anyway.
    PostgreSQL: a transaction-level advisory lock keyed by the ``users`` table of this schema (two
    stores in one database do not block each other). Not SELECT ... FOR UPDATE over the enabled
    admins: READ COMMITTED re-checks only the rows it found, so a row that becomes an enabled
    admin after the lock (enable, promote) would be counted without being locked. Not SERIALIZABLE:
    it needs a retry loop around every caller and still fails transactions that did not conflict.
    Both waits are bounded (``WRITE_WAIT_SECONDS``); wrap the transaction in
    ``transactions.busy_means_try_again`` to report running out of it as StoreBusy.
    """
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, CAST(CAST(CAST('users' AS regclass) AS oid) AS integer))"),
            {"space": _ADMIN_CHANGES_LOCK_SPACE},
        )


def count_enabled_admins(session: Session, *, excluding: int | None = None) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin", User.enabled.is_(True))
    if excluding is not None:
        query = query.where(User.id != excluding)
    return session.scalar(query) or 0


# --- failed logins -------------------------------------------------------------------------------


def record_login_failure(
    session: Session,
    *,
    username: str,
    user_id: int | None,
    client_address: str | None,
    reason: str,
    occurred_at: datetime,
) -> None:
    session.add(
        LoginFailure(
            username=username[:64],
            user_id=user_id,
            client_address=client_address[:64] if client_address else None,
            reason=reason,
            occurred_at=occurred_at,
        )
    )


def login_failures(
    session: Session, *, username: str | None = None, since: datetime | None = None, limit: int = 100
) -> list[LoginFailure]:
    """Newest first."""
    query = select(LoginFailure)
    if username is not None:
        query = query.where(LoginFailure.username == username)
    if since is not None:
        query = query.where(LoginFailure.occurred_at >= since)
    return list(session.scalars(query.order_by(LoginFailure.occurred_at.desc(), LoginFailure.id.desc()).limit(limit)))


# --- token revocations ---------------------------------------------------------------------------


def revoke_token(session: Session, kind: str, token_id: str, *, expires_at: datetime, now: datetime) -> None:
    statement = _insert(session, TokenRevocation).values(
        kind=kind, token_id=token_id, expires_at=expires_at, created_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[TokenRevocation.kind, TokenRevocation.token_id],
        set_={"expires_at": statement.excluded.expires_at},
    )
    session.execute(statement)


def claim_token(session: Session, kind: str, token_id: str, *, expires_at: datetime, now: datetime) -> bool:
    """Record (kind, token_id) once. True for the first caller, False for every later one, even
    when two transactions race: the primary key decides."""
    statement = (
        _insert(session, TokenRevocation)
        .values(kind=kind, token_id=token_id, expires_at=expires_at, created_at=now)
        .on_conflict_do_nothing(index_elements=[TokenRevocation.kind, TokenRevocation.token_id])
        .returning(TokenRevocation.token_id)
    )
    # RETURNING rather than rowcount: the ORM's insert path does not report rowcount on every driver.
    return session.execute(statement).first() is not None


def any_token_revoked(session: Session, keys: Iterable[tuple[str, str]]) -> bool:
    pairs = list(keys)
    if not pairs:
        return False
    query = select(TokenRevocation.kind).where(
        tuple_(TokenRevocation.kind, TokenRevocation.token_id).in_(pairs)
    ).limit(1)
    return session.execute(query).first() is not None


def purge_token_revocations(session: Session, now: datetime) -> int:
    return session.execute(delete(TokenRevocation).where(TokenRevocation.expires_at <= now)).rowcount or 0


# --- login throttling ----------------------------------------------------------------------------


def throttle_locks(session: Session, keys: Iterable[str], now: datetime) -> dict[str, datetime]:
    """Locks still in force for ``keys``: key -> locked until."""
    query = select(LoginThrottle.key, LoginThrottle.locked_until).where(
        LoginThrottle.key.in_(list(keys)),
        LoginThrottle.locked_until.is_not(None),
        LoginThrottle.locked_until > now,
    )
    return {key: until for key, until in session.execute(query)}


def count_throttle_failure(session: Session, key: str, *, now: datetime, forget_after: datetime) -> int:
    """Add one failure to ``key`` atomically and return the new count; a counter whose quiet window
    has passed starts again from one. The row stays locked until the transaction ends."""
    expired = LoginThrottle.expires_at <= now
    statement = _insert(session, LoginThrottle).values(key=key, failures=1, locked_until=None, expires_at=forget_after)
    statement = statement.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failures": case((expired, 1), else_=LoginThrottle.failures + 1),
            "locked_until": case((expired, None), else_=LoginThrottle.locked_until),
            "expires_at": statement.excluded.expires_at,
        },
    ).returning(LoginThrottle.failures)
    return int(session.execute(statement).scalar_one())


def set_throttle_lock(session: Session, key: str, *, locked_until: datetime | None, forget_after: datetime) -> None:
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(locked_until=locked_until, expires_at=forget_after)
    )


def clear_throttle(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def purge_throttle(session: Session, now: datetime) -> int:
    stale = and_(LoginThrottle.expires_at <= now, or_(LoginThrottle.locked_until.is_(None),
                                                       LoginThrottle.locked_until <= now))
    return session.execute(delete(LoginThrottle).where(stale)).rowcount or 0
