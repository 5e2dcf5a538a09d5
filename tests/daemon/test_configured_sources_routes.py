"""/api/v1/logs/configured-sources: admins add, change and remove the sources reload reads; everyone
signed in lists them. And GET /api/v1/logs/sources with each location's last error. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon_helpers import bearer
from test_jobs_routes import finished, start
from test_search_routes import app_lines, write

from logchat.config import SourceSettings
from logchat.daemon.routes.logs import SourceList
from logchat.daemon.routes.sources import ConfiguredSourceList, ConfiguredSourceOut

SOURCES = "/api/v1/logs/configured-sources"


async def _call(client: Any, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    response = await client.request(method, path, json=body, headers=bearer(token))
    data = await response.json() if response.content_type == "application/json" else None
    return response.status, data


async def test_an_admin_adds_changes_and_removes_a_source(client: Any, tokens: dict[str, str], services: Any) -> None:
    services.settings.sources = [SourceSettings(path="/var/log/syslog", name="syslog")]
    admin = tokens["admin"]
    status, body = await _call(client, "POST", SOURCES, admin,
                               {"name": "nginx", "path": "/var/log/nginx/*.log", "format": "access"})
    assert status == 201, body
    ConfiguredSourceOut.model_validate(body)
    assert {key: body[key] for key in ("name", "path", "format", "enabled", "origin", "created_by", "updated_by")} == {
        "name": "nginx", "path": "/var/log/nginx/*.log", "format": "access", "enabled": True, "origin": "store",
        "created_by": "admin", "updated_by": "admin"}

    status, body = await _call(client, "GET", SOURCES, tokens["viewer"])
    assert status == 200
    ConfiguredSourceList.model_validate(body)
    assert [(s["name"], s["origin"]) for s in body["sources"]] == [("syslog", "config"), ("nginx", "store")]
    assert body["sources"][0]["created_at"] is None

    status, body = await _call(client, "PATCH", f"{SOURCES}/nginx", admin, {"enabled": False, "name": "web"})
    assert status == 200, body
    assert (body["name"], body["enabled"], body["path"]) == ("web", False, "/var/log/nginx/*.log")

    response = await client.delete(f"{SOURCES}/web", headers=bearer(admin))
    assert response.status == 204 and await response.read() == b""
    status, body = await _call(client, "GET", SOURCES, admin)
    assert [s["origin"] for s in body["sources"]] == ["config"]
    status, body = await _call(client, "DELETE", f"{SOURCES}/web", admin)
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_conflicts_are_409_and_bad_fields_422_naming_the_field(
    client: Any, tokens: dict[str, str], services: Any
) -> None:
    services.settings.sources = [SourceSettings(path="/var/log/syslog", name="syslog")]
    admin = tokens["admin"]
    assert (await _call(client, "POST", SOURCES, admin, {"name": "app", "path": "/srv/app.log"}))[0] == 201
    conflicts = [
        ("POST", SOURCES, {"name": "app", "path": "/srv/other.log"}, "already exists"),
        ("POST", SOURCES, {"name": "syslog", "path": "/srv/other.log"}, "[[sources]]"),
        ("POST", SOURCES, {"name": "other", "path": "/srv/app.log"}, "already read by source 'app'"),
        ("PATCH", f"{SOURCES}/syslog", {"enabled": False}, "edit that file"),
        ("DELETE", f"{SOURCES}/syslog", None, "edit that file"),
    ]
    for method, path, body, words in conflicts:
        status, answer = await _call(client, method, path, admin, body)
        assert status == 409 and answer["error"]["code"] == "conflict", (method, path, answer)
        assert words in answer["error"]["message"], answer
    invalid = [
        ({"name": "app 2", "path": "/srv/b.log"}, "name"),
        ({"name": "b", "path": "logs/b.log"}, "path"),
        ({"name": "b", "path": "-"}, "path"),
        ({"name": "b", "path": "ftp://ops@web-01/var/log/syslog"}, "path"),
        ({"name": "b", "path": "ssh://ops@web-01"}, "path"),
        ({"name": "b", "path": "/srv/b.log", "format": "klingon"}, "format"),
        ({"name": "b"}, "path"),
        ({"name": "b", "path": "/srv/b.log", "colour": "red"}, "colour"),
        ({"name": "b", "path": "/srv/b.log", "enabled": "maybe"}, "enabled"),
    ]
    for body, field in invalid:
        status, answer = await _call(client, "POST", SOURCES, admin, body)
        assert (status, answer["error"].get("field")) == (422, field), (body, answer)
        assert answer["error"]["message"].startswith(field), answer
    status, answer = await _call(client, "PATCH", f"{SOURCES}/app", admin, {})
    assert status == 422 and "nothing to change" in answer["error"]["message"]
    status, answer = await _call(client, "PATCH", f"{SOURCES}/app", admin, {"path": "relative.log"})
    assert (status, answer["error"]["field"]) == (422, "path")
    status, answer = await _call(client, "PATCH", f"{SOURCES}/nobody", admin, {"enabled": True})
    assert status == 404
    status, body = await _call(client, "GET", SOURCES, admin)
    assert [s["name"] for s in body["sources"]] == ["syslog", "app"], "nothing refused was kept"


async def test_only_admins_change_sources(client: Any, tokens: dict[str, str]) -> None:
    for role in ("viewer", "analyst"):
        status, body = await _call(client, "POST", SOURCES, tokens[role], {"name": "app", "path": "/srv/app.log"})
        assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await _call(client, "GET", SOURCES, tokens["viewer"]))[0] == 200
    assert (await client.get(SOURCES)).status == 401


async def test_a_reload_reads_a_source_added_over_http_and_sources_show_its_last_error(
    client: Any, tokens: dict[str, str], services: Any, tmp_path: Path
) -> None:
    admin = tokens["admin"]
    log = tmp_path / "later" / "app.jsonl"
    status, _ = await _call(client, "POST", SOURCES, admin, {"name": "app", "path": str(log)})
    assert status == 201
    job = await finished(client, tokens["analyst"], await start(client, tokens["analyst"]))
    assert job["state"] == "failed" and job["summary"]["sources"][0]["name"] == "app"

    status, body = await _call(client, "GET", "/api/v1/logs/sources", tokens["viewer"])
    assert status == 200
    SourceList.model_validate(body)
    [entry] = body["sources"]
    assert (entry["location"], entry["name"], entry["kind"], entry["event_count"]) == (str(log), "app", "unknown", 0)
    assert entry["last_status"] == "error" and "no such file or directory" in entry["last_error"]
    assert entry["last_success_at"] is None and entry["last_error_at"] == entry["last_attempt_at"]

    log.parent.mkdir()
    write(log, app_lines(10))
    job = await finished(client, tokens["analyst"], await start(client, tokens["analyst"]))
    assert job["state"] == "succeeded" and job["summary"]["new_events"] == 10
    status, body = await _call(client, "GET", "/api/v1/logs/sources", tokens["viewer"])
    [entry] = body["sources"]
    assert entry["event_count"] == 10 and entry["last_status"] == "ok"
    assert entry["last_success_at"] > entry["last_error_at"] and "no such file" in entry["last_error"]

    # Disabled: the next reload passes over it.
    assert (await _call(client, "PATCH", f"{SOURCES}/app", admin, {"enabled": False}))[0] == 200
    write(log, app_lines(10) + app_lines(5, start=10))
    job = await finished(client, tokens["analyst"], await start(client, tokens["analyst"]))
    assert job["state"] == "succeeded" and job["summary"]["sources"] == []
