"""contrib/docker: the Dockerfile as hadolint sees it, the compose file against the compose specification.

Building and running the image needs a container registry (the base image) and a container runtime;
the CI workflow's `image` job does both (.github/workflows/ci.yml), test_workflows.py checks it is there."""

from __future__ import annotations

import re

import yaml

from tests.deploy.deploy_tools import CONTRIB, run, tool

DOCKERFILE = CONTRIB / "docker" / "Dockerfile"
COMPOSE = CONTRIB / "docker" / "compose.yaml"


def test_hadolint_finds_nothing_at_any_level() -> None:
    result = run(tool("hadolint"), "--failure-threshold", "info", "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_report_a_faulty_dockerfile(tmp_path) -> None:
    # The check above means something: the same binary fails an unpinned apt-get and a root user.
    faulty = tmp_path / "Dockerfile"
    faulty.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint"), "--no-color", str(faulty))
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_the_image_is_multi_stage_unprivileged_and_keeps_no_secrets() -> None:
    text = DOCKERFILE.read_text()
    instructions = [line.split()[0] for line in text.splitlines() if line and not line[0].isspace()
                    and not line.startswith("#")]
    assert instructions.count("FROM") == 2
    assert re.search(r"^COPY --from=build ", text, re.M)
    user = re.search(r"^USER (\S+)", text, re.M)
    assert user is not None and user.group(1).split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK .*/readyz", text, re.M | re.S)
    assert 'VOLUME ["/var/lib/logchat"]' in text
    assert "LOGCHAT_DATA_DIR=/var/lib/logchat" in text
    for line in text.splitlines():
        if line.lstrip().startswith(("ENV", "ARG", "LOGCHAT_")):
            assert not re.search(r"SECRET|PASSWORD|TOKEN", line), line


def test_compose_file_follows_the_compose_specification() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_logchat_with_postgresql_redis_and_ollama() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"logchat", "postgres", "redis", "ollama"} <= set(services)
    environment = services["logchat"]["environment"]
    assert environment["LOGCHAT_DATABASE__URL"].startswith("postgresql+psycopg://")
    assert environment["LOGCHAT_REDIS__URL"].startswith("redis://redis:")
    assert environment["LOGCHAT_LLM__BASE_URL"] == "http://ollama:11434"
    # Secrets are required from the environment (.env), never written into the file.
    assert environment["LOGCHAT_AUTH__JWT_SECRET"].startswith("${LOGCHAT_AUTH__JWT_SECRET:?")
    assert services["logchat"]["build"]["dockerfile"] == "contrib/docker/Dockerfile"
