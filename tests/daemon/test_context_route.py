"""GET /api/v1/logs/events/{id}/context: the lines around a cited line, for every reader, secrets masked
as `ask` shows lines; raw lines stay behind `logs:search`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon_helpers import bearer

SECRET = "hunter2-Sup3rSecret"
LINES = [
    f"2026-01-05T10:00:{second:02d}+00:00 web-01 app[7]: request {second} served"
    for second in range(10)
]
LINES[3] = f"2026-01-05T10:00:03+00:00 web-01 app[7]: db connect postgres://app:{SECRET}@db-01/orders"
LINES[5] = "2026-01-05T10:00:05+00:00 web-01 app[7]: payment 5 declined by bank"
OTHER_FILE = ["2026-01-05T10:00:05+00:00 web-02 app[8]: request from another file"]


def index(services: Any, tmp_path: Path) -> dict[int, int]:
    """Both files indexed; line number -> event id of the first file."""
    from sqlalchemy import select

    from logchat.services.ingest import index_inputs
    from logchat.storage.models import Event, Source

    first, second = tmp_path / "app.log", tmp_path / "other.log"
    first.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    second.write_text("\n".join(OTHER_FILE) + "\n", encoding="utf-8")
    report = index_inputs(services.store, services.settings, [str(first), str(second)])
    assert not report.failed, report.to_dict()
    with services.store.session() as session:
        rows = session.execute(select(Event.line_no, Event.id).join(Source, Source.id == Event.source_id)
                               .where(Source.location == str(first))).all()
    return {line: event_id for line, event_id in rows}


async def context(client: Any, token: str, event_id: int | str, **params: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/api/v1/logs/events/{event_id}/context",
                                params={k: str(v) for k, v in params.items()}, headers=bearer(token))
    return response.status, await response.json()


async def test_a_viewer_gets_the_lines_around_a_cited_line_masked(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    ids = index(services, tmp_path)
    status, body = await context(client, tokens["viewer"], ids[6], lines=3)
    assert status == 200, body
    assert body["event"]["line"] == 6 and body["event"]["id"] == ids[6]
    assert body["event"]["message"] == "payment 5 declined by bank"
    assert body["event"]["citation"] == f"{tmp_path / 'app.log'}:6"
    assert [line["line"] for line in body["before"]] == [3, 4, 5]
    assert [line["line"] for line in body["after"]] == [7, 8, 9]
    assert {line["host"] for line in body["before"] + body["after"]} == {"web-01"}  # the same file only
    masked = body["before"][1]  # line 4: LINES[3]
    assert SECRET not in str(body)
    assert masked["raw"] == LINES[3].replace(SECRET, "***")
    assert masked["message"] == "db connect postgres://app:***@db-01/orders"
    assert set(masked) >= {"citation", "ts", "level", "host", "process", "message", "raw"}


async def test_the_default_is_five_lines_and_the_file_edges_bound_it(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    ids = index(services, tmp_path)
    status, body = await context(client, tokens["viewer"], ids[2])
    assert status == 200, body
    assert [line["line"] for line in body["before"]] == [1]
    assert [line["line"] for line in body["after"]] == [3, 4, 5, 6, 7]
    status, body = await context(client, tokens["viewer"], ids[2], lines=0)
    assert (status, body["before"], body["after"]) == (200, [], [])


async def test_raw_search_still_shows_the_line_as_written_to_analysts(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    ids = index(services, tmp_path)
    response = await client.get("/api/v1/logs/search", params={"event": str(ids[5]), "context": "1"},
                                headers=bearer(tokens["analyst"]))
    body = await response.json()
    assert body["hits"][0]["context"]["before"][0]["raw"] == LINES[3]
    viewer = await client.get("/api/v1/logs/search", params={"event": str(ids[4])}, headers=bearer(tokens["viewer"]))
    assert viewer.status == 403


async def test_unknown_or_malformed_ids_and_bad_line_counts(
    client: Any, services: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    index(services, tmp_path)
    for missing in (999_999, "abc", 0, 2**63):
        status, body = await context(client, tokens["viewer"], missing)
        assert status == 404, (missing, body)
        assert body["error"]["code"] == "not_found"
    status, body = await context(client, tokens["viewer"], 999_999)
    assert body["error"]["message"] == "no event with id 999999"
    for lines in (21, -1, "many"):
        status, body = await context(client, tokens["viewer"], 1, lines=lines)
        assert (status, body["error"]["field"]) == (422, "lines"), body
    status, body = await context(client, tokens["viewer"], 1, lines=1, extra=1)
    assert (status, body["error"]["field"]) == (422, "extra")


async def test_it_needs_a_sign_in_and_is_in_the_permission_table(client: Any) -> None:
    response = await client.get("/api/v1/logs/events/1/context")
    assert response.status == 401
    table = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert "| `GET /api/v1/logs/events/{id}/context` | `logs:read` |" in table
