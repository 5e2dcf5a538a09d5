""".github/workflows: valid for GitHub Actions, running what .ci/run runs, and releasing the wheel and image."""

from __future__ import annotations

import yaml

from tests.deploy.deploy_tools import ROOT, run, tool

WORKFLOWS = ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_the_workflows_follow_the_github_workflow_schema() -> None:
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_job_without_steps(tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken))
    assert result.returncode != 0


def test_ci_runs_the_ci_script_against_postgresql_and_redis() -> None:
    job = _load("ci.yml")["jobs"]["test"]
    assert {"postgres", "redis"} <= set(job["services"])
    assert job["env"]["CI"] == "true"
    assert job["env"]["LOGCHAT_TEST_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert job["env"]["LOGCHAT_TEST_REDIS_URL"].startswith("redis://")
    commands = "\n".join(step.get("run", "") for step in job["steps"])
    assert "bash .ci/run" in commands
    assert "pip-audit" in commands


def test_the_ci_script_runs_the_quality_gates() -> None:
    # .ci/run runs `make test`, whose recipe holds the gates: ruff, bandit, the coverage floor.
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest:"):].split("\n\n")[0]
    assert "ruff check" in recipe
    assert "bandit" in recipe
    assert "--cov=logchat" in recipe and "coverage report --fail-under=$(COV_FLOOR)" in recipe


def test_ci_builds_the_image_and_probes_it() -> None:
    steps = _load("ci.yml")["jobs"]["image"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "docker build -f contrib/docker/Dockerfile" in commands
    assert "--help" in commands
    assert "users add admin --role admin --password-stdin" in commands
    assert "healthy" in commands and "/readyz" in commands
    assert "docker stop -t 40" in commands


def test_a_release_builds_the_wheel_and_the_image() -> None:
    release = _load("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    commands = "\n".join(step.get("run", "") for step in release["jobs"]["wheel"]["steps"])
    assert "python -m build" in commands
    image_steps = [step for step in release["jobs"]["image"]["steps"] if "build-push-action" in step.get("uses", "")]
    assert image_steps and image_steps[0]["with"]["file"] == "contrib/docker/Dockerfile"
