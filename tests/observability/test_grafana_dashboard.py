"""contrib/grafana/logchat.json: every PromQL expression of the dashboard is valid (checked by promtool
as a generated rules file) and names only metrics that logchat exposes or the rules record."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_tools import CONTRIB
from test_prometheus_rules import METRIC_NAME, rules_of

DASHBOARD = CONTRIB / "grafana" / "logchat.json"
# Grafana's variables, as Grafana would fill them in.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h", "$job": "logchat"}
RECORDED = re.compile(r"\blogchat:[a-z_0-9:]+")


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # the panels of collapsed rows
    return found


def expressions() -> list[tuple[str, str]]:
    """(panel title, PromQL with the variables filled in) for every target of the dashboard."""
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = []
    for panel in panels(document):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            found.append((panel["title"], expr))
    return found


def test_the_dashboard_covers_health_questions_ingestion_and_the_logs_themselves() -> None:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    rows = {panel["title"] for panel in document["panels"] if panel["type"] == "row"}
    assert {"Service health", "Questions", "Ingestion", "The logs themselves"} <= rows
    assert len(expressions()) >= 20
    assert all("$" not in expr for _, expr in expressions()), "a Grafana variable was left unfilled"


def test_every_dashboard_expression_passes_promtool(promtool: str, tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:panel_{number}:check", "expr": expr}
             for number, (_, expr) in enumerate(expressions())]
    generated = tmp_path / "dashboard-expressions.yml"
    generated.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    checked = subprocess.run([promtool, "check", "rules", str(generated)], capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def test_the_dashboard_names_only_exposed_or_recorded_metrics() -> None:
    from exposed import exposed_metric_names

    names = exposed_metric_names()
    recorded = {rule["record"] for rule in rules_of("record")}
    unknown = []
    for title, expr in expressions():
        unknown += [f"{title}: {name}" for name in METRIC_NAME.findall(expr) if name not in names]
        unknown += [f"{title}: {name}" for name in RECORDED.findall(expr) if name not in recorded]
    assert not unknown, unknown


def test_the_anomaly_panels_read_the_anomaly_scores() -> None:
    by_title: dict[str, list[str]] = {}
    for title, expr in expressions():
        by_title.setdefault(title, []).append(expr)
    anomalies = by_title["Anomalies: last hour against the week before"]
    assert any("logchat_log_anomaly_score" in expr for expr in anomalies)
    assert any("logchat_log_new_patterns" in expr for expr in by_title["New patterns (last hour)"])
    assert any("logchat_log_level_change_score" in expr for expr in by_title["Change score by level"])
