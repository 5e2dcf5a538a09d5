"""`logchat serve` as an operator runs it: refuses without an admin, one line with the address,
answers, and stops gracefully on SIGTERM with exit code 0."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

PASSWORD = "correct horse battery staple"
ADDRESS = re.compile(r"serving on (https?://[^/\s]+)/")


def logchat(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logchat", "--data-dir", str(data_dir), *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def start(data_dir: Path, *args: str, config: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start the daemon on a free port; returns it and its base URL, read from its one start-up line."""
    options = ["--config", str(config)] if config else []
    process = subprocess.Popen(
        [sys.executable, "-m", "logchat", *options, "--data-dir", str(data_dir), "serve", "--port", "0", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # ends when the process exits: a start-up failure cannot hang the test
        seen.append(line)
        found = ADDRESS.search(line)
        if found:
            # Keep reading what it logs (one access line per request): a full pipe would stall it.
            reader = threading.Thread(target=lambda: seen.extend(process.stderr or ()), daemon=True)
            reader.start()
            LOGS[process.pid] = (seen, reader)
            return process, found.group(1)
    process.wait(timeout=30)
    raise AssertionError(f"the daemon did not start (exit {process.returncode}): {''.join(seen)}")


# What each running daemon has logged so far, and the thread reading it.
LOGS: dict[int, tuple[list[str], threading.Thread]] = {}


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[int, str]:
    """Signal the daemon, wait for it to exit; its exit code and what it logged after starting."""
    process.send_signal(signum)
    process.wait(timeout=60)
    seen, reader = LOGS.pop(process.pid)
    reader.join(timeout=30)
    return process.returncode, "".join(seen)


def get_json(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_serve_refuses_to_start_without_an_enabled_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = logchat(data, "serve", "--port", "0")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("logchat: error: no enabled admin account"), result.stderr
    assert "Traceback" not in result.stderr
    assert "--allow-no-users" in result.stderr


def test_serve_answers_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = logchat(data, "users", "add", "ops-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    process, base = start(data)
    try:
        assert base.startswith("http://127.0.0.1:")
        assert get_json(base + "/healthz") == (200, {"status": "ok"})
        status, ready = get_json(base + "/readyz")
        assert status == 200 and ready["status"] == "ready"
    finally:
        code, rest = stop(process)
    assert code == 0, rest
    assert "stopped" in rest and "Traceback" not in rest


def test_an_empty_store_with_allow_no_users_is_an_open_demo(tmp_path: Path) -> None:
    process, base = start(tmp_path / "data", "--allow-no-users")
    try:
        assert get_json(base + "/healthz")[0] == 200
    finally:
        code, rest = stop(process)
    assert code == 0, rest


def test_ctrl_c_stops_it_the_same_way(tmp_path: Path) -> None:
    process, _ = start(tmp_path / "data", "--allow-no-users")
    code, rest = stop(process, signal.SIGINT)
    assert code == 0, rest
    assert "stopped" in rest


def test_https_with_a_configured_certificate_and_hsts(tmp_path: Path) -> None:
    import ssl

    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, timeout=60,
    )
    assert made.returncode == 0, made.stderr
    config = tmp_path / "logchat.toml"
    config.write_text(f'[serve]\ntls_certificate = "{cert}"\ntls_key = "{key}"\n')
    process, base = start(tmp_path / "data", "--allow-no-users", config=config)
    try:
        assert base.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(base + "/healthz", timeout=30, context=trusting) as response:
            assert response.status == 200
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        code, rest = stop(process)
    assert code == 0, rest


def test_a_certificate_without_its_key_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "logchat.toml"
    config.write_text(f'[serve]\ntls_certificate = "{tmp_path / "tls.crt"}"\n')
    result = subprocess.run([sys.executable, "-m", "logchat", "--config", str(config), "--data-dir",
                             str(tmp_path / "data"), "serve", "--allow-no-users"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "tls_certificate and tls_key go together" in result.stderr and "Traceback" not in result.stderr
