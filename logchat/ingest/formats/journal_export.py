"""systemd's journal export format (`journalctl -o export`): one `KEY=value` line per field, records
separated by a blank line. A record is one event; its time, level, host, process and message come
from __REALTIME_TIMESTAMP, PRIORITY, _HOSTNAME, SYSLOG_IDENTIFIER, _PID and MESSAGE."""

from __future__ import annotations

from logchat.ingest.events import Event, ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid
from logchat.ingest.levels import level_from_syslog_severity
from logchat.ingest.timestamps import epoch_to_utc


class JournalExportParser(ParserBase):
    """A record starts at its `__CURSOR=` line; the other fields are read when the record is complete."""

    name = "journal_export"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        if line.startswith("__CURSOR="):
            return ParsedHeader(None, None, None, None, None, "")
        return None

    def finish_event(self, event: Event) -> None:
        fields: dict[str, str] = {}
        for line in event.raw.split("\n"):
            key, equals, value = line.partition("=")
            if equals and key not in fields:
                fields[key] = value
        realtime = fields.get("__REALTIME_TIMESTAMP", "")
        if realtime.isdecimal():
            event.ts = epoch_to_utc(int(realtime))
        priority = fields.get("PRIORITY", "")
        if priority.isdecimal():
            event.level = level_from_syslog_severity(int(priority))
        event.host = fields.get("_HOSTNAME") or event.host
        event.process = fields.get("SYSLOG_IDENTIFIER") or fields.get("_COMM") or event.process
        event.pid = parse_pid(fields.get("_PID")) or event.pid
        event.message = fields.get("MESSAGE", event.message)
