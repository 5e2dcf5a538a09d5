"""`GET /api/v1/logs/stats` and `/api/v1/logs/sources` on a small indexed store, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from daemon_helpers import bearer, cli_json

from logchat.daemon.routes.logs import SourceList, Stats

STATS = "/api/v1/logs/stats"


async def _stats(client: Any, token: str, **params: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get(STATS, params=params, headers=bearer(token))
    return response.status, await response.json()


async def test_stats_are_what_stat_json_prints(client: Any, tokens: dict[str, str], small_store: Any,
                                               settings: Any) -> None:
    filters = {"since": "2026-01-05T10:00:01Z", "until": "2026-01-05T10:00:06Z", "source": "auth", "top": "3"}
    status, body = await _stats(client, tokens["viewer"], **filters)
    assert status == 200, body
    cli = cli_json(settings, "stat", "--since", filters["since"], "--until", filters["until"], "--source", "auth",
                    "--top", "3")
    assert body == cli
    Stats.model_validate(body)  # what the OpenAPI document promises
    assert body["total"] == 5
    assert body["by_host"] == [{"host": "web-02", "count": 3}, {"host": "web-01", "count": 1},
                               {"host": "web-03", "count": 1}]
    assert len(body["top_templates"]) == 3
    assert body["filters"]["since"] == "2026-01-05T10:00:01+00:00"


async def test_stats_filters_by_repeated_host_and_process(client: Any, tokens: dict[str, str],
                                                          small_store: Any) -> None:
    response = await client.get(f"{STATS}?host=web-01&host=web-03", headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 200, body
    assert body["total"] == 4 and body["filters"]["hosts"] == ["web-01", "web-03"]
    status, body = await _stats(client, tokens["viewer"], process="sshd")
    assert status == 200 and body["total"] == 4
    assert body["by_process"] == [{"process": "sshd", "count": 4}]
    status, body = await _stats(client, tokens["viewer"], process="sshd", host="web-02")
    assert body["total"] == 2


async def test_stats_read_time_phrases_as_the_cli_does(client: Any, tokens: dict[str, str], small_store: Any) -> None:
    # The events are from January 2026: two hours ago holds none of them, a duration far back holds all.
    status, body = await _stats(client, tokens["viewer"], since="2h")
    assert status == 200 and body["total"] == 0
    since = datetime.fromisoformat(body["filters"]["since"])
    assert abs((datetime.now(UTC) - since).total_seconds() - 7200) < 600
    status, body = await _stats(client, tokens["viewer"], since="100000 hours ago")
    assert status == 200 and body["total"] == 7


async def test_an_inverted_range_is_invalid_time_range(client: Any, tokens: dict[str, str]) -> None:
    status, body = await _stats(client, tokens["viewer"], since="2026-01-06", until="2026-01-05")
    assert status == 400
    assert body["error"]["code"] == "invalid_time_range"
    assert "since 2026-01-06 until 2026-01-05" in body["error"]["message"]


async def test_bad_stats_parameters_name_the_field(client: Any, tokens: dict[str, str]) -> None:
    cases = [
        ({"since": "the day after never"}, 400, "since"),
        ({"until": "99999999999 hours ago"}, 400, "until"),
        ({"level": "loud"}, 400, "level"),
        ({"top": "0"}, 422, "top"),
        ({"top": "many"}, 422, "top"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for params, status, field in cases:
        got, body = await _stats(client, tokens["viewer"], **params)
        assert (got, body["error"].get("field")) == (status, field), (params, body)
        assert field in body["error"]["message"] or params.get(field, "") in body["error"]["message"], body


async def test_stats_need_a_token(client: Any) -> None:
    response = await client.get(STATS)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "token_invalid"
    sources = await client.get("/api/v1/logs/sources")
    assert sources.status == 401


async def test_sources_list_checkpoints_counts_and_lag(client: Any, tokens: dict[str, str], small_store: Any,
                                                      tmp_path: Any) -> None:
    response = await client.get("/api/v1/logs/sources", headers=bearer(tokens["viewer"]))
    body = await response.json()
    assert response.status == 200, body
    SourceList.model_validate(body)
    [source] = body["sources"]
    path = tmp_path / "auth.log"
    assert source["name"] == "auth.log" and source["location"] == str(path)
    assert source["kind"] == "file" and source["format"]
    assert source["line_count"] == 7 and source["event_count"] == 7 and source["generation"] == 0
    assert source["offset"] == source["size"] == path.stat().st_size
    assert source["newest_event_at"] == "2026-01-05T10:00:06+00:00"
    assert datetime.fromisoformat(source["last_indexed_at"]) <= datetime.now(UTC)
    lag = datetime.now(UTC) - datetime(2026, 1, 5, 10, 0, 6, tzinfo=UTC)
    assert abs(source["lag_seconds"] - lag.total_seconds()) < 600


async def test_sources_of_an_empty_store(client: Any, tokens: dict[str, str]) -> None:
    response = await client.get("/api/v1/logs/sources", headers=bearer(tokens["analyst"]))
    assert response.status == 200 and await response.json() == {"sources": []}
