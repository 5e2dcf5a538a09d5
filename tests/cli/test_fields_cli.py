"""`logchat fields`: discovering the fields of stored events; `logchat db upgrade` reading the fields
of events stored before fields existed; and all of it only when field extraction is turned on."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, text

from logchat.storage.db import open_store
from logchat.storage.migrate import head_revision

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))
from test_fields_repo import parsed, write_access_log


def logchat(*args: str, url: str, fields: bool = True) -> subprocess.CompletedProcess[str]:
    """Run logchat with field extraction on (``fields``) or off, set through the environment."""
    env = {**os.environ, "LOGCHAT_INGEST__FIELDS": "true" if fields else "false"}
    return subprocess.run([sys.executable, "-m", "logchat", "--database-url", url, *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_fields_json_lists_types_units_counts_and_examples(database_url: str, tmp_path: Path, loghub: Path) -> None:
    access = tmp_path / "access.log"
    rows = [parsed(line) for line in write_access_log(access, lines=1500)]
    done = logchat("--quiet", "index", str(access), str(loghub / "OpenSSH" / "OpenSSH_2k.log"), url=database_url)
    assert done.returncode == 0, done.stderr

    listed = logchat("fields", "--source", "access.log", "--json", url=database_url)
    assert listed.returncode == 0, listed.stderr
    fields = {item["name"]: item for item in json.loads(listed.stdout)["fields"]}
    statuses = Counter(str(r["status"]) for r in rows)
    status = fields["status"]
    assert (status["type"], status["kind"], status["unit"]) == ("int", "identifier", None)
    assert status["events"] == len(rows)
    assert (status["distinct"], status["distinct_exact"]) == (len(statuses), True)
    assert status["examples"][0] == {"value": statuses.most_common(1)[0][0], "events": statuses.most_common(1)[0][1]}
    size = fields["bytes"]
    assert (size["type"], size["kind"], size["unit"]) == ("int", "measure", "B")
    assert size["events"] == sum(r["bytes"] is not None for r in rows)
    assert fields["duration"]["unit"] == "s" and fields["client"]["type"] == "ip"
    assert "user" not in fields  # OpenSSH's users are not in the access log

    listed_all = json.loads(logchat("fields", "--json", url=database_url).stdout)["fields"]
    everything = {item["name"]: item for item in listed_all}
    assert everything["user"]["kind"] == "label" and everything["port"]["kind"] == "identifier"

    template = status["templates"][0]
    one = json.loads(logchat("fields", "--template", str(template), "--json", url=database_url).stdout)["fields"]
    assert one and all(item["templates"] == [template] for item in one)

    shown = logchat("fields", "--source", "access.log", url=database_url)
    assert shown.returncode == 0 and re.search(r"^status\s+int\s+identifier\s", shown.stdout, re.M), shown.stdout


def test_fields_refuses_an_unknown_source_or_template(database_url: str, tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    write_access_log(access, lines=20)
    assert logchat("--quiet", "index", str(access), url=database_url).returncode == 0
    unknown = logchat("fields", "--source", "nosuch.log", url=database_url)
    assert unknown.returncode != 0 and "nosuch.log" in unknown.stderr and not unknown.stdout
    missing = logchat("fields", "--template", "99999", url=database_url)
    assert missing.returncode != 0 and "99999" in missing.stderr


def _store_before_fields(url: str, log: Path) -> int:
    """A store with the schema of revision 0011 holding ``log``'s events, as the ingest of that time
    wrote them (every column but the fields)."""
    from alembic import command

    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.templates import TemplateMiner
    from logchat.ingest.timestamps import TimeContext
    from logchat.storage.migrate import alembic_config

    store = open_store(url, migrate=False)
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0011_pg_search_tokens")
        data = log.read_bytes()
        fmt = detect_format(sample_lines(data[:8192]))
        miner = TemplateMiner()
        with log.open("rb") as handle, store.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO sources (id, name, location, kind, format, generation, size, \"offset\", line_count, "
                "head_length, event_count, created_at) VALUES (1, :name, :location, 'file', :fmt, 0, :size, :size, 0, "
                "0, 0, :now)"), {"name": log.name, "location": str(log), "fmt": fmt, "size": len(data),
                                 "now": int(datetime.now(UTC).timestamp() * 1e6)})
            reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
            plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=500, multiline=True)
            columns = ("id", "source_id", "generation", "line_no", "line_end", "byte_offset", "ts", "level", "host",
                       "process", "pid", "template_id", "message", "raw")
            insert = text(f"INSERT INTO events ({', '.join(columns)}) "
                          f"VALUES ({', '.join(':' + c for c in columns)})")
            count = 0
            for batch in produce_batches(reader, make_parser(fmt, TimeContext()), miner, plan):
                for row in batch.rows:
                    conn.execute(insert, dict(zip(columns, row[:14], strict=True)))
                    count += 1
            for template_id in sorted(miner._drain.id_to_cluster):
                conn.execute(text("INSERT INTO templates (id, template, count) VALUES (:id, :t, 0)"),
                             {"id": template_id, "t": miner.template(template_id)})
        return count
    finally:
        store.close()


def test_db_upgrade_reads_the_fields_of_events_stored_before_fields_existed(database_url: str, loghub: Path) -> None:
    log = loghub / "OpenSSH" / "OpenSSH_2k.log"
    stored = _store_before_fields(database_url, log)
    assert stored == 2000

    upgraded = logchat("db", "upgrade", url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded to {head_revision()}" in upgraded.stdout
    assert f"read the fields of {stored:,} stored events" in upgraded.stdout
    assert "reading the fields of 2,000 stored events" in upgraded.stderr  # no terminal: one line, no bar

    truth = {}
    with (log.parent / "OpenSSH_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["EventId"] == "E10":
                match = re.fullmatch(r"Failed password for invalid user (.*?) from (.*?) port (.*?) ssh2",
                                     row["Content"])
                assert match is not None
                truth[int(row["LineId"])] = {"user": match.group(1).strip(), "from": match.group(2),
                                             "port": int(match.group(3))}
    store = open_store(database_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events WHERE fields IS NULL")).scalar() == 0
            by_line = text("SELECT line_no, fields FROM events WHERE line_no IN :lines").bindparams(
                bindparam("lines", expanding=True))
            read = dict(conn.execute(by_line, {"lines": list(truth)}).all())
            kinds = dict(conn.execute(
                text("SELECT name, kind FROM template_fields WHERE name IN ('user', 'port')")).all())
    finally:
        store.close()
    for line, expected in truth.items():
        value = read[line] if isinstance(read[line], dict) else json.loads(read[line])
        assert {name: value[name] for name in expected} == expected, line
    assert kinds == {"user": "label", "port": "identifier"}

    again = logchat("db", "upgrade", url=database_url)
    assert again.returncode == 0 and f"already at {head_revision()}" in again.stdout and "read the" not in again.stdout


def _stored_fields(url: str) -> tuple[int, int, int]:
    """(events, events without fields, template field rows) in the store at ``url``."""
    store = open_store(url, migrate=False)
    try:
        with store.engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            without = conn.execute(text("SELECT count(*) FROM events WHERE fields IS NULL")).scalar_one()
            template_fields = conn.execute(text("SELECT count(*) FROM template_fields")).scalar_one()
    finally:
        store.close()
    return events, without, template_fields


def test_fields_are_read_at_ingest_by_default(database_url: str, tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    rows = write_access_log(access, lines=200)
    default = {key: value for key, value in os.environ.items() if key != "LOGCHAT_INGEST__FIELDS"}
    indexed = subprocess.run([sys.executable, "-m", "logchat", "--database-url", database_url, "--quiet", "index",
                              str(access)], capture_output=True, text=True, timeout=300, env=default)
    assert indexed.returncode == 0, indexed.stderr
    events, without, template_fields = _stored_fields(database_url)
    assert (events, without) == (len(rows), 0) and template_fields > 0


def test_fields_turned_off_are_read_on_first_use_once_turned_on(database_url: str, tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    rows = [parsed(line) for line in write_access_log(access, lines=400)]
    indexed = logchat("--quiet", "index", str(access), url=database_url, fields=False)
    assert indexed.returncode == 0, indexed.stderr
    assert _stored_fields(database_url) == (len(rows), len(rows), 0)  # no field work at ingest

    refused = logchat("fields", "--json", url=database_url, fields=False)
    assert refused.returncode != 0 and not refused.stdout
    assert "field extraction is off" in refused.stderr
    assert "[ingest]" in refused.stderr and "LOGCHAT_INGEST__FIELDS=true" in refused.stderr
    assert "events already stored are then read" in refused.stderr
    upgraded = logchat("db", "upgrade", url=database_url, fields=False)
    assert upgraded.returncode == 0 and "read the" not in upgraded.stdout + upgraded.stderr
    assert _stored_fields(database_url)[1] == len(rows)

    listed = logchat("fields", "--json", url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert f"reading the fields of {len(rows):,} stored events" in listed.stderr
    found = {item["name"]: item for item in json.loads(listed.stdout)["fields"]}
    statuses = Counter(str(r["status"]) for r in rows)
    assert found["status"]["events"] == len(rows) and found["status"]["distinct"] == len(statuses)
    assert found["status"]["examples"][0] == {"value": statuses.most_common(1)[0][0],
                                              "events": statuses.most_common(1)[0][1]}
    events, without, template_fields = _stored_fields(database_url)
    assert (events, without) == (len(rows), 0) and template_fields > 0

    # Turned on, ingest reads the fields of new events itself.
    more = tmp_path / "more.log"
    added = len(write_access_log(more, lines=50))
    more.write_text(more.read_text(encoding="utf-8").replace("10.0.", "10.9."), encoding="utf-8")  # another file
    assert logchat("--quiet", "index", str(more), url=database_url).returncode == 0
    assert _stored_fields(database_url)[:2] == (len(rows) + added, 0)


def test_index_reads_the_events_stored_while_fields_were_off_once_they_are_on(
    database_url: str, tmp_path: Path
) -> None:
    """A store indexed with fields off, then indexed with them on: the new events are stored with their fields,
    and the run reads the fields of the events stored before, once, so that answers over fields count them all."""
    access = tmp_path / "access.log"
    rows = [parsed(line) for line in write_access_log(access, lines=300)]
    assert logchat("--quiet", "index", str(access), url=database_url, fields=False).returncode == 0
    assert _stored_fields(database_url) == (len(rows), len(rows), 0)

    more = tmp_path / "more.log"
    added = len(write_access_log(more, lines=40))
    more.write_text(more.read_text(encoding="utf-8").replace("10.0.", "10.9."), encoding="utf-8")  # another file
    indexed = logchat("index", str(more), url=database_url)
    assert indexed.returncode == 0, indexed.stderr
    assert f"reading the fields of {len(rows):,} stored events" in indexed.stderr
    events, without, template_fields = _stored_fields(database_url)
    assert (events, without) == (len(rows) + added, 0) and template_fields > 0
    listed = logchat("fields", "--json", url=database_url)
    assert listed.returncode == 0 and "reading the fields" not in listed.stderr
    status = {item["name"]: item for item in json.loads(listed.stdout)["fields"]}["status"]
    assert status["events"] == len(rows) + added

    # Nothing is left to read: the next runs only look at the oldest and the newest event.
    again = logchat("index", "--json", str(more), url=database_url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["new_events"] == 0 and "reading the fields" not in again.stderr

    # Off again for one run, then on: the events of that run are the newest when the next run starts, and are
    # read although the new events of that next run have fields.
    later, last = tmp_path / "later.log", tmp_path / "last.log"
    for log, prefix in ((later, "10.7."), (last, "10.8.")):
        write_access_log(log, lines=30)
        log.write_text(log.read_text(encoding="utf-8").replace("10.0.", prefix), encoding="utf-8")
    assert logchat("--quiet", "index", str(later), url=database_url, fields=False).returncode == 0
    assert _stored_fields(database_url)[1] == 30
    indexed = logchat("index", str(last), url=database_url)
    assert indexed.returncode == 0, indexed.stderr
    assert "reading the fields of 30 stored events" in indexed.stderr
    assert _stored_fields(database_url)[:2] == (len(rows) + added + 60, 0)
