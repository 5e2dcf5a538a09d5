"""Use case: ingest sources into the store (`logchat index`, `logchat reload`).

Each batch of events is written with the source checkpoint in ONE transaction, so a process killed
at any point loses nothing and duplicates nothing: the next run resumes from the last commit.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from logchat.config import Settings, install_user_formats
from logchat.errors import SourceError, SourceUnreadable, StoreBusy, StoreError, UsageError
from logchat.ingest import sources as src
from logchat.ingest.parallel import ReaderProcess, can_fork
from logchat.ingest.pipeline import Batch, BatchPlan, produce_batches
from logchat.ingest.templates import TemplateMiner
from logchat.observability import tracing
from logchat.storage import ingest_writer as writer
from logchat.storage.db import Store
from logchat.storage.locks import close_inherited_locks, ingest_lock
from logchat.storage.models import Source
from logchat.storage.models.base import to_micros
from logchat.storage.transactions import busy_means_try_again

# Smaller sources are not worth starting a reader process for.
PARALLEL_MIN_BYTES = 1 << 20
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
        self.tz = ZoneInfo(settings.ingest.default_timezone)
        install_user_formats(settings)
        self.store_error: StoreError | None = None
        with store.session() as session:
            self.miner = TemplateMiner.from_store(
                writer.load_miner_state(session), lambda: writer.template_texts(session)
            )
            self.next_id = writer.next_event_id(session)

    def ingest(self, spec: src.SourceSpec, stdin: BinaryIO | None = None) -> SourceReport:
        report = SourceReport(location=spec.location, name=spec.name, kind=spec.kind)
        try:
            if spec.kind == "stdin":
                self._ingest_stream(spec, report, stdin or sys.stdin.buffer)
            elif spec.kind in src.COMPRESSED_KINDS:
                self._ingest_gzip(spec, report)
            else:
                self._ingest_file(spec, report)
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

    # -- per kind ---------------------------------------------------------------------------

    def _source_row(self, spec: src.SourceSpec) -> Source:
        with self.store.session() as session:
            row = writer.get_source(session, spec.location)
            if row is None:
                fmt = None if spec.format == "auto" else spec.format
                row = writer.create_source(session, location=spec.location, name=spec.name, kind=spec.kind, fmt=fmt)
            elif spec.name != row.name:
                row.name = spec.name
            return row

    def _ingest_file(self, spec: src.SourceSpec, report: SourceReport) -> None:
        assert spec.path is not None
        identity = src.identify(spec.path)
        row = self._source_row(spec)
        generation, offset, line_count = row.generation, row.offset, row.line_count
        fmt = row.format
        same_file = row.inode is None or (row.device, row.inode) == (identity.device, identity.inode)
        if row.inode is not None and not same_file:
            self._finish_rotated(spec, row, report)
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "rotated"
        elif identity.size < offset:
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "truncated"
        elif offset and row.head_length and src.head_checksum(spec.path, row.head_length) != row.head_checksum:
            self._retire(row.id)
            generation, offset, line_count, fmt = row.generation + 1, 0, 0, None
            report.status = "rotated"
        elif offset == identity.size and row.inode is not None:
            report.status = "unchanged"
            report.generation = generation
            report.format = fmt
            return
        if identity.size == 0:
            report.status = "empty"
            return
        if spec.format != "auto":
            fmt = spec.format
        head_length = min(src.HEAD_BYTES, identity.size)
        with src.open_binary(spec.path) as handle:
            sample = src.read_sample(handle)
            if offset == 0:
                src.check_not_binary(spec.location, sample)
                offset, line_count = self._skip_stored_prefix(handle, identity.size, row, report)
            fmt = fmt or self._detect(sample)
            checkpoint = writer.Checkpoint(
                generation=generation, offset=offset, line_count=line_count, size=offset,
                device=identity.device, inode=identity.inode,
                head_checksum=src.head_checksum(spec.path, head_length), head_length=head_length,
            )
            handle.seek(offset)
            self._run(row, report, handle, checkpoint, fmt, total=identity.size, reference=identity.mtime)

    def _finish_rotated(self, spec: src.SourceSpec, row: Source, report: SourceReport) -> None:
        """logrotate renamed the file we were reading: read what was appended to it before rotation."""
        assert spec.path is not None
        for sibling in sorted(spec.path.parent.glob(spec.path.name + "*")):
            if sibling == spec.path or src.is_compressed_path(sibling) or not sibling.is_file():
                continue
            info = sibling.stat()
            if (info.st_dev, info.st_ino) == (row.device, row.inode) and info.st_size > row.offset:
                checkpoint = writer.Checkpoint(
                    generation=row.generation, offset=row.offset, line_count=row.line_count, size=row.offset,
                    device=row.device, inode=row.inode, head_checksum=row.head_checksum,
                    head_length=row.head_length,
                )
                with src.open_binary(sibling) as handle:
                    handle.seek(row.offset)
                    self._run(row, report, handle, checkpoint, row.format or "generic",
                              total=info.st_size, reference=info.st_mtime)
                return

    def _ingest_gzip(self, spec: src.SourceSpec, report: SourceReport) -> None:
        """A compressed file is read only once all of it is verified (the CRC and length of every
        member), so a truncated or corrupt archive stores nothing, and it is keyed by its content:
        the same archive under another name (logrotate renaming .1.gz to .2.gz) is not stored twice."""
        assert spec.path is not None
        identity = src.identify(spec.path)
        with src.open_binary(spec.path) as raw:
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
                        offset, line_count = self._skip_stored_prefix(handle, size, row, report)  # type: ignore[arg-type]
                fmt = fmt or self._detect(sample)
                checkpoint = writer.Checkpoint(
                    generation=generation, offset=offset, line_count=line_count, size=offset,
                    content_hash=f"partial:{digest}",
                )
                handle.seek(offset)
                self._run(row, report, handle, checkpoint, fmt, total=size,  # type: ignore[arg-type]
                          reference=identity.mtime, final_hash=digest)

    def _retire(self, source_id: int) -> None:
        with self.store.session() as session:
            writer.retire_generation(session, source_id)

    def _skip_stored_prefix(self, handle: BinaryIO, size: int, row: Source, report: SourceReport) -> tuple[int, int]:
        """Where to start a file read from its beginning: after the lines already stored from a plain
        file of its rotation family that it continues (logrotate's app.log.1, or app.log.2.gz, hold
        what app.log held: same directory, same name but for the rotation suffix, same first bytes)."""
        family = rotation_family(row.location)
        with self.store.session() as session:
            candidates = writer.stored_prefixes(session, exclude_id=row.id)
        heads: dict[int, str] = {}
        best: writer.StoredPrefix | None = None
        for candidate in candidates:
            if candidate.head_length > size or candidate.offset > size:
                continue
            if rotation_family(candidate.location) != family:
                continue
            if candidate.head_length not in heads:
                handle.seek(0)
                head = handle.read(candidate.head_length)
                heads[candidate.head_length] = hashlib.sha1(head, usedforsecurity=False).hexdigest()
            if heads[candidate.head_length] == candidate.head_checksum and (
                best is None or candidate.offset > best.offset
            ):
                best = candidate
        handle.seek(0)
        if best is None:
            return 0, 0
        report.continues = best.location
        if best.offset == size:
            report.status = "duplicate"
            report.duplicate_of = best.location
        return best.offset, best.line_count

    def _stored_elsewhere(self, source_id: int, digest: str) -> writer.ArchiveElsewhere | None:
        with self.store.session() as session:
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
    ) -> None:
        from logchat.ingest.formats import make_parser
        from logchat.ingest.timestamps import TimeContext

        report.format = fmt
        report.generation = checkpoint.generation
        checkpoint.format = fmt
        parser = make_parser(fmt, TimeContext(tz=self.tz, reference=datetime.fromtimestamp(reference, UTC)))
        if checkpoint.offset and hasattr(parser, "prime") and handle.seekable():
            parser.prime(handle, checkpoint.offset)  # column names from the header lines read before
        start = (checkpoint.offset, checkpoint.line_count)
        reader = src.LineReader(
            handle, start_line=start[1], start_offset=start[0], max_line_bytes=self.settings.ingest.max_line_bytes
        )
        plan = BatchPlan(
            source_id=row.id, generation=checkpoint.generation, first_id=self.next_id,
            batch_size=self.settings.ingest.batch_size, multiline=self.settings.ingest.multiline,
            since_us=to_micros(self.window.since) if self.window.since else None,
            until_us=to_micros(self.window.until) if self.window.until else None,
        )
        remaining = None if total is None else total - start[0]
        self.progress.start_source(report, remaining)
        in_reader_process = (self.reader_process and remaining is not None and remaining >= PARALLEL_MIN_BYTES
                             and can_fork())
        batches = (ReaderProcess(reader, parser, self.miner, plan, in_child=close_inherited_locks)
                   if in_reader_process else None)
        error = None
        for batch in batches if batches is not None else produce_batches(reader, parser, self.miner, plan):
            checkpoint.offset, checkpoint.line_count = batch.end_offset, batch.end_line
            self._commit(report, batch, checkpoint, start, row.id)
            error = batch.error or error
        if batches is not None and batches.miner_state is not None:
            # The reader process mined templates on its own copy; carry on from its state.
            self.miner = TemplateMiner(batches.miner_state)
        if error is not None:
            raise SourceError(f"{report.location}: {error}")
        if final_hash is not None:
            self._mark_complete(row.id, final_hash)

    def _commit(
        self, report: SourceReport, batch: Batch, checkpoint: writer.Checkpoint, start: tuple[int, int],
        source_id: int,
    ) -> None:
        """Write one batch with its checkpoint. ``start`` is (offset, line) where this run began."""
        checkpoint.size = checkpoint.offset
        with tracing.span("ingest.batch", **{"logchat.source": report.name, "logchat.events": len(batch.rows)}), \
                self.store.session() as session:
            writer.write_batch(
                session, source_id, batch.rows, batch.template_stats(), batch.rollup, batch.changed_templates,
                batch.miner_state, checkpoint, template_fields=batch.fields.rows(),
            )
        if batch.rows:
            self.next_id = batch.rows[-1][0] + 1
        report.new_events += len(batch.rows)
        report.skipped += batch.skipped
        report.with_timestamp += batch.timestamped
        report.new_lines = checkpoint.line_count - start[1]
        report.bytes_read = checkpoint.offset - start[0]
        self.progress.advance(report, report.bytes_read, report.new_lines)

    def _mark_complete(self, source_id: int, content_hash: str) -> None:
        with self.store.session() as session:
            session.get_one(Source, source_id).content_hash = content_hash


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
) -> IngestReport:
    """Ingest paths, globs, directories, .gz files and '-' (stdin)."""
    expansion = src.expand_inputs(inputs, name=name, fmt=fmt)
    return _ingest(store, settings, expansion, stdin=stdin, window=window, progress=progress,
                   wait_seconds=wait_seconds)


def reload_sources(
    store: Store,
    settings: Settings,
    *,
    window: TimeWindow | None = None,
    progress: Progress | None = None,
    wait_seconds: float | None = None,
    reader_process: bool = True,
) -> IngestReport:
    """Ingest what is new in every enabled source: the configuration file's `[[sources]]`, then those
    kept in the store (services/configured_sources.py). ``reader_process=False`` for callers with other
    threads running (the daemon): see Ingester."""
    from logchat.services.configured_sources import sources_to_reload

    configured_sources = sources_to_reload(store, settings)
    expansion = src.Expansion()
    names: dict[str, str] = {}
    for configured in configured_sources:
        if not configured.enabled:
            continue
        part = src.expand_inputs([configured.path], name=configured.name, fmt=configured.format)
        known = {spec.location for spec in expansion.specs}
        expansion.specs.extend(spec for spec in part.specs if spec.location not in known)
        expansion.problems.extend(part.problems)
        expansion.passed_over.extend(part.passed_over)
        if configured.name:
            names.setdefault(configured.path, configured.name)
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
        with ingest_lock(store, settings.data_dir, wait_seconds=wait):
            ingester = Ingester(store, settings, window=window or TimeWindow(), progress=progress or Progress(),
                                reader_process=reader_process)
            for spec in expansion.specs:
                result = ingester.ingest(spec, stdin=stdin)
                if result.failed and spec.from_walk and result.errors and "binary data" in result.errors[0]:
                    # A directory walk meets binary files (journals, core dumps): pass over them.
                    result.status = "skipped"
                report.sources.append(result)
                if ingester.store_error is not None:
                    report.error = str(ingester.store_error)
                    break
    _record_attempts(store, report.sources)
    report.elapsed_seconds = time.perf_counter() - started
    return report


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
