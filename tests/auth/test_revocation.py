"""Both revocation backends (database: SQLite/PostgreSQL; Redis) behave alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from logchat.auth.revocation import DatabaseRevocationStore, RedisRevocationStore, RevocationStore
from logchat.errors import StoreError


def later(clock, seconds: float = 900) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.fromtimestamp(clock(), UTC) + timedelta(seconds=seconds)


def test_a_blacklisted_access_token_is_revoked_and_others_are_not(revocations: RevocationStore, clock) -> None:  # type: ignore[no-untyped-def]
    assert not revocations.is_revoked(token_id="jti-1", family="fam-1")
    revocations.revoke_access_token("jti-1", later(clock))
    assert revocations.is_revoked(token_id="jti-1")
    assert revocations.is_revoked(token_id="jti-1", family="fam-1")
    assert not revocations.is_revoked(token_id="jti-2", family="fam-1")
    # An access token id is not a family id.
    assert not revocations.is_revoked(family="jti-1")


def test_a_revoked_family_revokes_every_token_of_it(revocations: RevocationStore, clock) -> None:  # type: ignore[no-untyped-def]
    revocations.revoke_family("fam-1", later(clock))
    assert revocations.is_revoked(family="fam-1")
    assert revocations.is_revoked(token_id="any-token", family="fam-1")
    assert not revocations.is_revoked(token_id="any-token", family="fam-2")
    revocations.revoke_family("fam-1", later(clock, 3600))  # again: no error
    assert revocations.is_revoked(family="fam-1")


def test_nothing_given_is_not_revoked(revocations: RevocationStore) -> None:
    assert not revocations.is_revoked()


def test_a_refresh_token_can_be_claimed_once(revocations: RevocationStore, clock) -> None:  # type: ignore[no-untyped-def]
    assert revocations.claim_refresh_token("r-1", later(clock))
    assert not revocations.claim_refresh_token("r-1", later(clock))
    assert revocations.claim_refresh_token("r-2", later(clock))
    # A used refresh token is not thereby a revoked access token.
    assert not revocations.is_revoked(token_id="r-1")


def test_concurrent_claims_of_one_refresh_token_have_exactly_one_winner(
    revocations: RevocationStore, clock  # type: ignore[no-untyped-def]
) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(revocations.claim_refresh_token("raced", later(clock)))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_database_entries_are_purged_once_their_tokens_expired(store, clock) -> None:  # type: ignore[no-untyped-def]
    revocations = DatabaseRevocationStore(store, clock=clock)
    revocations.revoke_access_token("short", later(clock, 60))
    revocations.revoke_family("long", later(clock, 3600))
    revocations.claim_refresh_token("used", later(clock, 60))
    assert revocations.purge_expired() == 0
    clock.advance(61)
    assert revocations.purge_expired() == 2
    assert revocations.is_revoked(family="long")
    assert not revocations.is_revoked(token_id="short")


def test_redis_keys_expire_with_their_tokens(redis_client, redis_prefix: str, clock) -> None:  # type: ignore[no-untyped-def]
    revocations = RedisRevocationStore(redis_client, prefix=redis_prefix, clock=clock)
    revocations.revoke_access_token("jti-ttl", later(clock, 120))
    revocations.revoke_family("fam-ttl", later(clock, 7200))
    revocations.claim_refresh_token("ref-ttl", later(clock, 600))
    ttls = {key.decode(): redis_client.pttl(key) for key in redis_client.scan_iter(f"{redis_prefix}*")}
    assert set(ttls) == {
        f"{redis_prefix}auth:access:jti-ttl", f"{redis_prefix}auth:family:fam-ttl",
        f"{redis_prefix}auth:refresh_used:ref-ttl",
    }
    assert 110_000 < ttls[f"{redis_prefix}auth:access:jti-ttl"] <= 120_000
    assert 7_190_000 < ttls[f"{redis_prefix}auth:family:fam-ttl"] <= 7_200_000
    assert 590_000 < ttls[f"{redis_prefix}auth:refresh_used:ref-ttl"] <= 600_000


def test_redis_stores_nothing_for_a_token_that_already_expired(redis_client, redis_prefix: str, clock) -> None:  # type: ignore[no-untyped-def]
    revocations = RedisRevocationStore(redis_client, prefix=redis_prefix, clock=clock)
    revocations.revoke_access_token("gone", later(clock, -5))
    assert list(redis_client.scan_iter(f"{redis_prefix}*")) == []


def test_an_unreachable_redis_fails_closed_with_a_clear_error(clock) -> None:  # type: ignore[no-untyped-def]
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    revocations = RedisRevocationStore(client, prefix="logchat-test:", clock=clock)
    with pytest.raises(StoreError, match="Redis is not reachable"):
        revocations.is_revoked(token_id="x")
    with pytest.raises(StoreError):
        revocations.claim_refresh_token("x", later(clock))
