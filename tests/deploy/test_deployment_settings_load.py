"""The settings the deployment files give logchat load without an error: their logchat.toml files and
the literal values of their LOGCHAT_* variables, as `load_settings` reads them."""

from __future__ import annotations

import configparser
import re

import pytest
import yaml

from logchat.config import load_settings
from tests.deploy.deploy_tools import CONTRIB

CONFIG_FILES = [CONTRIB / "docker" / "logchat.toml"]


def _k8s_config_file(tmp_path):
    configmap = yaml.safe_load((CONTRIB / "k8s" / "configmap.yaml").read_text())
    path = tmp_path / "logchat.toml"
    path.write_text(configmap["data"]["logchat.toml"])
    return path


def _literal(value: object) -> bool:
    return isinstance(value, str) and "${" not in value


def _compose_variables() -> dict[str, str]:
    compose = yaml.safe_load((CONTRIB / "docker" / "compose.yaml").read_text())
    environment = compose["services"]["logchat"]["environment"]
    return {name: value for name, value in environment.items() if name.startswith("LOGCHAT_") and _literal(value)}


def _k8s_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("deployment.yaml", "cronjob-reload.yaml", "job-first-admin.yaml"):
        text = (CONTRIB / "k8s" / name).read_text()
        for match in re.finditer(r"- name: (LOGCHAT_\w+)\n\s+value: (.+)", text):
            found[match.group(1)] = match.group(2).strip().strip('"')
    return found


def _systemd_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("logchat.service", "logchat-reload.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(CONTRIB / "systemd" / name)
        for line in parser["Service"].get("Environment", "").splitlines():
            key, _, value = line.partition("=")
            found[key] = value
    return found


def _without_logchat_environment(monkeypatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("LOGCHAT_"):
            monkeypatch.delenv(name)


def test_the_compose_config_file_loads(monkeypatch, tmp_path) -> None:
    _without_logchat_environment(monkeypatch)
    settings = load_settings(CONTRIB / "docker" / "logchat.toml", data_dir=str(tmp_path))
    assert [source.name for source in settings.sources] == ["syslog", "auth"]
    assert all(source.path.startswith("/host/log/") for source in settings.sources)


def test_the_kubernetes_config_map_loads(monkeypatch, tmp_path) -> None:
    _without_logchat_environment(monkeypatch)
    settings = load_settings(_k8s_config_file(tmp_path), data_dir=str(tmp_path))
    assert settings.serve.host == "0.0.0.0"
    assert settings.serve.shutdown_grace_seconds == 30
    assert settings.logging.format == "json"


@pytest.mark.parametrize("variables", [_compose_variables, _k8s_variables, _systemd_variables],
                         ids=["compose", "kubernetes", "systemd"])
def test_the_variables_set_load_and_take_effect(variables, monkeypatch, tmp_path) -> None:
    _without_logchat_environment(monkeypatch)
    values = variables()
    assert values
    values.pop("LOGCHAT_CONFIG", None)  # a path inside the container; the file itself is checked above
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    for name, value in values.items():
        current: object = settings
        for part in name.removeprefix("LOGCHAT_").lower().split("__"):
            current = getattr(current, part)
        assert str(current) == value or current == type(current)(value), name  # type: ignore[call-arg]
