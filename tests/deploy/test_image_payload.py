"""What the container image runs, replayed without a container runtime: the wheel built from the
image's build context (.dockerignore) installed on its own, with the image's LOGCHAT_* environment,
answers `--help`, takes its first admin, serves, passes the image's HEALTHCHECK command, and stops
with exit code 0 on SIGTERM. The image itself is built and probed by the CI workflow's `image` job."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.deploy.deploy_tools import CONTRIB, ROOT

DOCKERFILE = (CONTRIB / "docker" / "Dockerfile").read_text()
ADDRESS = re.compile(r"serving on http://127\.0\.0\.1:(\d+)/")


def _build_context(into: Path) -> Path:
    """The files .dockerignore lets through ("*" first, then "!name" exceptions)."""
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    into.mkdir()
    for rule in rules[1:]:
        if rule.startswith("!"):
            source = ROOT / rule[1:].rstrip("/")
            target = into / source.name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
    return into


def _image_environment(site: Path, data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("LOGCHAT_", "COVERAGE_", "PYTHON"))}
    env.update(re.findall(r"\b(LOGCHAT_\w+)=(\S+)", DOCKERFILE))
    # The image listens on every interface of its own network namespace; here, loopback only.
    env.update(LOGCHAT_SERVE__HOST="127.0.0.1", LOGCHAT_DATA_DIR=str(data_dir), PYTHONPATH=str(site),
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _healthcheck(port: int) -> list[str]:
    command = json.loads(re.search(r"^\s*CMD (\[.*\])\s*$", DOCKERFILE.split("HEALTHCHECK", 1)[1], re.M).group(1))
    return [sys.executable if part == "python" else part.replace(":8080/", f":{port}/") for part in command]


def test_the_images_wheel_runs_serves_and_is_healthy(tmp_path) -> None:
    context = _build_context(tmp_path / "context")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
                    str(context)], check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("logchat-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    data_dir = tmp_path / "data"
    env = _image_environment(site, data_dir)
    assert env["LOGCHAT_LOGGING__FORMAT"] == "json"

    def logchat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "logchat", *args], input=stdin, capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)

    where = subprocess.run([sys.executable, "-c", "import logchat; print(logchat.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, check=True)
    assert where.stdout.strip().startswith(str(site)), where.stdout  # the wheel, not the source tree
    assert logchat("--help").returncode == 0
    added = logchat("users", "add", "admin", "--role", "admin", "--password-stdin", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr

    server = subprocess.Popen([sys.executable, "-m", "logchat", "serve", "--port", "0"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        port = None
        for line in server.stderr:  # ends if the process exits, so a failed start cannot hang here
            found = ADDRESS.search(line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "serve did not start"
        health = subprocess.run(_healthcheck(port), capture_output=True, text=True, timeout=30)
        assert health.returncode == 0, health.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
