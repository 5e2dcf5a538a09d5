"""From lines to batches of event rows: parse, join multi-line events, assign templates, read fields, roll up.

Pure (no storage): a batch carries everything its transaction writes, including where the next
run resumes, so the same batches can be produced in this process or in a reader process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from logchat.ingest.digit_keys import DIGIT_KEY, zeros_inside_numbers_blind
from logchat.ingest.events import Event
from logchat.ingest.fields import FieldReader, FieldTally
from logchat.ingest.sources import LineReader
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.value_counts import BatchCounts
from logchat.redaction import KeyedSecretMask, mask_secrets
from logchat.vocabulary import EventRow

HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class Batch:
    rows: list[EventRow] = field(default_factory=list)
    # (hour, source_id, level, host, process, template_id) -> [count, first_us, last_us]
    rollup: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    skipped: int = 0
    timestamped: int = 0  # rows with a timestamp
    end_offset: int = 0  # the checkpoint after this batch
    end_line: int = 0
    changed_templates: dict[int, str] = field(default_factory=dict)
    miner_state: bytes | None = None  # set when templates changed
    error: str | None = None  # a read error after the rows of this batch
    fields: FieldTally = field(default_factory=lambda: FieldTally())  # the fields of each template
    # Templates that changed after some of this batch's events had their fields read: those events were
    # read again against the final template before the batch was handed over, and the writer counts the
    # template's fields again, with its events stored before this batch (services.fields.recount_templates).
    stale_fields: set[int] = field(default_factory=set)
    # Templates with this id or a higher one were made while this batch was read: no event stored before
    # it has them.
    first_new_template: int = 0
    # template id -> the index in rows of the event that last changed the template: the batch's events of
    # that template before it were read under an older form of it.
    changed_at: dict[int, int] = field(default_factory=dict, repr=False)
    # What the store made of the rows ahead of the batch's turn to be written (see logchat.ingest.prefetch).
    prepared: Any = field(default=None, repr=False, compare=False)
    # The values of the rows' fields, when the reader process counted them (logchat.ingest.value_counts).
    value_counts: BatchCounts | None = field(default=None, repr=False)

    def add(self, row: EventRow, ts_us: int | None) -> None:
        self.rows.append(row)
        # An hour's rollup holds only stamped events and the untimed key (-1) only untimed ones, so the
        # bounds of an entry are both set or both None: no None checks per event.
        if ts_us is None:
            key = (-1, row[1], row[7] or "", row[8] or "", row[9] or "", row[11])
            entry = self.rollup.get(key)
            if entry is None:
                self.rollup[key] = [1, None, None]
            else:
                entry[0] += 1
            return
        self.timestamped += 1
        key = (ts_us - ts_us % HOUR_US, row[1], row[7] or "", row[8] or "", row[9] or "", row[11])
        entry = self.rollup.get(key)
        if entry is None:
            self.rollup[key] = [1, ts_us, ts_us]
            return
        entry[0] += 1
        if ts_us < entry[1]:
            entry[1] = ts_us
        elif ts_us > entry[2]:
            entry[2] = ts_us

    def template_stats(self) -> dict[int, list[Any]]:
        """{template_id: [count, first_us, last_us]} folded from the rollup."""
        stats: dict[int, list[Any]] = {}
        for key, (count, first, last) in self.rollup.items():
            current = stats.get(key[5])
            if current is None:
                stats[key[5]] = [count, first, last]
                continue
            current[0] += count
            if first is not None and (current[1] is None or first < current[1]):
                current[1] = first
            if last is not None and (current[2] is None or last > current[2]):
                current[2] = last
        return stats


@dataclass
class BatchPlan:
    """What a producer needs to know; plain data so it can cross into a reader process."""

    source_id: int
    generation: int
    first_id: int
    batch_size: int
    multiline: bool
    since_us: int | None = None
    until_us: int | None = None
    # Also end a batch once it has been filling this long (following a file: new lines become
    # searchable within about this time even while a burst is being read).
    max_seconds: float | None = None
    # Read named fields (settings ingest.fields); off, rows carry None and no field work is done.
    fields: bool = False
    # A smaller first batch: with a reader process, the writer waits for the first batch and the
    # reader is idle while the last one is written, so a short first batch starts the overlap sooner.
    first_batch_size: int | None = None
    # Where the source ends (its size when the run began). With first_batch_size, the batch before the end leaves
    # about first_batch_size events to the last batch: the reader, with nothing left to read, waits while the
    # writer writes the last batch, so a short one ends the run sooner.
    end_offset: int | None = None


def micros(value: datetime) -> int:
    """Aware datetime -> epoch microseconds, exactly: one subtraction and one division, both in C (this
    runs once per event)."""
    return (value - _EPOCH) // _MICROSECOND


def produce_batches(reader: LineReader, parser: Any, miner: TemplateMiner, plan: BatchPlan) -> Iterator[Batch]:
    """Batches of at most ``plan.batch_size`` events. Each batch ends on an event boundary."""
    from logchat.ingest.multiline import join_events

    events: Iterator[Event] = join_events(reader, parser, multiline=plan.multiline)
    batch = Batch(first_new_template=miner.newest_id + 1)
    rows, add = batch.rows, batch.add
    next_id = plan.first_id
    source_id, generation = plan.source_id, plan.generation
    batch_size = min(plan.first_batch_size or plan.batch_size, plan.batch_size)
    # Events to leave to a short last batch (BatchPlan.end_offset), until that batch is planned.
    end_offset = plan.end_offset
    last_batch_size = plan.first_batch_size if end_offset is not None else None
    batch_offset = reader.offset  # where the batch being filled starts
    since_us, until_us = plan.since_us, plan.until_us
    windowed = since_us is not None or until_us is not None
    keep_untimed = True
    assign, tokens_of = miner.assign, miner.template_tokens
    # One-line messages carry their digit key from the secret mask to the miner: computed once, and lines of a
    # key that held no secret skip the secret scan.
    mask, mask_keyed = mask_secrets, KeyedSecretMask(DIGIT_KEY, shared_key=zeros_inside_numbers_blind).mask
    fields_format = (getattr(parser, "name", "") or "") if plan.fields else None
    read_fields = FieldReader(fields_format).read_encoded if fields_format is not None else None
    max_seconds = plan.max_seconds
    started = time.monotonic() if max_seconds is not None else 0.0
    changes_seen = miner.change_count
    # The tokens of each template, until the miner changes any: one dict lookup per event instead of the miner's.
    known_tokens: dict[int, Any] = {}
    # Parsers hand out the same datetime for a repeated stamp: its microseconds are worked out once.
    last_ts: datetime | None = None
    last_us = 0
    for event in events:
        full = len(rows) >= batch_size
        if not full and max_seconds is not None and rows and len(rows) % 64 == 0:
            full = time.monotonic() - started >= max_seconds
        if full:
            # The batch ends where this event starts: a clean checkpoint.
            batch.end_offset, batch.end_line = event.offset, event.line_no - 1
            _close(batch, miner, fields_format)
            yield batch
            closed = len(rows)
            batch = Batch(first_new_template=miner.newest_id + 1)
            rows, add = batch.rows, batch.add
            batch_size = plan.batch_size
            if last_batch_size is not None and end_offset is not None:
                batch_size = _batch_size_near_the_end(batch_size, end_offset, event.offset, batch_offset, closed,
                                                      last_batch_size)
                if batch_size != plan.batch_size:
                    last_batch_size = None
            batch_offset = event.offset
            if max_seconds is not None:
                started = time.monotonic()
        ts = event.ts
        if ts is None:
            ts_us = None
        elif ts is last_ts:
            ts_us = last_us
        else:
            ts_us = last_us = (ts - _EPOCH) // _MICROSECOND  # micros(ts), without the call
            last_ts = ts
        if windowed:
            if ts_us is None:
                keep = keep_untimed  # continuation-like untimed events follow their neighbours
            else:
                keep = (since_us is None or ts_us >= since_us) and (until_us is None or ts_us < until_us)
                keep_untimed = keep
            if not keep:
                batch.skipped += 1
                continue
        # Templates and fields are read from the masked message: nothing derived from them holds a secret.
        message = event.message
        if "\n" in message:
            masked = mask(message)
            template_id = assign(masked)
        else:
            key = message.encode("utf-8", "surrogatepass").translate(DIGIT_KEY)
            masked = mask_keyed(message, key)
            # mask_secrets returns its argument itself when there was nothing to mask.
            template_id = assign(masked, key) if masked is message else assign(masked)
        if read_fields is None:
            fields = None
        else:
            if miner.change_count != changes_seen:
                # The miner made or generalised this event's template ("for root" -> "for <*>"): the fields of
                # the batch's events read under its older form miss the value that became a variable. They are
                # read again when the batch closes; what was counted of them goes now.
                changes_seen = miner.change_count
                batch.changed_at[template_id] = len(rows)
                batch.fields.forget(template_id)
                known_tokens.clear()
            tokens = known_tokens.get(template_id)
            if tokens is None:
                tokens = known_tokens[template_id] = tokens_of(template_id)
            fields = read_fields(batch.fields, template_id, tokens, masked, event.raw, masked is not message,
                                 event.record if event.line_end == event.line_no else None, miner.last_key)
        add((
            next_id, source_id, generation, event.line_no, event.line_end, event.offset, ts_us,
            event.level, event.host, event.process, event.pid, template_id, message, event.raw, fields,
        ), ts_us)
        next_id += 1
    batch.error = reader.error
    batch.end_offset, batch.end_line = reader.offset, reader.line_no
    _close(batch, miner, fields_format)
    yield batch


def _batch_size_near_the_end(
    batch_size: int, end_offset: int, offset: int, batch_offset: int, events: int, last_batch_size: int
) -> int:
    """The size of the batch that starts at ``offset``: ``batch_size``, unless fewer than ``batch_size +
    last_batch_size`` events are left before ``end_offset`` (but at least three times ``last_batch_size``). Then the
    batch ends about ``last_batch_size`` events before the end, so that the last batch is short. Events left are
    estimated from the bytes per event of the ``events`` of the batch before, which started at ``batch_offset``."""
    if events <= 0 or offset <= batch_offset:
        return batch_size
    left = (end_offset - offset) * events // (offset - batch_offset)
    # A rest of under three short batches stays one batch: shortening the last batch's writing by less than two
    # short batches' is not worth a commit more.
    if 3 * last_batch_size <= left < batch_size + last_batch_size:
        return left - last_batch_size
    return batch_size


def _close(batch: Batch, miner: TemplateMiner, fields_format: str | None) -> None:
    batch.changed_templates = miner.take_changed()
    if batch.changed_at and fields_format is not None:
        # This batch's events are still here: read them again now rather than the writer reading them back
        # from the store. Changed templates may also have events stored by earlier batches; the writer looks
        # those up. A reader of its own: recipes made from later messages would give the first of the events
        # read again the later message's fields as the example of its shape.
        _read_again(batch, FieldReader(fields_format), miner.template_tokens)
    if batch.changed_templates:
        batch.miner_state = miner.dump_state()


def _read_again(batch: Batch, field_reader: FieldReader, tokens_of: Any) -> None:
    """Read the fields of the batch's events that were read under an older form of their template again, as
    ingest read them the first time but against the template's final form; they are counted before the
    template's later events, as they came."""
    changed_at, batch.changed_at = batch.changed_at, {}
    rows = batch.rows
    read_fields = field_reader.read_encoded
    earlier = FieldTally()
    tokens: dict[int, Any] = {}
    stale = batch.stale_fields
    for index in range(max(changed_at.values())):  # events after the last change were read as they are now
        row = rows[index]
        template_id = row[11]
        at = changed_at.get(template_id)
        if at is None or index >= at:
            continue
        current = tokens.get(template_id)
        if current is None:
            current = tokens[template_id] = tokens_of(template_id)
            stale.add(template_id)
        message = row[12]
        masked = mask_secrets(message)
        rows[index] = (*row[:14], read_fields(earlier, template_id, current, masked, row[13], masked is not message))
    if stale:
        batch.fields.add_earlier(earlier)
