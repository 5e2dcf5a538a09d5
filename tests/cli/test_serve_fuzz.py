"""schemathesis (the OpenAPI fuzzer its users run) against a running `logchat serve`: from the
document alone it makes valid and invalid requests to every operation; none may answer 5xx or break
its documented schema or content type."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from test_serve_cli import PASSWORD, logchat, start, stop

LINES = [
    "2026-01-05T10:00:00+00:00 web-01 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-01-05T10:00:01+00:00 web-02 sshd[11]: Accepted password for deploy from 10.0.0.5 port 22 ssh2",
    "2026-01-05T10:00:02+00:00 web-02 nginx[12]: error: upstream timed out while reading response header",
]


def sign_in(base: str) -> str:
    request = urllib.request.Request(
        base + "/api/v1/auth/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"username": "ops-admin", "password": PASSWORD}).encode(),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


def test_no_request_schemathesis_makes_gets_a_server_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "logchat.toml"
    # No model (answers are extractive) and no rate limits: the fuzzer sends many requests quickly.
    config.write_text('[llm]\nprovider = "none"\n\n[serve]\nlogin_rate_per_minute = 0\n'
                      'ask_rate_per_minute = 0\nreload_rate_per_minute = 0\n')
    log = tmp_path / "app.log"
    log.write_text("\n".join(LINES) + "\n")
    assert logchat(data, "users", "add", "ops-admin", "--role", "admin", "--password-stdin",
                   stdin=PASSWORD + "\n").returncode == 0
    assert logchat(data, "index", str(log)).returncode == 0
    process, base = start(data, config=config)
    try:
        token = sign_in(base)
        fuzz = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run", base + "/api/v1/openapi.json",
             "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
             "--header", f"Authorization: Bearer {token}",
             # Signing out would end the fuzzer's own session; it is covered by the route tests.
             "--exclude-path", "/api/v1/auth/logout",
             "--max-examples", "12", "--workers", "1", "--seed", "1", "--request-timeout", "60"],
            capture_output=True, text=True, timeout=300,
        )
    finally:
        code, rest = stop(process)
    assert fuzz.returncode == 0, fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
    assert code == 0, rest
    assert "Traceback" not in rest, rest
