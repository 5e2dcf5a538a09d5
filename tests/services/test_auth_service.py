"""Sign-in, tokens, logout, throttling and permission checks through the service both front ends use.

Every test runs on the three deployments: SQLite alone (the default), PostgreSQL alone, and PostgreSQL
with Redis holding the revocation and throttle state. (Each state backend is tested against every
database in tests/auth/; here the point is the service on top.)
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import bcrypt
import jwt
import pytest
from pydantic import SecretStr

from logchat.auth.passwords import PasswordHasher
from logchat.auth.permissions import Role
from logchat.config import RedisSettings
from logchat.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidPassword,
    PermissionDenied,
    StoreError,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    TooManyAttempts,
)
from logchat.services.accounts import AccountService, UserInfo
from logchat.services.auth import (
    BAD_CREDENTIALS,
    AccessMode,
    AuthService,
    NoAdminAccount,
    Principal,
    ensure_admin_exists,
)
from logchat.storage import auth_repo
from logchat.storage.models import User

PASSWORD = "correct horse battery staple"


# Tests whose cost is password hashing run on the two ends only: the embedded default and the
# scale-out deployment (the state backends below them are tested on every database in tests/auth/).
HASHING_DEPLOYMENTS = pytest.mark.parametrize("deployment", ["sqlite", "postgresql+redis"], indirect=True)


class ManualClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingHasher(PasswordHasher):
    """The real hasher, noting which kind of verification each sign-in cost."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        self.calls.append("verify")
        return super().verify(password, stored_hash)

    def verify_dummy(self, password: str) -> None:
        self.calls.append("verify_dummy")
        super().verify_dummy(password)


@pytest.fixture(scope="module")
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture(scope="module")
def password_hash(hasher: CountingHasher) -> str:
    return hasher.hash(PASSWORD)


@pytest.fixture(params=["sqlite", "postgresql", "postgresql+redis"])
def deployment(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(deployment: str, data_dir, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    # Overrides the shared fixture, so that `settings` and `store` follow the deployment.
    if deployment == "sqlite":
        return f"sqlite:///{data_dir / 'logchat.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def auth_settings(deployment: str, request: pytest.FixtureRequest, settings):  # type: ignore[no-untyped-def]
    if not deployment.endswith("+redis"):
        return settings
    redis = RedisSettings(url=request.getfixturevalue("redis_url"), key_prefix=request.getfixturevalue("redis_prefix"))
    return settings.model_copy(update={"redis": redis})


@pytest.fixture
def make_service(auth_settings, store, hasher: CountingHasher):  # type: ignore[no-untyped-def]
    made: list[AuthService] = []

    def make(*, settings=None, **kwargs) -> AuthService:  # type: ignore[no-untyped-def]
        kwargs.setdefault("passwords", hasher)
        service = AuthService(settings or auth_settings, store, **kwargs)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


@pytest.fixture
def auth(make_service) -> AuthService:  # type: ignore[no-untyped-def]
    return make_service()


@pytest.fixture
def seed(store, password_hash: str):  # type: ignore[no-untyped-def]
    def add(name: str, role: str = "viewer", *, enabled: bool = True, hash_: str | None = None) -> UserInfo:
        now = datetime.now(UTC)
        with store.session() as session:
            user = auth_repo.add_user(
                session,
                User(username=name, password_hash=hash_ or password_hash, role=role, enabled=enabled,
                     token_version=0, created_at=now, updated_at=now, password_changed_at=now),
            )
            return UserInfo.from_row(user)

    return add


@pytest.fixture
def accounts(store, settings, hasher: CountingHasher) -> AccountService:  # type: ignore[no-untyped-def]
    return AccountService(store, settings, passwords=hasher)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def failures(store, name: str) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return [(f.reason, f.client_address) for f in reversed(auth_repo.login_failures(session, username=name))]


# --- signing in -----------------------------------------------------------------------------------


def test_login_issues_tokens_that_verify(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe", "analyst")
    pair = auth.login("JDoe", PASSWORD, client_address="10.0.0.1")
    body = pair.to_dict()
    assert body["token_type"] == "Bearer" and body["role"] == "analyst" and body["username"] == "jdoe"
    assert body["expires_in"] == 900 and body["refresh_expires_in"] == 14 * 24 * 3600
    payload = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert {"jti", "sub", "role", "exp", "iat"} <= set(payload)
    assert payload["exp"] - payload["iat"] == 900
    principal = auth.verify(pair.access_token)
    assert (principal.username, principal.role) == ("jdoe", Role.ANALYST)
    assert principal.token_id == payload["jti"]
    assert principal.can("logs:reload") and not principal.can("users:manage")
    assert auth.accounts.get_user("jdoe").last_login_at is not None


@HASHING_DEPLOYMENTS
def test_wrong_password_and_unknown_user_get_the_same_answer_after_the_same_work(
    auth: AuthService, seed, hasher: CountingHasher  # type: ignore[no-untyped-def]
) -> None:
    seed("jdoe")
    answers = []
    for name, password in (("jdoe", "not the password"), ("nobody", PASSWORD)):
        hasher.calls.clear()
        with pytest.raises(InvalidCredentials) as info:
            auth.authenticate(name, password)
        answers.append((type(info.value), str(info.value), info.value.http_status, info.value.code))
        # One full password verification either way: the response time is of the same class.
        assert len(hasher.calls) == 1
    assert answers[0] == answers[1] == (InvalidCredentials, BAD_CREDENTIALS, 401, "invalid_credentials")


@HASHING_DEPLOYMENTS
def test_a_name_that_cannot_exist_is_an_unknown_user(auth: AuthService, store, hasher: CountingHasher) -> None:  # type: ignore[no-untyped-def]
    hasher.calls.clear()
    with pytest.raises(InvalidCredentials, match=BAD_CREDENTIALS):
        auth.authenticate("ro\x00ot" + "x" * 500, PASSWORD, client_address="10.0.0.1\x00")
    assert hasher.calls == ["verify_dummy"]
    assert failures(store, ("ro\ufffdot" + "x" * 500)[:64]) == [("unknown_user", "10.0.0.1\ufffd")]


@HASHING_DEPLOYMENTS
def test_failed_logins_are_recorded_with_their_reason(auth: AuthService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe")
    seed("gone", enabled=False)
    for name, password in (("jdoe", "wrong password"), ("nobody", "whatever it is"), ("gone", PASSWORD)):
        with pytest.raises((InvalidCredentials, AccountDisabled)):
            auth.authenticate(name, password, client_address="192.0.2.7")
    assert failures(store, "jdoe") == [("wrong_password", "192.0.2.7")]
    assert failures(store, "nobody") == [("unknown_user", "192.0.2.7")]
    assert failures(store, "gone") == [("disabled", "192.0.2.7")]


@HASHING_DEPLOYMENTS
def test_a_disabled_account_cannot_sign_in(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("jdoe", enabled=False)
    with pytest.raises(AccountDisabled, match="account 'jdoe' is disabled") as info:
        auth.login("jdoe", PASSWORD)
    assert info.value.http_status == 403
    # Without the password it is just a failed sign-in: nothing tells a guesser the account exists.
    with pytest.raises(InvalidCredentials, match=BAD_CREDENTIALS):
        auth.login("jdoe", "wrong password")


@HASHING_DEPLOYMENTS
def test_a_legacy_bcrypt_hash_is_replaced_by_argon2id_on_login(auth: AuthService, store, seed) -> None:  # type: ignore[no-untyped-def]
    seed("old-timer", hash_=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode())
    auth.login("old-timer", PASSWORD)
    with store.session() as session:
        user = auth_repo.get_user_by_name(session, "old-timer")
        assert user is not None and user.password_hash.startswith("$argon2id$")
    auth.login("old-timer", PASSWORD)  # and the new hash works


# --- throttling -----------------------------------------------------------------------------------


@pytest.fixture
def throttled(make_service, auth_settings):  # type: ignore[no-untyped-def]
    clock = ManualClock()
    policy = {"max_failed_logins": 2, "max_failed_logins_per_address": 3, "lockout_seconds": 60.0}
    settings = auth_settings.model_copy(update={"auth": auth_settings.auth.model_copy(update=policy)})
    return make_service(settings=settings, clock=clock), clock


@HASHING_DEPLOYMENTS
def test_repeated_failures_lock_the_user_name_even_for_the_right_password(
    throttled, seed, store, hasher: CountingHasher  # type: ignore[no-untyped-def]
) -> None:
    auth, clock = throttled
    seed("jdoe")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            auth.authenticate("jdoe", "wrong password")
    hasher.calls.clear()
    with pytest.raises(TooManyAttempts, match="too many failed sign-ins: try again in 60 s") as info:
        auth.authenticate("jdoe", PASSWORD)
    assert info.value.http_status == 429 and info.value.retry_after == pytest.approx(60)
    assert hasher.calls == []  # a locked name costs no hashing
    assert failures(store, "jdoe")[-1] == ("throttled", None)
    clock.advance(61)
    auth.authenticate("jdoe", PASSWORD)
    # Success forgets the failures: a new failure does not lock at once.
    with pytest.raises(InvalidCredentials):
        auth.authenticate("jdoe", "wrong password")
    auth.authenticate("jdoe", PASSWORD)


@HASHING_DEPLOYMENTS
def test_unknown_names_are_throttled_like_real_ones(throttled) -> None:  # type: ignore[no-untyped-def]
    auth, _ = throttled
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            auth.authenticate("nobody", "wrong password")
    with pytest.raises(TooManyAttempts):
        auth.authenticate("nobody", "wrong password")


@HASHING_DEPLOYMENTS
def test_one_address_guessing_many_names_is_throttled(throttled, seed) -> None:  # type: ignore[no-untyped-def]
    auth, clock = throttled
    seed("victim")
    for i in range(3):
        with pytest.raises(InvalidCredentials):
            auth.authenticate(f"user{i}", "guess number one", client_address="203.0.113.5")
    with pytest.raises(TooManyAttempts):
        auth.authenticate("victim", PASSWORD, client_address="203.0.113.5")
    # Another address is not affected, nor is the victim's own name.
    auth.authenticate("victim", PASSWORD, client_address="198.51.100.1")
    clock.advance(61)
    auth.authenticate("victim", PASSWORD, client_address="203.0.113.5")


# --- tokens ---------------------------------------------------------------------------------------


def test_an_expired_access_token_is_refused(make_service, auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    yesterday = make_service(clock=lambda: time.time() - 86_400 * 15)
    pair = yesterday.issue(user)
    with pytest.raises(TokenExpired, match="access token expired") as info:
        auth.verify(pair.access_token)
    assert info.value.http_status == 401
    with pytest.raises(TokenExpired, match="refresh token expired"):
        auth.refresh(pair.refresh_token)


def test_a_token_signed_with_another_key_is_refused(make_service, auth: AuthService, auth_settings, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    other_key = auth_settings.auth.model_copy(update={"jwt_secret": SecretStr("z" * 48)})
    other = auth_settings.model_copy(update={"auth": other_key})
    pair = make_service(settings=other).issue(user)
    with pytest.raises(TokenInvalid, match="invalid access token"):
        auth.verify(pair.access_token)
    with pytest.raises(TokenInvalid, match="invalid refresh token"):
        auth.refresh(pair.refresh_token)


def test_rotating_the_secret_keeps_sign_ins_until_the_old_secret_is_dropped(make_service, auth_settings, seed) -> None:  # type: ignore[no-untyped-def]
    old_secret, new_secret = "o" * 48, "n" * 48

    def with_secrets(current: str, previous: list[str]):  # type: ignore[no-untyped-def]
        section = auth_settings.auth.model_copy(
            update={"jwt_secret": SecretStr(current), "jwt_previous_secrets": [SecretStr(p) for p in previous]})
        return auth_settings.model_copy(update={"auth": section})

    user = seed("jdoe")
    before = make_service(settings=with_secrets(old_secret, [])).issue(user)
    rotating = make_service(settings=with_secrets(new_secret, [old_secret]))
    assert rotating.verify(before.access_token).username == "jdoe"
    renewed = rotating.refresh(before.refresh_token)
    # The new pair is signed with the new secret only.
    for token in (renewed.access_token, renewed.refresh_token):
        jwt.decode(token, new_secret, algorithms=["HS256"], options={"verify_exp": False})
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, old_secret, algorithms=["HS256"], options={"verify_exp": False})

    rotated = make_service(settings=with_secrets(new_secret, []))
    assert rotated.verify(renewed.access_token).username == "jdoe"
    with pytest.raises(TokenInvalid, match="invalid access token"):
        rotated.verify(before.access_token)
    with pytest.raises(TokenInvalid, match="invalid refresh token"):
        rotated.refresh(make_service(settings=with_secrets(old_secret, [])).issue(user).refresh_token)


def test_alg_none_is_refused(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe", "admin")
    payload = jwt.decode(auth.issue(user).access_token, options={"verify_signature": False})
    with pytest.raises(TokenInvalid):
        auth.verify(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}.")


def test_a_tampered_payload_is_refused(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe", "viewer")
    header, payload_part, signature = auth.issue(user).access_token.split(".")
    payload = jwt.decode(f"{header}.{payload_part}.{signature}", options={"verify_signature": False})
    for change in ({"role": "admin"}, {"sub": "999"}, {"exp": payload["exp"] + 86_400}):
        with pytest.raises(TokenInvalid):
            auth.verify(f"{header}.{b64(payload | change)}.{signature}")


def test_a_refresh_token_is_not_an_access_token(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    pair = auth.issue(seed("jdoe"))
    with pytest.raises(TokenInvalid, match="a refresh token cannot be used as an access token"):
        auth.verify(pair.refresh_token)
    with pytest.raises(TokenInvalid, match="an access token cannot be used as a refresh token"):
        auth.refresh(pair.access_token)


def test_refresh_rotates_both_tokens(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    first = auth.issue(seed("jdoe"))
    second = auth.refresh(first.refresh_token)
    assert second.access_token != first.access_token and second.refresh_token != first.refresh_token
    assert auth.verify(second.access_token).username == "jdoe"
    third = auth.refresh(second.refresh_token)
    assert auth.verify(third.access_token).family == auth.verify(first.access_token).family


def test_a_reused_refresh_token_revokes_the_whole_sign_in(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    stolen = auth.issue(user)
    elsewhere = auth.issue(user)  # another device: another sign-in
    rotated = auth.refresh(stolen.refresh_token)
    with pytest.raises(TokenRevoked, match="refresh token already used"):
        auth.refresh(stolen.refresh_token)
    for token in (rotated.access_token, stolen.access_token):
        with pytest.raises(TokenRevoked):
            auth.verify(token)
    with pytest.raises(TokenRevoked, match="refresh token revoked"):
        auth.refresh(rotated.refresh_token)
    assert auth.verify(elsewhere.access_token).username == "jdoe"
    auth.refresh(elsewhere.refresh_token)


def test_logout_blacklists_the_access_token_and_revokes_its_refresh_token(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    pair = auth.issue(user)
    other = auth.issue(user)
    auth.revoke(pair.access_token, pair.refresh_token)
    with pytest.raises(TokenRevoked, match="token revoked") as info:
        auth.verify(pair.access_token)
    assert info.value.http_status == 401
    with pytest.raises(TokenRevoked):
        auth.refresh(pair.refresh_token)
    assert auth.verify(other.access_token).username == "jdoe"
    auth.revoke(pair.access_token)  # logging out twice is harmless


def test_logout_with_the_access_token_alone_ends_the_sign_in(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    pair = auth.issue(seed("jdoe"))
    auth.revoke(pair.access_token)
    with pytest.raises(TokenRevoked):
        auth.refresh(pair.refresh_token)


def test_logout_with_the_refresh_token_alone_ends_the_sign_in(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    pair = auth.issue(seed("jdoe"))
    auth.revoke(refresh_token=pair.refresh_token)
    with pytest.raises(TokenRevoked):
        auth.verify(pair.access_token)


def test_logout_with_an_expired_access_token_still_ends_the_sign_in(make_service, auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    pair = make_service(clock=lambda: time.time() - 3600).issue(user)  # access expired, refresh alive
    auth.revoke(pair.access_token)
    with pytest.raises(TokenRevoked):
        auth.refresh(pair.refresh_token)


def test_logout_refuses_tokens_of_two_users(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = auth.issue(seed("jdoe")), auth.issue(seed("alice"))
    with pytest.raises(TokenInvalid, match="different users"):
        auth.revoke(mine.access_token, theirs.refresh_token)
    assert auth.verify(theirs.access_token).username == "alice"


def test_logout_state_lives_in_the_configured_backend(auth: AuthService, auth_settings, store, seed) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from logchat.storage.models import TokenRevocation

    pair = auth.issue(seed("jdoe"))
    auth.revoke(pair.access_token)
    with store.session() as session:
        rows = session.scalar(select(func.count()).select_from(TokenRevocation))
    if auth_settings.redis.url:
        import redis

        client = redis.Redis.from_url(auth_settings.redis.url)
        keys = sorted(k.decode() for k in client.scan_iter(f"{auth_settings.redis.key_prefix}auth:*"))
        client.close()
        assert rows == 0
        assert [k.rsplit(":", 2)[-2] for k in keys] == ["access", "family"]
    else:
        assert rows == 2


# --- the account behind a token -------------------------------------------------------------------


def test_disabling_a_user_takes_effect_on_the_next_request(auth: AuthService, accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("root", "admin")
    pair = auth.issue(seed("jdoe"))
    accounts.disable_user("jdoe")
    with pytest.raises(AccountDisabled, match="account 'jdoe' is disabled"):
        auth.verify(pair.access_token)
    with pytest.raises(AccountDisabled):
        auth.refresh(pair.refresh_token)
    accounts.enable_user("jdoe")
    # Tokens from before the account was disabled stay dead.
    with pytest.raises(TokenRevoked):
        auth.verify(pair.access_token)
    with pytest.raises(TokenRevoked):
        auth.refresh(pair.refresh_token)
    assert auth.verify(auth.login("jdoe", PASSWORD).access_token).username == "jdoe"


def test_a_downgraded_role_takes_effect_on_the_next_request(auth: AuthService, accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    seed("root", "admin")
    pair = auth.issue(seed("boss", "admin"))
    auth.authorize(pair.access_token, "users:manage")
    accounts.set_role("boss", "viewer")
    principal = auth.verify(pair.access_token)
    assert principal.role is Role.VIEWER
    with pytest.raises(PermissionDenied) as info:
        auth.require(principal, "users:manage")
    assert str(info.value) == "permission denied: 'users:manage' needs role admin (you are viewer)"
    assert info.value.http_status == 403
    with pytest.raises(PermissionDenied, match="'logs:reload' needs role analyst or admin"):
        auth.authorize(pair.access_token, "logs:reload")
    # The refreshed token carries the new role too.
    refreshed = auth.refresh(pair.refresh_token)
    assert refreshed.role is Role.VIEWER
    assert jwt.decode(refreshed.access_token, options={"verify_signature": False})["role"] == "viewer"
    accounts.set_role("boss", "analyst")
    auth.authorize(pair.access_token, "logs:reload")


@HASHING_DEPLOYMENTS
def test_a_password_change_ends_every_sign_in(auth: AuthService, accounts: AccountService, seed) -> None:  # type: ignore[no-untyped-def]
    user = seed("jdoe")
    phone, laptop = auth.issue(user), auth.issue(user)
    accounts.change_password("jdoe", "a brand new passphrase")
    for pair in (phone, laptop):
        with pytest.raises(TokenRevoked, match="password changed or signed out everywhere"):
            auth.verify(pair.access_token)
        with pytest.raises(TokenRevoked):
            auth.refresh(pair.refresh_token)
    with pytest.raises(InvalidCredentials):
        auth.login("jdoe", PASSWORD)
    assert auth.verify(auth.login("jdoe", "a brand new passphrase").access_token).username == "jdoe"


@HASHING_DEPLOYMENTS
def test_change_own_password_checks_the_current_one(auth: AuthService, seed, hasher: CountingHasher) -> None:  # type: ignore[no-untyped-def]
    pair = auth.issue(seed("jdoe"))
    principal = auth.verify(pair.access_token)
    hasher.calls.clear()
    with pytest.raises(InvalidPassword, match="password too short"):
        auth.change_own_password(principal, PASSWORD, "short")
    assert hasher.calls == []  # refused before any slow work
    with pytest.raises(InvalidCredentials):
        auth.change_own_password(principal, "not my password", "a brand new passphrase")
    auth.change_own_password(principal, PASSWORD, "a brand new passphrase")
    with pytest.raises(TokenRevoked):
        auth.verify(pair.access_token)


def test_a_removed_account_s_tokens_are_refused_even_if_the_name_returns(
    auth: AuthService, accounts: AccountService, seed  # type: ignore[no-untyped-def]
) -> None:
    pair = auth.issue(seed("jdoe"))
    accounts.remove_user("jdoe")
    with pytest.raises(TokenInvalid, match="no longer exists"):
        auth.verify(pair.access_token)
    seed("jdoe")
    with pytest.raises(TokenInvalid, match="no longer exists"):
        auth.verify(pair.access_token)
    with pytest.raises(TokenInvalid):
        auth.refresh(pair.refresh_token)


def test_issue_refuses_a_disabled_account(auth: AuthService, seed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AccountDisabled):
        auth.issue(seed("jdoe", enabled=False))


# --- permissions and start-up ---------------------------------------------------------------------


def test_the_anonymous_demo_visitor_is_a_viewer() -> None:
    visitor = Principal.anonymous()
    assert visitor.user_id is None and visitor.role is Role.VIEWER
    assert visitor.can("logs:read") and visitor.can("chat:use") and not visitor.can("logs:reload")
    assert visitor.permissions == frozenset({"logs:read", "chat:use"})


def test_ensure_admin_exists(store, seed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoAdminAccount, match="no enabled admin account") as info:
        ensure_admin_exists(store, allow_no_users=False)
    assert "logchat users add NAME --role admin" in (info.value.hint or "")
    assert ensure_admin_exists(store, allow_no_users=True) is AccessMode.OPEN_DEMO
    seed("old", "admin", enabled=False)
    seed("jdoe", "analyst")
    with pytest.raises(NoAdminAccount):
        ensure_admin_exists(store, allow_no_users=False)
    # Accounts exist, so even the permissive start-up requires signing in.
    assert ensure_admin_exists(store, allow_no_users=True) is AccessMode.ACCOUNTS
    seed("root", "admin")
    assert ensure_admin_exists(store, allow_no_users=False) is AccessMode.ACCOUNTS


def test_an_unreachable_redis_refuses_requests_instead_of_skipping_the_checks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from logchat.config import load_settings
    from logchat.storage.db import open_store

    # Nothing listens on port 1 of loopback. One deployment is enough for this.
    settings = load_settings(data_dir=tmp_path / "d", redis={"url": "redis://127.0.0.1:1/0"})
    store = open_store(settings.database_url)
    auth = AuthService(settings, store)
    try:
        now = datetime.now(UTC)
        with store.session() as session:
            user = auth_repo.add_user(session, User(
                username="jdoe", password_hash="x", role="viewer", enabled=True, token_version=0,
                created_at=now, updated_at=now, password_changed_at=now,
            ))
            info_user = UserInfo.from_row(user)
        pair = auth.issue(info_user)
        with pytest.raises(StoreError, match="Redis is not reachable") as info:
            auth.verify(pair.access_token)
        assert info.value.http_status == 503
    finally:
        auth.close()
        store.close()


def test_a_malformed_redis_url_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from logchat.config import load_settings
    from logchat.errors import ConfigError
    from logchat.storage.db import open_store

    settings = load_settings(data_dir=tmp_path / "d", redis={"url": "http://127.0.0.1:6379"})
    store = open_store(settings.database_url)
    try:
        with pytest.raises(ConfigError, match=r"config key 'redis\.url'"):
            AuthService(settings, store)
    finally:
        store.close()
