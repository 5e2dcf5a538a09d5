"""Use case: the named fields of events (`logchat fields`), and reading the fields of events stored
before fields existed (the backfill run by `logchat db upgrade` and the first `logchat fields`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from logchat.config import Settings
from logchat.errors import ConfigError, UsageError
from logchat.ingest.fields import FieldReader, FieldTally, encode_fields, extract_fields, read_by_structure
from logchat.redaction import mask_secrets, mask_tree
from logchat.storage import fields_repo, value_counts_repo
from logchat.storage.db import Session, Store

# Events read per transaction by the backfill: small enough that a concurrent ingest is not held up.
BACKFILL_CHUNK = 5_000
# Distinct values are counted up to this many; examples and distinct counts read at most this many events.
DISTINCT_BOUND = 1_000
SCAN_EVENTS = 200_000
EXAMPLES = 3

ProgressCallback = Callable[[int, int], None]  # (events done, events to do)


@dataclass
class FieldsQuery:
    template: int | None = None
    sources: list[str] = field(default_factory=list)


def require_fields_enabled(settings: Settings) -> None:
    """Fields are read only when ingest.fields is on (it costs ingest time); say how to turn it on."""
    if not settings.ingest.fields:
        raise ConfigError(
            "field extraction is off: turn it on with `fields = true` under [ingest] in the configuration "
            "file or LOGCHAT_INGEST__FIELDS=true; events already stored are then read on the next `logchat fields`"
        )


def pending_backfill(store: Store) -> int:
    """Events stored before fields existed, not read yet."""
    with store.session() as session:
        return fields_repo.events_without_fields(session)


def backfill_fields(store: Store, on_progress: ProgressCallback | None = None,
                    chunk: int = BACKFILL_CHUNK) -> int:
    """Read the fields of every event that has none yet, ``chunk`` events per transaction; returns how
    many were read. Templates are the store's current ones (more general than when the event was
    stored), and the masking is the ingester's, so the result is what ingest would store today."""
    from logchat.storage.transactions import begin_write

    total = pending_backfill(store)
    done = 0
    after = 0
    while True:
        with store.session() as session:
            begin_write(session)
            rows = fields_repo.events_to_read(session, after, chunk)
            if not rows:
                break
            tally = FieldTally()
            values = []
            for event_id, template_id, template, fmt, message, raw in rows:
                found, units = extract_fields(template, mask_secrets(message), fmt, raw)
                values.append((event_id, encode_fields(found)))
                if template_id is not None:
                    tally.add(template_id, found, units)
            fields_repo.store_fields(session, values)
            # These events had no fields: their values add to the counts (before template_fields, see add_events).
            field_rows = tally.rows()
            value_counts_repo.add_events(
                session.connection(),
                value_counts_repo.fields_by_template(
                    (row[1], encoded) for row, (_, encoded) in zip(rows, values, strict=True)
                ),
                [(row[0], row[1], row[3]) for row in field_rows],
            )
            fields_repo.add_template_fields(session, field_rows)
        after = rows[-1][0]
        done += len(rows)
        if on_progress is not None:
            on_progress(done, max(total, done))
    return done


def recount_templates(
    session: Session, template_ids: set[int], stored: set[int], before_id: int, batch: FieldTally
) -> int:
    """Count the fields of ``template_ids`` again from scratch, in the ingest transaction of the batch whose
    first event is ``before_id`` and whose tally is ``batch``; the fields of the events of ``stored`` stored
    before that batch are read again against the current templates first. Returns how many were read again.

    Drain generalises a template when a new variant of it arrives: "Failed password for root from <IP>"
    becomes "Failed password for <*> from <IP>". Fields read while "root" was fixed text lack it, so
    questions about "user root" would miss those events. The batch's own events were read again before it
    was handed over (ingest.pipeline); here the events stored before it are, and the template's field
    counts are counted from all of them, in event order. A template changes at most once per fixed word,
    so each event is read again a bounded number of times."""
    ids = sorted(template_ids)
    if not ids:
        return 0
    fields_repo.forget_template_fields(session, ids)
    tally = FieldTally()
    done = reread_stored(session, stored, tally, before_id=before_id)
    tally.add_later(batch, template_ids)
    fields_repo.add_template_fields(session, tally.rows())
    # The values of the events read again changed (the batch's own were counted as they are stored).
    value_counts_repo.recount(session, stored)
    return done


def reread_stored(
    session: Session, template_ids: Iterable[int], tally: FieldTally, *, before_id: int | None = None,
    chunk: int = BACKFILL_CHUNK,
) -> int:
    """Read again, against the current template, the fields of the stored events of ``template_ids`` (those
    before event ``before_id``, when given), counting them into ``tally``; returns how many were read."""
    ids = sorted(set(template_ids))
    if not ids:
        return 0
    done = 0
    after = 0
    # The events of a template share its plan and, mostly, their shapes: read them as ingest does (recipes
    # per message shape), which writes the JSON a full read gives. Formats read by their own structure
    # (JSON, logfmt, access logs) are read in full, as they were stored.
    readers: dict[str, FieldReader] = {}
    tokens_of: dict[int, list[str]] = {}
    while True:
        rows = fields_repo.events_of_templates(session, ids, after, chunk, before_id=before_id)
        if not rows:
            break
        values = []
        for event_id, template_id, template, fmt, message, raw in rows:
            masked = mask_secrets(message)
            if template_id is not None and not read_by_structure(fmt):
                reader = readers.get(fmt) or readers.setdefault(fmt, FieldReader(fmt))
                tokens = tokens_of.get(template_id) or tokens_of.setdefault(template_id, template.split())
                values.append((event_id, reader.read_encoded(tally, template_id, tokens, masked, raw, False)))
                continue
            found, units = extract_fields(template, masked, fmt, raw)
            values.append((event_id, encode_fields(found)))
            if template_id is not None:
                tally.add(template_id, found, units)
        fields_repo.store_fields(session, values)
        after = rows[-1][0]
        done += len(rows)
    return done


def list_fields(store: Store, query: FieldsQuery) -> list[dict[str, Any]]:
    """The fields a question can use: name, type, kind, unit, events carrying it, distinct values
    (counted up to DISTINCT_BOUND), the most frequent values and the templates that carry it."""
    with store.session() as session:
        if query.template is not None and not fields_repo.template_exists(session, query.template):
            raise UsageError(f"no template with id {query.template} (see `logchat stat` for template ids)")
        unknown = fields_repo.unknown_sources(session, query.sources)
        if unknown:
            raise UsageError(f"no source named {unknown[0]!r} in the store (see `logchat sources list`)")
        conditions = []
        if query.sources:
            conditions.append(fields_repo.source_condition(session, query.sources))
        if query.template is not None:
            conditions.append(fields_repo.of_template(query.template))
        within = and_all(conditions)
        infos = fields_repo.field_infos(session, template_id=query.template)
        result = []
        for info in infos:
            if query.sources:
                events = fields_repo.field_event_counts(session, [info.name], within)[info.name]
            elif query.template is not None:
                events = fields_repo.template_field_count(session, query.template, info.name)
            else:
                events = info.events
            if events == 0:
                continue
            scanned_all = events <= SCAN_EVENTS
            scope = within if scanned_all else fields_repo.recent_carrying(session, info.name, within, SCAN_EVENTS)
            distinct, bounded_all = fields_repo.distinct_values(session, info.name, scope, bound=DISTINCT_BOUND)
            top = fields_repo.group_by_field(session, info.name, scope, limit=EXAMPLES)
            result.append({
                "name": info.name, "type": info.type, "kind": info.kind, "unit": info.unit, "events": events,
                "distinct": distinct, "distinct_exact": scanned_all and bounded_all,
                "examples": [{"value": value, "events": n} for value, n in top],
                "templates": list(info.template_ids if query.template is None else (query.template,)),
            })  # fmt: skip
    return mask_tree(result)  # type: ignore[no-any-return]


def and_all(conditions: list[Any]) -> Any:
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined
