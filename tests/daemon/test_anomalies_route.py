"""`GET /api/v1/logs/anomalies` answers what `logchat stat --anomalies --json` prints, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anomaly_log import SPIKED, index_lines, week_then_window
from daemon_helpers import bearer, cli_json

from logchat.daemon.routes.anomalies import Anomalies

ANOMALIES = "/api/v1/logs/anomalies"
WINDOW = {"since": "2026-03-08T00:00:00Z", "until": "2026-03-08T01:00:00Z"}


async def _anomalies(client: Any, token: str, **params: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get(ANOMALIES, params=params, headers=bearer(token))
    return response.status, await response.json()


async def test_the_route_answers_what_the_command_line_prints(client: Any, tokens: dict[str, str], store: Any,
                                                              settings: Any, tmp_path: Path) -> None:
    index_lines(store, settings, tmp_path / "service.log", week_then_window())
    status, body = await _anomalies(client, tokens["viewer"], **WINDOW, baseline="3d", top="3")
    assert status == 200, body
    assert body == cli_json(settings, "stat", "--anomalies", "--since", WINDOW["since"], "--until", WINDOW["until"],
                            "--baseline", "3d", "--top", "3")
    Anomalies.model_validate(body)  # what the OpenAPI document promises
    assert body["templates"][0]["template"] == SPIKED and body["templates"][0]["kind"] == "spike"
    assert len(body["templates"]) == 3 and body["baseline"]["seconds"] == 3 * 86400
    assert body["window"]["since"] == "2026-03-08T00:00:00+00:00"
    # The defaults: the last hour of the logs against the week before it.
    status, default = await _anomalies(client, tokens["analyst"])
    assert status == 200 and default == cli_json(settings, "stat", "--anomalies")
    assert default["baseline"]["requested_seconds"] == 7 * 86400


async def test_filters_narrow_the_report(client: Any, tokens: dict[str, str], store: Any, settings: Any,
                                         tmp_path: Path) -> None:
    index_lines(store, settings, tmp_path / "service.log", week_then_window())
    status, body = await _anomalies(client, tokens["viewer"], **WINDOW, level="error", min_score="2")
    assert status == 200, body
    assert [row["template"] for row in body["templates"]] == [SPIKED]
    assert body["filters"]["level"] == "ERROR" and body["min_score"] == 2.0
    status, body = await _anomalies(client, tokens["viewer"], **WINDOW, host="elsewhere")
    assert status == 200 and body["window"]["events"] == 0
    assert "matching the filters" in body["notice"]


async def test_an_empty_store_is_a_clear_answer(client: Any, tokens: dict[str, str]) -> None:
    status, body = await _anomalies(client, tokens["viewer"])
    assert status == 200, body
    assert body["notice"] == "the store holds no events with a time" and body["templates"] == []


async def test_bad_parameters_name_the_field(client: Any, tokens: dict[str, str]) -> None:
    cases = [
        ({"baseline": "a while"}, 400, "baseline"),
        ({"baseline": "0d"}, 400, "baseline"),
        ({"since": "the day after never"}, 400, "since"),
        ({"level": "loud"}, 400, "level"),
        ({"min_score": "-1"}, 422, "min_score"),
        ({"top": "0"}, 422, "top"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for params, status, field in cases:
        got, body = await _anomalies(client, tokens["viewer"], **params)
        assert (got, body["error"].get("field")) == (status, field), (params, body)
    got, body = await _anomalies(client, tokens["viewer"], since="2026-03-09", until="2026-03-08")
    assert got == 400 and body["error"]["code"] == "invalid_time_range"


async def test_the_route_needs_a_token(client: Any) -> None:
    response = await client.get(ANOMALIES)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "token_invalid"


async def test_the_openapi_document_describes_it(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"][ANOMALIES]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"since", "until", "baseline", "min_score"}
    assert "Anomalies" in repr(operation["responses"]["200"])
