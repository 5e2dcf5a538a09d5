"""Named fields follow the template an event ends up in: Drain generalises "Failed password for root from
<IP>" to "Failed password for <*> from <IP>" once another user shows up, and the events read before that
change carry the user as well as the later ones (real OpenSSH lines from loghub)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from logchat.ingest.fields import FieldTally, encode_fields, extract_fields
from logchat.redaction import mask_secrets
from logchat.services.ingest import index_inputs
from logchat.storage.models import Event, Source, Template, TemplateField

# "message repeated 5 times: [ Failed password for root ...]" is a line of another template.
_ROOT_FAILED = re.compile(r"sshd\[\d+\]: Failed password for root from ")
_OTHER_USER_FAILED = re.compile(r"sshd\[\d+\]: Failed password for (?!root |invalid )\S+ from ")


def _openssh_lines(loghub: Path) -> list[str]:
    return (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()


def _stored(store) -> list[tuple[int, str, str, str, str, dict[str, object]]]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        rows = session.execute(
            select(Event.id, Template.template, Source.format, Event.message, Event.raw, Event.fields)
            .join(Template, Template.id == Event.template_id).join(Source, Source.id == Event.source_id)
            .order_by(Event.id)
        ).all()  # fmt: skip
    return [(i, t, f or "", m, r, fields if isinstance(fields, dict) else json.loads(fields))
            for i, t, f, m, r, fields in rows]  # fmt: skip


def _assert_fields_follow_final_templates(store) -> None:  # type: ignore[no-untyped-def]
    stale = []
    for event_id, template, fmt, message, raw, fields in _stored(store):
        expected = json.loads(encode_fields(extract_fields(template, mask_secrets(message), fmt, raw)[0]))
        if fields != expected:
            stale.append((event_id, template, fields, expected))
    assert stale == []


def _root_failures(store) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for _, template, _, message, _, fields in _stored(store)
               if template.startswith("Failed password for <*> from") and fields.get("for") == "root")  # fmt: skip


def _template_field_counts(store) -> dict[tuple[int, str], int]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        rows = session.execute(select(TemplateField.template_id, TemplateField.name, TemplateField.count)).all()
    return {(template_id, name): count for template_id, name, count in rows}


@pytest.fixture
def fields_on(settings):  # type: ignore[no-untyped-def]
    settings.ingest.fields = True
    return settings


def test_events_read_before_their_template_generalised_carry_its_new_field(
    store,
    fields_on,
    tmp_path: Path,
    loghub: Path,  # type: ignore[no-untyped-def]
) -> None:
    lines = _openssh_lines(loghub)
    first_other = next(n for n, line in enumerate(lines) if _OTHER_USER_FAILED.search(line))
    assert any(_ROOT_FAILED.search(line) for line in lines[:first_other])  # root came first in this log
    log = tmp_path / "auth.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")

    index_inputs(store, fields_on, [str(log)])

    assert _root_failures(store) == sum(1 for line in lines if _ROOT_FAILED.search(line))
    _assert_fields_follow_final_templates(store)
    # One batch: every template's row (type, unit, count, example) is what counting its events' final fields
    # in event order gives.
    tally = FieldTally()
    with store.session() as session:
        for template_id, template, fmt, message, raw in session.execute(
            select(Event.template_id, Template.template, Source.format, Event.message, Event.raw)
            .join(Template, Template.id == Event.template_id).join(Source, Source.id == Event.source_id)
            .order_by(Event.id)
        ):  # fmt: skip
            tally.add(template_id, *extract_fields(template, mask_secrets(message), fmt or "", raw))
        stored_rows = session.execute(
            select(TemplateField.template_id, TemplateField.name, TemplateField.type, TemplateField.kind,
                   TemplateField.unit, TemplateField.count, TemplateField.example)
            .order_by(TemplateField.template_id, TemplateField.name)
        ).all()  # fmt: skip
    assert [tuple(row) for row in stored_rows] == tally.rows()


def test_a_template_generalised_by_a_later_run_or_batch_rereads_the_earlier_events(
    store,
    fields_on,
    tmp_path: Path,
    loghub: Path,  # type: ignore[no-untyped-def]
) -> None:
    lines = _openssh_lines(loghub)
    first_other = next(n for n, line in enumerate(lines) if _OTHER_USER_FAILED.search(line))
    log = tmp_path / "auth.log"
    log.write_text("".join(line + "\n" for line in lines[:first_other]), encoding="utf-8")
    fields_on.ingest.batch_size = 97  # the change also lands in a later batch of the second run

    index_inputs(store, fields_on, [str(log)])
    assert _root_failures(store) == 0  # "root" is still fixed text of the template
    with log.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines[first_other:]))
    index_inputs(store, fields_on, [str(log)])

    assert _root_failures(store) == sum(1 for line in lines if _ROOT_FAILED.search(line))
    _assert_fields_follow_final_templates(store)
    # Each template's field counts are those of its events' fields, counted once.
    counted: dict[tuple[int, str], int] = {}
    with store.session() as session:
        for template_id, fields in session.execute(select(Event.template_id, Event.fields)):
            for name in fields if isinstance(fields, dict) else json.loads(fields):
                counted[(template_id, name)] = counted.get((template_id, name), 0) + 1
    assert _template_field_counts(store) == counted
