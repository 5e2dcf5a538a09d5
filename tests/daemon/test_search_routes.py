"""GET /api/v1/logs/search against a real store (SQLite, and PostgreSQL when configured): words and
filters, keyset pages that neither repeat nor skip lines, context from the same file, permissions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon_helpers import bearer

BASE = datetime(2026, 11, 2, 19, 0, 0, tzinfo=UTC)
SEARCH = "/api/v1/logs/search"


def _line(i: int, *, host: str, process: str, level: str, message: str, ts: datetime | None) -> str:
    record: dict[str, Any] = {"level": level, "host": host, "logger": process, "msg": message}
    if ts is not None:
        record["time"] = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(record)


def app_lines(count: int = 40, start: int = 0) -> list[str]:
    """Two lines per second (ties in time), levels, hosts and processes in turn; every third line is a
    declined payment; the last two lines of the first batch have no time at all."""
    lines = []
    for i in range(start, start + count):
        message = f"payment {i} declined by bank" if i % 3 == 0 else f"request {i} served"
        ts = None if start == 0 and i >= count - 2 else BASE + timedelta(seconds=i // 2)
        lines.append(_line(i, host=f"web-0{i % 3}", process="worker" if i % 4 == 0 else "api",
                           level=("info", "warning", "error")[i % 3], message=message, ts=ts))
    return lines


def other_lines() -> list[str]:
    return [_line(i, host="db-01", process="postgres", level="error", message=f"payment {i} declined by db",
                  ts=BASE + timedelta(seconds=i, milliseconds=500)) for i in range(10)]


def index(services: Any, *paths: Path) -> None:
    from logchat.services.ingest import index_inputs

    report = index_inputs(services.store, services.settings, [str(path) for path in paths])
    assert not report.failed, report.to_dict()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(services: Any) -> list[tuple[int, datetime | None, str, int]]:
    """(id, ts, source location, line) of every event, straight from the store."""
    from sqlalchemy import select

    from logchat.storage.models import Event, Source

    with services.store.session() as session:
        rows = session.execute(
            select(Event.id, Event.ts, Source.location, Event.line_no).join(Source, Source.id == Event.source_id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def search(client: Any, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCH, params={k: str(v) for k, v in params.items()}, headers=bearer(token))
    body = await response.json()
    assert response.status == 200, body
    return body  # type: ignore[no-any-return]


async def all_pages(client: Any, token: str, **params: Any) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):  # a hang guard, far above any page count here
        page = await search(client, token, **params, **({"after": cursor} if cursor else {}))
        hits.extend(page["hits"])
        cursor = page["next"]
        if cursor is None:
            return hits
    raise AssertionError("paging never ended")


async def test_hits_carry_the_raw_line_and_its_file_line_citation(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    lines = app_lines()
    app = write(tmp_path / "app.jsonl", lines)
    index(services, app)
    page = await search(client, tokens["analyst"], q="declined", limit=500)
    expected = [number for number, line in enumerate(lines, start=1) if "declined" in line]
    assert sorted(hit["line"] for hit in page["hits"]) == expected
    assert page["next"] is None
    assert page["query"] == {"terms": ["declined"], "exact": []}
    for hit in page["hits"]:
        assert hit["location"] == str(app)
        assert hit["source"] == "app.jsonl"
        assert hit["citation"] == f"{app}:{hit['line']}"
        assert hit["raw"] == lines[hit["line"] - 1]  # the line as written, not masked or reformatted
        assert "declined" in hit["message"]
        assert "context" not in hit or hit["context"] is None
    # Stemmed words as the index matches them; an identifier verbatim (payment 3 is not payment 33).
    assert len((await search(client, tokens["analyst"], q="declines payments", limit=500))["hits"]) == len(expected)
    assert [hit["line"] for hit in (await search(client, tokens["admin"], q='"payment 3 declined"'))["hits"]] == [4]
    # A word no line holds finds nothing: it is not dropped as `ask` would drop it.
    assert (await search(client, tokens["analyst"], q="declined zebra"))["hits"] == []


async def test_filters_narrow_the_hits(client: Any, services: Any, tokens: dict[str, str], tmp_path: Path) -> None:
    app = write(tmp_path / "app.jsonl", app_lines())
    other = write(tmp_path / "other.jsonl", other_lines())
    index(services, app, other)
    token = tokens["analyst"]

    async def lines_of(**params: Any) -> set[tuple[str, int]]:
        hits = await all_pages(client, token, limit=500, **params)
        return {(Path(hit["location"]).name, hit["line"]) for hit in hits}

    def expected(predicate: Any) -> set[tuple[str, int]]:
        found = set()
        for name, lines in (("app.jsonl", app_lines()), ("other.jsonl", other_lines())):
            for number, line in enumerate(lines, start=1):
                if predicate(json.loads(line)):
                    found.add((name, number))
        return found

    assert await lines_of(level="error") == expected(lambda r: r["level"] == "error")
    assert await lines_of(level="warning") == expected(lambda r: r["level"] in ("warning", "error"))
    assert await lines_of(host="web-01") == expected(lambda r: r["host"] == "web-01")
    assert await lines_of(source="other") == expected(lambda r: r["host"] == "db-01")
    assert await lines_of(process="worker") == expected(lambda r: r["logger"] == "worker")
    assert await lines_of(q="declined", source="app.jsonl", level="info") == expected(
        lambda r: r["host"] != "db-01" and r["level"] == "info" and "declined" in r["msg"])
    since, until = BASE + timedelta(seconds=5), BASE + timedelta(seconds=8)

    def inside(record: dict[str, Any]) -> bool:
        ts = datetime.fromisoformat(record["time"].replace("Z", "+00:00")) if "time" in record else None
        return ts is not None and since <= ts < until

    assert await lines_of(since=since.isoformat(), until=until.isoformat()) == expected(inside)
    # The time phrases of the command line: everything here is more than an hour before "now"... in 2026.
    everything_timed = expected(lambda r: "time" in r)
    assert await lines_of(since="2026-11-02 18:00", until="2026-11-02 20:00") == everything_timed


async def test_bad_parameters_are_422_naming_the_field(client: Any, services: Any, tokens: dict[str, str]) -> None:
    cases = {
        "since": {"since": "the day the music died"},
        "until": {"since": "2026-11-02 20:00", "until": "2026-11-02 19:00"},
        "level": {"level": "loud"},
        "q": {"q": "*** ..."},
        "after": {"after": "not-a-cursor"},
        "limit": {"limit": "501"},
        "context": {"context": "21"},
        "colour": {"colour": "blue"},  # unknown parameters are refused, not ignored
    }
    huge = base64.urlsafe_b64encode(f"-:{10**30}".encode()).decode()
    more_cases = {"after": {"after": huge}, "q": {"q": "a\x00b"}, "host": {"host": "web\x00"}}
    for field, params in [*cases.items(), *more_cases.items()]:
        response = await client.get(SEARCH, params=params, headers=bearer(tokens["analyst"]))
        body = await response.json()
        assert response.status == 422, (field, body)
        assert body["error"]["field"] == field, (field, body)
        assert field in body["error"]["message"], body


async def test_keyset_pages_neither_repeat_nor_skip_lines_while_new_ones_arrive(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    app = write(tmp_path / "app.jsonl", app_lines())
    other = write(tmp_path / "other.jsonl", other_lines())
    index(services, app, other)
    before = stored(services)
    token = tokens["analyst"]
    first = await search(client, token, limit=7)
    # Lines stored between two pages do not shift the pages: one stamped later than the cursor is not
    # shown, one stamped earlier (a late line) is shown in its place.
    write(other, [
        *other_lines(),
        _line(98, host="db-01", process="postgres", level="error", message="early", ts=BASE + timedelta(hours=1)),
        _line(99, host="db-01", process="postgres", level="error", message="late", ts=BASE + timedelta(seconds=1)),
    ])
    index(services, other)
    late = next(row[0] for row in stored(services) if row[2] == str(other) and row[3] == 12)
    hits = list(first["hits"])
    cursor = first["next"]
    pages = 1
    while cursor is not None and pages < 1000:
        page = await search(client, token, limit=7, after=cursor)
        assert len(page["hits"]) <= 7
        hits.extend(page["hits"])
        cursor = page["next"]
        pages += 1
    ids = [hit["id"] for hit in hits]
    assert len(ids) == len(set(ids)), "a line came twice"
    assert set(ids) == {row[0] for row in before} | {late}, "a line was skipped"
    assert pages == -(-(len(before) + 1) // 7)
    # Newest first; lines without a time last; ties by id, newest first.
    keys = [(hit["ts"] is not None, hit["ts"] or "", hit["id"]) for hit in hits]
    assert keys == sorted(keys, reverse=True)
    assert [hit["ts"] for hit in hits[-2:]] == [None, None]
    # With words and filters, the same walk.
    declined = await all_pages(client, token, q="declined", host="web-00", limit=2)
    assert [hit["id"] for hit in declined] == [
        hit["id"] for hit in (await search(client, token, q="declined", host="web-00", limit=500))["hits"]
    ]


async def test_context_lines_come_from_the_same_file_and_generation(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    lines = app_lines(20)
    app = write(tmp_path / "app.jsonl", lines)
    index(services, app)
    other = write(tmp_path / "other.jsonl", other_lines() * 15)
    index(services, other)
    # More of app.jsonl after 150 lines of other.jsonl: its ids are far from those of its earlier lines.
    more = app_lines(6, start=20)
    write(app, lines + more)
    index(services, app)
    token = tokens["analyst"]
    page = await search(client, token, q='"payment 21 declined"', context=3)
    [hit] = page["hits"]
    assert hit["line"] == 22
    assert [line["line"] for line in hit["context"]["before"]] == [19, 20, 21]
    assert [line["line"] for line in hit["context"]["after"]] == [23, 24, 25]
    assert {line["location"] for line in hit["context"]["before"] + hit["context"]["after"]} == {str(app)}
    assert hit["context"]["before"][-1]["raw"] == (lines + more)[20]
    assert hit["context"]["after"][0]["citation"] == f"{app}:23"
    # At the edges of the file: what there is.
    first = (await search(client, token, q='"payment 0 declined"', source="app.jsonl", context=2))["hits"][0]
    assert first["context"]["before"] == []
    assert [line["line"] for line in first["context"]["after"]] == [2, 3]
    last = (await search(client, token, event=hit["id"] + 4, context=20))["hits"][0]
    assert last["line"] == 26 and last["context"]["after"] == []
    assert [line["line"] for line in last["context"]["before"]] == list(range(6, 26))
    # The file truncated and written anew: a new generation, whose first line has nothing before it.
    write(app, app_lines(3, start=100))
    index(services, app)
    fresh = (await search(client, token, q='"payment 102 declined"', context=5))["hits"][0]
    assert fresh["line"] == 3
    assert [line["line"] for line in fresh["context"]["before"]] == [1, 2]
    assert fresh["context"]["after"] == []


async def test_one_event_by_id_with_its_context(client: Any, services: Any, tokens: dict[str, str],
                                                tmp_path: Path) -> None:
    index(services, write(tmp_path / "app.jsonl", app_lines(10)))
    some = next(row for row in stored(services) if row[3] == 5)
    page = await search(client, tokens["admin"], event=some[0], context=1)
    [hit] = page["hits"]
    assert (hit["id"], hit["line"]) == (some[0], 5)
    assert [line["line"] for line in hit["context"]["before"] + hit["context"]["after"]] == [4, 6]


async def test_only_roles_that_may_read_raw_lines_search(client: Any, services: Any, tokens: dict[str, str],
                                                         tmp_path: Path) -> None:
    index(services, write(tmp_path / "app.jsonl", app_lines(5)))
    response = await client.get(SEARCH, params={"q": "payment"}, headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 403
    assert body["error"]["code"] == "forbidden"
    assert "logs:search" in body["error"]["message"]
    assert "payment" not in json.dumps(body)
    response = await client.get(SEARCH, params={"q": "payment"})
    assert response.status == 401
    for role in ("analyst", "admin"):
        assert (await search(client, tokens[role], q="payment"))["hits"]
