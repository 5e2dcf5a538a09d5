"""How many questions one account may have in flight at once, over all of its sockets and requests.

An answer holds a worker of the answers' pool for as long as the model writes, so one account firing
questions in parallel could queue everyone else behind it; the per-minute rate limit does not stop
that (a minute's allowance can all be in flight at once). Counted in this process: the event loop is
the only place slots are taken and given back, so no lock is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from logchat.errors import LogchatError


class TooManyQuestions(LogchatError):
    exit_code = 1
    http_status = 429
    code = "too_many_questions"


class QuestionQuota:
    def __init__(self, per_account: int) -> None:
        self.per_account = per_account
        self._in_flight: Counter[object] = Counter()

    def take(self, account: object) -> None:
        if self._in_flight[account] >= self.per_account:
            raise TooManyQuestions(f"at most {self.per_account} questions at once: wait for an answer")
        self._in_flight[account] += 1

    def give_back(self, account: object) -> None:
        self._in_flight[account] -= 1
        if self._in_flight[account] <= 0:
            del self._in_flight[account]

    @contextmanager
    def held(self, account: object) -> Iterator[None]:
        self.take(account)
        try:
            yield
        finally:
            self.give_back(account)

    def in_flight(self, account: object) -> int:
        return self._in_flight[account]
