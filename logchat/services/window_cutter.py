"""Cutting events into the windows the vector index embeds: up to ``window_size`` consecutive events of one
source, whose content (its signature) is the set of templates in them.

A cutter is fed events in id order, either read back from the store (an update of the vectors) or from the
batches an ingest commits, so that a large ingest need not read every new event again afterwards (reading
back a million events cost about a second, alone after the ingest). Both feed the same events in the same
order to the same code, so they cut the same windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import chain
from operator import is_not, itemgetter
from typing import Any, NamedTuple

__all__ = ["STAMP_COLUMNS", "CutWindow", "WindowCutter", "signature_key"]

# The columns a cutter reads, in the order of the rows read back from the store by
# storage.vector_repo.events_after: (event id, source id, template id, ts in epoch microseconds).
STAMP_COLUMNS = ("id", "source_id", "template_id", "ts")
_is_not_none = partial(is_not, None)


class CutWindow(NamedTuple):
    source_id: int
    key: str  # the signature's key: what names its content whatever id the store gives it
    template_ids: str  # space-separated, ascending
    first_event_id: int
    last_event_id: int
    first_ts: int | None  # epoch microseconds
    last_ts: int | None
    event_count: int


def signature_key(template_ids: tuple[int, ...]) -> str:
    return hashlib.sha1(" ".join(map(str, template_ids)).encode("ascii"), usedforsecurity=False).hexdigest()


class WindowCutter:
    """Windows of the events fed so far, in the order they closed; :meth:`finish` closes the open ones.

    ``positions``: where in a fed row the columns of :data:`STAMP_COLUMNS` are (rows are kept as they come,
    never copied into tuples of our own). ``after``: the last event id windowed before the first event fed
    (how far the store's windows reached when the cutter was made), kept for whoever saves the windows."""

    def __init__(self, window_size: int, *, positions: Sequence[int] = (0, 1, 2, 3), after: int = 0) -> None:
        self.window_size = window_size
        self.after = after
        self.windows: list[CutWindow] = []
        self.events = 0
        self.first_event_id: int | None = None
        self.last_event_id = after
        self._id, self._source, self._template, self._ts = (itemgetter(position) for position in positions)
        # Per source, in order of first appearance (the order in which finish() closes them): the members of
        # its open window.
        self._open: dict[int, list[Any]] = {}
        # Most windows repeat a content seen before: its key and text are made once.
        self._contents: dict[frozenset[int | None], tuple[str, str]] = {}

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add events of any sources, in id order, each above the last one fed."""
        remaining = iter(rows)
        first = next(remaining, None)
        if first is None:
            return
        open_windows = self._open
        window_size = self.window_size
        source_of = self._source
        fed = 0
        row = first
        for row in chain((first,), remaining):
            fed += 1
            source_id = source_of(row)
            members = open_windows.get(source_id)
            if members is None:
                members = open_windows[source_id] = []
            members.append(row)
            if len(members) >= window_size:
                self._close(source_id, members)
                open_windows[source_id] = []
        self._fed(fed, first, row)

    def feed_source(self, source_id: int, rows: list[Sequence[Any]]) -> None:
        """Add events of one source, in id order, each above the last one fed: what :meth:`feed` does with
        them, cutting the list in slices instead of looking at each event (an ingest batch is of one source)."""
        if not rows:
            return
        members = self._open.get(source_id)
        members = members + rows if members else rows
        window_size = self.window_size
        start = 0
        while len(members) - start >= window_size:
            self._close(source_id, members[start : start + window_size])
            start += window_size
        self._open[source_id] = members[start:]
        self._fed(len(rows), rows[0], rows[-1])

    def finish(self) -> list[CutWindow]:
        """Close every open window (the last, partial one of each source) and return all the windows."""
        for source_id, members in self._open.items():
            if members:
                self._close(source_id, members)
        self._open = {}
        return self.windows

    def _fed(self, count: int, first: Sequence[Any], last: Sequence[Any]) -> None:
        if self.first_event_id is None:
            self.first_event_id = self._id(first)
        self.last_event_id = self._id(last)
        self.events += count

    def _close(self, source_id: int, members: list[Sequence[Any]]) -> None:
        # Found by the set of its template ids as it is: sorting them and making the key only for a new content.
        found = frozenset(map(self._template, members))
        content = self._contents.get(found)
        if content is None:
            ordered = tuple(sorted(found - {None}))
            content = self._contents[found] = (signature_key(ordered), " ".join(map(str, ordered)))
        stamps = list(filter(_is_not_none, map(self._ts, members)))
        self.windows.append(CutWindow(
            source_id, content[0], content[1], self._id(members[0]), self._id(members[-1]),
            min(stamps) if stamps else None, max(stamps) if stamps else None, len(members),
        ))  # fmt: skip
