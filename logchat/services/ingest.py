"""Use case: ingest sources into the store (`logchat index`, `logchat reload`).

Each batch of events is written with the source checkpoint in ONE transaction, so a process killed
at any point loses nothing and duplicates nothing: the next run resumes from the last commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo

from logchat.config import Settings, SourceSettings, install_user_formats
from logchat.errors import SourceError, SourceUnreadable, StoreBusy, StoreError, UsageError
from logchat.ingest import sources as src
from logchat.ingest.parallel import ReaderEnd, ReaderProcess, can_fork
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.prefetch import Prefetched
from logchat.ingest.readahead import read_ahead
from logchat.ingest.templates import TemplateMiner
from logchat.ingest.value_counts import SpareCounter
from logchat.ingest.young_generation import collecting_less_often
from logchat.observability import tracing
from logchat.storage import ingest_writer as writer
from logchat.storage.db import Store
from logchat.storage.locks import close_inherited_locks, ingest_lock
from logchat.storage.models import Source
from logchat.storage.models.base import to_micros
from logchat.storage.transactions import busy_means_try_again

if TYPE_CHECKING:
    from logchat.ingest.remote import HostPool
    from logchat.ingest.ssh_location import RemoteOptions
    from logchat.services.vectors import WindowsCut
    from logchat.services.window_cutter import WindowCutter
    from logchat.storage.db import Session

# Smaller sources are not worth starting a reader process for.
PARALLEL_MIN_BYTES = 1 << 20
# With a reader process, its first batch is this many times smaller than the others (see BatchPlan).
WARM_UP_SHARE = 10
# A remote file read ahead takes its turn at the writer once this much is in memory (or it has ended):
# about a batch of events, so the turn is not spent waiting for the network.
READY_BYTES = 4 << 20
_VERIFY_BLOCK = 1 << 20
_ROTATION_SUFFIX = re.compile(r"(?:[.-]\d+)+$")


@dataclass
class SourceReport:
    location: str
    name: str
    kind: str
    format: str | None = None
    new_events: int = 0
    new_lines: int = 0
    skipped: int = 0  # events outside --since/--until
    with_timestamp: int = 0  # of new_events
    bytes_read: int = 0
    generation: int = 0
    status: str = "ok"  # ok | unchanged | rotated | truncated | duplicate | error | skipped
    duplicate_of: str | None = None  # the source already holding all of this file's content
    continues: str | None = None  # the source holding this file's first lines (read only after them)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "error"

    @property
    def timestamp_share(self) -> float | None:
        """The share of this run's new events that got a timestamp; None when there were none."""
        return round(self.with_timestamp / self.new_events, 4) if self.new_events else None


@dataclass
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    # The store failed (disk full, damage): the run stopped; what was committed before is kept.
    error: str | None = None
    # Files a directory walk did not read: {"path", "reason"}.
    passed_over: list[dict[str, str]] = field(default_factory=list)
    # The windows of the new events, saved at the end of the run for the vector update that follows.
    windows_cut: WindowsCut | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or any(s.failed for s in self.sources)

    @property
    def new_events(self) -> int:
        return sum(s.new_events for s in self.sources)

    @property
    def new_lines(self) -> int:
        return sum(s.new_lines for s in self.sources)

    @property
    def bytes_read(self) -> int:
        return sum(s.bytes_read for s in self.sources)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": not self.failed,
            "new_events": self.new_events,
            "new_lines": self.new_lines,
            "bytes_read": self.bytes_read,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "sources": [{**asdict(s), "timestamp_share": s.timestamp_share} for s in self.sources],
            "passed_over": self.passed_over,
            "error": self.error,
        }


@dataclass(frozen=True)
class TimeWindow:
    """`reload --since/--until`: only events inside are kept. One that ends before it starts would
    skip every event silently, so it cannot be made (whatever the front end)."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        from logchat.retrieval.timerange import check_range_order

        check_range_order(self.since, self.until, phrase="the window to keep")


class Progress:
    """What the ingester tells a front end; the CLI renders it as a rich progress bar."""

    def start_source(self, report: SourceReport, total_bytes: int | None) -> None: ...

    def advance(self, report: SourceReport, bytes_done: int, lines_done: int) -> None: ...

    def finish_source(self, report: SourceReport) -> None: ...


@dataclass
class _Run:
    """One source's reading, set up (Ingester._set_up): what _drive reads and writes."""

    fmt: str
    start: tuple[int, int]  # (offset, line) where it starts
    remaining: int | None  # bytes to read, where known
    reader: src.LineReader
    parser: Any
    plan: BatchPlan
    batches: ReaderProcess | None  # its reader process, if it has one
    feed: RemoteFeed | None
    ahead: Any  # a remote file's read-ahead, if any


@dataclass
class _Ahead:
    """A source whose reader process started before its turn, while the source before it was still being written."""

    location: str
    row: Source
    checkpoint: writer.Checkpoint
    continues: str | None  # what SourceReport.continues says
    run: _Run
    opened: contextlib.ExitStack  # its file, open

    def discard(self) -> None:
        """End its reader process, if it still runs, and close its file."""
        assert self.run.batches is not None
        self.run.batches.close()
        self.opened.close()


class Ingester:
    """Holds the template miner and the id allocator for one locked ingest run."""

    def __init__(self, store: Store, settings: Settings, *, window: TimeWindow, progress: Progress,
                 reader_process: bool = True) -> None:
        self.store = store
        # A forked reader process only from a single-threaded caller (the CLI): forking a process
        # whose other threads may hold locks (the daemon's) can leave the child stuck on one.
        self.reader_process = reader_process
        self.settings = settings
        self.window = window
        self.progress = progress
        # Following files that are being written (services/follow.py): leave a half-written last line
        # for the next pass, end batches after this many seconds, stop between batches when asked.
        self.complete_lines_only = False
        self.max_batch_seconds: float | None = None
        self.should_stop: Callable[[], bool] = lambda: False
        self.tz = ZoneInfo(settings.ingest.default_timezone)
        install_user_formats(settings)
        self.store_error: StoreError | None = None
        # Several hosts are read at once by threads taking turns here: the template miner, the event ids
        # and every write to the store are used by one of them at a time (see read_sources).
        self.writer = threading.RLock()
        # Remote files read ahead by a thread each, so that their hosts' network waits overlap.
        self.read_ahead = False
        self._local = threading.local()
        # Fed the (id, source, template, ts) of every committed event, so that the vector update after the
        # run need not read them back (see _ingest); None: it reads them.
        self.window_cutter: WindowCutter | None = None
        # The source read after the one being read (read_sources): its reader process may start before its turn.
        self.upcoming: src.SourceSpec | None = None
        self._ahead: _Ahead | None = None
        self._load_miner()

    @property
    def _carried(self) -> tuple[int, int]:
        """(lines, bytes) read by the earlier attempts at a remote file, before its connection was lost
        (per thread: each host's thread reads its own file)."""
        return getattr(self._local, "carried", (0, 0))

    @_carried.setter
    def _carried(self, value: tuple[int, int]) -> None:
        self._local.carried = value

    def _load_miner(self) -> None:
        with self.writer, self.store.session() as session:
            self.miner = TemplateMiner.from_store(
                writer.load_miner_state(session), lambda: writer.template_texts(session)
            )
            self.next_id = writer.next_event_id(session)

    def ingest(self, spec: src.SourceSpec, stdin: BinaryIO | None = None,
               file: src.ReadableFile | None = None) -> SourceReport:
        """Read what is new in one source. ``file``: where a plain file's bytes come from (its local
        path when not given)."""
        report = SourceReport(location=spec.location, name=spec.name, kind=spec.kind)
        if spec.kind == "stdin":
            return self._guarded(spec, report, lambda: self._ingest_stream(spec, report, stdin or sys.stdin.buffer))
        if file is None and src.files_of(spec).remote:
            return self._guarded(spec, report, lambda: self._ingest_remote(spec, report))
        if spec.kind in src.COMPRESSED_KINDS:
            return self._guarded(spec, report, lambda: self._ingest_gzip(spec, report))
        assert file is not None or spec.path is not None
        ahead = self._take_ahead(spec) if file is None else None
        if ahead is not None:
            return self._guarded(spec, report, lambda: self._read_ahead_source(ahead, report))
        readable = file if file is not None else src.LocalFile(spec.path)  # type: ignore[arg-type]
        return self._guarded(spec, report, lambda: self._ingest_file(spec, report, readable))

    def drain(self, spec: src.SourceSpec, handle: BinaryIO, identity: src.FileIdentity) -> SourceReport:
        """Read to its end, through a handle opened before, a file that was renamed or deleted since:
        the lines written to it after the last pass and before the rotation. Nothing when the source's
        checkpoint is no longer on that file."""
        report = SourceReport(location=spec.location, name=spec.name, kind=spec.kind)

        def read_rest() -> None:
            row = self._source_row(spec)
            if (row.device, row.inode) != (identity.device, identity.inode):
                report.status = "unchanged"
                return
            report.status = "rotated"
            checkpoint = writer.Checkpoint(
                generation=row.generation, offset=row.offset, line_count=row.line_count, size=row.offset,
                device=row.device, inode=row.inode, head_checksum=row.head_checksum, head_length=row.head_length,
            )
            handle.seek(row.offset)
            # The file is finished: its last line is whole even without a line ending.
            self._run(row, report, handle, checkpoint, row.format or "generic", total=None,
                      reference=identity.mtime, complete_lines_only=False)

        return self._guarded(spec, report, read_rest)

    def _guarded(self, spec: src.SourceSpec, report: SourceReport, read: Callable[[], None]) -> SourceReport:
        try:
            read()
        except SourceError as exc:
            report.status = "error"
            message = str(exc)
            report.errors.append(message if spec.location in message else f"{spec.location}: {message}")
        except StoreError as exc:
            # Not this source's fault: the run stops here, with everything committed so far kept.
            report.status = "error"
            report.errors.append(str(exc))
            self.store_error = exc
        finally:
            self.progress.finish_source(report)
        return report

    def _ingest_remote(self, spec: src.SourceSpec, report: SourceReport) -> None:
        """A file on another host: read like a local one; a connection lost in the middle is retried
        with back-off, each attempt going on from the last committed checkpoint."""
        files = src.files_of(spec)
        remote = self.settings.remote
        attempt = 0
        try:
            while True:
                try:
                    if spec.kind in src.COMPRESSED_KINDS:
                        self._ingest_gzip(spec, report)
                    else:
                        assert spec.path is not None
                        self._ingest_file(spec, report, src.AccessedFile(files, spec.path, spec.location))
                    return
                except SourceError:
                    if not files.lost or attempt >= remote.retries:  # type: ignore[attr-defined]
                        raise
                # The counts of the next attempt go on from this one's.
                self._carried = (report.new_lines, report.bytes_read)
                while True:  # the host may take a while to come back: each wait is twice the last
                    if self._wait_unless_stopped(remote_backoff_seconds(self.settings, attempt)):
                        raise SourceUnreadable(f"{spec.location}: connection lost; stopped before reconnecting")
                    attempt += 1
                    try:
                        files.reconnect()  # type: ignore[attr-defined]
                        break
                    except SourceError:
                        if attempt >= remote.retries:
                            raise
        finally:
            self._carried = (0, 0)

    def _wait_unless_stopped(self, seconds: float) -> bool:
        """Sleep, in short steps so that a follow asked to stop is not held up; True if asked to stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.should_stop():
                return True
            time.sleep(min(left, 0.1))
        return self.should_stop()

    # -- per kind ---------------------------------------------------------------------------

    def _source_row(self, spec: src.SourceSpec) -> Source:
        with self.writer, self.store.session() as session:
            row = writer.get_source(session, spec.location)
            if row is None:
                fmt = None if spec.format == "auto" else spec.format
                row = writer.create_source(session, location=spec.location, name=spec.name, kind=spec.kind, fmt=fmt)
            elif spec.name != row.name:
                row.name = spec.name
            return row

    def _ingest_file(self, spec: src.SourceSpec, report: SourceReport, file: src.ReadableFile) -> None:
        planned = self._plan_file(spec, report, file)
        if planned is None:
            return
        row, checkpoint, fmt, identity = planned
        with file.open_at(checkpoint.offset) as handle:
            self._run(row, report, handle, checkpoint, fmt, total=identity.size, reference=identity.mtime,
                      forkable=not file.remote, look_ahead=not file.remote)

    def _plan_file(
        self, spec: src.SourceSpec, report: SourceReport, file: src.ReadableFile, *, tentative: bool = False
    ) -> tuple[Source, writer.Checkpoint, str, src.FileIdentity] | None:
        """Where and how to read what is new in a plain file: (its source, the checkpoint to start from, its format,
        the file's identity); None when there is nothing to read (``report`` says why). ``tentative``: planned
        ahead of its turn (see _read_next_ahead), so None also where the plan would change the store (a rotated,
        truncated or rewritten file): its turn plans it again."""
        identity = file.identify()
        row = self._source_row(spec)
        generation, offset, line_count = row.generation, row.offset, row.line_count
        fmt = row.format
        same_file = row.inode is None or (row.device, row.inode) == (identity.device, identity.inode)
        if tentative and ((row.inode is not None and not same_file) or identity.size < offset):
            return None
        if row.inode is not None and not same_file:
            if isinstance(file, (src.LocalFile, src.AccessedFile)):
                self._finish_rotated(spec, row, report)
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "rotated"
        elif identity.size < offset:
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "truncated"
        # The first bytes serve the binary check, format detection and the head checksum that tells
        # an appended file from a rewritten one.
        head = b""
        if identity.size:
            with file.open_at(0) as first:
                head = first.read(max(src.SAMPLE_BYTES, src.HEAD_BYTES))
        rewritten = offset and row.head_length and _sha1(head[: row.head_length]) != row.head_checksum
        if report.status == "ok" and rewritten:
            if tentative:
                return None
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "rotated"
        elif report.status == "ok" and offset == identity.size and row.inode is not None:
            report.status = "unchanged"
            report.generation = generation
            report.format = fmt
            return None
        if identity.size == 0:
            report.status = "empty"
            return None
        if spec.format != "auto":
            fmt = spec.format
        sample = head[: src.SAMPLE_BYTES]
        head_length = min(src.HEAD_BYTES, identity.size, len(head))
        if offset == 0:
            src.check_not_binary(spec.location, sample)
            offset, line_count = self._skip_stored_prefix(head, identity.size, row, report)
        fmt = fmt or self._detect(sample)
        checkpoint = writer.Checkpoint(
            generation=generation, offset=offset, line_count=line_count, size=offset,
            device=identity.device, inode=identity.inode,
            head_checksum=_sha1(head[:head_length]), head_length=head_length,
        )
        return row, checkpoint, fmt, identity

    def _finish_rotated(self, spec: src.SourceSpec, row: Source, report: SourceReport) -> None:
        """logrotate renamed the file we were reading: read what was appended to it before rotation."""
        assert spec.path is not None
        files = src.files_of(spec)
        for sibling, info in files.siblings(spec.path):
            if sibling == spec.path or src.is_compressed_path(Path(sibling.name)):
                continue
            if (info.device, info.inode) == (row.device, row.inode) and info.size > row.offset:
                checkpoint = writer.Checkpoint(
                    generation=row.generation, offset=row.offset, line_count=row.line_count, size=row.offset,
                    device=row.device, inode=row.inode, head_checksum=row.head_checksum,
                    head_length=row.head_length,
                )
                with files.open(sibling) as handle:
                    handle.seek(row.offset)
                    self._run(row, report, handle, checkpoint, row.format or "generic",
                              total=info.size, reference=info.mtime, forkable=not files.remote,
                              complete_lines_only=False)
                return

    def _ingest_gzip(self, spec: src.SourceSpec, report: SourceReport) -> None:
        """A compressed file is read only once all of it is verified (the CRC and length of every
        member), so a truncated or corrupt archive stores nothing, and it is keyed by its content:
        the same archive under another name (logrotate renaming .1.gz to .2.gz) is not stored twice."""
        assert spec.path is not None
        files = src.files_of(spec)
        identity = files.identify(spec.path)
        if files.remote and self._remote_archive_unchanged(spec, identity, report):
            return
        with files.open(spec.path) as raw:
            digest, size = verify_gzip(spec.location, raw, spec.kind)
            row = self._source_row(spec)
            generation, offset, line_count, fmt = row.generation, row.offset, row.line_count, row.format
            if row.content_hash == digest:
                report.status = "unchanged"
                report.generation = generation
                report.format = fmt
                return
            elsewhere = None
            if row.content_hash != f"partial:{digest}":
                elsewhere = self._stored_elsewhere(row.id, digest)
                if elsewhere is not None and elsewhere.complete:
                    report.status = "duplicate"
                    report.duplicate_of = elsewhere.location
                    self._mark_complete(row.id, digest)
                    return
                # New content under this name (or first time): a new generation from the start.
                generation = row.generation + (1 if row.content_hash else 0)
                offset, line_count, fmt = 0, 0, None
            if spec.format != "auto":
                fmt = spec.format
            raw.seek(0)
            # The descriptor verified above, not the path: a file renamed over it meanwhile is not read.
            with src.open_decompressed(spec.kind, raw) as handle:
                sample = src.read_sample(handle)  # type: ignore[arg-type]
                if offset == 0:
                    src.check_not_binary(spec.location, sample)
                    if elsewhere is not None:  # read part-way under its old name: go on from there
                        offset, line_count = elsewhere.offset, elsewhere.line_count
                        report.continues = elsewhere.location
                    else:
                        offset, line_count = self._skip_stored_prefix(sample, size, row, report)
                fmt = fmt or self._detect(sample)
                checkpoint = writer.Checkpoint(
                    generation=generation, offset=offset, line_count=line_count, size=offset,
                    content_hash=f"partial:{digest}",
                )
                if files.remote:  # lets the next run know the archive unchanged without fetching it
                    checkpoint.device, checkpoint.inode = identity.device, identity.inode
                handle.seek(offset)
                self._run(row, report, handle, checkpoint, fmt, total=size,  # type: ignore[arg-type]
                          reference=identity.mtime, final_hash=digest, forkable=not files.remote)

    def _remote_archive_unchanged(self, spec: src.SourceSpec, identity: src.FileIdentity,
                                  report: SourceReport) -> bool:
        """A remote archive read completely before and still the same file (device and inode): not
        fetched again only to find its checksum unchanged. Rotation writes a new archive, a new inode."""
        with self.writer, self.store.session() as session:
            row = writer.get_source(session, spec.location)
            if row is None or not row.content_hash or row.content_hash.startswith("partial:"):
                return False
            if (row.device, row.inode) != (identity.device, identity.inode):
                return False
            report.status, report.generation, report.format = "unchanged", row.generation, row.format
            return True

    def _retire(self, source_id: int) -> None:
        with self.writer, self.store.session() as session:
            writer.retire_generation(session, source_id)

    def _skip_stored_prefix(self, head: bytes, size: int, row: Source, report: SourceReport) -> tuple[int, int]:
        """Where to start a file read from its beginning: after the lines already stored from a plain
        file of its rotation family that it continues (logrotate's app.log.1, or app.log.2.gz, hold
        what app.log held: same directory, same name but for the rotation suffix, same first bytes).
        ``head``: the file's first bytes (at least HEAD_BYTES of them, or all of a shorter file)."""
        family = rotation_family(row.location)
        with self.writer, self.store.session() as session:
            candidates = writer.stored_prefixes(session, exclude_id=row.id)
        heads: dict[int, str] = {}
        best: writer.StoredPrefix | None = None
        for candidate in candidates:
            if candidate.head_length > size or candidate.offset > size or candidate.head_length > len(head):
                continue
            if rotation_family(candidate.location) != family:
                continue
            if candidate.head_length not in heads:
                heads[candidate.head_length] = _sha1(head[: candidate.head_length])
            if heads[candidate.head_length] == candidate.head_checksum and (
                best is None or candidate.offset > best.offset
            ):
                best = candidate
        if best is None:
            return 0, 0
        report.continues = best.location
        if best.offset == size:
            report.status = "duplicate"
            report.duplicate_of = best.location
        return best.offset, best.line_count

    def _stored_elsewhere(self, source_id: int, digest: str) -> writer.ArchiveElsewhere | None:
        with self.writer, self.store.session() as session:
            return writer.archive_elsewhere(session, digest, exclude_id=source_id)

    def _ingest_stream(self, spec: src.SourceSpec, report: SourceReport, stream: BinaryIO) -> None:
        import io

        row = self._source_row(spec)
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
        sample = buffered.peek(src.SAMPLE_BYTES)[: src.SAMPLE_BYTES]
        if row.line_count == 0:
            src.check_not_binary(spec.location, sample)
        fmt = row.format or (spec.format if spec.format != "auto" else self._detect(sample))
        checkpoint = writer.Checkpoint(
            generation=row.generation, offset=row.offset, line_count=row.line_count, size=row.offset
        )
        self._run(row, report, buffered, checkpoint, fmt, total=None, reference=time.time())

    # -- the pipeline -----------------------------------------------------------------------

    def _detect(self, sample: bytes) -> str:
        from logchat.ingest.detect import detect_format

        return detect_format(src.sample_lines(sample))

    def _run(
        self,
        row: Source,
        report: SourceReport,
        handle: BinaryIO,
        checkpoint: writer.Checkpoint,
        fmt: str,
        *,
        total: int | None,
        reference: float,
        final_hash: str | None = None,
        forkable: bool = True,
        complete_lines_only: bool | None = None,
        look_ahead: bool = False,
    ) -> None:
        """``forkable``: False for a remote stream, whose SSH connection a forked reader cannot use: its
        bytes reach the reader process through a pipe (RemoteFeed) instead. ``look_ahead``: once this source's
        reader process has read it all, start reading the next source (``upcoming``) while its last batches are
        written."""
        run = self._set_up(row, handle, checkpoint, fmt, total=total, reference=reference, forkable=forkable,
                           complete_lines_only=complete_lines_only)
        self._drive(run, row, report, checkpoint, final_hash=final_hash, look_ahead=look_ahead)

    def _set_up(
        self,
        row: Source,
        handle: BinaryIO,
        checkpoint: writer.Checkpoint,
        fmt: str,
        *,
        total: int | None,
        reference: float,
        forkable: bool,
        complete_lines_only: bool | None,
        first_id: int | None = None,
        miner: TemplateMiner | None = None,
    ) -> _Run:
        """How one source is read from ``checkpoint`` on: its parser, line reader and plan, and its reader process
        where it is worth one (not started yet). ``first_id`` and ``miner``: the id of its first event and the
        template miner to go on from, where they are not the writer's own (a source read ahead of its turn)."""
        from logchat.ingest.formats import make_parser
        from logchat.ingest.timestamps import TimeContext

        checkpoint.format = fmt
        parser = make_parser(fmt, TimeContext(tz=self.tz, reference=datetime.fromtimestamp(reference, UTC)))
        if checkpoint.offset and hasattr(parser, "prime") and handle.seekable():
            parser.prime(handle, checkpoint.offset)  # column names from the header lines read before
        start = (checkpoint.offset, checkpoint.line_count)
        reader = src.LineReader(
            handle, start_line=start[1], start_offset=start[0], max_line_bytes=self.settings.ingest.max_line_bytes,
            complete_lines_only=self.complete_lines_only if complete_lines_only is None else complete_lines_only,
        )
        plan = BatchPlan(
            source_id=row.id, generation=checkpoint.generation, first_id=self.next_id if first_id is None else first_id,
            batch_size=self.settings.ingest.batch_size, multiline=self.settings.ingest.multiline,
            since_us=to_micros(self.window.since) if self.window.since else None,
            until_us=to_micros(self.window.until) if self.window.until else None,
            max_seconds=self.max_batch_seconds, fields=self.settings.ingest.fields,
        )
        remaining = None if total is None else total - start[0]
        in_reader_process = (self.reader_process and remaining is not None and remaining >= PARALLEL_MIN_BYTES
                             and can_fork())
        feed = None
        if in_reader_process and not forkable:
            feed = RemoteFeed(handle)
            reader.handle = feed.stream  # type: ignore[assignment]
        ahead = None
        if self.read_ahead and not forkable:
            reader.handle, ahead = read_ahead(handle)
        in_child = close_inherited_locks if feed is None else feed.in_child(close_inherited_locks)
        if in_reader_process:
            plan.first_batch_size = max(1, plan.batch_size // WARM_UP_SHARE)
            plan.end_offset = total
        batches = (
            ReaderProcess(reader, parser, miner or self.miner, plan, in_child=in_child,
                          spare=_count_values_ahead() if plan.fields else None)
            if in_reader_process else None
        )
        return _Run(fmt, start, remaining, reader, parser, plan, batches, feed, ahead)

    def _drive(
        self, run: _Run, row: Source, report: SourceReport, checkpoint: writer.Checkpoint, *,
        final_hash: str | None = None, look_ahead: bool = False,
    ) -> None:
        """Read and write the batches of one source, set up by _set_up."""
        report.format = run.fmt
        report.generation = checkpoint.generation
        self.progress.start_source(report, run.remaining)
        reader, plan, batches, feed, ahead, start = run.reader, run.plan, run.batches, run.feed, run.ahead, run.start
        error = None
        stream = iter(batches) if batches is not None else produce_batches(reader, run.parser, self.miner, plan)
        preparer = writer.events_preparer(self.store.engine) if batches is not None else None
        if preparer is not None:
            assert batches is not None
            batches.start()  # forked from this thread, not from the prefetching one
            stream = Prefetched(stream, lambda batch: _prepare(preparer, batch), name="logchat-batch-prefetch",
                                interrupt=batches.stop)
        # The next source's reader read ahead of its turn holds templates of this source's batches: it is of use
        # only once they all are in the store.
        written = False
        try:
            if feed is not None:
                feed.start()
            # Closed on every way out: a reader process left behind would outlive a stopped run.
            with contextlib.closing(stream):  # type: ignore[type-var]
                while True:
                    if ahead is not None:
                        # Wait for the network outside the writer's turn: other hosts write meanwhile.
                        ahead.wait_ready(READY_BYTES)
                    with self.writer:  # parsing assigns templates: one host at a time
                        if batches is not None:
                            batches.writer_waits(True)
                        batch = next(stream, None)
                        if batches is not None:
                            batches.writer_waits(False)
                        if batch is None:
                            break
                        if look_ahead and batches is not None and batches.ended is not None:
                            # Done with this source, the reader process waits: the next source's starts now.
                            look_ahead = False
                            self._read_next_ahead(batches.ended, row.location)
                        checkpoint.offset, checkpoint.line_count = batch.end_offset, batch.end_line
                        self._commit(report, batch, checkpoint, start, row.id)
                    error = batch.error or error
                    if self.should_stop():
                        if batches is not None:
                            self._load_miner()  # the reader process's templates are in the store, not in this copy
                        return  # between batches: everything read so far is committed, the rest waits
            written = True
        finally:
            if not written:
                self.discard_ahead()
            if feed is not None:
                error = feed.close() or error
            if ahead is not None:
                reader.handle.close()
            if preparer is not None:
                stream.close()  # closed already unless something failed before its loop: its thread ends first
                preparer.close()
        if batches is not None and batches.miner_state is not None:
            # The reader process mined templates on its own copy; carry on from its state.
            self.miner = TemplateMiner(batches.miner_state)
        if error is not None:
            raise SourceError(f"{report.location}: {error}")
        if final_hash is not None:
            self._mark_complete(row.id, final_hash)

    # -- the next source, read ahead of its turn ------------------------------------------------------

    def _read_next_ahead(self, end: ReaderEnd, location: str) -> None:
        """Start the reader process of the next source (``upcoming``), going on from ``end``, the last word of the
        reader of the source at ``location``, whose last batches the writer still writes: at each source's end
        the reader process waited for the writer, and the writer then waited for the next source's first batches.
        Only a plain local file large enough for a reader process, outside the rotation family of the source
        before (whose stored lines its plan may depend on), and whose plan changes nothing in the store; any other
        source, or any trouble, waits for its turn, which reads it as usual and reports what went wrong."""
        spec, self.upcoming = self.upcoming, None
        if spec is None or spec.kind in src.COMPRESSED_KINDS or spec.path is None:  # stdin has no path
            return
        if src.files_of(spec).remote or rotation_family(spec.location) == rotation_family(location):
            return
        file = src.LocalFile(spec.path)
        noted = SourceReport(location=spec.location, name=spec.name, kind=spec.kind)
        try:
            planned = self._plan_file(spec, noted, file, tentative=True)
            if planned is None:
                return
            row, checkpoint, fmt, identity = planned
            if noted.status != "ok" or identity.size - checkpoint.offset < PARALLEL_MIN_BYTES:
                return
            with contextlib.ExitStack() as opened:
                handle = opened.enter_context(file.open_at(checkpoint.offset))
                run = self._set_up(row, handle, checkpoint, fmt, total=identity.size, reference=identity.mtime,
                                   forkable=True, complete_lines_only=None, first_id=end.next_id,
                                   miner=TemplateMiner(end.miner_state))
                if run.batches is None:
                    return
                run.batches.start()
                self._ahead = _Ahead(spec.location, row, checkpoint, noted.continues, run, opened.pop_all())
        except (SourceError, StoreError, OSError):
            return

    def _take_ahead(self, spec: src.SourceSpec) -> _Ahead | None:
        """The source read ahead of its turn, if it is ``spec``'s (any other is ended)."""
        if self._ahead is not None and self._ahead.location != spec.location:
            self.discard_ahead()
        ahead, self._ahead = self._ahead, None
        return ahead

    def discard_ahead(self) -> None:
        """End the reading of a source started ahead of its turn, which will not come."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.discard()

    def _read_ahead_source(self, ahead: _Ahead, report: SourceReport) -> None:
        report.continues = ahead.continues
        try:
            self._drive(ahead.run, ahead.row, report, ahead.checkpoint, look_ahead=True)
        finally:
            ahead.discard()  # its reader has ended unless the reading failed before taking a batch; its file closes

    def _commit(
        self, report: SourceReport, batch: Batch, checkpoint: writer.Checkpoint, start: tuple[int, int],
        source_id: int,
    ) -> None:
        """Write one batch with its checkpoint. ``start`` is (offset, line) where this run began."""
        checkpoint.size = checkpoint.offset
        rows = batch.rows
        if rows and rows[0][0] != self.next_id:
            # Another host's batches took ids since this file's reader numbered its rows: the next ones.
            shift = self.next_id - rows[0][0]
            rows = [(row[0] + shift, *row[1:]) for row in rows]  # type: ignore[misc]
        with self.writer:
            with tracing.span("ingest.batch", **{"logchat.source": report.name, "logchat.events": len(rows)}), \
                    self.store.session() as session:
                writer.write_batch(
                    session, source_id, rows, batch.template_stats(), batch.rollup, batch.changed_templates,
                    batch.miner_state, checkpoint, template_fields=batch.fields.rows(),
                    count_values=self.settings.ingest.fields, value_counts=batch.value_counts,
                    prepared=batch.prepared,
                )
                if self.settings.ingest.fields and rows and (batch.stale_fields or batch.changed_templates):
                    _recount_changed_templates(session, batch, rows[0][0])
                if rows:
                    self.next_id = rows[-1][0] + 1
            if self.window_cutter is not None:
                # Committed: the store holds these events now. Batches commit in the order of their ids (under
                # the writer lock), and every row of a batch is of its source.
                self.window_cutter.feed_source(source_id, rows)
        report.new_events += len(batch.rows)
        report.skipped += batch.skipped
        report.with_timestamp += batch.timestamped
        report.new_lines = self._carried[0] + checkpoint.line_count - start[1]
        report.bytes_read = self._carried[1] + checkpoint.offset - start[0]
        self.progress.advance(report, report.bytes_read, report.new_lines)

    def _mark_complete(self, source_id: int, content_hash: str) -> None:
        with self.writer, self.store.session() as session:
            session.get_one(Source, source_id).content_hash = content_hash


def _count_values_ahead() -> Callable[[Batch], None]:
    """What a reader process does with a batch while the writer is busy with the one before: count the values of
    its fields (logchat.ingest.value_counts), which the writer then does not. One counter per reader process, so
    that the fields it has seen pass the cap are left alone in its later batches."""
    counter = SpareCounter()

    def count(batch: Batch) -> None:
        batch.value_counts = counter.count(batch.rows, batch.fields.rows())

    return count


def _prepare(preparer: Any, batch: Batch) -> None:
    batch.prepared = preparer.prepare(batch.rows)


def _recount_changed_templates(session: Session, batch: Batch, first_id: int) -> None:
    """Fields read while a template still held a value as fixed text are read again against the template the
    events end up in: the batch's own were (by the pipeline), those stored before it are here; the field
    counts of those templates are counted again from all their events."""
    from logchat.services.fields import recount_templates
    from logchat.storage import fields_repo

    # Templates made while the batch was read have no events stored before it: only older ones are looked up.
    older = {template_id for template_id in batch.changed_templates if template_id < batch.first_new_template}
    stored = fields_repo.templates_with_events_before(session, older, first_id)
    recount_templates(session, batch.stale_fields | stored, stored, first_id, batch.fields)


class RemoteFeed:
    """A remote file's bytes, read by a thread of this process (which holds the SSH connection) and
    written to a pipe that a forked reader process parses: network reads, parsing and database writes
    overlap as they do for a local file. Only whole lines go through until the file really ends, so a
    connection lost in the middle of a line never hands the reader a cut line as the last one."""

    def __init__(self, source: BinaryIO) -> None:
        import os

        self._source = source
        read_end, self._write_end = os.pipe()
        self.stream = os.fdopen(read_end, "rb", buffering=1 << 20)
        self.error: str | None = None
        self._thread = threading.Thread(target=self._pump, name="logchat-remote-feed", daemon=True)

    def in_child(self, then: Callable[[], None]) -> Callable[[], None]:
        """What the forked reader runs first: drop the pipe's write end, or it would never see the end."""
        import os

        def close_write_end() -> None:
            os.close(self._write_end)
            then()

        return close_write_end

    def start(self) -> None:
        self._thread.start()

    def _pump(self) -> None:
        import os

        tail = b""
        try:
            with os.fdopen(self._write_end, "wb", closefd=True) as out:
                while block := self._source.read(1 << 20):
                    data = tail + block
                    cut = data.rfind(b"\n") + 1
                    out.write(memoryview(data)[:cut])
                    tail = data[cut:]
                out.write(tail)  # the real end: a last line without its line ending is a line
        except OSError as exc:  # the connection was lost, or the reader stopped (a broken pipe)
            self.error = f"read error: {exc}"

    def close(self) -> str | None:
        """Stop feeding (the reader may have stopped early) and say why the feed ended early, if it did."""
        self.stream.close()  # a pump still writing gets a broken pipe and ends
        self._thread.join()
        return self.error


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def rotation_family(location: str) -> tuple[str, str]:
    """(directory, name without rotation suffixes): app.log, app.log.1, app.log.2.gz and
    app.log-20261203.gz are one family."""
    path = Path(location)
    name = path.name
    if src.is_compressed_path(path):
        name = path.stem
    return str(path.parent), _ROTATION_SUFFIX.sub("", name) or name


def verify_gzip(location: str, raw: BinaryIO, kind: str = "gzip") -> tuple[str, int]:
    """(sha256 of the compressed bytes, decompressed size) after checking every member's CRC and
    length (gzip; the other compressions check their own); a truncated or corrupt archive raises
    SourceUnreadable naming it."""
    digest = hashlib.sha256()

    class _Hashing:
        def read(self, size: int = -1) -> bytes:
            block = raw.read(size)
            digest.update(block)
            return block

    size = 0
    label = {"gzip": "gzip", "xz": "xz", "bz2": "bzip2", "zstd": "zstd"}.get(kind, kind)
    try:
        if kind == "zstd":
            size = src.zstd_checked_size(_Hashing().read, _VERIFY_BLOCK)
        else:
            with src.open_decompressed(kind, _Hashing()) as stream:  # type: ignore[arg-type]
                while block := stream.read(_VERIFY_BLOCK):
                    size += len(block)
    except EOFError as exc:
        raise SourceUnreadable(f"{location}: incomplete {label} file, nothing stored from it ({exc})") from exc
    except (OSError, ValueError, zlib.error, lzma.LZMAError, *_zstd_errors(kind)) as exc:
        raise SourceUnreadable(f"{location}: corrupt {label} file, nothing stored from it ({exc})") from exc
    digest.update(raw.read())  # bytes after the last member (zero padding) still identify the file
    return digest.hexdigest(), size


def _zstd_errors(kind: str) -> tuple[type[Exception], ...]:
    if kind != "zstd":
        return ()
    import zstandard

    return (zstandard.ZstdError,)


def index_inputs(
    store: Store,
    settings: Settings,
    inputs: list[str],
    *,
    name: str | None = None,
    fmt: str = "auto",
    stdin: BinaryIO | None = None,
    window: TimeWindow | None = None,
    progress: Progress | None = None,
    wait_seconds: float | None = None,
    identity: str | None = None,
    accept_new_host_key: bool = False,
) -> IngestReport:
    """Ingest paths, globs, directories, .gz files, '-' (stdin) and ssh://[user@]host[:port]/path-or-glob.
    ``identity`` and ``accept_new_host_key`` apply to the ssh:// ones."""
    from logchat.ingest.ssh_location import is_ssh_url

    hosts = host_pool(settings) if any(is_ssh_url(item) for item in inputs) else None
    try:
        options = remote_options(settings, identity=identity, accept_new_host_key=accept_new_host_key)
        expansion = src.expand_inputs(inputs, name=name, fmt=fmt, hosts=hosts, remote_options=options)
        return _ingest(store, settings, expansion, stdin=stdin, window=window, progress=progress,
                       wait_seconds=wait_seconds)
    finally:
        if hosts is not None:
            hosts.close()


def remote_options(settings: Settings, *, identity: str | None = None,
                   accept_new_host_key: bool = False) -> RemoteOptions:
    """How to reach hosts: [remote] settings, overridden by a source's or the command line's choices."""
    from logchat.ingest.ssh_location import RemoteOptions

    remote = settings.remote
    return RemoteOptions(
        identity=identity, accept_new_host_key=accept_new_host_key or remote.accept_new_host_key,
        known_hosts_file=remote.known_hosts_file, connect_timeout=remote.connect_timeout_seconds,
        read_timeout=remote.read_timeout_seconds,
    )


def remote_backoff_seconds(settings: Settings, attempt: int) -> float:
    """The wait before reconnecting to a host for the ``attempt``-th time (from 0): doubled each time."""
    return settings.remote.retry_backoff_seconds * 2 ** attempt


def host_pool(settings: Settings) -> HostPool:
    from logchat.ingest.remote import HostPool

    return HostPool(max_hosts=settings.remote.max_hosts)


def reload_sources(
    store: Store,
    settings: Settings,
    *,
    window: TimeWindow | None = None,
    progress: Progress | None = None,
    wait_seconds: float | None = None,
    reader_process: bool = True,
    accept_new_host_key: bool = False,
) -> IngestReport:
    """Ingest what is new in every enabled source: the configuration file's `[[sources]]`, then those
    kept in the store (services/configured_sources.py). ``reader_process=False`` for callers with other
    threads running (the daemon): see Ingester. ``accept_new_host_key``: for every remote source."""
    from logchat.ingest.ssh_location import is_ssh_url
    from logchat.services.configured_sources import sources_to_reload

    configured_sources = sources_to_reload(store, settings)
    enabled = [configured for configured in configured_sources if configured.enabled]
    remote_urls = [(configured, url) for configured in enabled for url in configured.locations() if is_ssh_url(url)]
    hosts = host_pool(settings) if remote_urls else None
    try:
        return _reload(store, settings, configured_sources, enabled, remote_urls, hosts, window=window,
                       progress=progress, wait_seconds=wait_seconds, reader_process=reader_process,
                       accept_new_host_key=accept_new_host_key)
    finally:
        if hosts is not None:
            hosts.close()


def _reload(
    store: Store, settings: Settings, configured_sources: list[SourceSettings], enabled: list[SourceSettings],
    remote_urls: list[tuple[SourceSettings, str]], hosts: HostPool | None, *, window: TimeWindow | None,
    progress: Progress | None, wait_seconds: float | None, reader_process: bool, accept_new_host_key: bool,
) -> IngestReport:
    expansion = src.Expansion()
    names: dict[str, str] = {}
    remote: dict[tuple[int, str], src.Expansion] = {}
    if hosts is not None:
        # Every host at once (up to [remote] max_hosts), rather than one source after another.
        from logchat.ingest.remote import RemoteRequest

        requests = [RemoteRequest(url, configured.name, configured.format, remote_options(
            settings, identity=configured.identity,
            accept_new_host_key=accept_new_host_key or configured.accept_new_host_key))
            for configured, url in remote_urls]
        for (configured, url), result in zip(remote_urls, hosts.expand(requests), strict=True):
            remote[(id(configured), url)] = src.Expansion(specs=result.specs, problems=result.problems)
    for configured in enabled:
        for location in configured.locations():
            key = (id(configured), location)
            part = remote[key] if key in remote else src.expand_inputs(
                [location], name=configured.name, fmt=configured.format)
            known = {spec.location for spec in expansion.specs}
            expansion.specs.extend(spec for spec in part.specs if spec.location not in known)
            expansion.problems.extend(part.problems)
            expansion.passed_over.extend(part.passed_over)
            if configured.name:
                names.setdefault(location, configured.name)
    if not configured_sources:
        where = settings.config_file or "logchat.toml"
        raise UsageError(
            f"no sources configured: none in [[sources]] of {where} and none added to the store (add one with "
            "`logchat sources add NAME PATH` or POST /api/v1/logs/configured-sources)",
            hint="or add [[sources]] entries to the file; `logchat index PATH` reads a path once",
        )
    started = datetime.now(UTC)
    report = _ingest(store, settings, expansion, stdin=None, window=window, progress=progress,
                     wait_seconds=wait_seconds, reader_process=reader_process, names=names)
    _forget_unread_before(store, started)
    return report


def _ingest(
    store: Store,
    settings: Settings,
    expansion: src.Expansion,
    *,
    stdin: BinaryIO | None,
    window: TimeWindow | None,
    progress: Progress | None,
    wait_seconds: float | None,
    reader_process: bool = True,
    names: dict[str, str] | None = None,
) -> IngestReport:
    """``names``: the source name to report for a configured path that could not be expanded."""
    started = time.perf_counter()
    report = IngestReport(passed_over=[{"path": path, "reason": why} for path, why in expansion.passed_over])
    for item, problem in expansion.problems:
        name = (names or {}).get(item, item)
        failed = SourceReport(location=item, name=name, kind="unknown", status="error", errors=[str(problem)])
        report.sources.append(failed)
    wait = settings.ingest.lock_timeout_seconds if wait_seconds is None else wait_seconds
    if expansion.specs:
        with ingest_lock(store, settings.data_dir, wait_seconds=wait), collecting_less_often():
            ingester = Ingester(store, settings, window=window or TimeWindow(), progress=progress or Progress(),
                                reader_process=reader_process)
            ingester.window_cutter = _start_window_cutter(store, settings)
            report.sources.extend(read_sources(ingester, expansion.specs, stdin, max_hosts=settings.remote.max_hosts))
            if ingester.store_error is not None:
                report.error = str(ingester.store_error)
            elif ingester.window_cutter is not None:
                # Still under the ingest lock, so no event came or went since the cutter saw them.
                report.windows_cut = _save_windows(store, ingester.window_cutter)
    _record_attempts(store, report.sources)
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _start_window_cutter(store: Store, settings: Settings) -> WindowCutter | None:
    from logchat.services.vectors import start_window_cutter

    try:
        return start_window_cutter(store, settings)
    except StoreError:
        return None  # the ingest meets the store's trouble itself; the vector update reads the events back


def _save_windows(store: Store, cutter: WindowCutter) -> WindowsCut | None:
    from logchat.services.vectors import save_ingested_windows

    try:
        return save_ingested_windows(store, cutter)
    except StoreError:
        return None  # the events are stored: the vector update cuts their windows by reading them back


def read_sources(ingester: Ingester, specs: list[src.SourceSpec], stdin: BinaryIO | None, *,
                 max_hosts: int) -> list[SourceReport]:
    """Each source's report, in the order of ``specs`` (up to a failure of the store, which ends the
    run). Files on two or more hosts are read concurrently, at most ``max_hosts`` hosts at a time and
    each host's files one after another, by threads taking turns at the one writer; local files are
    read first, in this thread, as they are without remote ones."""
    reports: list[SourceReport | None] = [None] * len(specs)
    by_host: dict[int, list[int]] = {}
    local: list[int] = []
    for index, spec in enumerate(specs):
        files = src.files_of(spec) if spec.kind != "stdin" else None
        if files is not None and files.remote:
            by_host.setdefault(id(getattr(files, "host", files)), []).append(index)
        else:
            local.append(index)
    hosts = list(by_host.values())
    concurrent = max_hosts > 1 and len(hosts) > 1
    in_turn = local if concurrent else list(range(len(specs)))
    try:
        for position, index in enumerate(in_turn):
            # A source's reader may start while the one before it is being written (Ingester._read_next_ahead).
            ingester.upcoming = specs[in_turn[position + 1]] if position + 1 < len(in_turn) else None
            reports[index] = _read_one(ingester, specs[index], stdin)
            if ingester.store_error is not None:
                return _in_order(reports)
    finally:
        ingester.upcoming = None
        ingester.discard_ahead()
    if concurrent:
        _read_hosts_concurrently(ingester, specs, hosts, reports, max_hosts)
    return _in_order(reports)


def _read_hosts_concurrently(ingester: Ingester, specs: list[src.SourceSpec], hosts: list[list[int]],
                             reports: list[SourceReport | None], max_hosts: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ingester.reader_process = False  # other threads run from here on: no forking
    ingester.read_ahead = True
    stopping = threading.Event()
    asked_to_stop = ingester.should_stop
    ingester.should_stop = lambda: stopping.is_set() or asked_to_stop()

    def read_host(indexes: list[int]) -> None:
        for index in indexes:
            if ingester.store_error is not None or stopping.is_set():
                return
            reports[index] = _read_one(ingester, specs[index], None)

    try:
        with ThreadPoolExecutor(max_workers=max_hosts, thread_name_prefix="logchat-host") as pool:
            try:
                list(pool.map(read_host, hosts))
            except BaseException:
                # Ctrl-C, or a fault in one host's thread: the others stop after the batch they are on
                # (committed), rather than reading on to their ends.
                stopping.set()
                raise
    finally:
        ingester.should_stop = asked_to_stop
        ingester.read_ahead = False


def _read_one(ingester: Ingester, spec: src.SourceSpec, stdin: BinaryIO | None) -> SourceReport:
    result = ingester.ingest(spec, stdin=stdin)
    if result.failed and spec.from_walk and result.errors and "binary data" in result.errors[0]:
        # A directory walk meets binary files (journals, core dumps): pass over them.
        result.status = "skipped"
    return result


def _in_order(reports: list[SourceReport | None]) -> list[SourceReport]:
    return [report for report in reports if report is not None]


def _record_attempts(store: Store, reports: list[SourceReport]) -> None:
    """Each location's last attempt, success or error, for GET /api/v1/logs/sources."""
    from logchat.storage import sources_repo

    attempts = [
        sources_repo.Attempt(location=r.location, name=r.name, kind=r.kind, status=r.status,
                             error=("; ".join(r.errors) or "failed") if r.failed else None)
        for r in reports
    ]
    if not attempts:
        return
    try:
        with busy_means_try_again("record the sources' status"), store.session() as session:
            sources_repo.record_attempts(session, attempts, datetime.now(UTC))
    except (StoreError, StoreBusy):
        pass  # the store is failing or busy: the run's own report says what matters


def _forget_unread_before(store: Store, instant: datetime) -> None:
    """After a reload, a location that was never read and was not tried in it (a path since fixed or
    removed from the sources) is no longer listed as failing."""
    from logchat.storage import sources_repo

    try:
        with busy_means_try_again("forget old source errors"), store.session() as session:
            sources_repo.forget_unread_before(session, instant)
    except (StoreError, StoreBusy):
        pass
