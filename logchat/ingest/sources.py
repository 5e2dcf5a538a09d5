"""Where lines come from: local files, globs, directories, gzip files and stdin.

A source yields RawLine records (1-based line number, byte offset, text). Decoding never drops a
line: invalid UTF-8 is replaced, over-long lines are truncated with a marker.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import stat as stat_module
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from logchat.errors import SourceError, SourceIsBinary, SourceNotFound, SourceUnreadable
from logchat.ingest.events import RawLine

HEAD_BYTES = 4096
SAMPLE_BYTES = 8192
TRUNCATION_MARKER = " …[truncated {} bytes]"
_GLOB_CHARS = frozenset("*?[")
# Files a directory walk passes over: compiled code, archives we cannot read, images, databases.
_NOT_LOGS = frozenset(
    {
        ".zip",
        ".tar",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
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


@dataclass
class SourceSpec:
    """One concrete thing to read, after globs and directories are expanded."""

    location: str  # absolute path, or "stdin:<name>"
    name: str
    kind: str  # file | gzip | stdin
    path: Path | None = None
    format: str = "auto"
    from_walk: bool = False  # found by a directory walk or glob, not named explicitly


@dataclass
class Expansion:
    specs: list[SourceSpec] = field(default_factory=list)
    problems: list[tuple[str, SourceError]] = field(default_factory=list)


def is_gzip_path(path: Path) -> bool:
    return path.suffix == ".gz"


def _spec_for_file(path: Path, *, name: str | None, fmt: str, from_walk: bool) -> SourceSpec:
    absolute = path.resolve()
    return SourceSpec(
        location=str(absolute),
        name=name or absolute.name,
        kind="gzip" if is_gzip_path(absolute) else "file",
        path=absolute,
        format=fmt,
        from_walk=from_walk,
    )


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for filename in sorted(files):
            if filename.startswith(".") or Path(filename).suffix.lower() in _NOT_LOGS:
                continue
            candidate = Path(root) / filename
            if candidate.is_file():
                yield candidate


def expand_inputs(
    inputs: list[str], *, name: str | None = None, fmt: str = "auto", stdin_name: str = "stdin"
) -> Expansion:
    """Expand paths, globs and directories (recursively) into sources, in a stable order."""
    result = Expansion()
    seen: set[str] = set()

    def add(spec: SourceSpec) -> None:
        if spec.location not in seen:
            seen.add(spec.location)
            result.specs.append(spec)

    for item in inputs:
        if item == "-":
            label = name or stdin_name
            add(SourceSpec(location=f"stdin:{label}", name=label, kind="stdin", format=fmt))
            continue
        expanded = os.path.expanduser(item)
        if _GLOB_CHARS & set(expanded):
            matches = sorted(glob.glob(expanded, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            for directory in (Path(m) for m in matches if Path(m).is_dir()):
                files.extend(_walk(directory))
            if not files:
                result.problems.append((item, SourceNotFound(f"{item}: no file matches this pattern")))
            for path in files:
                add(_spec_for_file(path, name=name, fmt=fmt, from_walk=True))
            continue
        path = Path(expanded)
        if path.is_dir():
            files = list(_walk(path))
            if not files:
                result.problems.append((item, SourceNotFound(f"{item}: directory holds no log files")))
            for file_path in files:
                add(_spec_for_file(file_path, name=name, fmt=fmt, from_walk=True))
        elif path.exists():
            add(_spec_for_file(path, name=name, fmt=fmt, from_walk=False))
        elif path.is_symlink():
            result.problems.append((item, SourceNotFound(f"{item}: broken symbolic link")))
        else:
            result.problems.append((item, SourceNotFound(f"{item}: no such file or directory")))
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
        return hashlib.sha1(handle.read(length)).hexdigest()


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    """

    def __init__(self, handle: BinaryIO, *, start_line: int, start_offset: int, max_line_bytes: int) -> None:
        self.handle = handle
        self.line_no = start_line
        self.offset = start_offset
        self.max_line_bytes = max_line_bytes
        self.error: str | None = None

    def __iter__(self) -> Iterator[RawLine]:
        limit = self.max_line_bytes
        marker = TRUNCATION_MARKER
        line_no = self.line_no
        offset = self.offset
        try:
            for raw in self.handle:
                line_no += 1
                if raw.endswith(b"\n"):
                    body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
                else:
                    body = raw
                if len(body) > limit:
                    text = body[:limit].decode("utf-8", errors="replace") + marker.format(len(body) - limit)
                else:
                    text = body.decode("utf-8", errors="replace")
                line = RawLine(line_no, offset, text)
                offset += len(raw)
                self.line_no = line_no
                self.offset = offset
                yield line
        except (OSError, EOFError, zlib.error) as exc:
            self.error = f"read error after line {line_no}: {exc}"
