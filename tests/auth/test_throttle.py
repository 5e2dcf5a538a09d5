"""The back-off policy, and both throttle backends (database, Redis) driven by one manual clock."""

from __future__ import annotations

import threading

import pytest

from logchat.auth.throttle import LoginThrottle, ThrottlePolicy, address_key, user_key

POLICY = ThrottlePolicy(limit=3, base_seconds=60, max_seconds=600, window_seconds=900)


@pytest.mark.parametrize(
    ("failures", "lock"),
    [(1, 0), (2, 0), (3, 60), (4, 120), (5, 240), (6, 480), (7, 600), (50, 600), (10_000, 600)],
)
def test_lock_doubles_after_the_limit_up_to_the_cap(failures: int, lock: float) -> None:
    assert POLICY.lock_seconds(failures) == lock


def test_no_lockout_configured_means_no_lock() -> None:
    assert ThrottlePolicy(limit=1, base_seconds=0, max_seconds=600, window_seconds=60).lock_seconds(99) == 0


def test_keys_are_case_insensitive_for_names_and_bounded() -> None:
    assert user_key(" JDoe ") == user_key("jdoe") == "user:jdoe"
    assert address_key("10.0.0.1") == "addr:10.0.0.1"
    assert len(user_key("x" * 10_000)) == len("user:") + 128


def test_failures_under_the_limit_do_not_lock(throttle: LoginThrottle) -> None:
    assert throttle.record_failure("user:jdoe", POLICY) == 0
    assert throttle.record_failure("user:jdoe", POLICY) == 0
    assert throttle.retry_after(["user:jdoe"]) == 0


def test_reaching_the_limit_locks_and_the_lock_ends(throttle: LoginThrottle, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        throttle.record_failure("user:jdoe", POLICY)
    assert throttle.record_failure("user:jdoe", POLICY) == 60
    assert throttle.retry_after(["user:jdoe"]) == pytest.approx(60)
    clock.advance(45)
    assert throttle.retry_after(["user:jdoe"]) == pytest.approx(15)
    assert throttle.retry_after(["user:other"]) == 0
    clock.advance(16)
    assert throttle.retry_after(["user:jdoe"]) == 0


def test_each_failure_after_a_lock_doubles_it(throttle: LoginThrottle, clock) -> None:  # type: ignore[no-untyped-def]
    locks = []
    for _ in range(6):
        locks.append(throttle.record_failure("addr:10.0.0.9", POLICY))
        clock.advance(max(locks[-1], 1) + 1)  # wait the lock out, then fail again
    assert locks == [0, 0, 60, 120, 240, 480]


def test_the_longest_lock_of_several_keys_counts(throttle: LoginThrottle, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        throttle.record_failure("user:a", POLICY)
    clock.advance(30)
    for _ in range(3):
        throttle.record_failure("addr:10.0.0.1", POLICY)
    assert throttle.retry_after(["user:a", "addr:10.0.0.1"]) == pytest.approx(60)
    assert throttle.retry_after(["user:a"]) == pytest.approx(30)


def test_reset_forgets_the_failures(throttle: LoginThrottle) -> None:
    for _ in range(3):
        throttle.record_failure("user:jdoe", POLICY)
    throttle.reset("user:jdoe")
    assert throttle.retry_after(["user:jdoe"]) == 0
    assert throttle.record_failure("user:jdoe", POLICY) == 0  # counting starts again


def test_a_quiet_window_forgets_the_failures(throttle: LoginThrottle, clock) -> None:  # type: ignore[no-untyped-def]
    throttle.record_failure("user:jdoe", POLICY)
    throttle.record_failure("user:jdoe", POLICY)
    clock.advance(POLICY.window_seconds + 1)
    assert throttle.record_failure("user:jdoe", POLICY) == 0
    # ... but not before the window has passed.
    throttle.record_failure("user:jdoe", POLICY)
    clock.advance(POLICY.window_seconds - 10)
    assert throttle.record_failure("user:jdoe", POLICY) == 60


def test_concurrent_failures_are_all_counted(throttle: LoginThrottle) -> None:
    policy = ThrottlePolicy(limit=8, base_seconds=60, max_seconds=600, window_seconds=900)
    barrier = threading.Barrier(8)
    locks: list[float] = []

    def fail() -> None:
        barrier.wait()
        locks.append(throttle.record_failure("user:raced", policy))

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly one of the eight saw the eighth failure and set the lock.
    assert sorted(locks) == [0.0] * 7 + [60.0]
    assert throttle.retry_after(["user:raced"]) == pytest.approx(60)


def test_database_rows_are_purged_after_their_window(store, clock) -> None:  # type: ignore[no-untyped-def]
    from logchat.auth.throttle import DatabaseLoginThrottle

    throttle = DatabaseLoginThrottle(store, clock=clock)
    throttle.record_failure("user:a", POLICY)
    for _ in range(3):
        throttle.record_failure("user:b", POLICY)
    clock.advance(POLICY.window_seconds + 1)
    assert throttle.purge_expired() == 1  # user:b is still inside lock + window
    clock.advance(60)
    assert throttle.purge_expired() == 1
