"""`logchat sources` through the real Typer app, on SQLite and (when configured) PostgreSQL: the same rules
as the daemon's /api/v1/logs/configured-sources, and `reload` reading what it adds."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logchat.cli.app import app


@pytest.fixture
def run(data_dir: Path, database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Invoke `logchat --config C --data-dir D --database-url U ...`; C holds one [[sources]] entry."""
    config = tmp_path / "logchat.toml"
    config.write_text('[[sources]]\npath = "/var/log/syslog"\nname = "syslog"\n', encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--config", str(config), "--data-dir", str(data_dir),
                                   "--database-url", database_url, *args])

    return invoke


def listed(run) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = run("sources", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_add_list_set_and_remove(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("sources", "add", "app", str(tmp_path / "logs" / "*.log"), "--format", "iso8601", "--disabled")
    assert result.exit_code == 0, result.output
    assert "added source app" in result.stdout and "disabled" in result.stdout
    sources = listed(run)
    assert [(s["name"], s["origin"], s["enabled"]) for s in sources] == [("syslog", "config", True),
                                                                         ("app", "store", False)]
    assert sources[1]["created_by"] == f"os:{getpass.getuser()}"  # as the audit trail names the local user

    table = run("sources", "list")
    assert table.exit_code == 0 and "ORIGIN" in table.stdout and "iso8601" in table.stdout

    result = run("sources", "set", "app", "--enable", "--name", "web", "--format", "auto")
    assert result.exit_code == 0, result.output
    assert [(s["name"], s["enabled"], s["format"]) for s in listed(run)][1] == ("web", True, "auto")

    result = run("sources", "remove", "web")
    assert result.exit_code == 0 and "stay in the store" in result.stdout
    assert [s["name"] for s in listed(run)] == ["syslog"]


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (("add", "app", "logs/app.log"), 2, "not an absolute path"),
        (("add", "app", "-"), 2, "standard input"),
        (("add", "bad name", "/var/log/app.log"), 2, "invalid source name"),
        (("add", "app", "/var/log/app.log", "--format", "klingon"), 2, "rfc3164"),
        (("add", "syslog", "/var/log/app.log"), 1, "taken by a [[sources]] entry"),
        (("set", "syslog", "--disable"), 1, "edit that file"),
        (("remove", "syslog"), 1, "edit that file"),
        (("remove", "nobody"), 1, "no source named 'nobody'"),
        (("set", "nobody"), 2, "nothing to change"),
    ],
)
def test_refusals_are_one_line_with_an_exit_code(run, args: tuple[str, ...], exit_code: int,  # type: ignore[no-untyped-def]
                                                 words: str) -> None:
    result = run("sources", *args)
    assert result.exit_code == exit_code, result.output
    assert words in result.stderr and "Traceback" not in result.output
    assert [s["name"] for s in listed(run)] == ["syslog"]


def test_reload_reads_a_source_added_here(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "app.log"
    log.write_text("2026-01-05T10:00:00+00:00 web-01 app[1]: started\n2026-01-05T10:00:01+00:00 web-01 app[1]: "
                   "ready\n", encoding="utf-8")
    assert run("sources", "add", "app", str(log)).exit_code == 0
    assert run("sources", "set", "syslog", "--disable").exit_code == 1  # the file's entry stays as it is
    result = run("reload", "--json")
    summary = json.loads(result.stdout)
    app_source = next(s for s in summary["sources"] if s["name"] == "app")
    assert app_source["new_events"] == 2 and app_source["location"] == str(log)
