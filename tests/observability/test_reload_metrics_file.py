"""`logchat reload --metrics-file F`: the ingestion metrics in node_exporter's textfile format, replaced
atomically, counters going on from one cron run to the next, labels from the configured names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LINES = ["2026-11-01T09:00:00Z INFO start", "2026-11-02T05:00:00Z ERROR disk full", "2026-11-03T00:00:00Z INFO later"]


def logchat(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def configure(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "a.log"
    log.write_text("".join(line + "\n" for line in LINES), encoding="utf-8")
    (tmp_path / "logchat.toml").write_text(
        '[[sources]]\npath = "logs/*.log"\nname = "app"\n[[sources]]\npath = "missing/b.log"\nname = "gone"\n',
        encoding="utf-8",
    )
    return log


def test_two_cron_runs_add_up_and_name_sources_by_their_configured_names(tmp_path: Path) -> None:
    log = configure(tmp_path)
    textfile = tmp_path / "textfile" / "logchat.prom"
    textfile.parent.mkdir()
    first = logchat(tmp_path, "--quiet", "reload", "--metrics-file", str(textfile))
    assert first.returncode == 1, first.stderr  # the missing source; the other one was read
    after_first = samples(textfile)
    assert after_first[("logchat_ingest_lines_total", (("source", "app"),))] == 3
    assert after_first[("logchat_ingest_events_total", (("source", "app"),))] == 3
    assert after_first[("logchat_ingest_bytes_total", (("source", "app"),))] == log.stat().st_size
    assert after_first[("logchat_ingest_errors_total", (("source", "gone"),))] == 1
    assert after_first[("logchat_ingest_runs_total", (("outcome", "failed"),))] == 1
    newest = after_first[("logchat_ingest_newest_event_timestamp_seconds", (("source", "app"),))]
    assert newest == 1793664000.0  # 2026-11-03T00:00:00Z
    assert after_first[("logchat_ingest_last_success_timestamp_seconds", ())] == 0

    (tmp_path / "logchat.toml").write_text('[[sources]]\npath = "logs/*.log"\nname = "app"\n', encoding="utf-8")
    with log.open("a", encoding="utf-8") as handle:
        handle.write("2026-11-04T00:00:00Z WARN two more\n2026-11-04T00:00:01Z INFO lines\n")
    second = logchat(tmp_path, "--quiet", "reload", "--metrics-file", str(textfile))
    assert second.returncode == 0, second.stderr
    after_second = samples(textfile)
    assert after_second[("logchat_ingest_lines_total", (("source", "app"),))] == 5
    assert after_second[("logchat_ingest_events_total", (("source", "app"),))] == 5
    assert after_second[("logchat_ingest_errors_total", (("source", "gone"),))] == 1  # kept from the first run
    assert after_second[("logchat_ingest_runs_total", (("outcome", "succeeded"),))] == 1
    assert after_second[("logchat_ingest_last_success_timestamp_seconds", ())] > 0
    every_label = {value for (_, labels) in after_second for _, value in labels}
    assert str(log) not in every_label
    # Written beside it under another name, then renamed: nothing else is left in the directory.
    assert [path.name for path in textfile.parent.iterdir()] == ["logchat.prom"]


def test_a_metrics_file_in_a_missing_directory_is_refused_before_reading(tmp_path: Path) -> None:
    configure(tmp_path)
    result = logchat(tmp_path, "reload", "--metrics-file", str(tmp_path / "nowhere" / "logchat.prom"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[0].startswith("logchat: error: --metrics-file")
    assert "does not exist" in result.stderr


def test_help_does_not_import_prometheus_client(tmp_path: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['logchat'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('logchat', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED=' + str('prometheus_client' in sys.modules), file=sys.stderr)\n"
    )
    for args in (["--help"], ["reload", "--help"], ["--data-dir", str(tmp_path / "d"), "stat"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
        assert "LOADED=False" in result.stderr, (args, result.stderr)
