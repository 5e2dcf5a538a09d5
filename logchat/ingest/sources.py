"""Where lines come from: local files, globs, directories, compressed files (gzip, xz, bzip2, zstd), stdin,
and files on other hosts (ssh://, read by ingest/remote.py through the same FileAccess interface).

A source yields RawLine records (1-based line number, byte offset, text). Decoding never drops a
line: invalid UTF-8 is replaced, over-long lines are truncated with a marker.
"""

from __future__ import annotations

import errno
import functools
import glob
import gzip
import hashlib
import io
import os
import stat as stat_module
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from logchat.errors import SourceError, SourceIsBinary, SourceNotFound, SourceUnreadable
from logchat.ingest.events import RawLine

HEAD_BYTES = 4096
SAMPLE_BYTES = 8192
TRUNCATION_MARKER = " …[truncated {} bytes]"
# The rest of an over-long line is read and dropped in chunks of this size.
_SKIP_CHUNK = 1 << 16
_GLOB_CHARS = frozenset("*?[")
# Files a directory walk passes over: compiled code, archives we cannot read, images, databases.
_NOT_LOGS = frozenset(
    {
        ".zip",
        ".tar",
        ".tgz",
        ".7z",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".pdf",
        ".so",
        ".o",
        ".a",
        ".pyc",
        ".db",
        ".sqlite",
        ".journal",
        ".exe",
        ".dll",
        ".bin",
        ".class",
        ".jar",
        ".faiss",
    }
)


# Compressed files are read whole, like .gz (see Ingester._ingest_gzip): suffix -> kind.
COMPRESSED_SUFFIXES: dict[str, str] = {".gz": "gzip", ".xz": "xz", ".lzma": "xz", ".bz2": "bz2", ".zst": "zstd"}
COMPRESSED_KINDS = frozenset(COMPRESSED_SUFFIXES.values())


@dataclass
class SourceSpec:
    """One concrete thing to read, after globs and directories are expanded."""

    location: str  # absolute path, or "stdin:<name>"
    name: str
    kind: str  # file | gzip | xz | bz2 | zstd | stdin
    path: Path | None = None
    format: str = "auto"
    from_walk: bool = False  # found by a directory walk or glob, not named explicitly
    # How to reach the file: None for a local one; a remote host's files (ingest/remote.py) otherwise.
    files: Any = None


@dataclass
class Expansion:
    specs: list[SourceSpec] = field(default_factory=list)
    problems: list[tuple[str, SourceError]] = field(default_factory=list)
    # Files a directory walk or glob did not read, and why: reported, never dropped in silence.
    passed_over: list[tuple[str, str]] = field(default_factory=list)


def compression_of(path: Path) -> str | None:
    """The compression kind of a file by its suffix ("gzip", "xz", "bz2", "zstd"), or None."""
    return COMPRESSED_SUFFIXES.get(path.suffix.lower())


def is_compressed_path(path: Path) -> bool:
    return compression_of(path) is not None


is_gzip_path = is_compressed_path  # the older name: every compressed kind is read the way .gz is


def open_decompressed(kind: str, raw: BinaryIO) -> BinaryIO:
    """A readable, seekable stream of the decompressed bytes of `raw` (read from where it is)."""
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
    if kind == "bz2":
        import bz2

        return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
    if kind == "zstd":
        return io.BufferedReader(_ZstdStream(raw), buffer_size=1 << 16)  # type: ignore[return-value]
    raise ValueError(f"unknown compression {kind!r}")


def zstd_checked_size(read: Callable[[int], bytes], block: int = 1 << 20) -> int:
    """Decompressed size of a whole zstd file (every frame), raising EOFError when the last frame is
    cut short: the streaming reader would quietly end early there."""
    import zstandard

    size = 0
    decompressor = zstandard.ZstdDecompressor()
    frame = decompressor.decompressobj()
    in_frame = False
    while chunk := read(block):
        while chunk:
            size += len(frame.decompress(chunk))
            in_frame = not frame.eof
            if not frame.eof:
                break
            chunk = frame.unused_data
            frame = decompressor.decompressobj()
    if in_frame:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")
    return size


class _ZstdStream(io.RawIOBase):
    """Decompressed zstd bytes that can seek like GzipFile: forward by reading, backward by starting over
    (zstandard's own reader only seeks forward)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        try:
            self._start: int | None = raw.tell()
        except (AttributeError, OSError):
            self._start = None  # a stream read once from where it is
        self._open()

    def _open(self) -> None:
        import zstandard

        if self._start is not None:
            self._raw.seek(self._start)
        self._reader = zstandard.ZstdDecompressor().stream_reader(self._raw, read_across_frames=True, closefd=False)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._start is not None

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        count = self._reader.readinto(buffer)
        self._position += count
        return count

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a zstd stream seeks only from its start or its position")
        if offset < self._position:
            self._open()
        while self._position < offset:
            chunk = self._reader.read(min(1 << 20, offset - self._position))
            if not chunk:
                break
            self._position += len(chunk)
        return self._position


def _spec_for_file(path: Path, *, name: str | None, fmt: str, from_walk: bool) -> SourceSpec:
    absolute = path.resolve()
    return SourceSpec(
        location=str(absolute),
        name=name or absolute.name,
        kind=compression_of(absolute) or "file",
        path=absolute,
        format=fmt,
        from_walk=from_walk,
    )


def describe_os_error(location: str, exc: OSError) -> SourceError:
    """One line for why a path cannot be used, by errno rather than by a guess from later checks."""
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "symbolic link loop (too many levels of symbolic links)",
        errno.ENAMETOOLONG: "file name too long",
        errno.ENOTDIR: "no such file or directory (a part of the path is not a directory)",
        errno.ENOENT: "no such file or directory",
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    error_class = SourceNotFound if exc.errno in (errno.ENOENT, errno.ENOTDIR) else SourceUnreadable
    return error_class(f"{location}: {reason}")


def _not_regular(location: str, mode: int) -> SourceError | None:
    if stat_module.S_ISREG(mode):
        return None
    if stat_module.S_ISFIFO(mode):
        return SourceUnreadable(f"{location}: a named pipe, not a regular file (read it as stdin: - < {location})")
    kinds = ((stat_module.S_ISCHR, "a character device"), (stat_module.S_ISBLK, "a block device"),
             (stat_module.S_ISSOCK, "a socket"))
    kind = next((name for is_kind, name in kinds if is_kind(mode)), "a special file")
    return SourceUnreadable(f"{location}: {kind}, not a regular file")


def _walk(directory: Path, problems: list[tuple[str, SourceError]],
          passed_over: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    def unreadable(exc: OSError) -> None:
        # os.walk drops unreadable directories silently unless told; each one is a problem of its own.
        where = exc.filename if exc.filename is not None else str(directory)
        problems.append((str(where), describe_os_error(str(where), exc)))

    def pass_over(path: Path, reason: str) -> None:
        if passed_over is not None:
            passed_over.append((str(path), reason))

    for root, dirs, files in os.walk(directory, onerror=unreadable):
        for hidden in sorted(d for d in dirs if d.startswith(".")):
            pass_over(Path(root) / hidden, "hidden directory")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for filename in sorted(files):
            candidate = Path(root) / filename
            suffix = Path(filename).suffix.lower()
            if filename.startswith("."):
                pass_over(candidate, "hidden file")
            elif suffix in _NOT_LOGS:
                pass_over(candidate, f"not a log ({suffix} file)")
            elif not candidate.is_file():
                pass_over(candidate, "not a regular file")
            else:
                yield candidate


def _expand_glob(item: str, pattern: str, result: Expansion) -> list[Path]:
    matches = sorted(glob.glob(pattern, recursive=True))
    files = [Path(m) for m in matches if Path(m).is_file()]
    before = len(result.problems)
    for directory in (Path(m) for m in matches if Path(m).is_dir()):
        files.extend(_walk(directory, result.problems, result.passed_over))
    if not files and len(result.problems) == before:
        result.problems.append((item, SourceNotFound(f"{item}: no file matches this pattern")))
    return files


def _expand_path(item: str, expanded: str, result: Expansion) -> tuple[list[Path], bool]:
    """The files ``item`` names and whether they came from a walk; problems go to ``result``."""
    if "\0" in expanded:
        result.problems.append((item, SourceNotFound(f"{item!r}: a path cannot contain a NUL byte")))
        return [], False
    path = Path(expanded)
    try:
        info = os.stat(path)
    except OSError as exc:
        result.problems.append((item, _stat_problem(item, path, exc)))
        return [], False
    if stat_module.S_ISDIR(info.st_mode):
        before = len(result.problems)
        files = list(_walk(path, result.problems, result.passed_over))
        if not files and len(result.problems) == before:
            result.problems.append((item, SourceNotFound(f"{item}: directory holds no log files")))
        return files, True
    problem = _not_regular(item, info.st_mode)
    if problem is not None:
        result.problems.append((item, problem))
        return [], False
    return [path], False


def _stat_problem(item: str, path: Path, exc: OSError) -> SourceError:
    if exc.errno == errno.ENOENT:
        try:
            if stat_module.S_ISLNK(os.lstat(path).st_mode):
                return SourceNotFound(f"{item}: broken symbolic link (its target does not exist)")
        except OSError:
            pass
    return describe_os_error(item, exc)


def is_glob(item: str) -> bool:
    """Whether ``item`` is a pattern that expand_inputs matches against files."""
    return bool(_GLOB_CHARS & set(item)) and "\0" not in item


def expand_inputs(
    inputs: list[str], *, name: str | None = None, fmt: str = "auto", stdin_name: str = "stdin",
    hosts: Any = None, remote_options: Any = None,
) -> Expansion:
    """Expand paths, globs and directories (recursively) into sources, in a stable order. ssh:// URLs
    are expanded on their hosts (``hosts``: a remote.HostPool, which holds the connections)."""
    from logchat.ingest.ssh_location import is_ssh_url

    result = Expansion()
    seen: set[str] = set()
    remote_items = [item for item in inputs if is_ssh_url(item)]
    remote_results: dict[str, Any] = {}
    if remote_items:
        from logchat.ingest.remote import HostPool, RemoteRequest
        from logchat.ingest.ssh_location import RemoteOptions

        pool = hosts if hosts is not None else HostPool(max_hosts=4)
        options = remote_options or RemoteOptions()
        requests = [RemoteRequest(item, name, fmt, options) for item in remote_items]
        remote_results = dict(zip(remote_items, pool.expand(requests), strict=True))

    def add(path: Path, from_walk: bool) -> None:
        spec = _spec_for_file(path, name=name, fmt=fmt, from_walk=from_walk)
        if spec.location not in seen:
            seen.add(spec.location)
            result.specs.append(spec)

    for item in inputs:
        if item in remote_results:
            expanded_remote = remote_results[item]
            result.problems.extend(expanded_remote.problems)
            for spec in expanded_remote.specs:
                if spec.location not in seen:
                    seen.add(spec.location)
                    result.specs.append(spec)
            continue
        if item == "-":
            label = name or stdin_name
            if f"stdin:{label}" not in seen:
                seen.add(f"stdin:{label}")
                result.specs.append(SourceSpec(location=f"stdin:{label}", name=label, kind="stdin", format=fmt))
            continue
        expanded = os.path.expanduser(item)
        if _GLOB_CHARS & set(expanded) and "\0" not in expanded:
            for path in _expand_glob(item, expanded, result):
                add(path, True)
            continue
        files, from_walk = _expand_path(item, expanded, result)
        for path in files:
            add(path, from_walk)
    return result


@dataclass(frozen=True)
class FileIdentity:
    device: int
    inode: int
    size: int
    mtime: float


def identify(path: Path) -> FileIdentity:
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"{path}: no such file") from exc
    except PermissionError as exc:
        raise SourceUnreadable(f"{path}: permission denied") from exc
    if not stat_module.S_ISREG(info.st_mode):
        raise SourceUnreadable(f"{path}: not a regular file")
    return FileIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime)


class ReadableFile(Protocol):
    """Where a plain file's bytes come from, for reading it from a checkpoint and noticing rotation:
    a local path here; any other place a file can be read from at an offset plugs in the same way."""

    @property
    def location(self) -> str: ...

    @property
    def remote(self) -> bool:
        """Whether the bytes come over a connection that a forked reader process cannot share."""
        ...

    def identify(self) -> FileIdentity:
        """Device, inode, size and mtime as they are now; SourceNotFound when the file is gone."""
        ...

    def open_at(self, offset: int) -> BinaryIO:
        """A binary stream of the file's bytes from ``offset`` on."""
        ...


@dataclass(frozen=True)
class LocalFile:
    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def remote(self) -> bool:
        return False

    def identify(self) -> FileIdentity:
        return identify(self.path)

    def open_at(self, offset: int) -> BinaryIO:
        handle = open_binary(self.path)
        if offset:
            handle.seek(offset)
        return handle


def open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except PermissionError as exc:
        raise SourceUnreadable(f"{path}: permission denied") from exc
    except FileNotFoundError as exc:
        raise SourceNotFound(f"{path}: no such file") from exc
    except OSError as exc:
        raise SourceUnreadable(f"{path}: cannot open: {exc.strerror}") from exc


def head_checksum(path: Path, length: int) -> str:
    """Checksum of the first ``length`` bytes: tells a rewritten file from an appended one."""
    with open_binary(path) as handle:
        return hashlib.sha1(handle.read(length), usedforsecurity=False).hexdigest()


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FileAccess(Protocol):
    """How the ingester reaches a file: locally (LocalFiles) or on another host (remote.RemoteFiles)."""

    remote: bool

    def identify(self, path: Any) -> FileIdentity: ...

    def open(self, path: Any) -> BinaryIO: ...

    def head_checksum(self, path: Any, length: int) -> str: ...

    def siblings(self, path: Any) -> Iterator[tuple[Any, FileIdentity]]: ...


class LocalFiles:
    remote = False

    def identify(self, path: Path) -> FileIdentity:
        return identify(path)

    def open(self, path: Path) -> BinaryIO:
        return open_binary(path)

    def head_checksum(self, path: Path, length: int) -> str:
        return head_checksum(path, length)

    def siblings(self, path: Path) -> Iterator[tuple[Path, FileIdentity]]:
        """Regular, uncompressed files named PATH* beside it (logrotate's PATH.1, PATH-20261203)."""
        for sibling in sorted(path.parent.glob(path.name + "*")):
            if sibling.is_file():
                info = sibling.stat()
                yield sibling, FileIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime)


LOCAL_FILES = LocalFiles()


@dataclass(frozen=True)
class AccessedFile:
    """A ReadableFile reached through a FileAccess: how a file on another host is read like a local one."""

    files: FileAccess
    path: Any
    location: str

    @property
    def remote(self) -> bool:
        return self.files.remote

    def identify(self) -> FileIdentity:
        return self.files.identify(self.path)

    def open_at(self, offset: int) -> BinaryIO:
        handle = self.files.open(self.path)
        if offset:
            handle.seek(offset)
        return handle


def files_of(spec: SourceSpec) -> FileAccess:
    return spec.files if spec.files is not None else LOCAL_FILES


def open_gzip(path: Path) -> BinaryIO:
    return gzip.open(open_binary(path), "rb")  # type: ignore[return-value]


def read_sample(handle: BinaryIO) -> bytes:
    """The first bytes of a stream, for binary and format detection; the stream is rewound."""
    sample = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    return sample


def check_not_binary(location: str, sample: bytes) -> None:
    from logchat.ingest.detect import is_probably_binary

    if sample and is_probably_binary(sample):
        raise SourceIsBinary(f"{location}: binary data, not a text log")


def sample_lines(sample: bytes, limit: int = 50) -> list[str]:
    text = sample.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(sample) >= SAMPLE_BYTES and lines:
        lines.pop()  # probably cut in the middle
    return [line for line in lines if line.strip()][:limit]


class LineReader:
    """Lines from the handle's current position; numbers continue from the checkpoint.

    ``line_no`` and ``offset`` always describe the end of the last line handed out, which is
    where the next run resumes once everything read has been committed. A read error (a corrupt
    gzip member, an I/O error) ends the lines early and is kept in ``error``, so what was read
    before it is still processed and committed.

    Memory is bounded by ``max_line_bytes``: a line is read at most that far (plus room for its
    line ending), and the rest of an over-long line is skipped in fixed-size chunks, so an endless
    line (``yes x | tr -d '\\n'``) costs no more memory than a long one. A truncated line still counts
    as one line and its full length advances the offset.

    ``complete_lines_only`` (following a file that is being written): a last line without its line
    ending is not handed out, so a line caught half-written is read whole on the next pass.
    """

    def __init__(self, handle: BinaryIO, *, start_line: int, start_offset: int, max_line_bytes: int,
                 complete_lines_only: bool = False) -> None:
        self.handle = handle
        self.line_no = start_line
        self.offset = start_offset
        self.max_line_bytes = max_line_bytes
        self.complete_lines_only = complete_lines_only
        self.error: str | None = None

    def __iter__(self) -> Iterator[RawLine]:
        limit = self.max_line_bytes
        cap = limit + 2  # a line of exactly ``limit`` bytes still fits with its "\r\n"
        marker = TRUNCATION_MARKER
        line_no = self.line_no
        offset = self.offset
        hold_unfinished = self.complete_lines_only
        try:
            # iter(readline, b"") keeps the loop in C for ordinary lines, as fast as `for raw in handle`.
            for raw in iter(functools.partial(self.handle.readline, cap), b""):
                length = len(raw)
                if raw.endswith(b"\n"):
                    body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
                    body_length = len(body)
                elif length < cap:  # the last line, without a line ending
                    if hold_unfinished:
                        return
                    body, body_length = raw, length
                else:  # over-long: skip the rest without holding it
                    body = raw
                    length, body_length = self._skip_rest(raw)
                    if hold_unfinished and length == body_length:  # no line ending yet
                        return
                line_no += 1
                # ``cap`` leaves room for ``limit + 1`` bytes before a bare "\n", so every case checks.
                if body_length > limit:
                    text = body[:limit].decode("utf-8", errors="replace") + marker.format(body_length - limit)
                else:
                    text = body.decode("utf-8", errors="replace")
                line = RawLine(line_no, offset, text)
                offset += length
                self.line_no = line_no
                self.offset = offset
                yield line
        except (OSError, EOFError, zlib.error) as exc:
            self.error = f"read error after line {line_no}: {exc}"

    def _skip_rest(self, head: bytes) -> tuple[int, int]:
        """Read past the rest of an over-long line; return its full length and its length without the ending."""
        readline = self.handle.readline
        length = len(head)
        last = head[-1:]
        while True:
            chunk = readline(_SKIP_CHUNK)
            if not chunk:
                return length, length
            length += len(chunk)
            if chunk.endswith(b"\n"):
                crlf = chunk.endswith(b"\r\n") or (len(chunk) == 1 and last == b"\r")
                return length, length - (2 if crlf else 1)
            last = chunk[-1:]
