"""Rotated logs compressed with xz, bzip2 or zstd are read like .gz; a walk names what it passes over."""

from __future__ import annotations

import bz2
import lzma
from pathlib import Path

import pytest
import zstandard

from logchat.cli.index import passed_over_summary
from logchat.services.ingest import index_inputs

APT_TERM = [
    "2026-12-03 13:16:02 startup archives unpack",
    "2026-12-03 13:16:03 install redis-tools:amd64 <none> 5:7.0.15-1~deb12u1",
    "2026-12-03 13:16:06 status installed redis-tools:amd64 5:7.0.15-1~deb12u1",
]
COMPRESSORS = {
    "xz": (".xz", lzma.compress),
    "bz2": (".bz2", bz2.compress),
    "zstd": (".zst", lambda data: zstandard.ZstdCompressor().compress(data)),
}


def text() -> bytes:
    return "".join(line + "\n" for line in APT_TERM).encode()


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_file_is_read_once_and_keyed_by_content(store, settings, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    suffix, compress = COMPRESSORS[kind]
    archive = tmp_path / f"dpkg.log.2{suffix}"
    archive.write_bytes(compress(text()))
    report = index_inputs(store, settings, [str(archive)])
    assert not report.failed
    assert report.new_events == 3
    assert report.sources[0].kind == kind
    assert report.sources[0].format == "iso8601"
    again = index_inputs(store, settings, [str(archive)])
    assert again.new_events == 0 and again.sources[0].status == "unchanged"


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_truncated_compressed_file_stores_nothing(store, settings, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    suffix, compress = COMPRESSORS[kind]
    archive = tmp_path / f"eipp.log{suffix}"
    whole = compress(text() * 200)
    archive.write_bytes(whole[: len(whole) // 2])
    report = index_inputs(store, settings, [str(archive)])
    assert report.failed and report.new_events == 0
    message = report.sources[0].errors[0]
    assert str(archive) in message and "nothing stored" in message


def test_directory_walk_reads_xz_and_reports_every_file_it_passes_over(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    logs = tmp_path / "var-log"
    (logs / "apt").mkdir(parents=True)
    (logs / "apt" / "eipp.log.xz").write_bytes(lzma.compress(text()))
    (logs / "dpkg.log").write_bytes(text())
    (logs / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (logs / ".lock").write_text("1234\n")
    (logs / ".cache").mkdir()
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed
    assert report.new_events == 6
    assert sorted(Path(s.location).name for s in report.sources) == ["dpkg.log", "eipp.log.xz"]
    passed = {Path(item["path"]).name: item["reason"] for item in report.to_dict()["passed_over"]}  # type: ignore[union-attr]
    assert passed == {".cache": "hidden directory", ".lock": "hidden file", "screenshot.png": "not a log (.png file)"}
    summary = passed_over_summary(report.passed_over)
    assert summary.startswith("passed over 3 files: ")
    assert "1 hidden file" in summary and "1 not a log (.png file)" in summary
