"""Formats whose header names the columns keep reading right when a later run resumes mid-file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from logchat.services.ingest import index_inputs
from logchat.storage.models import Event

HEADER = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status "
    "sc-substatus sc-win32-status time-taken",
]
ROW = "2026-12-03 13:16:0{n} 10.0.0.5 GET /page{n}.html - 443 - 10.0.0.7 curl/8.5.0 {status} 0 0 15"


def test_appended_w3c_lines_are_read_with_the_columns_named_at_the_top(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "u_ex261203.log"
    log.write_text("\n".join([*HEADER, ROW.format(n=1, status=200)]) + "\n")
    first = index_inputs(store, settings, [str(log)])
    assert (first.sources[0].format, first.new_events) == ("w3c", 1)
    with log.open("a") as handle:
        handle.write(ROW.format(n=2, status=503) + "\n")
    second = index_inputs(store, settings, [str(log)])
    assert second.new_events == 1 and second.sources[0].with_timestamp == 1
    with store.session() as session:
        rows = session.execute(select(Event.line_no, Event.level, Event.message).order_by(Event.id)).all()
    assert [(line_no, level) for line_no, level, _ in rows] == [(3, "INFO"), (4, "ERROR")]
    assert "cs-uri-stem=/page2.html" in rows[1][2] and "sc-status=503" in rows[1][2]
