"""services.follow when things go wrong, in process on SQLite and PostgreSQL: inputs that are not files,
a file deleted while followed, the ingest lock held by another writer, a vector index that cannot be
updated, and a remote host that goes away and is still away when the follow stops."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from test_follow_service import Running, append, line, stored, wait_until

from logchat.services.follow import FollowReport


class Passes:
    """The reports a follow hands out after each pass, to wait for a few more of them."""

    def __init__(self) -> None:
        self.last: FollowReport | None = None
        self.count = 0

    def __call__(self, report: FollowReport) -> None:
        self.last, self.count = report, self.count + 1

    def more(self, passes: int = 3) -> None:
        target = self.count + passes
        wait_until(lambda: self.count >= target, f"{passes} more looks")


def test_inputs_that_are_not_files_are_said_once_and_the_files_beside_them_are_followed(
        store: Any, settings: Any, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    append(logs / "app.log", [line(0)])
    append(logs / ".hidden.log", [line(1, "hidden")])
    (logs / "core.log").write_bytes(b"\x00\x01ELF\x00" * 200)
    pipe = tmp_path / "pipe.log"
    os.mkfifo(pipe)
    passes = Passes()
    running = Running(store=store, settings=settings, inputs=[str(logs), str(pipe)], poll_interval=0.05,
                      on_pass=passes, update_vectors=False)
    wait_until(lambda: stored(store) == [line(0)], "the catch-up")
    passes.more()
    append(logs / "app.log", [line(2)])
    wait_until(lambda: len(stored(store)) == 2, "the appended line")
    passes.more()
    report = running.finish()
    assert stored(store) == [line(0), line(2)]
    by_location = {source.location: source for source in report.ingest.sources}
    assert by_location[str(pipe)].status == "error"
    assert by_location[str(pipe)].errors == [
        f"{pipe}: a named pipe, not a regular file (read it as stdin: - < {pipe})"]  # said once, not at every look
    assert by_location[str(logs / "core.log")].status == "skipped"
    assert report.ingest.passed_over == [{"path": str(logs / ".hidden.log"), "reason": "hidden file"}]


def test_a_file_deleted_while_followed_is_read_from_its_start_when_it_comes_back(
        store: Any, settings: Any, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, [line(0), line(1)])
    passes = Passes()
    running = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05, on_pass=passes,
                      update_vectors=False)
    wait_until(lambda: len(stored(store)) == 2, "the catch-up")
    log.unlink()
    passes.more()
    append(log, [line(10, "again")])
    wait_until(lambda: len(stored(store)) == 3, "the file that came back")
    report = running.finish()
    assert stored(store) == [line(0), line(1), line(10, "again")]
    assert not report.ingest.failed


def test_a_follow_kept_waiting_for_the_ingest_lock_stops_when_asked_and_the_next_one_reads_everything(
        store: Any, settings: Any, tmp_path: Path) -> None:
    from logchat.storage.locks import ingest_lock

    log = tmp_path / "app.log"
    append(log, [line(0), line(1)])
    with ingest_lock(store, settings.data_dir):  # another index or reload writing meanwhile
        running = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05,
                          update_vectors=False)
        report = running.finish()
    assert stored(store) == [] and report.passes == 0 and not report.ingest.failed
    again = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05, update_vectors=False)
    wait_until(lambda: len(stored(store)) == 2, "the catch-up once the lock is free")
    again.finish()
    assert stored(store) == [line(0), line(1)]


def test_a_vector_index_that_cannot_be_updated_is_said_and_reading_goes_on(
        store: Any, settings: Any, tmp_path: Path) -> None:
    from sshd_server import free_port

    settings.embeddings.provider = "ollama"
    settings.embeddings.base_url = f"http://127.0.0.1:{free_port()}"  # no model server there
    settings.ingest.follow_vector_seconds = 0
    log = tmp_path / "app.log"
    append(log, [line(0)])
    running = Running(store=store, settings=settings, inputs=[str(log)], poll_interval=0.05)
    wait_until(lambda: len(stored(store)) == 1, "the catch-up")
    append(log, [line(1)])
    wait_until(lambda: len(stored(store)) == 2, "the appended line, embeddings failing or not")
    report = running.finish()
    assert report.vector_updates >= 1
    assert report.vectors is not None and "error" in report.vectors and report.vectors["error"]
    assert not report.ingest.failed  # the events are stored; only the vector index is behind


def test_a_host_still_away_when_the_follow_stops_is_an_error_of_its_files_and_nothing_is_lost(
        store: Any, settings: Any, tmp_path: Path, private_sshd: Any) -> None:
    from logchat.services.ingest import index_inputs

    settings.remote.known_hosts_file = str(private_sshd.known_hosts)
    settings.remote.connect_timeout_seconds = 2
    settings.remote.retry_backoff_seconds = 0.05
    settings.remote.retries = 0
    log = tmp_path / "host" / "app.log"
    log.parent.mkdir()
    append(log, [line(0), line(1)])
    url = private_sshd.url(log)
    passes = Passes()
    running = Running(store=store, settings=settings, inputs=[url], poll_interval=0.05, on_pass=passes,
                      identity=str(private_sshd.client_key), update_vectors=False)
    wait_until(lambda: len(stored(store)) == 2, "the catch-up")
    private_sshd.kill()
    append(log, [line(2), line(3)])
    wait_until(lambda: passes.last is not None and bool(passes.last.outages), "the outage")
    report = running.finish()
    assert stored(store) == [line(0), line(1)]
    assert len(report.outages) == 1 and report.outages[0].until is None
    assert report.outages[0].host == f"ssh://127.0.0.1:{private_sshd.port}"
    source = next(source for source in report.ingest.sources if source.location == private_sshd.location(log))
    assert source.status == "error" and source.errors == [report.outages[0].error]
    assert report.ingest.failed
    private_sshd.start()  # back: the next run reads from the checkpoint, no line twice
    again = index_inputs(store, settings, [url], identity=str(private_sshd.client_key))
    assert again.new_events == 2
    assert stored(store) == [line(n) for n in range(4)]
