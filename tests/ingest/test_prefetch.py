"""Items taken and prepared one ahead by a thread come out in order, failures where they happened, and a
consumer that stops early leaves neither the thread nor the source iterator running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from logchat.ingest.prefetch import Prefetched


class Item:
    def __init__(self, number: int) -> None:
        self.number = number
        self.prepared_by: str | None = None


def _prepare(item: Item) -> None:
    item.prepared_by = threading.current_thread().name


def test_items_come_in_order_each_prepared_by_the_prefetching_thread() -> None:
    items = Prefetched((Item(number) for number in range(50)), _prepare, name="test-prefetch")
    got = list(items)
    assert [item.number for item in got] == list(range(50))
    assert {item.prepared_by for item in got} == {"test-prefetch"}
    assert next(items, None) is None  # done stays done
    items.close()


def test_a_failure_of_the_source_comes_after_the_items_before_it_and_once() -> None:
    def failing() -> Iterator[Item]:
        yield Item(1)
        yield Item(2)
        raise OSError("read error at byte 42")

    items = Prefetched(failing(), _prepare)
    assert next(items).number == 1
    assert next(items).number == 2
    with pytest.raises(OSError, match="read error at byte 42"):
        next(items)
    assert next(items, None) is None
    items.close()


def test_a_failure_to_prepare_is_raised_in_place_of_its_item() -> None:
    def prepare(item: Item) -> None:
        if item.number == 3:
            raise ValueError("cannot prepare item 3")

    items = Prefetched((Item(number) for number in range(10)), prepare)
    assert [next(items).number for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3"):
        next(items)
    items.close()


def test_closing_early_closes_the_source_from_its_thread_and_ends_the_thread() -> None:
    closed_in: list[str] = []

    def endless() -> Iterator[Item]:
        number = 0
        try:
            while True:
                yield Item(number)
                number += 1
        finally:
            closed_in.append(threading.current_thread().name)

    before = threading.active_count()
    items = Prefetched(endless(), _prepare, name="test-prefetch-endless")
    assert [next(items).number for _ in range(5)] == list(range(5))
    items.close()
    assert closed_in == ["test-prefetch-endless"]
    assert threading.active_count() == before
    items.close()  # a second close is harmless


def test_closing_early_wakes_a_source_still_waiting_for_its_next_item() -> None:
    release = threading.Event()

    def slow() -> Iterator[Item]:
        yield Item(0)
        release.wait()  # as a reader process still parsing its next batch
        yield Item(1)

    items = Prefetched(slow(), _prepare, interrupt=release.set)
    assert next(items).number == 0
    items.close()
    assert release.is_set()


def test_a_source_read_to_its_end_is_not_interrupted() -> None:
    interrupted: list[bool] = []
    items = Prefetched((Item(number) for number in range(3)), _prepare, interrupt=lambda: interrupted.append(True))
    assert [item.number for item in items] == [0, 1, 2]
    items.close()
    assert interrupted == []
