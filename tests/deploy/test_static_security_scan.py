"""bandit over logchat/: nothing left that is neither fixed nor justified inline (`# nosec BXXX  # why`)."""

from __future__ import annotations

import json

from tests.deploy.deploy_tools import run, tool


def test_bandit_reports_nothing() -> None:
    result = run(tool("bandit"), "--quiet", "--configfile", "pyproject.toml", "--recursive", "logchat",
                 "--format", "json")
    report = json.loads(result.stdout)
    issues = [f"{item['test_id']} {item['filename']}:{item['line_number']} {item['issue_text']}"
              for item in report["results"]]
    assert not issues, "\n".join(issues)
    assert result.returncode == 0
    assert report["metrics"]["_totals"]["loc"] > 10_000  # the scan did read the package
