"""A real Prometheus server (Debian `prometheus`) scrapes a real `logchat serve` every second, with the
rules of contrib/prometheus loaded: its HTTP API shows the scraped metrics and the recorded series."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_tools import CONTRIB

PASSWORD = "correct horse battery staple"
ADDRESS = re.compile(r"serving on (http://[^/\s]+)/")
# Hang guards, never timing assertions: a condition not met after this long has failed.
HANG = 90.0
# The days before the last hour are the anomaly scores' baseline: the failed passwords and the error are new.
BASELINE = "".join(f"2026-01-0{day}T08:00:00+00:00 web-01 sshd[3]: Accepted publickey for deploy\n"
                   for day in (2, 3, 4))
LOG = BASELINE + "\n".join(
    f"2026-01-05T10:00:{second:02d}+00:00 web-01 sshd[{second}]: Failed password for root from 10.0.0.{second} port 22"
    for second in range(20)
) + "\n2026-01-05T10:01:00+00:00 web-01 app[7]: ERROR payment service unreachable\n"
EVENTS = len(LOG.splitlines())


def logchat(data_dir: Path, *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args], input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[str]:
    """`logchat serve` on a free port, over a store holding a small log; yields its base URL."""
    data = tmp_path / "data"
    logchat(data, "users", "add", "ops-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    (tmp_path / "auth.log").write_text(LOG, encoding="utf-8")
    logchat(data, "index", str(tmp_path / "auth.log"))
    process = subprocess.Popen([sys.executable, "-m", "logchat", "--data-dir", str(data), "serve", "--port", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen: list[str] = []
    base = None
    for line in process.stderr:
        seen.append(line)
        found = ADDRESS.search(line)
        if found:
            base = found.group(1)
            break
    assert base is not None, f"the daemon did not start: {''.join(seen)}"
    # Keep its log drained: a full pipe would stall it.
    threading.Thread(target=lambda: seen.extend(process.stderr or ()), daemon=True).start()
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture
def prometheus(prometheus_server: str, daemon: str, tmp_path: Path) -> Iterator[str]:
    """Prometheus on a free loopback port and its own storage, scraping the daemon every second."""
    config = tmp_path / "prometheus.yml"
    rules = [str(CONTRIB / "prometheus" / name) for name in ("recording-rules.yml", "alert-rules.yml")]
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rules,
        "scrape_configs": [{"job_name": "logchat", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [daemon.removeprefix("http://")]}]}],
    }), encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [prometheus_server, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    try:
        answer = get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    except OSError:
        return []  # not listening yet
    assert answer["status"] == "success", answer
    return answer["data"]["result"]  # type: ignore[no-any-return]


def eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not seen within {HANG:g} s: {what}")


def test_prometheus_scrapes_the_daemon_and_evaluates_the_recording_rules(daemon: str, prometheus: str) -> None:
    up = eventually(lambda: [r for r in query(prometheus, 'up{job="logchat"}') if r["value"][1] == "1"],
                    "the daemon up in Prometheus")
    assert len(up) == 1
    for _ in range(5):
        with urllib.request.urlopen(f"{daemon}/healthz", timeout=10) as response:
            assert response.status == 200

    healthz = eventually(lambda: [r for r in query(prometheus, 'logchat_http_requests_total{route="/healthz"}')
                                  if float(r["value"][1]) >= 5], "the /healthz requests scraped")
    assert healthz[0]["metric"]["method"] == "GET" and healthz[0]["metric"]["status"] == "200"
    events = eventually(lambda: query(prometheus, "logchat_store_events"), "the store's size")
    assert float(events[0]["value"][1]) == EVENTS
    by_level = eventually(lambda: query(prometheus, "sum(logchat_log_events_total)"), "the events by level")
    assert float(by_level[0]["value"][1]) == EVENTS
    assert query(prometheus, "process_resident_memory_bytes")  # the process's own metrics

    # Recorded series, evaluated by Prometheus from what it scraped.
    lag = eventually(lambda: query(prometheus, "logchat:ingest_lag_seconds:max"), "the recorded lag")
    assert lag[0]["metric"] == {"__name__": "logchat:ingest_lag_seconds:max", "job": "logchat", "source": "other"}
    assert float(lag[0]["value"][1]) > 0
    assert eventually(lambda: query(prometheus, "logchat:http_requests:rate5m"), "the recorded request rate")
    assert eventually(lambda: query(prometheus, "logchat:log_error_templates:max"), "the recorded error templates")

    # The anomaly scores, scraped and recorded: the error pattern is new in the last hour of the logs.
    new_error = eventually(lambda: query(prometheus, 'logchat:log_anomaly_score:max{kind="new", level="ERROR"}'),
                           "the recorded anomaly score of the new error pattern")
    assert "payment service unreachable" in new_error[0]["metric"]["pattern"]
    # One event against none is news, but no rate change one can be sure of: score 0.
    assert float(new_error[0]["value"][1]) == 0
    new_patterns = eventually(lambda: query(prometheus, "logchat_log_new_patterns"), "the number of new patterns")
    assert float(new_patterns[0]["value"][1]) == 2

    def rules_evaluated() -> list[dict[str, Any]]:
        groups = get(f"{prometheus}/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) else []

    rules = eventually(rules_evaluated, "every rule evaluated")
    assert [rule["name"] for rule in rules if rule["health"] != "ok"] == []
    assert {rule["name"] for rule in rules if rule["type"] == "alerting"} >= {"LogchatDown", "LogchatLoginBruteForce"}
    # The new error pattern's alert fires (it has no `for`): the rule read the scraped score.
    alerts = eventually(lambda: [a for a in get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
                                 if a["labels"]["alertname"] == "LogchatNewErrorPattern"],
                        "the new error pattern alert")
    assert "payment service unreachable" in alerts[0]["annotations"]["summary"]
