"""Sources kept in the store beside the config file's [[sources]]: the rules for adding, changing and
removing them, `reload` reading both, and each location's last read and last error. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logchat.config import SourceSettings
from logchat.errors import Conflict, NotFound, UsageError
from logchat.services.configured_sources import (
    InvalidSource,
    add_source,
    get_source,
    list_sources,
    remove_source,
    update_source,
)
from logchat.services.ingest import index_inputs, reload_sources
from logchat.services.stats import list_sources as stored_sources

LINES = [
    "2026-01-05T10:00:00+00:00 web-01 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:01+00:00 web-01 sshd[11]: Accepted password for alice from 10.0.0.2 port 22 ssh2",
    "2026-01-05T10:00:02+00:00 web-02 cron[12]: job nightly-backup started",
]


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def event_count(store: Any) -> dict[str, int]:
    """Events per source location, straight from the store."""
    from sqlalchemy import func, select

    from logchat.storage.models import Event, Source

    with store.session() as session:
        rows = session.execute(
            select(Source.location, func.count(Event.id)).join(Event, Event.source_id == Source.id)
            .group_by(Source.location)
        ).all()
    return {location: count for location, count in rows}


def by_location(store: Any) -> dict[str, dict[str, Any]]:
    return {source["location"]: source for source in stored_sources(store)}


# --- rules -----------------------------------------------------------------------------------------


def test_add_list_change_and_remove_a_store_source(store: Any, settings: Any, tmp_path: Path) -> None:
    settings.sources = [SourceSettings(path="/var/log/syslog", name="syslog"), SourceSettings(path="/var/log/x.log")]
    added = add_source(store, settings, name="nginx", path="/var/log/nginx/*.log", fmt="Access", actor="ops-admin")
    assert (added.name, added.path, added.format, added.enabled, added.origin) == (
        "nginx", "/var/log/nginx/*.log", "access", True, "store")
    assert added.created_by == added.updated_by == "ops-admin" and added.created_at == added.updated_at
    listed = list_sources(store, settings)
    assert [(entry.name, entry.origin) for entry in listed] == [("syslog", "config"), (None, "config"),
                                                                ("nginx", "store")]
    assert listed[0].created_at is None and listed[0].created_by is None

    changed = update_source(store, settings, "nginx", new_name="web", fmt="auto", enabled=False, actor="jdoe")
    assert (changed.name, changed.format, changed.enabled, changed.updated_by, changed.created_by) == (
        "web", "auto", False, "jdoe", "ops-admin")
    assert changed.updated_at > changed.created_at
    assert get_source(store, settings, "web").path == "/var/log/nginx/*.log"
    with pytest.raises(NotFound):
        get_source(store, settings, "nginx")
    assert get_source(store, settings, "syslog").origin == "config"

    assert remove_source(store, settings, "web").name == "web"
    assert [entry.origin for entry in list_sources(store, settings)] == ["config", "config"]
    with pytest.raises(NotFound, match="no source named 'web'"):
        remove_source(store, settings, "web")


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": ""}, "name", "1-64 letters"),
        ({"name": "-leading-dash"}, "name", "starting with a letter"),
        ({"name": "has space"}, "name", "invalid source name"),
        ({"name": "x" * 65}, "name", "1-64"),
        ({"name": "ünïcode"}, "name", "invalid source name"),
        ({"path": "relative/app.log"}, "path", "not an absolute path"),
        ({"path": "~/app.log"}, "path", "not an absolute path"),
        ({"path": "-"}, "path", "standard input"),
        ({"path": "ftp://ops@web-01/var/log/syslog"}, "path", "ftp:// sources are not supported"),
        ({"path": "ssh://ops@web-01"}, "path", "give an absolute path after the host"),
        ({"path": "ssh://web-01:70000/var/log/syslog"}, "path", "port must be a number"),
        ({"path": "/var/log/\0x"}, "path", "NUL"),
        ({"path": "  "}, "path", "empty path"),
        ({"path": "//"}, "path", "root directory"),
        ({"fmt": "klingon"}, "format", "rfc3164"),
    ],
)
def test_bad_names_paths_and_formats_are_refused_naming_the_field(
    store: Any, settings: Any, fields: dict[str, str], field: str, words: str
) -> None:
    wanted = {"name": "app", "path": "/var/log/app.log", "fmt": "auto", **fields}
    with pytest.raises(InvalidSource) as caught:
        add_source(store, settings, **wanted)
    assert caught.value.field == field and caught.value.http_status == 422 and caught.value.exit_code == 2
    assert words in caught.value.message and caught.value.message.startswith(f"{field}:")
    if field == "format":  # the known formats are listed
        assert "auto" in caught.value.message and "json" in caught.value.message
    assert list_sources(store, settings) == []


def test_names_and_paths_are_unique_over_both_origins(store: Any, settings: Any) -> None:
    settings.sources = [SourceSettings(path="/var/log/syslog", name="syslog")]
    add_source(store, settings, name="app", path="/srv/app/*.log")
    add_source(store, settings, name="other", path="/srv/other.log")
    conflicts = [
        ({"name": "syslog", "path": "/x.log"}, "taken by a [[sources]] entry"),
        ({"name": "app", "path": "/x.log"}, "already exists"),
        ({"name": "new", "path": "/var/log/syslog"}, "already read by a [[sources]] entry (syslog)"),
        ({"name": "new", "path": "/srv/app/*.log"}, "already read by source 'app'"),
    ]
    for fields, words in conflicts:
        with pytest.raises(Conflict, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            add_source(store, settings, **fields)
    with pytest.raises(Conflict, match="already exists"):
        update_source(store, settings, "other", new_name="app")
    with pytest.raises(Conflict, match="taken by a"):
        update_source(store, settings, "other", new_name="syslog")
    with pytest.raises(Conflict, match="already read by source 'app'"):
        update_source(store, settings, "other", path="/srv/app/*.log")
    assert [entry.name for entry in list_sources(store, settings)] == ["syslog", "app", "other"]
    # Keeping one's own name or path is no conflict.
    assert update_source(store, settings, "app", new_name="app", path="/srv/app/*.log").name == "app"


def test_config_file_sources_cannot_be_changed_here(store: Any, settings: Any, tmp_path: Path) -> None:
    settings.sources = [SourceSettings(path="/var/log/syslog", name="syslog")]
    settings.config_file = tmp_path / "logchat.toml"
    for change in (lambda: update_source(store, settings, "syslog", enabled=False),
                   lambda: remove_source(store, settings, "syslog")):
        with pytest.raises(Conflict) as caught:
            change()
        assert "edit that file" in caught.value.message and str(settings.config_file) in caught.value.message
    with pytest.raises(UsageError, match="nothing to change"):
        update_source(store, settings, "syslog")
    with pytest.raises(NotFound):
        update_source(store, settings, "nobody", enabled=True)


# --- reload reads both -----------------------------------------------------------------------------


def test_reload_reads_config_then_store_sources_and_passes_over_disabled_ones(
    store: Any, settings: Any, tmp_path: Path
) -> None:
    from_config = write(tmp_path / "config" / "auth.log", LINES)
    from_store = write(tmp_path / "store" / "cron.log", LINES[2:])
    switched_off = write(tmp_path / "off" / "app.log", LINES[:1])
    settings.sources = [SourceSettings(path=str(from_config), name="auth")]
    add_source(store, settings, name="cron", path=str(tmp_path / "store" / "*.log"), fmt="iso8601")
    add_source(store, settings, name="off", path=str(switched_off), enabled=False)

    report = reload_sources(store, settings)
    assert not report.failed, report.to_dict()
    assert [(s.name, s.location, s.format) for s in report.sources] == [
        ("auth", str(from_config), report.sources[0].format), ("cron", str(from_store), "iso8601")]
    assert event_count(store) == {str(from_config): 3, str(from_store): 1}

    # Switched on, it is read at the next reload; the others have nothing new.
    update_source(store, settings, "off", enabled=True)
    report = reload_sources(store, settings)
    assert [s.status for s in report.sources] == ["unchanged", "unchanged", "ok"]
    assert event_count(store)[str(switched_off)] == 1

    # Removed: not read any more, and its events stay.
    remove_source(store, settings, "off")
    write(switched_off, LINES)
    report = reload_sources(store, settings)
    assert str(switched_off) not in {s.location for s in report.sources}
    assert event_count(store)[str(switched_off)] == 1


def test_reload_with_only_store_sources_and_with_none(store: Any, settings: Any, tmp_path: Path) -> None:
    settings.config_file = tmp_path / "logchat.toml"
    with pytest.raises(UsageError) as caught:
        reload_sources(store, settings)
    assert "none in [[sources]]" in caught.value.message and "none added to the store" in caught.value.message
    # The message itself says how (the daemon's job shows only the message).
    assert "logchat sources add" in caught.value.message
    assert "/api/v1/logs/configured-sources" in caught.value.message
    app = write(tmp_path / "app.log", LINES)
    add_source(store, settings, name="app", path=str(app))
    report = reload_sources(store, settings)
    assert not report.failed and report.new_events == 3


# --- each location's last read ---------------------------------------------------------------------


def test_a_path_that_cannot_be_read_gets_its_error_and_a_later_success_is_recorded(
    store: Any, settings: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "later" / "app.log"
    settings.sources = [SourceSettings(path=str(missing), name="app")]
    report = reload_sources(store, settings)
    assert report.failed
    [status] = stored_sources(store)
    # Never read: listed with an empty checkpoint and why it could not be read.
    assert (status["location"], status["name"], status["kind"], status["event_count"]) == (
        str(missing), "app", "unknown", 0)
    assert status["last_status"] == "error" and "no such file or directory" in status["last_error"]
    assert status["last_error_at"] == status["last_attempt_at"] and status["last_success_at"] is None
    failed_at = status["last_error_at"]

    write(missing, LINES)
    assert not reload_sources(store, settings).failed
    [status] = stored_sources(store)  # one entry: the checkpoint and its status
    assert status["event_count"] == 3 and status["kind"] == "file"
    assert status["last_status"] == "ok" and status["last_success_at"] > failed_at
    # A later success keeps the last error and its time: the gap in the logs stays explained.
    assert "no such file or directory" in status["last_error"] and status["last_error_at"] == failed_at

    # A binary file in its place: an error on a source that has a checkpoint.
    missing.write_bytes(b"\x00\x01\x02" * 4000)
    reload_sources(store, settings)
    [status] = stored_sources(store)
    assert status["last_status"] == "error" and status["event_count"] == 3
    assert status["last_error_at"] > failed_at and status["last_success_at"] < status["last_error_at"]


def test_a_glob_matching_nothing_is_listed_until_it_is_fixed_or_removed(
    store: Any, settings: Any, tmp_path: Path
) -> None:
    pattern = str(tmp_path / "typo" / "*.log")
    add_source(store, settings, name="web", path=pattern)
    reload_sources(store, settings)
    listed = by_location(store)
    assert listed[pattern]["name"] == "web" and "no file matches" in listed[pattern]["last_error"]

    fixed = write(tmp_path / "web" / "access.log", LINES)
    update_source(store, settings, "web", path=str(tmp_path / "web" / "*.log"))
    assert not reload_sources(store, settings).failed
    listed = by_location(store)
    assert set(listed) == {str(fixed)}, "a location no reload tries any more is forgotten"
    assert listed[str(fixed)]["last_error"] is None and listed[str(fixed)]["last_status"] == "ok"


def test_index_records_the_status_of_what_it_reads(store: Any, settings: Any, tmp_path: Path) -> None:
    good = write(tmp_path / "good.log", LINES)
    report = index_inputs(store, settings, [str(good), str(tmp_path / "absent.log")])
    assert report.failed
    listed = by_location(store)
    assert listed[str(good)]["last_status"] == "ok" and listed[str(good)]["last_error"] is None
    assert listed[str(tmp_path / "absent.log")]["last_status"] == "error"
    again = index_inputs(store, settings, [str(good)])
    assert not again.failed
    assert by_location(store)[str(good)]["last_status"] == "unchanged"


def test_odd_locations_get_a_status_without_breaking_the_run(store: Any, settings: Any, tmp_path: Path) -> None:
    good = write(tmp_path / "good.log", LINES)
    too_long = "/" + "x" * 5000
    report = index_inputs(store, settings, [str(good), "/var/log/\0bad", too_long])
    assert [s.status for s in report.sources] == ["error", "error", "ok"]
    listed = by_location(store)
    assert listed[str(good)]["last_status"] == "ok"
    assert "/var/log/\\0bad" in listed and "file name too long" in listed["/" + "x" * 4095]["last_error"]
    # The same missing path configured twice is one location with one status.
    settings.sources = [SourceSettings(path=str(tmp_path / "absent.log"), name="a"),
                        SourceSettings(path=str(tmp_path / "absent.log"), name="b")]
    assert reload_sources(store, settings).failed
    assert by_location(store)[str(tmp_path / "absent.log")]["last_status"] == "error"


def test_names_no_source_could_have_are_not_found_or_the_files(store: Any, settings: Any) -> None:
    settings.sources = [SourceSettings(path="/var/log/syslog", name="my syslog")]
    for name in ("no such name", "\ud800", "x" * 300):
        with pytest.raises(NotFound):
            remove_source(store, settings, name)
    with pytest.raises(Conflict, match="edit that file"):
        update_source(store, settings, "my syslog", enabled=False)
    with pytest.raises(InvalidSource, match="UTF-8"):
        add_source(store, settings, name="odd", path="/var/log/\ud800.log")
