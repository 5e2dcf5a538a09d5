"""docs/configuration.md is what logchat.config_reference generates from the settings model, today."""

from __future__ import annotations

import re
import subprocess
import sys
import typing

from logchat import config_reference
from logchat.config import Settings
from tests.deploy.deploy_tools import ROOT
from tests.deploy.settings_keys import is_setting

DOC = ROOT / "docs" / "configuration.md"


def test_the_reference_matches_the_settings_model() -> None:
    assert DOC.read_text(encoding="utf-8") == config_reference.render(), (
        "docs/configuration.md is out of date: run `python -m logchat.config_reference --write`"
    )


def test_every_key_of_the_model_is_in_the_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    for section, field in Settings.model_fields.items():
        if field.exclude:
            continue
        model = config_reference._model_in(field.annotation)
        if model is None:
            assert f"| `{section}` |" in text
            continue
        header = f"## `[[{section}]]`" if typing.get_origin(field.annotation) is list else f"## `[{section}]`"
        assert header in text, section
        body = text.split(header)[1].split("\n## ")[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in body, f"{section}.{name}"


def test_every_variable_in_the_reference_is_read_by_logchat() -> None:
    names = set(re.findall(r"`(LOGCHAT_[A-Z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    assert "LOGCHAT_SERVE__SHUTDOWN_GRACE_SECONDS" in names
    assert all(is_setting(name) for name in names), sorted(name for name in names if not is_setting(name))


def test_a_changed_default_shows_as_drift(monkeypatch) -> None:
    from logchat.config import ServeSettings

    assert "| `port` | `LOGCHAT_SERVE__PORT` | integer (≥ 0, ≤ 65535) | `8080` |" in config_reference.render()
    monkeypatch.setattr(ServeSettings.model_fields["port"], "default", 9090)
    assert config_reference.render() != DOC.read_text(encoding="utf-8")


def test_the_module_prints_the_reference() -> None:
    result = subprocess.run([sys.executable, "-m", "logchat.config_reference"], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout == DOC.read_text(encoding="utf-8")
    wrong = subprocess.run([sys.executable, "-m", "logchat.config_reference", "--bogus"], capture_output=True,
                           text=True, check=False, cwd=ROOT)
    assert wrong.returncode == 2 and "usage:" in wrong.stderr
