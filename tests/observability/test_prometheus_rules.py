"""contrib/prometheus: the rule files pass `promtool check rules`, every alert has a `promtool test
rules` file of synthetic series, and those tests pass."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_tools import CONTRIB

RULES = CONTRIB / "prometheus"
RULE_FILES = sorted(RULES.glob("*-rules.yml"))
TEST_FILES = sorted((RULES / "tests").glob("*.test.yml"))
METRIC_NAME = re.compile(r"\blogchat_[a-z_]+")


def promtool_run(promtool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def rules_of(kind: str) -> list[dict[str, str]]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found.extend(rule for rule in group["rules"] if kind in rule)
    return found


def test_the_rule_files_are_valid(promtool: str) -> None:
    assert RULE_FILES, "no rule files in contrib/prometheus"
    checked = promtool_run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_has_a_unit_test() -> None:
    alerts = {rule["alert"] for rule in rules_of("alert")}
    assert {"LogchatDown", "LogchatIngestionStalled", "LogchatIngestionLagGrowing", "LogchatLogErrorRateSpike",
            "LogchatNewErrorPattern", "LogchatErrorPatternSpike", "LogchatErrorLevelJump", "LogchatLLMFailing",
            "LogchatLLMFallingBack", "LogchatLoginBruteForce"} <= alerts
    tested = set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):  # a test that only expects silence proves nothing alone
                    tested.add(case["alertname"])
    assert alerts - tested == set(), f"alerts without a firing unit test: {sorted(alerts - tested)}"


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_promtool_unit_tests_pass(promtool: str, test_file: Path) -> None:
    ran = promtool_run(promtool, "test", "rules", test_file.name, cwd=test_file.parent)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "SUCCESS" in ran.stdout


def test_the_rules_only_name_metrics_logchat_exposes() -> None:
    from exposed import exposed_metric_names

    names = exposed_metric_names()
    used = set()
    for path in RULE_FILES:
        used |= set(METRIC_NAME.findall(path.read_text(encoding="utf-8")))
    assert used - names == set(), f"unknown metrics in the rules: {sorted(used - names)}"


def test_the_example_scrape_configuration_is_valid(promtool: str) -> None:
    checked = promtool_run(promtool, "check", "config", "prometheus.yml", cwd=RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
