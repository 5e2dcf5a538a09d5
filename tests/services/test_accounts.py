"""Account management: names, roles, passwords, enable/disable/remove, and the last-admin guard."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import delete, update

from logchat.auth.passwords import PasswordHasher
from logchat.auth.permissions import Role
from logchat.errors import Conflict, InvalidCredentials, InvalidPassword, NotFound, UsageError
from logchat.services.accounts import AccountService, UserInfo, normalize_username
from logchat.storage import auth_repo
from logchat.storage.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


@pytest.fixture(scope="module")
def password_hash(hasher: PasswordHasher) -> str:
    # Hashed once for the module: most tests need accounts, not the cost of making them.
    return hasher.hash(PASSWORD)


@pytest.fixture
def accounts(store, settings, hasher: PasswordHasher) -> AccountService:  # type: ignore[no-untyped-def]
    return AccountService(store, settings, passwords=hasher)


@pytest.fixture
def seed(store, password_hash: str):  # type: ignore[no-untyped-def]
    """Insert an account with the module's password, without hashing again."""

    def add(name: str, role: str = "viewer", *, enabled: bool = True) -> None:
        now = datetime.now(UTC)
        with store.session() as session:
            auth_repo.add_user(
                session,
                User(username=name, password_hash=password_hash, role=role, enabled=enabled, token_version=0,
                     created_at=now, updated_at=now, password_changed_at=now),
            )

    return add


def stored_hash(store, name: str) -> str:  # type: ignore[no-untyped-def]
    with store.session() as session:
        user = auth_repo.get_user_by_name(session, name)
        assert user is not None
        return user.password_hash


def token_version(store, name: str) -> int:  # type: ignore[no-untyped-def]
    with store.session() as session:
        user = auth_repo.get_user_by_name(session, name)
        assert user is not None
        return user.token_version


@pytest.mark.parametrize(("given", "stored"), [("Ops-Admin", "ops-admin"), (" jdoe ", "jdoe"), ("a.b_c@d", "a.b_c@d")])
def test_user_names_are_stored_lower_case(given: str, stored: str) -> None:
    assert normalize_username(given) == stored


@pytest.mark.parametrize("bad", ["", "-dash", "with space", "x" * 65, "naïve", "semi;colon"])
def test_invalid_user_names_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid user name") as info:
        normalize_username(bad)
    assert info.value.exit_code == 2


def test_add_user_hashes_with_argon2id_and_never_exposes_the_hash(accounts: AccountService, store) -> None:  # type: ignore[no-untyped-def]
    user = accounts.add_user("Ops-Admin", PASSWORD, "admin")
    assert (user.username, user.role, user.enabled, user.last_login_at) == ("ops-admin", Role.ADMIN, True, None)
    assert user.created_at.utcoffset() == timedelta(0)
    assert stored_hash(store, "ops-admin").startswith("$argon2id$")
    as_dict = user.to_dict()
    assert "password_hash" not in as_dict and PASSWORD not in str(as_dict)
    assert as_dict["role"] == "admin" and as_dict["last_login_at"] is None
    assert accounts.get_user("OPS-ADMIN") == user


def test_the_default_role_is_viewer(accounts: AccountService) -> None:
    assert accounts.add_user("jdoe", PASSWORD).role is Role.VIEWER


def test_a_name_can_be_added_once_whatever_its_case(accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    with pytest.raises(Conflict, match="user 'jdoe' already exists"):
        accounts.add_user("JDOE", PASSWORD)


def test_a_short_password_is_refused_before_anything_is_stored(accounts: AccountService) -> None:
    with pytest.raises(InvalidPassword, match="password too short: 5 characters, at least 10 required"):
        accounts.add_user("jdoe", "short")
    assert accounts.list_users() == []


def test_the_minimum_length_comes_from_the_settings(store, settings, hasher: PasswordHasher) -> None:  # type: ignore[no-untyped-def]
    strict = settings.model_copy(update={"auth": settings.auth.model_copy(update={"min_password_length": 40})})
    with pytest.raises(InvalidPassword, match="at least 40 required"):
        AccountService(store, strict, passwords=hasher).add_user("jdoe", PASSWORD)


def test_an_unknown_role_is_refused(accounts: AccountService) -> None:
    with pytest.raises(UsageError, match="unknown role 'root'"):
        accounts.add_user("jdoe", PASSWORD, "root")


def test_list_users_is_sorted_by_name(accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    for name in ("zed", "amy", "mia"):
        seed(name)
    users = accounts.list_users()
    assert [u.username for u in users] == ["amy", "mia", "zed"]
    assert all(isinstance(u, UserInfo) for u in users)


def test_unknown_users_are_not_found(accounts: AccountService) -> None:
    for action in (accounts.get_user, accounts.disable_user, accounts.enable_user, accounts.remove_user):
        with pytest.raises(NotFound, match="no such user: 'ghost'") as info:
            action("ghost")
        assert info.value.exit_code == 1
    with pytest.raises(NotFound):
        accounts.set_role("ghost", "admin")
    with pytest.raises(NotFound):
        accounts.change_password("ghost", "another long password")
    with pytest.raises(NotFound, match="no such user"):
        accounts.get_user("nul\x00byte")


def test_set_role_changes_the_role(accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("root", "admin")
    seed("jdoe")
    assert accounts.set_role("jdoe", "Analyst").role is Role.ANALYST
    assert accounts.get_user("jdoe").role is Role.ANALYST


def test_the_last_enabled_admin_cannot_be_demoted_disabled_or_removed(accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("root", "admin")
    seed("old-admin", "admin", enabled=False)
    for action, verb in (
        (lambda: accounts.set_role("root", "viewer"), "change the role of 'root'"),
        (lambda: accounts.disable_user("root"), "disable 'root'"),
        (lambda: accounts.remove_user("root"), "remove 'root'"),
    ):
        with pytest.raises(Conflict, match=f"cannot {verb}: it is the last enabled admin"):
            action()
    # A disabled admin is no admin to fall back on, but may itself be changed freely.
    accounts.set_role("old-admin", "viewer")
    seed("second", "admin")
    accounts.disable_user("root")
    accounts.remove_user("root")
    assert accounts.has_enabled_admin()


def test_disable_and_enable(accounts: AccountService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    before = token_version(store, "jdoe")
    assert accounts.disable_user("jdoe").enabled is False
    assert token_version(store, "jdoe") == before + 1  # tokens already issued stop working
    assert accounts.disable_user("jdoe").enabled is False  # again: no change
    assert token_version(store, "jdoe") == before + 1
    assert accounts.enable_user("jdoe").enabled is True
    assert token_version(store, "jdoe") == before + 1  # ... and stay dead after enabling


def test_remove_user(accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    accounts.remove_user("JDoe")
    assert accounts.list_users() == []


def test_change_password(accounts: AccountService, store, seed, hasher: PasswordHasher) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    before = accounts.get_user("jdoe")
    new_password = "a completely new passphrase"
    after = accounts.change_password("jdoe", new_password)
    assert after.password_changed_at >= before.password_changed_at
    assert token_version(store, "jdoe") == 1
    assert hasher.verify(new_password, stored_hash(store, "jdoe"))[0]
    assert not hasher.verify(PASSWORD, stored_hash(store, "jdoe"))[0]


def test_change_password_checks_the_policy_and_the_current_password(accounts: AccountService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jane.doe.ops")
    original = stored_hash(store, "jane.doe.ops")
    with pytest.raises(InvalidPassword, match="password must not be the user name"):
        accounts.change_password("jane.doe.ops", "Jane.Doe.Ops")
    with pytest.raises(InvalidCredentials, match="the current password is wrong"):
        accounts.change_password("jane.doe.ops", "a completely new passphrase", current_password="not it at all")
    assert stored_hash(store, "jane.doe.ops") == original
    accounts.change_password("jane.doe.ops", "a completely new passphrase", current_password=PASSWORD)
    assert stored_hash(store, "jane.doe.ops") != original


def test_sign_out_everywhere_bumps_the_token_version(accounts: AccountService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    accounts.sign_out_everywhere("jdoe")
    accounts.sign_out_everywhere("jdoe")
    assert token_version(store, "jdoe") == 2


# --- the last-admin rule under concurrency ------------------------------------------------------

RACE_ROUNDS = 20
# What each admin does to the other, at the same moment: every way of taking away an enabled admin.
TAKE_AWAY: dict[str, Callable[[AccountService, str], object]] = {
    "demote": lambda accounts, name: accounts.set_role(name, "analyst"),
    "disable": lambda accounts, name: accounts.disable_user(name),
    "remove": lambda accounts, name: accounts.remove_user(name),
}


def enabled_admins(store) -> list[str]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return sorted(u.username for u in auth_repo.list_users(session) if u.role == "admin" and u.enabled)


def race(*actions: Callable[[], object]) -> list[BaseException | None]:
    """Run ``actions`` in threads released together by a barrier; return what each raised."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except BaseException as exc:  # reported to the test thread
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)  # a hang guard, not a timing assertion
        assert not thread.is_alive(), "a concurrent account change hung"
    return outcomes


@pytest.mark.parametrize(
    ("first", "second"),
    [("demote", "demote"), ("disable", "disable"), ("remove", "remove"), ("demote", "disable"), ("disable", "remove")],
)
def test_two_admins_taking_each_other_away_at_once_leave_one_enabled_admin(  # type: ignore[no-untyped-def]
    store, settings, hasher: PasswordHasher, seed, first: str, second: str
) -> None:
    # One store shared by threads, a session per call: how the daemon calls the service.
    accounts = AccountService(store, settings, passwords=hasher)
    for round_ in range(RACE_ROUNDS):
        alice, bob = f"alice{round_}", f"bob{round_}"
        seed(alice, "admin")
        seed(bob, "admin")
        outcomes = race(
            partial(TAKE_AWAY[first], accounts, bob),  # alice takes bob away ...
            partial(TAKE_AWAY[second], accounts, alice),  # ... while bob takes alice away
        )
        survivors = enabled_admins(store)
        assert len(survivors) == 1, f"round {round_}: enabled admins left: {survivors}, outcomes {outcomes}"
        failures = [exc for exc in outcomes if exc is not None]
        assert len(failures) == 1 and isinstance(failures[0], Conflict), f"round {round_}: {outcomes}"
        assert "it is the last enabled admin" in str(failures[0])
        # Leave no admin of this round behind for the next one to fall back on.
        with store.session() as session:
            session.execute(delete(User))


@contextmanager
def writer_holding(store, username: str):  # type: ignore[no-untyped-def]
    """Another transaction that writes to ``username``'s row and has not committed yet: it holds the
    SQLite write lock, or the PostgreSQL row lock."""
    with store.engine.connect() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.execute(update(User).where(User.username == username).values(updated_at=datetime.now(UTC)))
        yield
        conn.commit()


def test_an_account_change_waits_for_another_writer_instead_of_failing(accounts: AccountService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("root", "admin")
    seed("jdoe", "admin")
    with writer_holding(store, "jdoe"):
        outcome: list[BaseException | None] = []
        changer = threading.Thread(target=lambda: outcome.append(capture(accounts.disable_user, "jdoe")), daemon=True)
        changer.start()
        changer.join(timeout=0.5)  # give it time to start waiting; it may not finish while the writer is open
        assert outcome == []
    changer.join(timeout=60)
    assert outcome == [None]
    assert enabled_admins(store) == ["root"]


def capture(action: Callable[..., object], *args: object) -> BaseException | None:
    try:
        action(*args)
    except BaseException as exc:
        return exc
    return None
