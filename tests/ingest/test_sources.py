"""Sources: bounded line reading, exact offsets, and one right message for each path that cannot be read."""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from logchat.ingest.sources import TRUNCATION_MARKER, LineReader, expand_inputs

LINE = "Nov  3 10:00:01 web-03 sshd[100]: Failed password for root from 183.62.140.253 port 4000 ssh2"


def read_all(data: bytes, *, limit: int, start_line: int = 0, start_offset: int = 0) -> tuple[list, LineReader]:
    reader = LineReader(io.BytesIO(data), start_line=start_line, start_offset=start_offset, max_line_bytes=limit)
    return [(line.line_no, line.offset, line.text) for line in reader], reader


def expected_lines(data: bytes, limit: int) -> list[tuple[int, int, str]]:
    """The reference: split the whole input in memory (fine for small inputs) and truncate afterwards."""
    result, offset = [], 0
    for number, raw in enumerate(re.findall(rb"[^\n]*\n|[^\n]+$", data), start=1):
        body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
        text = body[:limit].decode("utf-8", errors="replace")
        if len(body) > limit:
            text += TRUNCATION_MARKER.format(len(body) - limit)
        result.append((number, offset, text))
        offset += len(raw)
    return result


@pytest.mark.parametrize("length", [0, 1, 255, 256, 257, 258, 259, 300, 70_000, 300_000])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r\r\n", b""])
def test_line_numbers_offsets_and_truncation_are_exact_around_the_limit(length: int, ending: bytes) -> None:
    # "é" is two bytes: the cut may fall inside a character, which decodes as a replacement mark.
    body = ("é" * length).encode()[:length]
    data = b"head\n" + body + ending + (b"tail\n" if ending else b"")  # no ending: the long line is the last
    got, reader = read_all(data, limit=256)
    assert got == expected_lines(data, 256)
    assert reader.offset == len(data)
    assert reader.line_no == len(got)


def test_random_inputs_read_exactly_like_splitting_the_whole_input() -> None:
    # Seeded, so a failure is reproducible: line lengths cluster around the limit, the skip-chunk size
    # and the read cap, with CR, LF and split UTF-8 characters at every position.
    rng = random.Random(20261203)
    alphabet = [b"a", b"\r", b"\xc3", b"\xa9", b"\n"]
    for _ in range(1500):
        limit = rng.choice([1, 2, 7, 256, 1000])
        lines = []
        for _ in range(rng.randint(0, 6)):
            length = rng.choice([0, 1, limit - 1, limit, limit + 1, limit + 2, limit + 3, rng.randint(0, 3 * limit),
                                 (1 << 16) - 1, (1 << 16) + 1])
            body = b"".join(rng.choice(alphabet[:4]) for _ in range(min(length, 300))) + b"b" * max(0, length - 300)
            lines.append(body + rng.choice([b"\n", b"\r\n", b""]))
        data = b"".join(lines)
        got, reader = read_all(data, limit=limit, start_line=3, start_offset=40)
        assert got == [(n + 3, o + 40, t) for n, o, t in expected_lines(data, limit)]
        assert reader.offset == 40 + len(data)


def test_resume_offsets_point_at_the_line_after_a_truncated_one() -> None:
    data = b"a\n" + b"x" * 10_000 + b"\r\n" + b"b\n"
    got, reader = read_all(data, limit=256, start_line=7, start_offset=100)
    assert [(n, o) for n, o, _ in got] == [(8, 100), (9, 102), (10, 100 + 2 + 10_002)]
    assert got[1][2] == "x" * 256 + TRUNCATION_MARKER.format(10_000 - 256)
    assert reader.offset == 100 + len(data)
    # Reading on from the checkpoint of line 9 yields exactly the next line.
    handle = io.BytesIO(data)
    handle.seek(got[2][1] - 100)
    again = list(LineReader(handle, start_line=9, start_offset=got[2][1], max_line_bytes=256))
    assert [(line.line_no, line.offset, line.text) for line in again] == [got[2]]


def test_gzip_stream_cuts_long_lines_the_same_way(tmp_path: Path) -> None:
    data = b"a\n" + b"z" * 200_000 + b"\n" + b"b"
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(data))
    with gzip.open(path, "rb") as handle:
        reader = LineReader(handle, start_line=0, start_offset=0, max_line_bytes=1024)  # type: ignore[arg-type]
        got = [(line.line_no, line.offset, line.text) for line in reader]
    assert got == expected_lines(data, 1024)
    assert reader.offset == len(data)


# The probe runs the CLI as its only child, so RUSAGE_CHILDREN measures that process and no other.
_MEMORY_PROBE = textwrap.dedent(
    """
    import resource, subprocess, sys, threading
    megabytes, data_dir, line = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    proc = subprocess.Popen(
        [sys.executable, "-m", "logchat", "--data-dir", data_dir, "index", "-", "--name", "endless", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    def feed():
        block = b"x" * (1 << 20)
        for _ in range(megabytes):
            proc.stdin.write(block)
        proc.stdin.write(b"\\n" + line.encode() + b"\\n")
        proc.stdin.close()
    feeder = threading.Thread(target=feed)
    feeder.start()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait()
    feeder.join()
    sys.stderr.write(err.decode())
    print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
    """
)


def test_endless_line_on_stdin_is_cut_while_reading_with_bounded_memory(tmp_path: Path) -> None:
    megabytes = 400
    data_dir = tmp_path / "data"
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(megabytes), str(data_dir), LINE],
        capture_output=True, text=True, timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    exit_code, peak_mb = (int(part) for part in probe.stdout.split())
    assert exit_code == 0, probe.stderr
    # Reading the line whole took more than its own 400 MB; cut while reading, the CLI stays near its
    # usual size (about 100 MB with its libraries).
    assert peak_mb < 250, f"peak {peak_mb} MB"
    with sqlite3.connect(data_dir / "logchat.db") as db:
        rows = db.execute("SELECT raw FROM events ORDER BY id").fetchall()
    limit = 65_536
    assert rows[0][0] == "x" * limit + TRUNCATION_MARKER.format(megabytes * (1 << 20) - limit)
    assert rows[1][0] == LINE  # the line after it is intact
    with sqlite3.connect(data_dir / "logchat.db") as db:
        offset, lines = db.execute("SELECT \"offset\", line_count FROM sources").fetchone()
    assert (offset, lines) == (megabytes * (1 << 20) + 1 + len(LINE) + 1, 2)


# -- paths that cannot be read ----------------------------------------------------------------------

def without_file_permission_override() -> list[str]:
    """Run a command so that file modes apply to it: root normally reads every file regardless.

    Dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH keeps the same user (so the interpreter stays
    readable) while a file with mode 000 becomes unreadable, as it is for everyone else.
    """
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def run_index(*paths: str, data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*without_file_permission_override(), sys.executable, "-m", "logchat", "--data-dir", str(data_dir),
               "index", *paths]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)


def error_lines(stderr: str) -> dict[str, str]:
    lines = [line.removeprefix("logchat: error: ") for line in stderr.splitlines() if line.startswith("logchat: error")]
    return {line.split(": ")[0]: line.split(": ", 1)[1] for line in lines}


def test_each_unusable_path_gets_its_own_reason(tmp_path: Path) -> None:
    (tmp_path / "walk" / "ok").mkdir(parents=True)
    (tmp_path / "walk" / "sub").mkdir()
    (tmp_path / "locked").mkdir()
    for path in ("walk/ok/a.log", "walk/sub/b.log", "walk/c.log", "locked/x.log", "plain.log"):
        (tmp_path / path).write_text(LINE + "\n")
    for path in ("walk/sub", "locked", "walk/c.log"):
        (tmp_path / path).chmod(0)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "broken").symlink_to("nothing-here")
    os.mkfifo(tmp_path / "fifo")
    long_name = "n" * 300
    result = run_index("locked", "walk", "loop1", "broken", "fifo", "/dev/null", long_name, "missing", "plain.log",
                       data_dir=tmp_path / "data", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr) == {
        "locked": "permission denied",
        str(Path("walk") / "sub"): "permission denied",
        str(tmp_path / "walk" / "c.log"): "permission denied",
        "loop1": "symbolic link loop (too many levels of symbolic links)",
        "broken": "broken symbolic link (its target does not exist)",
        "fifo": "a named pipe, not a regular file (read it as stdin: - < fifo)",
        "/dev/null": "a character device, not a regular file",
        long_name: "file name too long",
        "missing": "no such file or directory",
    }
    # Good input in the same run is still indexed.
    assert "2 new events" in result.stdout


def test_a_path_with_a_nul_byte_is_one_problem_not_a_crash() -> None:
    expansion = expand_inputs(["bad\0name.log"])
    assert expansion.specs == []
    messages = [str(problem) for _, problem in expansion.problems]
    assert messages == ["'bad\\x00name.log': a path cannot contain a NUL byte"]


def test_an_empty_directory_still_says_it_holds_no_log_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    expansion = expand_inputs([str(tmp_path / "empty")])
    messages = [str(problem) for _, problem in expansion.problems]
    assert messages == [f"{tmp_path / 'empty'}: directory holds no log files"]


@pytest.mark.parametrize("unfinished", [b"half a li", b"x" * 5000])  # short, and longer than the limit
def test_complete_lines_only_leaves_an_unfinished_last_line_for_later(unfinished: bytes) -> None:
    whole = b"first\r\nsecond\n"
    reader = LineReader(io.BytesIO(whole + unfinished), start_line=0, start_offset=0, max_line_bytes=1024,
                        complete_lines_only=True)
    assert [(line.line_no, line.offset, line.text) for line in reader] == [(1, 0, "first"), (2, 7, "second")]
    assert (reader.line_no, reader.offset) == (2, len(whole))  # where the next pass starts
    finished = whole + unfinished + b"ne\n"
    again = LineReader(io.BytesIO(finished[reader.offset:]), start_line=reader.line_no, start_offset=reader.offset,
                       max_line_bytes=1024, complete_lines_only=True)
    lines = list(again)
    assert [(line.line_no, line.offset) for line in lines] == [(3, len(whole))]
    assert again.offset == len(finished)


def test_watch_roots_cover_files_globs_and_directories(tmp_path: Path) -> None:
    from logchat.services.follow import watch_roots

    (tmp_path / "logs" / "nested").mkdir(parents=True)
    (tmp_path / "one.log").write_text("x\n")
    roots, recursive = watch_roots([str(tmp_path / "one.log"), str(tmp_path / "logs" / "*.log")])
    assert roots == [tmp_path.resolve(), (tmp_path / "logs").resolve()] and not recursive
    roots, recursive = watch_roots([str(tmp_path / "logs" / "**" / "*.log"), str(tmp_path / "logs" / "nested")])
    assert roots == [(tmp_path / "logs").resolve()] and recursive  # nested is inside the watched logs/
    roots, _ = watch_roots([str(tmp_path / "not-yet" / "deeper" / "app.log")])
    assert roots == [tmp_path.resolve()]  # the nearest directory that exists
