"""Named fields read from real log lines: compared with the parameters of loghub's ground-truth
templates (never with logchat's own output), and the structured formats, units and types."""

from __future__ import annotations

import csv
import itertools
import json
import pickle
import re
from pathlib import Path

import pytest

from logchat.ingest.fields import (
    FieldReader,
    FieldTally,
    encode_fields,
    extract_fields,
    field_name,
    kind_of,
    type_of,
    typed_value,
)
from logchat.ingest.templates import TemplateMiner
from logchat.redaction import mask_secrets


def ground_truth(loghub: Path, system: str, event_id: str) -> list[tuple[int, list[str]]]:
    """(line number, parameters) of the lines of one loghub template, the parameters read by aligning
    the line's content with the template's <*> slots."""
    found = []
    with (loghub / system / f"{system}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["EventId"] != event_id:
                continue
            parts = [re.escape(part) for part in row["EventTemplate"].split("<*>")]
            match = re.fullmatch("(.*?)".join(parts), row["Content"])
            assert match is not None, row
            found.append((int(row["LineId"]), list(match.groups())))
    assert found
    return found


def fields_of_contents(loghub: Path, system: str) -> dict[int, dict[str, object]]:
    """Fields of every line's content, read the way ingest reads them: templates mined in file order
    from the masked message, fields read under the template as it is at that moment."""
    miner = TemplateMiner()
    fields = {}
    with (loghub / system / f"{system}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            masked = mask_secrets(row["Content"])
            template_id = miner.assign(masked)
            fields[int(row["LineId"])], _ = extract_fields(miner.template(template_id), masked)
    return fields


def test_openssh_failed_invalid_user_fields_equal_loghub_parameters(loghub: Path) -> None:
    truth = ground_truth(loghub, "OpenSSH", "E10")  # Failed password for invalid user <*> from <*> port <*> ssh2
    fields = fields_of_contents(loghub, "OpenSSH")
    assert len(truth) > 50
    for line, (user, address, port) in truth:
        # User names stay text, even "0" or "0101"; a double space before the name ("user  0101") is
        # part of loghub's parameter, not of the name.
        assert fields[line]["user"] == user.strip(), line
        assert fields[line]["from"] == address, line
        assert fields[line]["port"] == int(port), line


def test_openssh_invalid_user_is_a_user_from_the_first_line_on(loghub: Path) -> None:
    truth = ground_truth(loghub, "OpenSSH", "E13")  # Invalid user <*> from <*>
    fields = fields_of_contents(loghub, "OpenSSH")
    expected = [(user.strip(), address) for _, (user, address) in truth]
    assert [(fields[line]["user"], fields[line]["from"]) for line, _ in truth] == expected


def test_hdfs_receiving_block_fields_equal_loghub_parameters(loghub: Path) -> None:
    truth = ground_truth(loghub, "HDFS", "E13")  # Receiving block blk_<*> src: /<*>:<*> dest: /<*>:<*>
    fields = fields_of_contents(loghub, "HDFS")
    for line, (block, src, src_port, dest, dest_port) in truth:
        got = fields[line]
        assert got["blk"] == f"blk_{block}", line
        assert (got["src"], got["src_port"], got["dest"], got["dest_port"]) == (
            src, int(src_port), dest, int(dest_port)), line


def test_spark_finished_task_bytes_with_their_unit(loghub: Path) -> None:
    truth = ground_truth(loghub, "Spark", "E9")  # Finished task <*> in stage <*> (TID <*>). <*> bytes result sent
    miner = TemplateMiner()
    by_line: dict[int, tuple[dict[str, object], dict[str, str] | None]] = {}
    with (loghub / "Spark" / "Spark_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            template_id = miner.assign(row["Content"])
            by_line[int(row["LineId"])] = extract_fields(miner.template(template_id), row["Content"])
    for line, (task, stage, tid, size) in truth:
        fields, units = by_line[line]
        assert fields["bytes"] == int(size) and units == {"bytes": "B"}, line
        assert fields["tid"] == int(tid), line
        assert fields["task"] == float(task) and fields["stage"] == float(stage), line


def test_apache_error_scoreboard_fields(loghub: Path) -> None:
    truth = ground_truth(loghub, "Apache", "E1")  # jk2_init() Found child <*> in scoreboard slot <*>
    fields = fields_of_contents(loghub, "Apache")
    for line, (child, slot) in truth:
        assert (fields[line]["child"], fields[line]["slot"]) == (int(child), int(slot)), line


ACCESS_LINES = [
    '203.0.113.7 - alice [10/Oct/2026:13:55:36 +0000] "GET /api/items?id=3&token=abc HTTP/1.1" 502 1234 '
    '"https://example.com/" "Mozilla/5.0 (X11)" 0.254',
    '198.51.100.2 - - [10/Oct/2026:13:55:37 +0000] "POST /login HTTP/2.0" 200 - "-" "curl/8.5"',
]


def test_access_log_standard_fields() -> None:
    fields, units = extract_fields("", "", "access", ACCESS_LINES[0])
    assert fields == {"client": "203.0.113.7", "user": "alice", "method": "GET", "path": "/api/items",
                      "protocol": "HTTP/1.1", "status": 502, "bytes": 1234, "referer": "https://example.com/",
                      "user_agent": "Mozilla/5.0 (X11)", "duration": 0.254}
    assert units == {"bytes": "B", "duration": "s"}
    fields, units = extract_fields("", "", "access", ACCESS_LINES[1])
    assert fields == {"client": "198.51.100.2", "method": "POST", "path": "/login", "protocol": "HTTP/2.0",
                      "status": 200, "user_agent": "curl/8.5"}
    assert kind_of("status", type_of(502)) == "identifier"
    assert kind_of("bytes", type_of(1234)) == "measure"


def test_json_lines_keys_nested_and_typed_secrets_left_out() -> None:
    raw = json.dumps({"time": "2026-10-10T13:55:36Z", "level": "info", "msg": "request done", "status": "503",
                      "took": "877ms", "http": {"method": "GET", "bytes": 42}, "ok": True, "password": "hunter2",
                      "tags": ["a", "b"], "api_key": "sk-123"})
    fields, units = extract_fields("request done", "request done", "json", raw)
    assert fields == {"status": 503, "took": 0.877, "http_method": "GET", "http_bytes": 42, "ok": "true"}
    assert units == {"took": "s"}


def test_logfmt_pairs() -> None:
    raw = 'time=2026-10-10T13:55:36Z level=warn msg="slow query" db=orders duration=1.5s rows=120 user="bob smith"'
    fields, units = extract_fields("", "", "logfmt", raw)
    assert fields == {"db": "orders", "duration": 1.5, "rows": 120, "user": "bob smith"}
    assert units == {"duration": "s"}


def test_a_wrapped_format_is_read_by_its_inner_format() -> None:
    raw = '{"msg": "x", "status": 404}'
    assert extract_fields("", "", "docker+json", raw)[0] == {"status": 404}


@pytest.mark.parametrize(("text", "unit_word", "expected"), [
    ("877ms", None, (0.877, "s")),
    ("250us", None, (0.00025, "s")),
    ("2s", None, (2, "s")),
    ("3.5GB", None, (3.5 * 1024**3, "B")),
    ("12KB", None, (12 * 1024, "B")),
    ("512", "bytes", (512, "B")),
    ("97%", None, (97, "%")),
    ("42", None, (42, None)),
    ("-7", None, (-7, None)),
    ("0101", None, ("0101", None)),
    ("0", None, (0, None)),
    ("0.25", None, (0.25, None)),
    ("12345678901234567890", None, ("12345678901234567890", None)),
    ("1.2.3", None, ("1.2.3", None)),
    ("ssh2", None, ("ssh2", None)),
])  # fmt: skip
def test_numbers_and_units_are_normalised(text: str, unit_word: str | None, expected: tuple[object, object]) -> None:
    assert typed_value(text, unit_word) == expected


def test_names_from_context_units_and_positions() -> None:
    template = "Request <*> took <NUM>ms size <NUM> KB for <*> status=<NUM> method=GET <NUM> <NUM>"
    message = "Request r-17 took 877ms size 12 KB for carol status=502 method=GET 7 9"
    fields, units = extract_fields(template, message)
    assert fields == {"method": "GET", "request": "r-17", "took": 0.877, "size": 12 * 1024, "for": "carol",
                      "status": 502, "arg12": 7, "arg13": 9}
    assert units == {"took": "s", "size": "B"}
    assert type_of("r-17") == "id" and type_of("10.0.0.1") == "ip" and type_of("carol") == "string"


def test_key_colon_value_and_key_equals_value_with_spaces() -> None:
    fields, _ = extract_fields("Times: total = <NUM>, boot = <NUM> user: <*>",
                               "Times: total = 210, boot = 6 user: dave")
    assert fields == {"total": 210, "boot": 6, "user": "dave"}


def test_addresses_with_ports_and_sentence_punctuation() -> None:
    fields, _ = extract_fields("Connection from <IP> closed by <IP>.",
                               "Connection from 10.1.2.3:5544 closed by 10.9.9.9.")
    assert fields == {"from": "10.1.2.3", "from_port": 5544, "by": "10.9.9.9"}


def test_credentials_are_never_fields() -> None:
    message = mask_secrets("login user=erin password=hunter2 key=abc")
    fields, _ = extract_fields("login user=<*> password=<*> key=<*>", message)
    assert fields == {"user": "erin"}
    assert "hunter2" not in encode_fields(fields)


def test_a_message_that_does_not_line_up_with_its_template_keeps_pairs_and_addresses() -> None:
    fields, _ = extract_fields("a b", "odd line rc=3 from 10.0.0.5 port 22 user=frank")
    assert fields == {"rc": 3, "user": "frank", "ip": "10.0.0.5", "port": 22}


def test_field_names_are_safe_identifiers() -> None:
    assert field_name("http.status") == "http_status"
    assert field_name("User-Agent") == "user_agent"
    assert field_name("3xx") == "f_3xx"


def test_tally_gives_one_row_per_template_field_with_the_widest_type() -> None:
    tally = FieldTally()
    tally.add(1, {"took": 3, "user": "a"}, {"took": "s"})
    tally.add(1, {"took": 2.5, "user": "b"}, None)
    tally.add(1, {"took": 4, "user": "c"}, None)
    tally.add(2, {}, None)
    assert tally.rows() == [(1, "took", "float", "measure", "s", 3, "3"), (1, "user", "string", "label", None, 3, "a")]


@pytest.mark.parametrize("system", ["OpenSSH", "Spark", "HDFS"])
def test_a_tally_of_later_events_adds_up_as_one_tally_in_event_order(loghub: Path, system: str) -> None:
    """Counting the events of some templates in two tallies and adding the later one after the earlier one
    (or the earlier one before the later one) gives what one tally of all of them in their order gives (counts
    summed, the first example, the last unit, the widest type), and forgetting templates drops exactly their
    rows: how template fields are counted again once templates generalise (real loghub lines; Spark's carry
    units)."""
    miner, mined = TemplateMiner(), []
    with (loghub / system / f"{system}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            masked = mask_secrets(row["Content"])
            mined.append((miner.assign(masked), masked))
    reads = [(template_id, *extract_fields(miner.template(template_id), masked)) for template_id, masked in mined]
    whole, first, later = FieldTally(), FieldTally(), FieldTally()
    for n, (template_id, fields, units) in enumerate(reads):
        whole.add(template_id, fields, units)
        (first if n < len(reads) // 2 else later).add(template_id, fields, units)
    first_only = first.rows()
    chosen = {template_id for template_id, _, _ in reads[::3]}
    assert chosen != {template_id for template_id, _, _ in reads}

    first.add_later(later, chosen)

    assert any(row[0] not in chosen for row in first_only)
    expected = sorted([row for row in whole.rows() if row[0] in chosen]
                      + [row for row in first_only if row[0] not in chosen])  # fmt: skip
    assert first.rows() == expected
    for template_id in chosen:
        first.forget(template_id)
    assert first.rows() == [row for row in first_only if row[0] not in chosen]
    # The forgotten templates counted again, earlier events after later ones: one tally in event order again.
    earlier, again = FieldTally(), FieldTally()
    for n, (template_id, fields, units) in enumerate(reads):
        if template_id in chosen:
            (earlier if n < len(reads) // 2 else again).add(template_id, fields, units)
    again.add_earlier(earlier)
    first.add_later(again, chosen)
    assert first.rows() == expected


LOGHUB_SYSTEMS = ("Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH",
                  "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper")


@pytest.mark.parametrize("keyed", [True, False], ids=["miner-key", "own-key"])
@pytest.mark.parametrize("system", LOGHUB_SYSTEMS)
def test_ingest_reader_writes_what_a_full_read_gives(loghub: Path, system: str, keyed: bool) -> None:
    """The reader ingest uses (recipes per message shape) stores, event by event, the JSON and template
    fields that reading each message in full gives, while the templates change under it, whether it finds
    recipes by the miner's digit key or by its own; its tally gives the same rows, also after crossing into
    another process (pickled, as batches from the reader process are)."""
    miner = TemplateMiner()
    reader, fast, full = FieldReader(""), FieldTally(), FieldTally()
    recipes = 0
    with (loghub / system / f"{system}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            message = row["Content"]
            masked = mask_secrets(message)
            template_id = miner.assign(masked)
            tokens = miner.template_tokens(template_id)
            stored = reader.read_encoded(fast, template_id, tokens, masked, message, masked is not message,
                                         key=miner.last_key if keyed else None)
            fields, units = extract_fields(miner.template(template_id), masked)
            full.add(template_id, fields, units)
            assert json.loads(stored) == fields and stored == encode_fields(fields), message
    recipes = sum(1 for entry in reader._recipes.values() if entry[2] is not None)
    assert pickle.loads(pickle.dumps(fast)).rows() == full.rows()  # our own tally
    assert fast.rows() == full.rows()
    assert recipes > 0


CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("log", sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".log", ".jsonl")))
def test_ingest_batches_carry_the_fields_a_full_read_gives(log: str) -> None:
    """Every row ingest produces holds the fields that reading its event in full under the template it ends
    the batch in gives, whatever the format: JSON lines reuse their parser's decoding, other lines recipes,
    access logs their own reading."""
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.timestamps import TimeContext

    data = (CORPUS / log).read_bytes()
    fmt = detect_format(sample_lines(data[:8192]))
    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=100_000, multiline=True, fields=True)
    with (CORPUS / log).open("rb") as handle:
        parser = make_parser(fmt, TimeContext())
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        (batch,) = produce_batches(reader, parser, TemplateMiner(), plan)
    expected, tally = _full_reads_under_final_templates(CORPUS / log, fmt)
    assert batch.rows and [row[14] for row in batch.rows] == expected
    assert batch.fields.rows() == tally.rows()


def _full_reads_under_final_templates(log: Path, fmt: str) -> tuple[list[str], FieldTally]:
    """What reading each event of ``log`` in full gives, under the template it has once the whole log is mined
    (the log is one batch): the miner generalises templates as new variants arrive, and the fields of the
    events read before follow. With the tally of all of them, in event order."""
    from logchat.ingest.formats import make_parser
    from logchat.ingest.multiline import join_events
    from logchat.ingest.sources import LineReader
    from logchat.ingest.timestamps import TimeContext

    miner, events = TemplateMiner(), []
    with log.open("rb") as handle:
        parser = make_parser(fmt, TimeContext())
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        for event in join_events(reader, parser, multiline=True):
            masked = mask_secrets(event.message)
            events.append((miner.assign(masked), masked, event.raw, masked is not event.message))
    name = getattr(parser, "name", "") or ""
    encoded, tally = [], FieldTally()
    for template_id, masked, raw, secrets in events:
        fields, units = extract_fields(miner.template(template_id), masked, name, raw, secrets=secrets)
        encoded.append(encode_fields(fields))
        tally.add(template_id, fields, units)
    return encoded, tally


def _batch_fields_and_full_reads(log: Path) -> tuple[list[str], list[str]]:
    """The stored fields of every row ingest produces from ``log``, and what reading each event in full gives;
    and (the log is one batch) the batch's template fields are those the full reads count."""
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.timestamps import TimeContext

    fmt = detect_format(sample_lines(log.read_bytes()[:8192]))
    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=100_000, multiline=True, fields=True)
    with log.open("rb") as handle:
        parser = make_parser(fmt, TimeContext())
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        (batch,) = produce_batches(reader, parser, TemplateMiner(), plan)
    expected, tally = _full_reads_under_final_templates(log, fmt)
    assert batch.fields.rows() == tally.rows()
    return [row[14] for row in batch.rows], expected


def test_access_lines_of_every_shape_are_stored_as_a_full_read_gives(tmp_path: Path) -> None:
    """Access log lines written from their parts (and their tails read once per distinct text) store what
    reading them in full gives: clients that are not addresses, users and requests that JSON escapes, secrets
    in the request, tails with quotes, control characters, a request time or more pairs after them, statuses and
    sizes with a leading zero or digits other than ASCII ones."""
    clients = ["198.51.100.7", "2001:db8::1", "host.example.com", "999.1.1.1"]
    users = ["-", "alice", 'bo"b', "c\\d"]
    requests = ["GET /a?x=1 HTTP/1.1", "GET /b?token=abcdef123456 HTTP/1.1", "POST /c HTTP/2.0", "BADREQUEST",
                "GET /é HTTP/1.1", 'GET /x\\"y HTTP/1.1']
    tails = ["", ' "-" "curl/8.5.0"', ' "https://ref.example/?q=1" "Mozilla/5.0 (X11)"', ' "-" "-"',
             ' "-" "agent" 0.123', ' "-" "agent" rt=0.5 upstream=1.2', ' "a\\"b" "ua"', ' "-" "ua\x01x"',
             ' "ref" "ua" extra words']
    statuses = ["200", "404", "500", "099", "\u0662\u0660\u0660"]  # \d also matches other digits than ASCII ones
    shapes = list(itertools.product(clients, users, requests, tails, ("123", "-", "0012", "0", "\u0661\u0662")))
    # Clients with three dots that are not plain addresses: a slash or a port changes what is stored, a long
    # one is cut, and the rest are text (or escaped).
    odd_clients = ["/198.51.100.7", "198.51.100.7:8080", "1.2.3.4567", "a.b.c.d", "\u0661.\u0662.\u0663.\u0664",
                   "a.b.c." + "d" * 300, '1.2.3."4', "1.2.3.4\\", "1.2.3.\x7f4", "12345", "5ms"]
    shapes += itertools.product(odd_clients, users[:2], requests[:3], tails[:3], ("123", "-"))
    lines = [
        f'{client} - {user} [01/Nov/2026:10:00:{n % 60:02d} +0000] "{request}" {statuses[n % 5]} {size}{tail}'
        for n, (client, user, request, tail, size) in enumerate(shapes)
    ]
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines * 2) + "\n", encoding="utf-8")
    stored, expected = _batch_fields_and_full_reads(log)
    assert len(stored) == 2 * len(lines) and stored == expected
    assert stored[len(lines) + 10] == ('{"client":"198.51.100.7","method":"GET","path":"/a","protocol":"HTTP/1.1",'
                                      '"status":200,"bytes":123,"referer":"https://ref.example/?q=1",'
                                      '"user_agent":"Mozilla/5.0 (X11)"}')


def test_ingest_batches_read_no_fields_by_default() -> None:
    """Off (the default), rows carry no fields and batches no template fields, for every format."""
    from logchat.ingest.detect import detect_format
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader, sample_lines
    from logchat.ingest.timestamps import TimeContext

    logs = sorted(p for p in CORPUS.iterdir() if p.suffix in (".log", ".jsonl"))
    assert logs
    for log in logs:
        fmt = detect_format(sample_lines(log.read_bytes()[:8192]))
        plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=100_000, multiline=True)
        with log.open("rb") as handle:
            parser = make_parser(fmt, TimeContext())
            reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
            batches = list(produce_batches(reader, parser, TemplateMiner(), plan))
        rows = [row for batch in batches for row in batch.rows]
        assert rows, log.name
        assert all(row[14] is None for row in rows), log.name
        assert all(batch.fields.rows() == [] for batch in batches), log.name


def test_a_bare_duration_named_time_is_in_seconds(loghub: Path) -> None:
    # OpenStack's wsgi lines end "status: 200 len: 1893 time: 0.2477829": no unit, so seconds.
    miner = TemplateMiner()
    checked = 0
    with (loghub / "OpenStack" / "OpenStack_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            template_id = miner.assign(row["Content"])
            fields, units = extract_fields(miner.template(template_id), row["Content"])
            said = re.search(r" time: (\d+\.\d+)$", row["Content"])
            if said is None or "time" not in fields:
                continue
            assert fields["time"] == float(said[1]) and units is not None and units["time"] == "s", row["LineId"]
            checked += 1
    assert checked > 1000


def test_messages_of_one_template_with_values_of_every_length_and_kind_store_what_a_full_read_gives() -> None:
    """Patterns (one regex per template and kinds of values, whatever their lengths and digits) write what
    reading each message in full writes: addresses with zeros and ports, user names with punctuation, quotes,
    "=" or non-ASCII letters, numbers signed or with leading zeros, durations with units glued or as the next
    word, and messages that do not line up with their template."""
    import random

    rng = random.Random(5)
    users = ["root", "admin", "(ops)", "web-1", "0", "_svc", 'bo"b', "ü", "a=b", "12abc", "x" * 300, "root.", "r)"]
    ports = ["22", "0", "0080", "65535", "123456"]
    took = ["12ms", "1.5s", "0012ms", "+5ms", "-3", "7", "0.25", "3.25GB", "9" * 17, "1" * 40 + "ms"]

    def address() -> str:
        parts = [str(rng.choice([0, rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 255)])) for _ in "abcd"]
        return ".".join(parts) + rng.choice(["", f":{rng.randint(1, 65535)}", ":0", ":0080"])

    messages = [f"Failed password for root from 10.0.{n}.1 port 22 ssh2" for n in range(3)]
    messages += [f"job {n} took {n}ms size {n} bytes" for n in range(3)]
    messages += [f"sent 1.5s rc={n} via (10.0.0.{n})." for n in range(3)]
    for n in range(3000):
        messages.append(f"Failed password for {rng.choice(users)} from {address()} port {rng.choice(ports)} ssh2")
        messages.append(f"job {rng.randint(0, 10 ** rng.randint(1, 9))} took {rng.choice(took)} size {n % 977} bytes")
        messages.append(f"sent {rng.choice(took)} rc={rng.choice(ports)} via ({address()}).")
        if n % 50 == 0:
            messages.append(f"job {n} took {rng.choice(took)} size {n} bytes and more words")
    reader, _, _ = _stored_as_a_full_read_gives(messages)
    assert sum(1 for entry in reader._plans.values() if entry[4]) >= 3  # the three templates made patterns


def _stored_as_a_full_read_gives(messages: list[str]) -> tuple[FieldReader, set[bytes], int]:
    """Read ``messages`` as ingest does (templates mined on the way, recipes found by the miner's digit key),
    asserting that each stored JSON and the tally are what reading every message in full gives. Returns the field
    reader, the messages' digit keys, and how many messages recipes wrote (the tally keeps the recipe of each)."""
    miner, reader, fast, full = TemplateMiner(), FieldReader(""), FieldTally(), FieldTally()
    keys: set[bytes] = set()
    written_by_recipes = 0
    for message in messages:
        template_id = miner.assign(message)
        tokens = miner.template_tokens(template_id)
        keys.add(miner.last_key)
        before = len(fast.recipes)
        stored = reader.read_encoded(fast, template_id, tokens, message, message, False, key=miner.last_key)
        written_by_recipes += len(fast.recipes) == before + 1
        fields, units = extract_fields(miner.template(template_id), message)
        full.add(template_id, fields, units)
        assert stored == encode_fields(fields), message
    assert fast.rows() == full.rows()
    return reader, keys, written_by_recipes


def test_json_records_of_every_kind_of_value_are_stored_as_a_full_read_gives(tmp_path: Path) -> None:
    """JSON records written from their keys' names and their values' readings (looked up once per set of keys
    and per text) store, record by record, what reading them in full gives, with the same template fields:
    numbers, booleans, text that is a number, an address with a port, a size with a unit, text JSON escapes,
    empty text, nulls, lists, nested objects, NaN, two keys of one name, credentials and secrets, header keys,
    and more keys than a record keeps fields."""
    import random

    rng = random.Random(3)
    numbers: list[object] = [0, 7, -12, 10**20, 2.5, -0.0, True, False, None, [], [1], {"x": 1}]
    texts = ["", "ok", "123", "0012", "-4", "10.0.0.1", "10.0.0.1:8080", "15ms", "2.5 GB", 'say "hi"', "tab\there"]
    values = numbers[:9] + numbers[9:] + texts + ["ü", "1e5", "NaN"]
    keys = ["status", "user", "a.b", "a_b", "host", "password", "duration", "bytes", "x-y"]
    lines = []
    for n in range(4000):
        record: dict[str, object] = {"time": f"2026-11-01T00:00:{n % 60:02d}Z", "level": "info", "msg": "request"}
        for key in rng.sample(keys, rng.randint(0, 4)):
            record[key] = rng.choice(values[:9] if n < 2000 else values)
        lines.append(json.dumps(record))
        if n % 500 == 0:
            lines.append(json.dumps({"msg": "wide", **{f"k{i}": i for i in range(70)}}))
            lines.append('{"msg": "odd", "ratio": NaN, "token": "abc"}')
            lines.append(json.dumps({"msg": "secret", "note": "password=hunter2", "user": "ann"}))
    log = tmp_path / "app.jsonl"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stored, expected = _batch_fields_and_full_reads(log)
    assert len(stored) == len(lines) and stored == expected
    fmt = "json"
    from logchat.ingest.formats import make_parser
    from logchat.ingest.pipeline import BatchPlan, produce_batches
    from logchat.ingest.sources import LineReader
    from logchat.ingest.timestamps import TimeContext

    plan = BatchPlan(source_id=1, generation=0, first_id=1, batch_size=100_000, multiline=True, fields=True)
    with log.open("rb") as handle:
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
        (batch,) = produce_batches(reader, make_parser(fmt, TimeContext()), TemplateMiner(), plan)
    assert batch.fields.rows() == _full_reads_under_final_templates(log, fmt)[1].rows()


def test_a_float_written_as_its_own_json_is_kept_and_any_other_is_converted() -> None:
    """Numbers with a fraction are written as the JSON of their float: kept as they are when that is what they
    are, converted otherwise (a leading or trailing zero, more digits than a float keeps, below 0.0001, a sign,
    digits other than ASCII ones), and the same text either way as converting every one of them."""
    import random

    from logchat.ingest.fields import _float_times

    write = _float_times(1.0)
    generator = random.Random(11)
    texts = {f"{whole}.{fraction}" for whole in ("0", "00", "01", "1", "10", "100", "9" * 14, "1" * 15)
             for fraction in ("0", "00", "5", "50", "05", "0001", "00001", "0000", "9" * 14, "9" * 15)}
    for _ in range(20_000):
        whole = str(generator.randrange(10 ** generator.randint(1, 15)))
        fraction = "".join(generator.choice("0123456789") for _ in range(generator.randint(1, 15)))
        texts.add(("0" if generator.random() < 0.1 else "") + f"{whole}.{fraction}")
    texts |= {"+1.5", "-1.5", "\u0661.\u0665", "1234567890123456", "0.0", "5.0", "0.0001", "0.00001", "100.0"}
    kept = 0
    for text in sorted(texts):
        assert write(text) == float.__repr__(float(text)), text
        kept += write(text) is text
    assert 0.25 * len(texts) < kept < 0.75 * len(texts)  # both ways taken, many times each


def test_messages_that_differ_in_zeros_inside_numbers_share_a_recipe_and_store_what_a_full_read_gives() -> None:
    """Messages whose digit keys differ only in zeros after a digit (ports, addresses, durations) are written by
    one recipe once it is made, and every one of them stores what reading it in full gives: numbers with a leading
    zero, fractions with a trailing zero, hex numbers, names holding zeros ("k00=", "k0="), addresses with zero
    octets, durations with units, as the first message of a key or after its recipe exists."""
    import random

    generator = random.Random(8)

    def number(digits: int) -> str:
        # Mostly a digit 1-9 and then zeros among the others, now and then a leading zero.
        first = "0" if generator.random() < 0.05 else generator.choice("123456789")
        return first + "".join(generator.choice("01234567890000") for _ in range(digits - 1))

    def octet() -> str:
        return str(generator.choice([0, generator.randint(1, 99), generator.randint(100, 255)]))

    messages = []
    for n in range(4000):
        address = ".".join(octet() for _ in "abcd")
        messages.append(f"Failed password for root from {address} port {number(5)} ssh2")
        messages.append(f"task {number(3)} took {number(2)}.{number(2)}ms rc={number(2)} of {number(4)}")
        messages.append(f"seen {number(1)}0 items in {number(3)}.{number(3)} s at 0x{number(4)}")
        if n % 10 == 0:
            messages.append(f"set k{generator.choice(['0', '00', '10', '01'])}={number(3)} and {number(2)}")
    _, keys, written_by_recipes = _stored_as_a_full_read_gives(messages)
    assert len(keys) > len(messages) / 4  # digit keys that come back now and then
    assert written_by_recipes > 0.75 * len(messages)  # without sharing recipes: 44%
